"""Guarded actions in the console, driven as an operator would, against the real simulator:
what the dialog says, what reached the appliances, what the audit log and board show."""

from __future__ import annotations

import asyncio

from textual.widgets import Button

from d42tui.engine.audit import JsonlLog
from d42tui.engine.words import hhmm
from d42tui.tui.screens.action_dialog import ActionDialog
from d42tui.tui.screens.choose_appliance import ChooseApplianceScreen
from d42tui.tui.screens.confirm_quit import ConfirmQuitScreen
from d42tui.tui.screens.force_dialog import ForceDialog
from d42tui.tui.widgets.appliance_card import ApplianceCard
from d42tui.tui.widgets.verdict_banner import VerdictBanner

from .conftest import screen_text, sim_app, wait_for


def banner(app) -> str:
    model = app.screen.query_one(VerdictBanner).model if not isinstance(
        app.screen, ActionDialog) else None
    return model.headline if model else ""


def verdict(app) -> str:
    snap = app.snapshots.get("main")
    return snap.verdict.verdict.value if snap else ""


def card(app, name: str) -> str:
    board = next(s for s in app.screen_stack if s.query(f"#card-{name}"))
    model = board.query_one(f"#card-{name}", ApplianceCard).model
    return model.plain() if model else ""


def posts(sim) -> list:
    return [r for r in sim.requests() if r.method == "POST"]


def audit(app) -> list[dict]:
    return list(JsonlLog(app.desk.runner.audit.path).records())


def results(app) -> list[str]:
    return [r["result"] for r in audit(app) if r.get("phase") == "after"]


def dialog(app) -> ActionDialog:
    assert isinstance(app.screen, ActionDialog), type(app.screen).__name__
    return app.screen


def button(app, name: str) -> Button:
    return app.screen.query_one(f"#{name}", Button)


async def healthy(pilot, app) -> None:
    await wait_for(pilot, lambda: verdict(app) == "HEALTHY", what="HEALTHY")


RESULT_MARKS = ("✔ DONE", "✖ REFUSED", "■ CANCELLED", "✖ FAILED", "? UNKNOWN")


async def result_shown(pilot, app, timeout: float = 15.0) -> str:
    # the phase changes before the next frame is composed: wait for the words on screen
    await wait_for(pilot, lambda: dialog(app).phase == "result"
                   and any(mark in screen_text(app) for mark in RESULT_MARKS),
                   timeout=timeout, what="the action's result on screen")
    return screen_text(app)


async def test_failover_dialog_opens_on_cancel_and_escape_records_cancelled(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        await pilot.press("F")
        await pilot.pause()
        box = dialog(app)
        assert box.focused is button(app, "cancel")
        text = screen_text(app)
        assert "make d42-b production, d42-a standby" in text
        assert "Will send, in order:" in text
        assert "1. POST appliance_mode=standby to d42-a" in text
        assert "2. POST appliance_mode=production to d42-b" in text
        assert "failing over now loses changes made on d42-a after ~" in text  # data age
        assert "Type d42-b to confirm" in text
        assert button(app, "confirm").disabled
        await pilot.press(*"d42-a")  # typing needs no Tab: it goes to the name field
        assert box.query_one("#name").value == "d42-a"
        assert button(app, "confirm").disabled  # the wrong name
        await pilot.press("backspace", "b")
        assert not button(app, "confirm").disabled
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ActionDialog)
        await wait_for(pilot, lambda: results(app) == ["cancelled"], what="audit: cancelled")
        assert [r["phase"] for r in audit(app)] == ["before", "after"]
        assert posts(sim) == []


