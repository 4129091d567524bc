"""Guarded actions against the simulator: happy paths, every refusal, changed pictures, audit."""

from __future__ import annotations

import json
import time

import pytest

from d42tui.actions.planner import ActionKind, plan_action
from d42tui.actions.runner import ActionRunner
from d42tui.config.models import state_dir
from d42tui.engine.audit import JsonlLog, outcomes
from d42tui.engine.poller import Poller
from d42tui.engine.state import StateStore

from .conftest import PASSWORDS, load_sim_config


class Harness:
    def __init__(self, sim, tmp_path, read_only=False, **kwargs):
        self.sim = sim
        self.config = load_sim_config(sim, tmp_path, **kwargs)
        self.pair = self.config.pairs[0]
        self.store = StateStore(state_dir(self.config))
        self.poller = Poller(self.config, self.store)
        self.audit = JsonlLog(tmp_path / "audit.jsonl")
        self.runner = ActionRunner(self.config, self.poller, self.store, self.audit,
                                   read_only=read_only)

    async def plan(self, kind, target=None, polls=1):
        for _ in range(polls):  # enough polls for the failure threshold to be passed
            snap = await self.poller.pairs["main"].poll_once()
        return plan_action(kind, self.pair, snap, target)

    def posts(self, name=None):
        return [r for r in self.sim.requests(name) if r.method == "POST"]

    def modes(self):
        return {n: a["mode"] for n, a in self.sim.truth()["appliances"].items()}

    def records(self):
        return list(self.audit.records())


@pytest.fixture
async def h(sim, tmp_path):
    harness = Harness(sim, tmp_path)
    yield harness
    await harness.poller.aclose()


# --- happy paths --------------------------------------------------------------------------

async def test_failover_with_dead_primary_promotes_the_standby(h):
    h.sim.set_fault("d42-a", "down")
    plan = await h.plan(ActionKind.FAILOVER, polls=3)
    assert not plan.refused
    assert [(s.appliance, s.mode) for s in plan.steps] == [("d42-b", "production"),
                                                           ("d42-a", "standby")]
    seen = []  # every snapshot the board and the timeline got while the action ran
    h.poller.subscribe(lambda snap: seen.append(snap.verdict.verdict.value))
    result = await h.runner.run(plan)
    assert result.outcome == "done", result.detail
    assert h.modes()["d42-b"] == "production"
    assert [s.outcome for s in result.steps] == ["done", "skipped"]
    # the dead old primary is a fencing debt from the moment d42-b took over, never a
    # (false) split brain in between
    assert "SPLIT BRAIN" not in seen and seen[-1] == "STANDBY DOWN", seen
    assert any("not put in standby" in w for w in result.warnings)
    desired, modes = h.store.roles(h.pair)
    assert desired == "d42-b" and modes["d42-b"].source == "console"


async def test_after_a_failover_the_old_primary_holds_its_own_data_not_the_crons(h):
    # the simulated pair backs up at :00 and restores at :30 every 4 hours; d42-a was
    # production until this failover and has not restored since: failing back loses what
    # d42-b took since the failover, not everything since the last restore's backup
    h.sim.set_fault("d42-a", "down")
    plan = await h.plan(ActionKind.FAILOVER, polls=3)
    switched = time.time()
    assert (await h.runner.run(plan)).outcome == "done"
    assert h.store.desired_since("main") == pytest.approx(switched, abs=5)
    h.sim.set_fault("d42-a", "none")
    back = await h.plan(ActionKind.FAILBACK, polls=3)
    est = h.poller.pairs["main"].latest.pipeline.estimate
    assert est.left_production_at is not None
    assert est.left_production_at.timestamp() == pytest.approx(switched, abs=5)
    assert est.data_age < 60
    hhmm = time.strftime("%H:%M", time.gmtime(est.left_production_at.timestamp()))
    assert back.data_loss == (f"failing back now loses changes made on d42-b after ~{hhmm} "
                              "(under a minute ago): d42-a has its own data up to then")
    assert back.data_loss in back.situation


async def test_planned_switchover_demotes_first_never_two_productions(h):
    plan = await h.plan(ActionKind.FAILOVER)
    assert [(s.appliance, s.mode) for s in plan.steps] == [("d42-a", "standby"),
                                                           ("d42-b", "production")]
    result = await h.runner.run(plan)
    assert result.outcome == "done"
    posts = h.posts()
    assert [(p.appliance, p.form["appliance_mode"]) for p in posts] == [
        ("d42-a", "standby"), ("d42-b", "production")]
    assert h.modes() == {"d42-a": "standby", "d42-b": "production"}


