"""Never no production, never two: the findings of the attack drill, each a scenario.

The real CLI in a subprocess against the simulated pair over HTTPS; what counts is the
simulator's truth, its request log, the audit records and what `status --json` and
`check` say.
"""

from __future__ import annotations

import json

import pytest
import yaml

from d42tui.engine.audit import outcomes

from .conftest import sim_config_dict
from .test_cli_status import d42tui
from .test_mode_probe import truth_probe


def env_of(tmp_path):
    return {"D42TUI_STATE_DIR": str(tmp_path / "st")}


def write(tmp_path, data) -> str:
    path = tmp_path / "d42tui.yaml"
    path.write_text(yaml.safe_dump(data))
    path.chmod(0o600)
    return str(path)


def status(cfg: str, tmp_path) -> dict:
    out = d42tui("status", "--json", "--config", cfg, env=env_of(tmp_path))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["pairs"][0]


def truth(sim) -> dict[str, str]:
    return {n: a["mode"] for n, a in sim.truth()["appliances"].items()}


# --- verdicts that match the world --------------------------------------------------------

def test_both_appliances_refusing_is_both_down_and_pages(sim, tmp_path):
    cfg = write(tmp_path, sim_config_dict(sim, tmp_path))
    sim.set_fault("d42-a", "down")
    sim.set_fault("d42-b", "down")
    out = d42tui("check", "--config", cfg, env=env_of(tmp_path))
    assert out.returncode == 2, out.stdout
    assert out.stdout.startswith("D42 PAIR CRITICAL - main BOTH DOWN: d42-a (production) is "
                                 "down: connection refused"), out.stdout
    assert status(cfg, tmp_path)["verdict"] == "BOTH DOWN"


def test_both_appliances_silent_is_unknown_the_consoles_own_network(sim, tmp_path):
    data = sim_config_dict(sim, tmp_path, poll={"interval": "1s", "timeout": "300ms"})
    cfg = write(tmp_path, data)
    sim.set_fault("d42-a", "blackhole")
    sim.set_fault("d42-b", "blackhole")
    out = d42tui("check", "--config", cfg, env=env_of(tmp_path))
    assert out.returncode == 3, out.stdout
    assert "main UNKNOWN" in out.stdout and "console's own network" in out.stdout


