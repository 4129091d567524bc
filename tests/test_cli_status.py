"""Headless `status`, `status --json` and `check` against the simulator, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PASSWORDS, write_sim_config

ROOT = Path(__file__).resolve().parent.parent


def d42tui(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "d42tui", *args], capture_output=True,
                          text=True, env=full_env, timeout=60)


def test_status_table(sim, tmp_path):
    cfg = write_sim_config(sim, tmp_path)
    out = d42tui("status", "--config", str(cfg))
    assert out.returncode == 0, out.stderr
    assert "PAIR main: HEALTHY" in out.stdout
    assert "production · declared" in out.stdout and "● UP" in out.stdout


def test_status_json_schema(sim, tmp_path):
    cfg = write_sim_config(sim, tmp_path)
    sim.set_fault("d42-b", "down")
    out = d42tui("status", "--json", "--config", str(cfg))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["schema_version"] == 1
    (pair,) = data["pairs"]
    assert pair["verdict"] == "STANDBY DOWN" and pair["level"] == "warning"
    a, b = pair["appliances"]
    assert a["reachability"] == "UP" and a["health"]["cpu_percent"] is not None
    assert a["asserted_mode"] == {"mode": "production", "source": "declared", "at": None}
    assert b["failure"]["kind"] == "refused" and b["health"] is None
    assert a["tls"] == "pinned"


@pytest.mark.parametrize("setup,code,word", [
    ({}, 0, "OK"),
    ({"d42-a": "backup-failing"}, 2, "CRITICAL"),
    ({"d42-b": "down"}, 1, "WARNING"),
    ({"d42-a": "down"}, 2, "CRITICAL"),
    ({"d42-a": "down", "d42-b": "down"}, 2, "CRITICAL"),  # refusals: the network works
    ({"d42-a": "blackhole", "d42-b": "blackhole"}, 3, "UNKNOWN"),  # no answer at all
])
def test_check_exit_codes(sim, tmp_path, setup, code, word):
    cfg = write_sim_config(sim, tmp_path)
    for name, fault in setup.items():
        sim.set_fault(name, fault)
    out = d42tui("check", "--config", str(cfg))
    assert out.returncode == code, out.stdout + out.stderr
    line = out.stdout.strip()
    assert "\n" not in line
    assert line.startswith(f"D42 PAIR {word} - main ")
    if code != 3:  # (an UNKNOWN pair still says what it polled)
        assert "|" in line and "'d42-a_up'=" in line
    assert "automation" not in line  # not enabled in this config: nothing to stand by


def test_check_split_brain_and_no_production(sim, tmp_path):
    from d42tui.engine.state import StateStore

    cfg = write_sim_config(sim, tmp_path)
    state = tmp_path / "state"
    env = {"D42TUI_STATE_DIR": str(state)}
    StateStore(state).record_mode("main", "d42-b", "production", 1.0)
    out = d42tui("check", "--config", str(cfg), env=env)
    assert out.returncode == 2 and "SPLIT BRAIN" in out.stdout
    StateStore(state).record_mode("main", "d42-a", "standby", 2.0)
    StateStore(state).record_mode("main", "d42-b", "standby", 2.0)
    out = d42tui("check", "--config", str(cfg), env=env)
    assert out.returncode == 2 and "NO PRODUCTION" in out.stdout


def test_check_on_a_broken_config_is_unknown(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("pairs: 3\n")
    out = d42tui("check", "--config", str(bad))
    assert out.returncode == 3 and out.stdout.startswith("D42 PAIR UNKNOWN - config: ")


def test_no_secret_in_any_output(sim, tmp_path):
    cfg = write_sim_config(sim, tmp_path)
    sim.set_fault("d42-a", "unauthorized")
    outputs = [d42tui(*args, "--config", str(cfg)) for args in
               (("status",), ("status", "--json"), ("check",), ("config", "check"))]
    text = "".join(o.stdout + o.stderr for o in outputs)
    for secret in PASSWORDS.values():
        assert secret not in text
    assert "credentials rejected" in text  # the 401 is named, the password is not
    [a, _] = json.loads(outputs[1].stdout)["pairs"][0]["appliances"]
    assert a["failure"]["kind"] == "unauthorized"
    assert a["consecutive_failures"] == 1 and a["outage_failures"] == 0  # it answered


def test_fingerprint_command_prints_the_pin(sim):
    out = d42tui("fingerprint", sim.url("d42-a"))
    assert out.returncode == 0, out.stderr
    assert sim.fingerprint("d42-a") in out.stdout
    assert f'fingerprint_sha256: "{sim.fingerprint("d42-a")}"' in out.stdout


def test_fingerprint_of_nothing_is_a_clear_error():
    out = d42tui("fingerprint", "https://127.0.0.1:1", "--timeout", "1")
    assert out.returncode == 1 and "refused" in out.stderr and "Traceback" not in out.stderr


def test_check_levels_for_each_kind_of_dns_problem(sim, tmp_path):
    import asyncio

    from d42tui.cli.common import oneshot_config, poll_all_once
    from d42tui.cli.report import check_line
    from d42tui.dns.lookup import DnsProblem, DnsProblemKind

    from .conftest import load_sim_config

    config = oneshot_config(load_sim_config(sim, tmp_path))
    snaps = asyncio.run(poll_all_once(config))
    assert check_line(config, snaps)[0] == 0
    for kind, problem, code in (
            (DnsProblemKind.MISMATCH,
             "DNS MISMATCH: d42 A points at d42-b (10.0.0.2), not production", 2),
            (DnsProblemKind.UNKNOWN, "DNS UNKNOWN: cannot tell where d42 A points: timeout", 1),
            (DnsProblemKind.WARNING,
             "DNS: ns2: no answer; the servers that answered point at production", 1)):
        got, line = check_line(config, snaps, dns={"main": DnsProblem(kind, problem)})
        assert got == code and f"· {problem}" in line, line