async def test_failover_happy_path_swaps_the_pair_and_the_board_says_set_by_console(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        await pilot.press("F", *"d42-b", "enter")
        text = await result_shown(pilot, app)
        assert "✔ DONE" in text, text
        truth = sim.truth()["appliances"]
        assert truth["d42-a"]["mode"] == "standby" and truth["d42-b"]["mode"] == "production"
        assert [(p.appliance, p.form["appliance_mode"]) for p in posts(sim)] == [
            ("d42-a", "standby"), ("d42-b", "production")]
        await pilot.press("enter")  # Close has the focus
        await pilot.pause()
        assert f"production · set by console {hhmm(app.clock())[:2]}" in card(app, "d42-b")
        assert "standby · set by console" in card(app, "d42-a")
        assert results(app) == ["done"]
        timeline = [e.text for e in app.events if e.kind == "action"]
        assert any("polling both appliances again" in t for t in timeline)
        assert any("sending appliance_mode=production to d42-b" in t for t in timeline)
        assert any("verifying" in t for t in timeline)
        assert timeline[-1].startswith("failover d42-b: ✔ DONE")
        snap = app.snapshots["main"]
        assert snap.verdict.production == "d42-b", snap.verdict.headline


async def test_promote_while_the_peer_is_healthy_production_is_refused_then_forced(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        await pilot.press("P")
        await pilot.pause()
        assert isinstance(app.screen, ChooseApplianceScreen)  # no card has the focus
        await pilot.press("2")
        await pilot.pause()
        text = screen_text(app)
        assert "REFUSED: the peer d42-a still answers as production" in text
        assert button(app, "confirm").display is False or button(app, "confirm").has_class(
            "-hidden")
        assert button(app, "force").disabled  # not before the name is typed
        await pilot.press(*"d42-b")
        assert not button(app, "force").disabled
        await pilot.press("tab")
        while app.screen.focused is not button(app, "force"):
            await pilot.press("tab")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ForceDialog)
        assert "two productions unless d42-a is fenced" in screen_text(app)
        assert app.screen.query_one("#go", Button).disabled
        await pilot.press("escape")  # back: nothing forced
        await pilot.pause()
        await pilot.press("escape")
        await wait_for(pilot, lambda: results(app) == ["refused"], what="audit: refused")
        assert posts(sim) == []

        # The force path: the name, Force…, then FORCE typed in the second dialog.
        await pilot.press("tab")  # the first card (d42-a), then the second
        await pilot.press("tab")
        assert app.focused_appliance() == "d42-b"
        await pilot.press("P", *"d42-b")
        for _ in range(6):
            if app.screen.focused is button(app, "force"):
                break
            await pilot.press("tab")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press(*"FORC")
        assert app.screen.query_one("#go", Button).disabled
        await pilot.press("E", "enter")
        text = await result_shown(pilot, app)
        assert "✔ DONE" in text
        assert [(p.appliance, p.form["appliance_mode"]) for p in posts(sim)] == [
            ("d42-b", "production")]
        assert [r for r in audit(app) if r["phase"] == "before"][-1]["forced"] is True
        assert results(app) == ["refused", "done"]


async def test_a_fault_after_the_dialog_opened_cancels_and_says_what_changed(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        await pilot.press("F")
        await pilot.pause()
        sim.set_fault("d42-b", "down")
        note = dialog(app).query_one("#changed")
        await wait_for(pilot, lambda: not note.has_class("-hidden"), what="the live note")
        said = str(note.content)
        assert said.startswith("The situation changed since this opened: "), said
        assert "d42-b answering → not answering" in said
        await pilot.press(*"d42-b", "enter")  # confirming anyway: the runner's re-poll decides
        text = await result_shown(pilot, app)
        assert "■ CANCELLED" in text
        assert "d42-b answering → not answering" in text
        assert "Nothing was sent" in text
        assert posts(sim) == []
        assert results(app) == ["cancelled"]


async def test_a_second_press_while_an_action_runs_sends_nothing_more(sim, tmp_path):
    # a roomy timeout: the slow fault must make the action last, never make it time out
    app = sim_app(sim, tmp_path, poll={"interval": "3s", "timeout": "3s",
                                       "failure_threshold": 3, "recovery_threshold": 2})
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        sim.set_fault("d42-b", "slow", ms=1500)  # time to press keys while it runs
        await pilot.pause(0.5)
        await pilot.press("tab", "tab", "D", *"d42-b", "enter", "enter")
        await pilot.pause(0.05)
        assert app.desk.busy("main")
        await pilot.press("escape")  # hides the dialog; the action goes on
        await pilot.pause()
        before = len(app._notifications)
        await pilot.press("D", "F", "F")
        await pilot.pause()
        assert not isinstance(app.screen, ActionDialog)
        notes = [n.message for n in list(app._notifications)[before:]]
        # each press said why it sends nothing (the action's own result may come in between)
        assert [n for n in notes if "in flight" in n] == [n for n in notes
                                                          if not n.startswith("changed:")]
        assert len([n for n in notes if "in flight" in n]) == 3, notes
        await pilot.press("q")  # quitting now would strand it: the console asks
        await pilot.pause()
        assert isinstance(app.screen, ConfirmQuitScreen)
        await pilot.press("n")
        await wait_for(pilot, lambda: not app.desk.busy(), what="the action to end")
        assert [(p.appliance, p.form["appliance_mode"]) for p in posts(sim)] == [
            ("d42-b", "standby")]
        assert results(app) == ["done"]
        assert any("demote d42-b: ✔ DONE" in e.text for e in app.events)


async def test_silence_after_sending_is_unknown_never_done(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        runner = app.desk.runner
        run = runner.run

        async def black_holed_before_sending(plan, force=False, progress=None, **more):
            def hook(text: str) -> None:
                if text.startswith("sending"):
                    sim.set_fault("d42-b", "blackhole")
                progress(text)

            return await run(plan, force=force, progress=hook, **more)

        runner.run = black_holed_before_sending
        await pilot.press("tab", "tab", "D", *"d42-b", "enter")
        text = await result_shown(pilot, app)
        assert "? UNKNOWN" in text and "DONE" not in text
        assert "it may have applied" in text and "resume-plan main" in text, text
        assert results(app) == ["unknown"]


async def test_read_only_refuses_re_assert_too_and_sends_nothing(sim, tmp_path):
    app = sim_app(sim, tmp_path, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        for key in "PDFBSRN":
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, (ActionDialog, ChooseApplianceScreen))
        assert "read-only console: reassert refused" in list(app._notifications)[-2].message
        assert posts(sim) == []
        assert app.desk.runner.read_only


async def test_a_returning_old_primary_is_offered_re_assert_on_its_card(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        sim.set_fault("d42-a", "down")
        await wait_for(pilot, lambda: verdict(app) == "PRIMARY DOWN", what="PRIMARY DOWN")
        await pilot.press("F", *"d42-b", "enter")
        assert "✔ DONE" in await result_shown(pilot, app)
        await pilot.press("enter")
        sim.set_fault("d42-a", "none")  # the old primary returns, still in production mode
        await wait_for(pilot, lambda: "came back: R re-asserts standby" in card(app, "d42-a"),
                       what="the re-assert offer")
        await pilot.pause()
        assert "▲ came back: R re-asserts standby" in screen_text(app)  # drawn, not just modelled
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Re-assert standby on d42-a" in titles
        await pilot.press("R")  # the only appliance offered: no chooser
        await pilot.pause()
        assert "POST appliance_mode=standby to d42-a" in screen_text(app)
        assert "fences it" in screen_text(app)
        await pilot.press(*"d42-a", "enter")
        assert "✔ DONE" in await result_shown(pilot, app)
        await pilot.press("enter")
        assert sim.truth()["appliances"]["d42-a"]["mode"] == "standby"
        await wait_for(pilot, lambda: "came back" not in card(app, "d42-a"), what="offer gone")


async def test_verdict_changes_go_to_events_jsonl_for_the_export(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        sim.set_fault("d42-a", "down")
        await wait_for(pilot, lambda: verdict(app) == "PRIMARY DOWN", what="PRIMARY DOWN")
        log = JsonlLog(app.recorder.log.path)
        await wait_for(pilot, lambda: len(list(log.records())) >= 3, what="events written")
        records = list(log.records())
        assert [r["verdict"] for r in records] == ["HEALTHY", "DEGRADED", "PRIMARY DOWN"]
        assert records[-1]["pair"] == "main" and "→ PRIMARY DOWN" in records[-1]["text"]
        rounds = app.snapshots["main"].round
        await wait_for(pilot, lambda: app.snapshots["main"].round >= rounds + 3, what="polls")
        await asyncio.sleep(0.1)
        assert len(list(log.records())) == 3  # only on changes


async def test_the_export_merges_console_verdicts_with_actions(sim, tmp_path):
    from d42tui.engine.audit import export_markdown

    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        await pilot.press("F", "escape")
        await wait_for(pilot, lambda: results(app) == ["cancelled"], what="audit: cancelled")
        await wait_for(pilot, lambda: app.recorder.queue.empty(), what="events written")
        await asyncio.sleep(0.1)
    text = export_markdown(JsonlLog(app.desk.runner.audit.path), JsonlLog(app.recorder.log.path))
    assert "`main` main: start → HEALTHY" in text
    assert "**failover d42-b** on `main`" in text and "→ **cancelled**" in text


async def test_the_demo_keeps_audit_and_events_in_its_own_state_dir(sim, tmp_path):
    from d42tui.engine.poller import Poller
    from d42tui.engine.state import StateStore
    from d42tui.tui.app import DemoConsoleApp
    from d42tui.tui.demo import SimulatorDemo

    from ..conftest import load_sim_config
    from .conftest import FAST_POLL, builtin_themes

    config = load_sim_config(sim, tmp_path, poll=FAST_POLL)
    store = StateStore(tmp_path / "demo-state")
    app = DemoConsoleApp(config, poller=Poller(config, store), store=store,
                         demo=SimulatorDemo(list(sim.names), sim.set_fault,
                                            sim.set_mode_by_hand),
                         themes=builtin_themes())
    assert app.desk.runner.audit.path == tmp_path / "demo-state" / "audit.jsonl"
    assert app.recorder.log.path == tmp_path / "demo-state" / "events.jsonl"


async def test_the_palette_opens_the_same_guarded_dialog(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        await pilot.press("ctrl+p", *"Fail over")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionDialog), what="the dialog")
        assert dialog(app).focused is button(app, "cancel")
        assert "make d42-b production, d42-a standby" in screen_text(app)
