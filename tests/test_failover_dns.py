"""Failover with the DNS step, and `dns show`/`dns set`, against the simulator and real BIND."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from .conftest import sim_config_dict
from .test_cli_status import d42tui

pytestmark = pytest.mark.realserver("named")

A, B = "10.0.0.1", "10.0.0.2"  # the zone starts with d42 -> 10.0.0.1 (d42-a)


def config_with_dns(sim, named, tmp_path, **backend) -> str:
    data = sim_config_dict(sim, tmp_path)
    data["pairs"][0]["dns"] = named.dns_section({"d42-a": A, "d42-b": B}, **backend)
    path = tmp_path / "dns.yaml"
    path.write_text(yaml.safe_dump(data))
    path.chmod(0o600)
    return str(path)


def env(tmp_path):
    return {"D42TUI_STATE_DIR": str(tmp_path / "st")}


def test_failover_end_to_end_switches_dns(sim, named, tmp_path):
    cfg = config_with_dns(sim, named, tmp_path)
    sim.set_fault("d42-a", "down")
    out = d42tui("failover", "--yes", "--config", cfg, env=env(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3. DNS: point" in out.stdout or "2. DNS: point" in out.stdout
    assert sim.truth()["appliances"]["d42-b"]["mode"] == "production"
    assert named.record()[0] == (B,)
    if shutil.which("dig"):
        dig = subprocess.run(["dig", "+short", f"@{named.host}", "-p", str(named.port),
                              named.fqdn()], capture_output=True, text=True, timeout=10)
        assert dig.stdout.strip() == B
    show = d42tui("dns", "show", "--json", "--config", cfg, env=env(tmp_path))
    row = json.loads(show.stdout)["dns"][0]
    assert row["values"] == [B] and row["appliance"] == "d42-b" and row["mismatch"] is None


def test_dns_failure_keeps_the_promotion_and_says_how_to_retry(sim, named, tmp_path):
    bad_secret = tmp_path / "bad.key"
    bad_secret.write_text("c2VjcmV0LXRoYXQtaXMtd3Jvbmc=\n")
    cfg = config_with_dns(sim, named, tmp_path, secret_file=str(bad_secret))
    sim.set_fault("d42-a", "down")
    out = d42tui("failover", "--yes", "--config", cfg, env=env(tmp_path))
    assert out.returncode == 3, out.stdout
    assert sim.truth()["appliances"]["d42-b"]["mode"] == "production"  # not undone
    assert "DNS step" in out.stdout and "TSIG key rejected" in out.stdout
    assert "d42tui dns set --pair main --to d42-b --ttl 60 --yes" in out.stdout
    assert named.record()[0] == (A,)
    status = json.loads(d42tui("status", "--json", "--config", cfg, env=env(tmp_path)).stdout)
    assert status["pairs"][0]["desired_production"] == "d42-b"
    assert "c2VjcmV0LXRoYXQtaXMtd3Jvbmc" not in out.stdout + out.stderr


def test_dns_set_and_show_mismatch(sim, named, tmp_path):
    cfg = config_with_dns(sim, named, tmp_path)
    out = d42tui("dns", "set", "--to", "d42-b", "--yes", "--config", cfg, env=env(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "not the asserted production" in out.stdout
    assert named.record()[0] == (B,)
    show = d42tui("dns", "show", "--config", cfg, env=env(tmp_path))
    assert show.returncode == 1 and "MISMATCH" in show.stdout
    audit = (tmp_path / "st" / "audit.jsonl").read_text()
    assert '"action": "dns-set"' in audit and named.secret not in audit


def test_check_pages_when_the_service_name_does_not_reach_production(sim, named, tmp_path):
    cfg = config_with_dns(sim, named, tmp_path)
    out = d42tui("check", "--config", cfg, env=env(tmp_path))
    assert out.returncode == 0 and "DNS" not in out.stdout.split(" | ")[0], out.stdout
    named.set_record(B)  # behind the console's back: clients now reach the standby
    out = d42tui("check", "--config", cfg, env=env(tmp_path))
    assert out.returncode == 2, out.stdout
    line = out.stdout.split(" | ")[0]
    assert line.startswith("D42 PAIR CRITICAL - main HEALTHY ")
    assert f"· DNS MISMATCH: {named.fqdn()} A points at d42-b ({B}), not production" in line
    named.set_record(A)
    assert d42tui("check", "--config", cfg, env=env(tmp_path)).returncode == 0


def test_dns_set_with_a_ttl_for_this_switch(sim, named, tmp_path):
    cfg = config_with_dns(sim, named, tmp_path)
    out = d42tui("dns", "set", "--to", "d42-b", "--ttl", "0", "--yes", "--config", cfg,
                 env=env(tmp_path))
    assert out.returncode == 2 and ("argument --ttl: '0' is not a TTL: a whole number of "
                                    "seconds from 1 to 86400") in out.stderr
    assert named.record()[0] == (A,)
    out = d42tui("dns", "set", "--to", "d42-b", "--ttl", "20", "--yes", "--config", cfg,
                 env=env(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "TTL 20s (dns.ttl is 60s)" in out.stdout
    assert named.record() == ((B,), 20)
    assert '→ 10.0.0.2 TTL 20"' in (tmp_path / "st" / "audit.jsonl").read_text()


def test_dns_set_dry_run_and_read_only(sim, named, tmp_path):
    cfg = config_with_dns(sim, named, tmp_path)
    out = d42tui("dns", "set", "--to", "d42-b", "--dry-run", "--config", cfg, env=env(tmp_path))
    assert out.returncode == 0 and named.record()[0] == (A,)
    out = d42tui("--read-only", "dns", "set", "--to", "d42-b", "--yes", "--config", cfg,
                 env=env(tmp_path))
    assert out.returncode == 1 and named.record()[0] == (A,)
