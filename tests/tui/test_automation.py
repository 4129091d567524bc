"""Watch-mode automation in the console, against the real simulator and real state files:
the board's automation line, and pausing / resuming it with the guarded `A` key."""

from __future__ import annotations

import os
import time
from datetime import UTC

from textual.widgets import Button, Input

from d42tui.engine.audit import JsonlLog
from d42tui.engine.state import StateStore, automation_entry, write_heartbeat
from d42tui.tui.screens.automation_dialog import AutomationDialog
from d42tui.tui.screens.pairs import PairsScreen
from d42tui.tui.text.autotext import automation_line, automation_short, automation_text
from d42tui.watch.status import automation_state, pause_automation

from . import handmade as H
from .conftest import handmade_app, screen_text, sim_app, wait_for


def heartbeat(app, failures=(2, 3)) -> None:
    """What a live watcher writes every poll (the engine's own writer)."""
    write_heartbeat(app.store.directory, "main", {
        "pid": os.getpid(), "at": time.time(), "stale_after": 60, "state": "ARMED",
        "primary": "d42-a", "failures": list(failures), "why": ""})


def audit(app) -> list[dict]:
    path = app.audit_log.path
    return list(JsonlLog(path).records()) if path.exists() else []


def auto_actions(app) -> list[tuple[str, str]]:
    return [(r["action"], r["phase"]) for r in audit(app)
            if r.get("action", "").endswith("-automation")]


async def shown(pilot, app, text: str) -> str:
    await wait_for(pilot, lambda: text in screen_text(app), what=repr(text))
    return screen_text(app)


async def healthy(pilot, app) -> None:
    await wait_for(pilot, lambda: (s := app.snapshots.get("main")) is not None
                   and s.verdict.verdict.value == "HEALTHY", what="HEALTHY")


def dialog(app) -> AutomationDialog:
    assert isinstance(app.screen, AutomationDialog), type(app.screen).__name__
    return app.screen