def test_a_dead_primary_failover_is_not_a_split_brain_and_fails_back(sim, tmp_path):
    data = sim_config_dict(sim, tmp_path)
    for entry in data["pairs"][0]["appliances"]:
        entry["mode_probe"] = truth_probe(sim, entry["name"])
    cfg = write(tmp_path, data)
    sim.set_fault("d42-a", "down")  # refuses connections; its probe still says production
    out = d42tui("failover", "--yes", "--config", cfg, env=env_of(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert truth(sim) == {"d42-a": "production", "d42-b": "production"}  # a-down runs nothing
    pair = status(cfg, tmp_path)
    assert pair["verdict"] == "STANDBY DOWN", pair["reasons"]
    texts = [r["text"] for r in pair["reasons"]]
    assert any("d42-a is down and still production: not fenced" in t for t in texts), texts
    check = d42tui("check", "--config", cfg, env=env_of(tmp_path))
    assert check.returncode == 1, check.stdout  # production serves: a warning, not a page
    # failback is refused for what is true (d42-a does not answer), not "demote one side"
    out = d42tui("failback", "--yes", "--config", cfg, env=env_of(tmp_path))
    assert out.returncode == 1 and "d42-a does not answer" in out.stdout, out.stdout
    assert "demote one side" not in out.stdout


# --- a state file that cannot be misread --------------------------------------------------

def damage_after_failover(sim, tmp_path, how: str) -> tuple[str, bytes]:
    cfg = write(tmp_path, sim_config_dict(sim, tmp_path))
    sim.set_fault("d42-a", "down")
    out = d42tui("failover", "--yes", "--config", cfg, env=env_of(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    sim.set_fault("d42-a", "none")
    path = tmp_path / "st" / "state.json"
    good = path.read_bytes()
    damaged = {"truncated": good[: len(good) // 2],
               "garbage": b'{"version": 1, "pairs": {"main": {"modes": {"d42-b": '
                          b'{"mode": "prod", "at": 1}}}}}',
               "empty": b""}[how]
    path.write_bytes(damaged)
    return cfg, damaged


@pytest.mark.parametrize("how", ["truncated", "garbage", "empty"])
def test_a_damaged_state_file_is_reported_never_read_as_empty(sim, tmp_path, how):
    cfg, damaged = damage_after_failover(sim, tmp_path, how)
    state = tmp_path / "st" / "state.json"
    pair = status(cfg, tmp_path)
    assert pair["verdict"] == "STATE DAMAGED" and pair["level"] == "critical", pair["reasons"]
    assert "confirm-roles main --production NAME" in pair["reasons"][0]["text"]
    check = d42tui("check", "--config", cfg, env=env_of(tmp_path))
    assert check.returncode == 2 and "STATE DAMAGED" in check.stdout, check.stdout
    kept = list((tmp_path / "st").glob("state.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == damaged
    # no action runs on a guess, and the file is never written over
    sim.clear_requests()
    for argv in (("failback", "--yes"), ("promote", "d42-a", "--yes", "--force"),
                 ("reassert", "d42-a", "--yes")):
        out = d42tui(*argv, "--config", cfg, env=env_of(tmp_path))
        assert out.returncode == 1 and "REFUSED" in out.stdout, out.stdout
    assert [r for r in sim.requests() if r.method == "POST"] == []
    assert state.read_bytes() == damaged


async def test_watch_mode_does_nothing_on_a_damaged_state_and_alerts(sim, tmp_path, named):
    from .test_watch_chaos import notify
    from .watch_harness import Harness, Receiver

    receiver = Receiver()
    try:
        h = Harness(sim, tmp_path, named=named, automation=notify(receiver))
        h.watcher.start()
        await h.rounds(2)
        sim.set_fault("d42-a", "down")
        await h.until(lambda: h.modes()["d42-b"] == "production")  # failed over, held
        state = h.store.path
        damaged = state.read_bytes()[:40]
        state.write_bytes(damaged)
        sim.set_fault("d42-a", "none")  # the old primary returns...
        sim.set_fault("d42-b", "flap")  # ...and the real production blips
        sim.clear_requests()
        decision = await h.rounds(6)
        assert decision.state == "PAUSED" and "state-damaged" in decision.keys
        assert h.posts() == []  # neither fenced nor failed over on a guess
        assert h.modes() == {"d42-a": "production", "d42-b": "production"}
        await h.settle()
        assert receiver.events().count("state-damaged") == 1
        assert state.read_bytes() == damaged
        await h.watcher.aclose()
    finally:
        receiver.close()


def test_confirm_roles_starts_the_pair_again_and_keeps_the_damaged_copy(sim, tmp_path):
    cfg, damaged = damage_after_failover(sim, tmp_path, "truncated")
    sim.clear_requests()
    out = d42tui("confirm-roles", "main", "--production", "d42-x", "--yes", "--config", cfg,
                 env=env_of(tmp_path))
    assert out.returncode == 2 and "d42-x is not an appliance of pair main" in out.stderr
    out = d42tui("confirm-roles", "main", "--production", "d42-b", "--yes", "--config", cfg,
                 env=env_of(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "cannot tell which appliance it last made production" in out.stdout
    said = next(line for line in out.stdout.splitlines() if "previous generation" in line)
    assert said.startswith("the previous generation (state.json.prev) said: ") \
        and "d42-b production" in said, said
    assert sim.requests() == []  # a statement of what the person knows: nothing is sent
    pair = status(cfg, tmp_path)
    assert pair["desired_production"] == "d42-b", pair
    assert pair["verdict"] == "DEGRADED" and pair["level"] == "warning", pair["reasons"]
    assert [a["asserted_mode"]["mode"] for a in pair["appliances"]] == ["standby", "production"]
    assert list((tmp_path / "st").glob("state.json.corrupt-*"))[0].read_bytes() == damaged
    audit = d42tui("audit", "--config", cfg, env=env_of(tmp_path))
    assert "confirm-roles d42-b" in audit.stdout and "roles confirmed by a person" in audit.stdout


# --- one journaled engine: a CLI failover killed mid-way is found and finished ------------

def start_cli(cfg: str, *argv: str):
    import os
    import subprocess
    import sys

    from .test_cli_status import ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the test's own state dir
    return subprocess.Popen([sys.executable, "-m", "d42tui", *argv, "--config", cfg], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_mid_post(sim, cfg: str, name: str, *argv: str) -> None:
    """Run the command against a slow `name`, SIGKILL it while its POST to `name` is out,
    then wait for that POST to have applied (a late request applies late, as in life)."""
    import signal
    import time

    sim.set_fault(name, "slow", ms=1500)
    sim.clear_requests()
    proc = start_cli(cfg, *argv)
    deadline = time.time() + 30
    while time.time() < deadline and not [r for r in sim.requests(name) if r.method == "POST"]:
        assert proc.poll() is None, "the command ended before its POST"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # mid-action: the POST is out, its answer not yet in
    proc.wait(5)
    want = {"production": "production", "standby": "standby"}[
        next(r for r in sim.requests(name) if r.method == "POST").form["appliance_mode"]]
    while time.time() < deadline and truth(sim)[name] != want:
        time.sleep(0.05)
    sim.set_fault(name, "none")


def shared_status(cfg: str) -> dict:
    import os

    out = d42tui("status", "--json", "--config", cfg,
                 env={"D42TUI_STATE_DIR": os.environ["D42TUI_STATE_DIR"]})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["pairs"][0]


@pytest.mark.parametrize("killed_at", ["d42-a", "d42-b"])  # during the demote, the promote
def test_a_failover_killed_mid_way_is_seen_by_every_reader_and_finished(sim, tmp_path,
                                                                       killed_at):
    import os

    cfg = write(tmp_path, sim_config_dict(sim, tmp_path, poll={"interval": "5s",
                                                              "timeout": "5s"}))
    kill_mid_post(sim, cfg, killed_at, "failover", "--yes")
    pair = shared_status(cfg)
    texts = [r["text"] for r in pair["reasons"]]
    assert pair["level"] == "critical" and any(
        t.startswith("an action was interrupted: failover d42-a → d42-b") for t in texts), texts
    assert any("sent, answer unknown" in t and "resume-plan main" in t for t in texts), texts
    env = {"D42TUI_STATE_DIR": os.environ["D42TUI_STATE_DIR"]}
    check = d42tui("check", "--config", cfg, env=env)
    assert check.returncode == 2 and "an action was interrupted" in check.stdout, check.stdout
    # another action is refused while the plan is open: it must be finished first
    out = d42tui("demote", "d42-b", "--yes", "--config", cfg, env=env)
    assert out.returncode == 1 and "resume-plan main" in out.stdout, out.stdout
    out = d42tui("resume-plan", "main", "--yes", "--config", cfg, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert truth(sim) == {"d42-a": "standby", "d42-b": "production"}
    pair = shared_status(cfg)
    assert pair["desired_production"] == "d42-b"
    assert not any("interrupted" in r["text"] for r in pair["reasons"])
    audit = d42tui("audit", "--config", cfg, env=env)
    assert "failover d42-b" in audit.stdout and "→ done" in audit.stdout, audit.stdout


async def test_the_watcher_finishes_a_failover_the_cli_left_half_done(sim, tmp_path, named):
    from .watch_harness import Harness

    h = Harness(sim, tmp_path, named=named, poll={"interval": "5s", "timeout": "5s",
                                                  "failure_threshold": 3,
                                                  "recovery_threshold": 2})
    kill_mid_post(sim, str(h.path), "d42-a", "failover", "--yes")
    h.watcher.start()
    try:
        await h.until(lambda: h.modes() == {"d42-a": "standby", "d42-b": "production"}, 5)
        await h.until(lambda: named.record() == (("10.0.0.2",), 60), 5)
        assert any("found unfinished failover d42-a → d42-b" in e and "(cli)" in e
                   for e in h.events("plan-found"))
        assert [o.result for o in outcomes(h.records()) if o.action == "failover"] == ["done"]
    finally:
        await h.watcher.aclose()


def test_rollback_puts_production_back_and_abandon_sends_nothing(sim, tmp_path):
    import os

    cfg = write(tmp_path, sim_config_dict(sim, tmp_path, poll={"interval": "5s",
                                                              "timeout": "5s"}))
    env = {"D42TUI_STATE_DIR": os.environ["D42TUI_STATE_DIR"]}
    kill_mid_post(sim, cfg, "d42-a", "failover", "--yes")
    out = d42tui("resume-plan", "main", "--rollback", "--yes", "--config", cfg, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert truth(sim) == {"d42-a": "production", "d42-b": "standby"}
    assert shared_status(cfg)["desired_production"] == "d42-a"
    kill_mid_post(sim, cfg, "d42-a", "demote", "d42-a", "--yes")
    sim.clear_requests()
    out = d42tui("resume-plan", "main", "--abandon", "--yes", "--config", cfg, env=env)
    assert out.returncode == 0 and "abandoned" in out.stdout, out.stdout
    assert [r for r in sim.requests() if r.method == "POST"] == []
    assert not any("interrupted" in r["text"] for r in shared_status(cfg)["reasons"])


# --- preflight: everything a plan needs, before its first byte ----------------------------

def unreadable_secret(sim, tmp_path, how: str) -> tuple[str, dict, str]:
    data = sim_config_dict(sim, tmp_path)
    b = data["pairs"][0]["appliances"][1]
    del b["password_file"]
    env = env_of(tmp_path)
    if how == "file":
        b["password_file"] = str(tmp_path / "gone.pw")
        words = f"file {tmp_path / 'gone.pw'}"
    elif how == "env":
        b["password_env"] = "D42_TEST_UNSET_PASSWORD"
        words = "environment variable D42_TEST_UNSET_PASSWORD is not set"
    else:
        b["password_command"] = ["sh", "-c", "exit 3"]
        words = "command sh failed (run it by hand to see why)"
    return write(tmp_path, data), env, words


@pytest.mark.parametrize("how", ["file", "env", "command"])
def test_a_secret_that_cannot_be_read_refuses_before_the_first_request(sim, tmp_path, how):
    cfg, env, words = unreadable_secret(sim, tmp_path, how)
    pair = status(cfg, tmp_path)
    texts = [r["text"] for r in pair["reasons"]]
    assert pair["level"] == "critical" and any(
        t.startswith("d42-b: its password cannot be read") and "a failover" in t
        and words in t for t in texts), texts
    check = d42tui("check", "--config", cfg, env=env)
    assert check.returncode == 2 and "its password cannot be read" in check.stdout
    sim.clear_requests()
    for argv in (("failover", "--yes"), ("promote", "d42-b", "--yes", "--force")):
        out = d42tui(*argv, "--config", cfg, env=env)
        assert out.returncode == 1, out.stdout
        assert "d42-b: its password cannot be read" in out.stdout and words in out.stdout
        assert "Nothing was sent" in out.stdout and "no credentials configured" not in out.stdout
    assert [r for r in sim.requests() if r.method == "POST"] == []
    assert truth(sim) == {"d42-a": "production", "d42-b": "standby"}


def test_an_unwritable_state_dir_refuses_before_the_first_request(sim, tmp_path):
    cfg = write(tmp_path, sim_config_dict(sim, tmp_path))
    (tmp_path / "st" / "state.json").mkdir(parents=True)
    sim.clear_requests()
    out = d42tui("failover", "--yes", "--config", cfg, env=env_of(tmp_path))
    assert out.returncode == 1 and "REFUSED" in out.stdout, out.stdout + out.stderr
    assert "state.json" in out.stdout and "internal error" not in out.stderr
    assert [r for r in sim.requests() if r.method == "POST"] == []


# --- never no production by our own doing -------------------------------------------------

def test_a_refused_promotion_after_the_demote_re_promotes_the_old_primary(sim, tmp_path):
    from .conftest import PASSWORDS

    # d42-b's health needs no password, its mode POST does: the one it has is wrong
    data = sim_config_dict(sim, tmp_path, passwords={"d42-a": PASSWORDS["d42-a"],
                                                     "d42-b": "rotated-by-someone"})
    cfg = write(tmp_path, data)
    out = d42tui("failover", "--yes", "--config", cfg, env=env_of(tmp_path))
    assert out.returncode == 3, out.stdout
    assert "d42-a was re-promoted: production is d42-a again" in out.stdout
    assert truth(sim) == {"d42-a": "production", "d42-b": "standby"}
    posts = [(r.appliance, r.form["appliance_mode"]) for r in sim.requests() if r.method == "POST"]
    assert posts == [("d42-a", "standby"), ("d42-b", "production"), ("d42-a", "production")]
    pair = status(cfg, tmp_path)
    assert pair["desired_production"] == "d42-a" and pair["verdict"] != "NO PRODUCTION"
    records = [json.loads(line) for line in (tmp_path / "st" / "audit.jsonl").read_text()
               .splitlines()]
    assert any(r.get("step", "").startswith("undo: POST appliance_mode=production to d42-a")
               and r["outcome"] == "done" for r in records)


# --- the journal is checked against the config before anything acts on it ---------------

def forged(pair, how: str):
    from dataclasses import replace

    from d42tui.engine.journal import JournalStep, StepKind

    from .watch_harness import failover_journal

    base = failover_journal(pair, "forged1", 0.0)
    if how == "target-is-source":  # would send standby to the live production
        return replace(base, target="d42-a", new_production="d42-a", steps=(
            JournalStep(StepKind.DEMOTE, "d42-a", "POST appliance_mode=standby to d42-a"),
            JournalStep(StepKind.PROMOTE, "d42-a", "POST appliance_mode=production to d42-a")))
    if how == "no-steps":
        return replace(base, steps=())
    return replace(base, steps=(JournalStep(StepKind.PROMOTE, "d42-zz", "POST to d42-zz"),))


@pytest.mark.parametrize("how, why", [
    ("target-is-source", "moves production from 'd42-a' to 'd42-a'"),
    ("no-steps", "it has no steps"),
    ("unknown-appliance", "'d42-zz', not an appliance of pair main"),
])
async def test_a_journal_that_does_not_hold_up_is_set_aside_never_obeyed(sim, tmp_path, named,
                                                                       how, why):
    from d42tui.engine.journal import save_journal
    from d42tui.engine.state import automation_entry

    from .test_watch_chaos import notify
    from .watch_harness import Harness, Receiver

    receiver = Receiver()
    h = Harness(sim, tmp_path, named=named, automation=notify(receiver))
    save_journal(h.store, forged(h.pair, how))
    h.watcher.start()
    try:
        await h.rounds(3)
        assert h.posts() == [] and truth(sim) == {"d42-a": "production", "d42-b": "standby"}
        auto = automation_entry(h.store, "main")
        assert "journal" not in auto and why in auto["unreadable_journal"]["why"]
        assert not any(e.startswith("failover-done") for e in h.events())
        await h.settle()
        assert "journal-unreadable" in receiver.events()
    finally:
        await h.watcher.aclose()
        receiver.close()


# --- a slow DNS step never holds up polling, fencing or the heartbeat ---------------------

async def test_a_slow_dns_step_does_not_stop_fencing_or_the_heartbeat(sim, tmp_path, named):
    from d42tui.engine.state import automation_entry
    from d42tui.watch.status import read_automation

    from .watch_harness import TARGETS, Harness

    slow = named.dns_section(TARGETS)
    slow["backend"] = {"kind": "command", "argv": ["sh", "-c", "sleep 30"], "timeout": "60s"}
    h = Harness(sim, tmp_path, named=named, dns=slow)
    h.watcher.start()
    try:
        await h.rounds(2)
        sim.set_fault("d42-a", "down")
        await h.until(lambda: h.modes()["d42-b"] == "production")
        sim.set_fault("d42-a", "none")  # the old primary returns while DNS is being switched
        await h.until(lambda: h.modes()["d42-a"] == "standby", 6)
        steps = automation_entry(h.store, "main")["journal"]["steps"]
        assert steps[-1]["kind"] == "dns" and steps[-1]["status"] == "running", steps[-1]
        state = read_automation(h.store, h.pair, h.clock())
        assert state.kind == "ACTING", state.text  # a fresh heartbeat: never "OFF"
    finally:
        await h.watcher.aclose()


async def test_when_the_re_promotion_fails_too_the_result_says_no_production_and_how(sim,
                                                                                    tmp_path):
    from d42tui.actions.planner import ActionKind, plan_action
    from d42tui.actions.runner import ActionRunner
    from d42tui.appliance.client import ApplianceClient, Failure, FailureKind, ModeChangeResult
    from d42tui.config.models import load_config
    from d42tui.engine.audit import JsonlLog
    from d42tui.engine.poller import Poller
    from d42tui.engine.state import StateStore

    class RefusesProduction(ApplianceClient):
        """Both accept standby; neither takes production back (a broken Appliance Manager)."""

        async def set_mode(self, mode):
            if mode == "production":
                failure = Failure(FailureKind.HTTP_ERROR, "HTTP 403 Forbidden", 403)
                return ModeChangeResult(self.cfg.name, mode, "failed", 403, str(failure), True,
                                        0.01, failure)
            return await super().set_mode(mode)

    config = load_config(write(tmp_path, sim_config_dict(sim, tmp_path))).config
    store = StateStore(tmp_path / "st")
    poller = Poller(config, store, client_factory=RefusesProduction)
    runner = ActionRunner(config, poller, store, JsonlLog(tmp_path / "st" / "audit.jsonl"))
    try:
        snap = await poller.pairs["main"].poll_once()
        result = await runner.run(plan_action(ActionKind.FAILOVER, config.pairs[0], snap))
    finally:
        await poller.aclose()
    assert result.outcome == "failed" and result.exit_code == 3
    assert result.detail.startswith("NO PRODUCTION: d42-a was demoted, d42-b refused production")
    assert result.detail.endswith("Recover with: d42tui promote d42-a")
    assert truth(sim) == {"d42-a": "standby", "d42-b": "standby"}
