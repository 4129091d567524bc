"""Planned switchover: the moment after the next restore (cron maths, DST included), the
stored schedule the watcher runs once at its time — demote first — or skips with its
reason, and `d42tui switchover` waiting in the foreground when no watcher runs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from d42tui.actions.planner import ActionKind
from d42tui.config.models import parse_config
from d42tui.engine.switchover import (
    ScheduledSwitchover,
    ScheduleRefused,
    after_next_restore,
    scheduled_switchover,
    store_switchover,
    take_switchover,
)
from d42tui.watch.status import pause_automation

from .conftest import write_sim_config
from .test_actions import Harness as ActionHarness
from .test_cli_status import ROOT, d42tui
from .test_watch_chaos import notify
from .watch_harness import Harness, Receiver


def pair_of(tz: str, backup: str | None, restore: str | None, duration: str = "30m"):
    data = {"pairs": [{"name": "main", "production": "a", "timezone": tz,
                       "restore_duration": duration,
                       "appliances": [{"name": "a", "url": "https://a.example"},
                                      {"name": "b", "url": "https://b.example"}]}]}
    if backup:
        data["pairs"][0]["backup_cron"] = backup
    if restore:
        data["pairs"][0]["restore_cron"] = restore
    return parse_config(yaml.safe_dump(data), Path("t.yaml")).pairs[0]


# --- when: the end of the restore that follows the next backup --------------------------

def test_after_the_next_restore_is_the_end_of_the_restore_of_the_next_backup():
    pair = pair_of("UTC", "0 */4 * * *", "30 */4 * * *", "20m")
    at = after_next_restore(pair, datetime(2026, 12, 3, 9, 10, tzinfo=UTC))
    # the 12:00 backup lands at 12:30 (30 min to write), the 12:30 restore takes it: 12:50
    assert at.backup == datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    assert at.restore == datetime(2026, 12, 3, 12, 30, tzinfo=UTC)
    assert at.at == datetime(2026, 12, 3, 12, 50, tzinfo=UTC)
    assert at.loss == ("≈ 50 min of changes (made after the 12:00 backup, restored at 12:30)")


def test_a_restore_too_early_for_the_backup_waits_for_the_next_one():
    pair = pair_of("UTC", "0 1 * * *", "10 1,3 * * *", "15m")  # 01:10 reads the old file
    at = after_next_restore(pair, datetime(2026, 12, 3, 0, 0, tzinfo=UTC))
    assert at.restore == datetime(2026, 12, 3, 3, 10, tzinfo=UTC)
    assert at.at == datetime(2026, 12, 3, 3, 25, tzinfo=UTC)


def test_across_the_autumn_clock_change():
    # Europe/Berlin, 25 Oct 2026: 03:00 CEST becomes 02:00 CET. The 01:30 local backup is
    # at 23:30 UTC; it lands at 00:00 UTC (02:00 CEST); the 02:30 restore runs once, as
    # croniter-based schedules here fire a repeated wall time once (the first).
    pair = pair_of("Europe/Berlin", "30 1 * * *", "30 2 * * *", "20m")
    at = after_next_restore(pair, datetime(2026, 10, 24, 22, 0, tzinfo=UTC))
    assert at.backup == datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
    assert at.restore == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    assert at.at == datetime(2026, 10, 25, 0, 50, tzinfo=UTC)


def test_without_the_crons_it_says_which_is_missing():
    with pytest.raises(ScheduleRefused, match="needs the pair's restore_cron"):
        after_next_restore(pair_of("UTC", "0 1 * * *", None), datetime.now(UTC))


# --- the plan ---------------------------------------------------------------------------

async def test_a_switchover_plan_demotes_first_and_needs_a_healthy_pair(sim, tmp_path):
    h = ActionHarness(sim, tmp_path)
    try:
        plan = await h.plan(ActionKind.SWITCHOVER)
        assert not plan.refused
        assert [(s.appliance, s.mode) for s in plan.steps] == [("d42-a", "standby"),
                                                               ("d42-b", "production")]
        sim.set_fault("d42-b", "down")
        down = await h.plan(ActionKind.SWITCHOVER, polls=3)
        assert down.refused and not down.forceable
        assert down.refusal.startswith("the pair is STANDBY DOWN") and "HEALTHY" in down.refusal
        sim.set_fault("d42-b", "none")
        sim.set_version("d42-b", "19.01.00.1")
        odd = await h.plan(ActionKind.SWITCHOVER, polls=3)
        assert odd.refused and "the versions differ" in odd.refusal
        assert (await h.runner.run(odd)).outcome == "refused" and h.posts() == []
    finally:
        await h.poller.aclose()


# --- the watcher runs it, once, at its time --------------------------------------------

@pytest.fixture
def receiver():
    rx = Receiver()
    yield rx
    rx.close()


@pytest.fixture
async def w(sim, tmp_path, receiver):
    h = Harness(sim, tmp_path, automation=notify(receiver))
    h.rx = receiver
    h.watcher.start()
    await h.rounds(2)
    sim.clear_requests()
    yield h
    await h.watcher.aclose()


def plan_in(h, seconds: float) -> ScheduledSwitchover:
    item = ScheduledSwitchover(at=h.clock() + seconds, source="d42-a", target="d42-b",
                               by="alice@host", created_at=h.clock(), why="in 5s, as asked")
    store_switchover(h.store, "main", item)
    return item


async def test_it_happens_once_at_its_time_demote_first(w):
    item = plan_in(w, 5)
    rounds = await w.until(lambda: w.modes()["d42-b"] == "production")
    assert w.clock() - 1 >= item.at  # not before its time (the round after it fell due)
    assert rounds <= 7
    assert w.posts() == [("d42-a", "standby"), ("d42-b", "production")]
    assert scheduled_switchover(w.store, "main") is None  # taken: it cannot run twice
    await w.rounds(3)
    assert w.posts() == [("d42-a", "standby"), ("d42-b", "production")]
    desired, _ = w.store.roles(w.pair)
    assert desired == "d42-b"
    done = [r for r in w.records() if r.get("action") == "auto-switchover"
            and r["phase"] == "after"]
    assert [r["result"] for r in done] == ["done"]


async def test_a_cancelled_one_never_happens(w):
    plan_in(w, 2)
    assert take_switchover(w.store, "main") is not None  # `switchover --cancel`
    await w.rounds(5)  # past its time
    assert w.posts() == [] and w.modes()["d42-a"] == "production"


async def test_due_while_paused_it_is_skipped_with_the_reason(w):
    pause_automation(w.store, "main", reason="db upgrade", duration=3600, now=w.clock())
    plan_in(w, 1)
    await w.until(lambda: "switchover-skipped" in w.rx.events())
    body = next(b for b in w.rx.bodies if b["event"] == "switchover-skipped")
    assert "automation is paused" in body["text"] and "db upgrade" in body["text"]
    assert "nothing was sent" in body["text"]
    assert w.posts() == [] and scheduled_switchover(w.store, "main") is None
    skipped = [r for r in w.records() if r.get("action") == "auto-switchover"
               and r["phase"] == "after"]
    assert skipped and skipped[0]["result"] == "refused"


async def test_due_while_the_primary_is_down_it_is_skipped(w):
    w.sim.set_fault("d42-a", "down")
    plan_in(w, 0)
    await w.until(lambda: "switchover-skipped" in w.rx.events(), limit=3)
    body = next(b for b in w.rx.bodies if b["event"] == "switchover-skipped")
    assert "a planned switchover needs a HEALTHY pair" in body["text"]
    assert ("d42-a", "standby") not in w.posts()


async def test_due_inside_the_standbys_restore_window_it_is_skipped(sim, tmp_path, receiver):
    began = datetime.now(UTC) - timedelta(minutes=5)

    def restoring(data):  # a daily restore that began 5 minutes ago and lasts 30
        data["pairs"][0]["restore_cron"] = f"{began.minute} {began.hour} * * *"

    h = Harness(sim, tmp_path, automation=notify(receiver), edit=restoring)
    h.rx = receiver
    h.watcher.start()
    try:
        await h.rounds(2)
        plan_in(h, 0)
        await h.until(lambda: "switchover-skipped" in receiver.events(), limit=3)
        body = next(b for b in receiver.bodies if b["event"] == "switchover-skipped")
        assert "d42-b is inside its estimated restore window" in body["text"]
        assert h.posts() == []
    finally:
        await h.watcher.aclose()


# --- the command ------------------------------------------------------------------------

def test_the_command_waits_in_the_foreground_and_runs_it(sim, tmp_path):
    import os

    cfg = write_sim_config(sim, tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "d42tui", "switchover", "--in", "4s",
                             "--yes", "--config", str(cfg)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.time() + 30
        shown = None
        while time.time() < deadline and shown is None:
            data = json.loads(d42tui("status", "--json", "--config", str(cfg)).stdout)
            shown = data["pairs"][0]["scheduled_switchover"]
        assert shown is not None and shown["target"] == "d42-b" and shown["source"] == "d42-a"
        check = d42tui("check", "--config", str(cfg))
        assert check.returncode == 0 and "switchover d42-a → d42-b at " in check.stdout
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, out
    assert "SCHEDULED:" in out and "this command waits and runs it" in out
    assert "DONE" in out
    modes = {n: a["mode"] for n, a in sim.truth()["appliances"].items()}
    assert modes == {"d42-a": "standby", "d42-b": "production"}
    posts = [(r.appliance, r.form["appliance_mode"]) for r in sim.requests() if r.method == "POST"]
    assert posts == [("d42-a", "standby"), ("d42-b", "production")]
    data = json.loads(d42tui("status", "--json", "--config", str(cfg)).stdout)
    assert data["pairs"][0]["scheduled_switchover"] is None


def test_cancel_refusals_and_a_dry_run(sim, tmp_path):
    cfg = write_sim_config(sim, tmp_path)
    out = d42tui("switchover", "--cancel", "--config", str(cfg))
    assert out.returncode == 1 and "no switchover is scheduled for pair main" in out.stdout
    out = d42tui("switchover", "--after-next-restore", "--dry-run", "--config", str(cfg))
    assert out.returncode == 0, out.stderr
    assert "will schedule: switchover d42-a → d42-b at " in out.stdout
    assert "of changes (made after the " in out.stdout and "nothing was scheduled" in out.stdout
    out = d42tui("switchover", "--at", "25:99", "--yes", "--config", str(cfg))
    assert out.returncode == 2 and "--at 25:99: not a time" in out.stderr
    out = d42tui("switchover", "--in", "1h", "--read-only", "--config", str(cfg))
    assert out.returncode == 1 and "read-only" in out.stderr
    assert [r for r in sim.requests() if r.method == "POST"] == []