async def test_failback_returns_to_the_preferred_primary(h):
    h.sim.set_fault("d42-a", "down")
    assert (await h.runner.run(await h.plan(ActionKind.FAILOVER, polls=3))).outcome == "done"
    snap = await h.poller.pairs["main"].poll_once()
    assert snap.verdict.verdict.value == "STANDBY DOWN"  # the old primary: down, not fenced
    assert "not fenced" in snap.verdict.headline
    h.sim.set_fault("d42-a", "none")
    plan = await h.plan(ActionKind.FAILBACK, polls=2)
    # it came back still asserted production: split brain until it is fenced
    assert plan.refused and "SPLIT BRAIN" in plan.refusal
    assert (await h.runner.run(await h.plan(ActionKind.REASSERT, "d42-b"))).outcome == "refused"
    fence = await h.plan(ActionKind.REASSERT, "d42-a")  # fencing: its desired role is standby
    assert [(s.appliance, s.mode) for s in fence.steps] == [("d42-a", "standby")]
    assert (await h.runner.run(fence)).outcome == "done"
    plan = await h.plan(ActionKind.FAILBACK)
    assert plan.target == "d42-a" and not plan.refused
    assert (await h.runner.run(plan)).outcome == "done"
    assert h.modes() == {"d42-a": "production", "d42-b": "standby"}
    assert h.store.roles(h.pair)[0] == "d42-a"


async def test_demote_and_promote_and_reassert(h):
    result = await h.runner.run(await h.plan(ActionKind.DEMOTE, "d42-a"))
    assert result.outcome == "done" and h.modes()["d42-a"] == "standby"
    result = await h.runner.run(await h.plan(ActionKind.PROMOTE, "d42-b"))
    assert result.outcome == "done" and h.modes()["d42-b"] == "production"
    h.sim.clear_requests()
    result = await h.runner.run(await h.plan(ActionKind.REASSERT, "d42-a"))
    assert result.outcome == "done"
    assert [p.form for p in h.posts("d42-a")] == [{"appliance_mode": "standby"}]


# --- refusals: nothing reaches the simulator ----------------------------------------------

async def test_promote_while_peer_is_healthy_production_is_refused(h):
    plan = await h.plan(ActionKind.PROMOTE, "d42-b")
    assert plan.refused and plan.forceable and "two productions" in plan.refusal
    h.sim.clear_requests()
    result = await h.runner.run(plan)
    assert result.outcome == "refused" and h.posts() == []
    assert h.modes()["d42-b"] == "standby"


async def test_force_is_an_explicit_override(h):
    plan = await h.plan(ActionKind.PROMOTE, "d42-b")
    result = await h.runner.run(plan, force=True)
    assert result.outcome == "done" and h.modes()["d42-b"] == "production"
    assert h.records()[0]["forced"] is True


async def test_split_brain_refuses_everything_but_demote(h):
    h.store.record_mode("main", "d42-b", "production", time.time())
    for kind, target in ((ActionKind.FAILOVER, None), (ActionKind.PROMOTE, "d42-a"),
                         (ActionKind.FAILBACK, None)):
        plan = await h.plan(kind, target)
        assert plan.refused, kind
        h.sim.clear_requests()
        assert (await h.runner.run(plan)).outcome == "refused"
        assert h.posts() == []
    plan = await h.plan(ActionKind.DEMOTE, "d42-b")
    assert not plan.refused
    assert (await h.runner.run(plan)).outcome == "done"


async def test_failover_when_standby_is_down_is_refused(h):
    h.sim.set_fault("d42-b", "down")
    plan = await h.plan(ActionKind.FAILOVER, polls=3)
    assert plan.refused and not plan.forceable
    h.sim.clear_requests()
    assert (await h.runner.run(plan, force=True)).outcome == "refused"
    assert h.posts() == []


async def test_failover_from_a_primary_that_rejects_the_credentials_is_refused(h):
    # d42-a answers 401 to every poll (a rotated password): it is running, most likely as
    # production; promoting d42-b would make two
    h.sim.set_fault("d42-a", "unauthorized")
    for kind, target in ((ActionKind.FAILOVER, None), (ActionKind.PROMOTE, "d42-b")):
        plan = await h.plan(kind, target, polls=4)
        assert plan.refused and plan.forceable, kind
        assert "d42-a answers but cannot be read (credentials rejected (401)" in plan.refusal
        assert "two productions" in plan.refusal
        h.sim.clear_requests()
        assert (await h.runner.run(plan)).outcome == "refused"
        assert h.posts() == [] and h.modes()["d42-b"] == "standby"
    # a person who knows d42-a is fenced by other means may force it, and it is recorded
    plan = await h.plan(ActionKind.FAILOVER, polls=1)
    assert "d42-a answers but cannot be read: it is not put in standby" in " ".join(
        plan.warnings)
    result = await h.runner.run(plan, force=True)
    assert result.outcome == "done" and h.modes()["d42-b"] == "production"
    assert [r["forced"] for r in h.records() if r.get("action_id") == result.action_id
            and "forced" in r] == [True]