async def test_board_says_off_without_a_watcher_then_armed_with_the_counter(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        await shown(pilot, app, "automation OFF · no watcher running")
        heartbeat(app)
        await shown(pilot, app, "automation ARMED · primary d42-a failures 2/3")
        # a watcher that stopped beating is OFF again, never ARMED
        write_heartbeat(app.store.directory, "main", {"pid": 1, "at": time.time() - 600,
                                                      "stale_after": 15, "state": "ARMED"})
        text = await shown(pilot, app, "automation OFF · no watcher running (last heartbeat")
        assert "ARMED" not in text


async def test_pause_with_the_key_then_resume(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        heartbeat(app)
        await shown(pilot, app, "ARMED · primary d42-a failures 2/3")
        await pilot.press("A")
        await pilot.pause()
        box = dialog(app)
        assert box.focused is box.query_one("#cancel", Button)
        text = screen_text(app)
        assert "Pause automatic failover · pair main" in text
        assert "will not fail over or fail back pair main by itself" in text
        assert box.query_one("#confirm", Button).disabled  # a reason is required
        await pilot.press(*"db upgrade")  # typing goes to the reason without a Tab
        assert box.query_one("#reason", Input).value == "db upgrade"
        await pilot.press("tab", *"2h")
        await pilot.pause()
        assert "pair main by itself for 2h," in screen_text(app)
        assert not box.query_one("#confirm", Button).disabled
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, AutomationDialog)
        # written in a worker thread (never on the screen's loop): wait for it
        await wait_for(pilot, lambda: "pause" in automation_entry(app.store, "main"),
                       what="the pause in the state file")
        pause = automation_entry(app.store, "main")["pause"]
        assert pause["reason"] == "db upgrade"
        assert abs(pause["until"] - pause["since"] - 7200) < 1
        board = await shown(pilot, app, "automation PAUSED · db upgrade · until ")
        assert "ARMED" not in board
        assert auto_actions(app) == [("pause-automation", "before"),
                                     ("pause-automation", "after")]
        assert any("automation paused in the console" in e.text for e in app.events)

        await pilot.press("A")  # paused: the key resumes, restating the pause
        await pilot.pause()
        box = dialog(app)
        assert box.resume and box.focused is box.query_one("#cancel", Button)
        text = screen_text(app)
        assert "Resume automatic failover · pair main" in text and "db upgrade" in text
        await pilot.press("tab", "enter")  # Confirm
        await wait_for(pilot, lambda: "pause" not in automation_entry(app.store, "main"),
                       what="the pause removed from the state file")
        await shown(pilot, app, "automation ARMED · primary d42-a failures 2/3")
        assert auto_actions(app)[2:] == [("resume-automation", "before"),
                                         ("resume-automation", "after")]


async def test_escape_and_an_empty_reason_write_nothing(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        await pilot.press("A")
        await pilot.pause()
        await pilot.press("tab", "enter")  # to the empty reason's field, Enter: refused
        await pilot.pause()
        assert isinstance(app.screen, AutomationDialog)
        assert "Type a reason to pause." in screen_text(app)
        await pilot.press(*"maintenance", "escape")
        await pilot.pause()
        assert not isinstance(app.screen, AutomationDialog)
        assert automation_entry(app.store, "main") == {}
        assert audit(app) == []
        assert "automation OFF" in screen_text(app)


async def test_read_only_refuses_the_key_and_writes_nothing(sim, tmp_path):
    app = sim_app(sim, tmp_path, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        assert app.check_action("automation", ()) is None  # dimmed
        await pilot.press("A")
        await pilot.pause()
        assert not isinstance(app.screen, AutomationDialog)
        assert automation_entry(app.store, "main") == {}
        assert audit(app) == []
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        assert "pause / resume automatic failover" in text and "refused: read-only" in text


async def test_refused_while_an_action_on_the_pair_runs(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        app.desk.running["main"] = "failover d42-b"
        await pilot.press("A")
        await pilot.pause()
        assert not isinstance(app.screen, AutomationDialog)
        assert audit(app) == []


async def test_many_pairs_list_shows_the_short_form(tmp_path):
    store = StateStore(tmp_path / "state")
    app = handmade_app(pairs=3, store=store)
    pause_automation(store, "main", reason="upgrade", duration=None, now=H.NOW, by="alice@h")
    async with app.run_test(size=(80, 24)) as pilot:
        for index in range(3):
            app.show_snapshot(H.healthy(app.config, index))
        await pilot.pause()
        assert isinstance(app.screen, PairsScreen)
        table = app.screen.table
        assert [table.get_cell(p.name, "automation") for p in app.config.pairs] == \
            ["OFF", "OFF", "OFF"]
        write_heartbeat(store.directory, "emea", {"pid": 1, "at": H.NOW, "stale_after": 60,
                                                  "state": "ARMED", "failures": [1, 3]})
        app.refresh_automation("emea", force=True)
        await pilot.pause()
        assert table.get_cell("emea", "automation") == "ARMED 1/3"


def test_words_never_colour_alone():
    now = H.NOW
    beat = {"pid": 7, "at": now, "stale_after": 15, "state": "ARMED", "primary": "d42-a",
            "failures": [0, 3]}
    armed = automation_state({}, beat, now)
    assert automation_text(armed, UTC) == "ARMED · primary d42-a failures 0/3"
    assert automation_short(armed) == "ARMED"
    paused = automation_state({"pause": {"by": "bob@x", "reason": "r" * 80, "since": now,
                                         "until": now + 3600}}, beat, now)
    text = automation_text(paused, UTC)
    assert text.startswith("PAUSED · rrrr") and "…" in text and "until 03:17 · by bob@x" in text
    journal = {"kind": "failover", "source": "d42-a", "target": "d42-b",
               "steps": [{"status": "done", "text": "promote"}, {"status": "pending",
                                                                  "text": "confirm"}]}
    acting = automation_state({"journal": journal}, beat, now)
    assert automation_short(acting) == "ACTING 2/2" and "step 2 of 2" in automation_text(acting,
                                                                                         UTC)
    stale = automation_state({}, {**beat, "at": now - 30}, now)
    assert automation_text(stale, UTC) == "OFF · no watcher running (last heartbeat 02:17)"
    (line,) = automation_line(stale, UTC)
    assert line[1] == ("OFF", "dim") and automation_line(None, UTC) == ()
