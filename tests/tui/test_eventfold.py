"""A flapping appliance is one timeline line updated in place, and the transitions the
console's own action passes through are one entry, not alarms."""

from __future__ import annotations

from dataclasses import replace

from d42tui.engine.audit import JsonlLog
from d42tui.engine.pair import Verdict
from d42tui.tui.eventfold import FLAP_AFTER, WINDOW, EventFold

from . import handmade as H
from .conftest import sim_app, type_at_once, wait_for
from .test_guarded_actions import healthy
from .test_typing import outcome


def _flap(config, seconds: int):
    """d42-a UP and SUSPECT in turn, one poll a second (the pair HEALTHY ↔ DEGRADED)."""
    for i in range(seconds):
        view = H.up("d42-a") if i % 2 == 0 else H.failing("d42-a", 1)
        snap = H.snapshot(config, {"d42-a": view, "d42-b": H.up("d42-b")}, round=i)
        yield replace(snap, at=H.NOW + i)


def test_flapping_becomes_one_line_updated_in_place():
    config = H.make_config()
    fold, prev = EventFold(), None
    shown, records = [], []
    for snap in _flap(config, 30):
        events, recs = fold.take(prev, snap)
        shown += events
        records += recs
        prev = snap
    flapping = [e for e in shown if e.kind == "flapping"]
    assert len({e.key for e in flapping}) == 1  # one line...
    assert len(flapping) > 20  # ...updated at every change
    assert flapping[-1].text.startswith("d42-a flapping: ")
    assert f"changes in {WINDOW:.0f} s" in flapping[-1].text
    # before it flapped, its changes and the verdicts were said one by one
    plain = [e for e in shown if e.kind in ("appliance", "verdict")]
    # its first poll, then FLAP_AFTER - 1 changes before the line
    assert len([e for e in plain if e.appliance == "d42-a"]) == FLAP_AFTER
    assert len(plain) <= 2 * FLAP_AFTER + 1  # (d42-b's first poll too)
    # events.jsonl: the verdicts before, then the episode once, not two lines a second
    assert len(records) <= FLAP_AFTER + 1
    assert [r for r in records if "flapping" in r][0]["text"].startswith("d42-a flapping")


def test_a_still_appliance_ends_its_flapping_line_and_real_verdicts_still_show():
    config = H.make_config()
    fold, prev = EventFold(), None
    for snap in _flap(config, 10):
        fold.take(prev, snap)
        prev = snap
    down = replace(H.primary_down(config), at=H.NOW + 11)
    events, _ = fold.take(prev, down)
    assert any(e.kind == "verdict" and "PRIMARY DOWN" in e.text for e in events)
    still = replace(H.healthy(config), at=H.NOW + 11 + WINDOW + 1)
    events, records = fold.take(down, still)
    end = [e for e in events if e.kind == "flapping"]
    assert end and end[0].text.startswith("d42-a stopped flapping: ")
    assert any(r.get("flapping") == "d42-a" for r in records)


def test_the_console_s_own_action_is_one_entry():
    config = H.make_config()
    fold = EventFold()
    start = H.healthy(config)
    fold.take(None, start)
    fold.begin("main", "failback d42-a", start.verdict)
    prev = start
    for i, state in enumerate((H.no_production, H.split_brain, H.healthy)):
        snap = replace(state(config), at=H.NOW + i + 1)
        events, records = fold.take(prev, snap, acting="failback d42-a")
        assert not [e for e in events if e.kind in ("verdict", "mode")] and not records
        prev = snap
    after = replace(H.no_production(config), at=H.NOW + 5)
    events, records = fold.take(prev, after)
    verdicts = [e for e in events if e.kind == "verdict"]
    assert [e.text.split(" (")[0] for e in verdicts] == [
        "main: HEALTHY → NO PRODUCTION after the console's failback d42-a"]
    assert len(records) == 1 and records[0]["verdict"] == Verdict.NO_PRODUCTION.value


async def test_a_flapping_simulator_appliance_does_not_flood_the_timeline(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        sim.set_fault("d42-b", "flap")
        await wait_for(pilot, lambda: any(e.kind == "flapping" for e in app.events),
                       timeout=15, what="the flapping line")
        count = len(app.events)
        line = next(e for e in app.events if e.kind == "flapping")
        await wait_for(pilot, lambda: next(e for e in app.events if e.kind == "flapping")
                       != line, timeout=10, what="the line updated in place")
        assert len([e for e in app.events if e.kind == "flapping"]) == 1
        assert len(app.events) <= count + 2  # updated, not appended
        board = app.screen.query_one("#timeline")
        assert sum("flapping" in row for row in board.texts()) == 1


async def test_the_console_s_failback_is_one_entry_in_the_timeline_and_events_jsonl(
        sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        type_at_once(app, "F", *"d42-b", "enter")
        assert "✔ DONE" in await outcome(pilot, app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.snapshots["main"].desired_production == "d42-b"
                       and not app.desk.running, what="failed over")
        mark = len(app.events)
        type_at_once(app, "B", *"d42-a", "enter")
        assert "✔ DONE" in await outcome(pilot, app)
        await wait_for(pilot, lambda: "main" not in app.fold._acting and any(
            "after the console's failback" in e.text for e in app.events[mark:])
            or app.snapshots["main"].verdict.verdict is Verdict.HEALTHY and not app.desk.running
            and "main" not in app.fold._acting, what="the action's end")
        await pilot.pause(1.0)  # a few more polls: nothing more may come of it
        verdicts = [e.text for e in app.events[mark:] if e.kind == "verdict"]
        assert len(verdicts) <= 1, verdicts
        assert not any("NO PRODUCTION" in e.text for e in app.events[mark:])
    records = list(JsonlLog(app.recorder.log.path).records())
    assert not any("NO PRODUCTION" in r.get("text", "") for r in records), records
