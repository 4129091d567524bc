"""The headless actions as a script or an operator runs them: plan, confirm, exit codes."""

from __future__ import annotations

import json

from .conftest import PASSWORDS, write_sim_config
from .test_cli_status import d42tui


def state_env(tmp_path):
    return {"D42TUI_STATE_DIR": str(tmp_path / "st")}


def test_failover_with_yes(sim, tmp_path):
    cfg = write_sim_config(sim, tmp_path)
    sim.set_fault("d42-a", "down")
    out = d42tui("failover", "--yes", "--config", str(cfg), env=state_env(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1. POST appliance_mode=production to d42-b" in out.stdout
    assert "DONE" in out.stdout
    assert sim.truth()["appliances"]["d42-b"]["mode"] == "production"
    status = d42tui("status", "--json", "--config", str(cfg), env=state_env(tmp_path))
    pair = json.loads(status.stdout)["pairs"][0]
    assert pair["desired_production"] == "d42-b"
    assert pair["appliances"][1]["asserted_mode"]["source"] == "console"


def test_dry_run_sends_nothing(sim, tmp_path):
    cfg = write_sim_config(sim, tmp_path)
    sim.clear_requests()
    out = d42tui("demote", "d42-a", "--dry-run", "--config", str(cfg), env=state_env(tmp_path))
    assert out.returncode == 0 and "dry run: nothing was sent" in out.stdout
    assert [r for r in sim.requests() if r.method == "POST"] == []


def test_refused_exit_1_and_force_overrides(sim, tmp_path):
    cfg = write_sim_config(sim, tmp_path)
    out = d42tui("promote", "d42-b", "--yes", "--config", str(cfg), env=state_env(tmp_path))
    assert out.returncode == 1 and "REFUSED" in out.stdout and "two productions" in out.stdout
    assert sim.truth()["appliances"]["d42-b"]["mode"] == "standby"
    out = d42tui("promote", "d42-b", "--yes", "--force", "--config", str(cfg),
                 env=state_env(tmp_path))
    assert out.returncode == 0, out.stdout
    assert sim.truth()["appliances"]["d42-b"]["mode"] == "production"


def test_without_yes_and_without_a_terminal_nothing_is_sent(sim, tmp_path):
    cfg = write_sim_config(sim, tmp_path)
    sim.clear_requests()
    out = d42tui("demote", "d42-a", "--config", str(cfg), env=state_env(tmp_path))
    assert out.returncode == 1 and "--yes" in out.stderr
    assert [r for r in sim.requests() if r.method == "POST"] == []


def test_read_only_refuses_before_any_request(sim, tmp_path):
    cfg = write_sim_config(sim, tmp_path)
    sim.clear_requests()
    out = d42tui("--read-only", "demote", "d42-a", "--yes", "--config", str(cfg),
                 env=state_env(tmp_path))
    assert out.returncode == 1 and "read-only" in out.stdout
    assert sim.requests() == []  # not even a health poll


def test_failed_and_unknown_exit_codes(sim, tmp_path):
    cfg = write_sim_config(sim, tmp_path, passwords={"d42-a": "bad", "d42-b": PASSWORDS["d42-b"]})
    out = d42tui("demote", "d42-a", "--yes", "--config", str(cfg), env=state_env(tmp_path))
    assert out.returncode == 3 and "credentials rejected" in out.stdout


def test_unknown_appliance_is_a_usage_error(sim, tmp_path):
    cfg = write_sim_config(sim, tmp_path)
    out = d42tui("promote", "d42-zz", "--yes", "--config", str(cfg), env=state_env(tmp_path))
    assert out.returncode == 2 and "d42-zz" in out.stderr


def test_audit_command_lists_actions(sim, tmp_path):
    cfg = write_sim_config(sim, tmp_path)
    d42tui("promote", "d42-b", "--yes", "--config", str(cfg), env=state_env(tmp_path))
    out = d42tui("audit", "--json", "--config", str(cfg), env=state_env(tmp_path))
    rows = json.loads(out.stdout)
    assert rows[0]["action"] == "promote" and rows[0]["result"] == "refused"
    md = d42tui("audit", "export", "--markdown", "--config", str(cfg), env=state_env(tmp_path))
    assert "| time (UTC) | what happened |" in md.stdout and "promote d42-b" in md.stdout


def _start_failover(sim, tmp_path):
    """A failover of two live appliances whose steps take a while (a slow standby), stopped
    right after its first progress line: the moment a session may drop."""
    import os
    import subprocess
    import sys

    from .test_cli_status import ROOT

    cfg = write_sim_config(sim, tmp_path)
    sim.set_fault("d42-b", "slow", ms=600)
    proc = subprocess.Popen(
        [sys.executable, "-m", "d42tui", "failover", "--yes", "--config", str(cfg)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **state_env(tmp_path)})
    seen = []
    while not seen or not seen[-1].startswith("… "):
        line = proc.stdout.readline()
        assert line, f"no progress line: {seen} {proc.stderr.read()}"
        seen.append(line)
    return proc


def _audit_results(tmp_path) -> list[str]:
    from d42tui.engine.audit import JsonlLog

    return [r["result"] for r in JsonlLog(tmp_path / "st" / "audit.jsonl").records()
            if r.get("phase") == "after"]


def test_a_ctrl_c_mid_failover_lets_it_finish(sim, tmp_path):
    import signal

    proc = _start_failover(sim, tmp_path)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stdout + stderr
    assert "Ctrl-C: the action in flight will finish first" in stderr
    assert "DONE" in stdout and "Traceback" not in stderr
    truth = sim.truth()["appliances"]
    assert truth["d42-a"]["mode"] == "standby" and truth["d42-b"]["mode"] == "production"
    assert _audit_results(tmp_path) == ["done"]


def test_a_dropped_session_mid_failover_lets_it_finish(sim, tmp_path):
    import signal

    proc = _start_failover(sim, tmp_path)
    proc.send_signal(signal.SIGHUP)  # its output now goes nowhere: the result is audited
    proc.communicate(timeout=30)
    assert proc.returncode == 0
    truth = sim.truth()["appliances"]
    assert truth["d42-a"]["mode"] == "standby" and truth["d42-b"]["mode"] == "production"
    assert _audit_results(tmp_path) == ["done"]


def test_a_second_ctrl_c_abandons_the_action(sim, tmp_path):
    import signal
    import time

    proc = _start_failover(sim, tmp_path)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stdout + stderr
    assert "ABANDONED: the action may have partly applied" in stderr
    assert "Traceback" not in stderr and "DONE" not in stdout