async def test_read_only_sends_nothing(sim, tmp_path):
    harness = Harness(sim, tmp_path, read_only=True)
    plan = await harness.plan(ActionKind.DEMOTE, "d42-a")
    sim.clear_requests()
    result = await harness.runner.run(plan)
    assert result.outcome == "refused" and "read-only" in result.detail
    assert sim.requests() == []
    await harness.poller.aclose()


async def test_changed_picture_between_dialog_and_confirm_cancels(h):
    plan = await h.plan(ActionKind.FAILOVER)  # the dialog opens on a healthy pair
    h.sim.set_fault("d42-a", "down")  # ...then the primary dies
    h.sim.clear_requests()
    result = await h.runner.run(plan)
    assert result.outcome == "cancelled"
    assert "d42-a answering → not answering" in result.detail
    assert h.posts() == []


async def test_double_press_sends_one_request(h):
    import asyncio

    plan = await h.plan(ActionKind.DEMOTE, "d42-a")
    h.sim.clear_requests()
    first, second = await asyncio.gather(h.runner.run(plan), h.runner.run(plan))
    assert sorted([first.outcome, second.outcome]) == ["done", "refused"]
    assert len(h.posts()) == 1


# --- failed and unknown -------------------------------------------------------------------

async def test_appliance_going_slow_before_confirm_cancels(h):
    plan = await h.plan(ActionKind.DEMOTE, "d42-a")
    h.sim.set_fault("d42-a", "slow", ms=3000)  # the re-poll times out: a changed picture
    result = await h.runner.run(plan)
    assert result.outcome == "cancelled" and h.posts() == []


async def test_unknown_when_the_post_gets_no_answer(sim, tmp_path):
    harness = Harness(sim, tmp_path, poll={"interval": "1s", "timeout": "700ms"})
    plan = await harness.plan(ActionKind.DEMOTE, "d42-a")
    # health answers the re-poll; the appliance is black-holed right before the POST goes out
    def progress(text):
        if text.startswith("sending"):
            sim.set_fault("d42-a", "blackhole")
    result = await harness.runner.run(plan, progress=progress)
    assert result.outcome == "unknown", result.detail
    assert "may have applied" in result.detail and result.exit_code == 4
    await harness.poller.aclose()


async def test_wrong_credentials_fail_with_the_reason(sim, tmp_path):
    harness = Harness(sim, tmp_path, passwords={"d42-a": "nope", "d42-b": PASSWORDS["d42-b"]})
    result = await harness.runner.run(await harness.plan(ActionKind.DEMOTE, "d42-a"))
    assert result.outcome == "failed" and "credentials rejected" in result.detail
    assert result.exit_code == 3
    assert sim.truth()["appliances"]["d42-a"]["mode"] == "production"
    await harness.poller.aclose()


# --- audit --------------------------------------------------------------------------------

async def test_audit_has_before_and_after_for_every_outcome(h):
    await h.runner.run(await h.plan(ActionKind.PROMOTE, "d42-b"))  # refused
    await h.runner.run(await h.plan(ActionKind.DEMOTE, "d42-b"))  # done
    plan = await h.plan(ActionKind.FAILOVER)
    h.runner.refuse(plan, "cancelled", "operator pressed Escape")
    records = h.records()
    rows = outcomes(records)
    assert [r.result for r in rows] == ["refused", "done", "cancelled"]
    for row in rows:
        phases = [r["phase"] for r in records if r.get("action_id") == row.action_id]
        assert phases[0] == "before" and phases[-1] == "after"
    text = (h.audit.path).read_text()
    for secret in PASSWORDS.values():
        assert secret not in text
    assert oct(h.audit.path.stat().st_mode & 0o777) == "0o600"
    assert all(json.loads(line) for line in text.splitlines())


def test_crash_between_records_leaves_the_first_and_export_says_unknown(sim, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from .conftest import write_sim_config
    from .test_cli_status import ROOT

    cfg = write_sim_config(sim, tmp_path, poll={"interval": "5s", "timeout": "5s"})
    sim.set_fault("d42-a", "slow", ms=2000)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "D42TUI_STATE_DIR": str(tmp_path / "st")}
    proc = subprocess.Popen([sys.executable, "-m", "d42tui", "demote", "d42-a", "--yes",
                             "--config", str(cfg)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline and not [r for r in sim.requests("d42-a") if r.method == "POST"]:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # mid-action: the POST is out, no answer yet
    proc.wait(5)
    log = tmp_path / "st" / "audit.jsonl"
    phases = [json.loads(line)["phase"] for line in log.read_text().splitlines()]
    assert phases[0] == "before" and "after" not in phases
    out = subprocess.run([sys.executable, "-m", "d42tui", "audit", "export", "--markdown",
                          "--config", str(cfg)], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "in-doubt" in out.stdout and "outcome is unknown" in out.stdout
