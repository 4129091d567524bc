"""The contrib/ files a site installs: the systemd unit, the Prometheus rules, the Grafana
dashboard and the HAProxy example, each checked by the tool that will read it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from d42tui.config.models import load_config
from d42tui.watch.metrics import WatcherMetrics
from d42tui.watch.service import Watcher

from .conftest import require_binary
from .watch_harness import write_watch_config

CONTRIB = Path(__file__).resolve().parent.parent / "contrib"
UNIT = CONTRIB / "systemd" / "d42tui-watch@.service"


def test_the_unit_has_the_service_settings_the_readme_promises():
    lines = [line.strip() for line in UNIT.read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    for want in ("Restart=always", "StateDirectory=d42tui/%i", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                 "CapabilityBoundingSet=", "Environment=D42TUI_STATE_DIR=%S/d42tui/%i",
                 "ExecStart=/usr/local/bin/d42tui watch --config /etc/d42tui/%i.yaml",
                 "KillSignal=SIGTERM"):
        assert want in lines, want


def test_systemd_analyze_verify_accepts_the_unit(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:  # systemd is not installable everywhere: not a CI requirement
        pytest.skip("systemd-analyze is not installed (Debian: systemd)")
    # `verify` checks that ExecStart's program exists: point it at a stand-in here.
    program = tmp_path / "d42tui"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    unit = tmp_path / "d42tui-watch@main.service"
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/d42tui", str(program)))
    proc = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (proc.stdout + proc.stderr).strip() == ""  # an unknown key is only a warning


def test_promtool_checks_the_alerting_rules_and_their_unit_tests():
    promtool = require_binary("promtool")
    rules = CONTRIB / "prometheus"
    for args in (["check", "rules", "d42tui-alerts.yml"],
                 ["check", "config", "prometheus-scrape.yml"],
                 ["test", "rules", "d42tui-alerts.test.yml"]):
        proc = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60,
                              cwd=rules)
        assert proc.returncode == 0, (args, proc.stdout + proc.stderr)


def test_haproxy_accepts_the_example():
    haproxy = require_binary("haproxy", "/usr/sbin/haproxy")
    proc = subprocess.run([haproxy, "-c", "-f", str(CONTRIB / "haproxy" / "haproxy.cfg")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Configuration file is valid" in proc.stdout + proc.stderr


def exported_names(exposition: str) -> set[str]:
    """Every series name an exposition can hold, from its TYPE lines."""
    names = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            names.add(name)
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names


async def test_the_dashboard_is_json_and_queries_only_what_we_export(sim, tmp_path):
    watcher = Watcher(load_config(write_watch_config(sim, tmp_path)).config,
                      say=lambda *a, **k: None)
    try:
        exposition = WatcherMetrics(watcher).exposition()[0].decode()
    finally:
        await watcher.aclose(started=False)
    exported = exported_names(exposition) | {"up"}  # `up`: Prometheus's own, per target
    dashboard = json.loads((CONTRIB / "grafana" / "d42tui-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    assert len(exprs) >= 10
    used = {m for e in exprs for m in re.findall(r"\b(d42tui_[a-z_]+|up)\b", e)}
    assert used - exported == set()
    # and the alerting rules too
    rules = (CONTRIB / "prometheus" / "d42tui-alerts.yml").read_text()
    assert set(re.findall(r"\b(d42tui_[a-z_]+)\b", rules)) - exported == set()
    assert {p["id"] for p in dashboard["panels"]} == set(range(1, len(dashboard["panels"]) + 1))
