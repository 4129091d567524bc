"""Keys typed while a dialog opens reach its name field, in order, whatever the path to it
(a key, the chooser, the palette), even with a busy core: the practised incident lost
every character after `D`, `2` and some after `F` and `B`. Keys are sent as a fast typist
or a paste sends them, with no pause between them."""

from __future__ import annotations

from textual.widgets import Input

from d42tui.tui.screens.action_dialog import ActionDialog

from .conftest import screen_text, sim_app, type_at_once, wait_for
from .test_guarded_actions import healthy, posts, result_shown, results


def field(app) -> str:
    screen = app.screen
    found = screen.query("#name") if isinstance(screen, ActionDialog) else ()
    return found.first(Input).value if found else ""  # ("" while the dialog is composed)


async def dialog_with(pilot, app, text: str, what: str) -> None:
    await wait_for(pilot, lambda: field(app) == text, timeout=10,
                   what=f"{text!r} in the name field ({what}); it holds {field(app)!r}")


async def outcome(pilot, app) -> str:
    await wait_for(pilot, lambda: isinstance(app.screen, ActionDialog), what="the dialog")
    return await result_shown(pilot, app)


async def board_again(pilot, app) -> None:
    await wait_for(pilot, lambda: not isinstance(app.screen, ActionDialog), what="the board")


async def test_demote_through_the_chooser_with_the_name_typed_at_once(sim, tmp_path, busy_core):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        for attempt in range(8):  # 8 of 8 lost every character before
            type_at_once(app, "D", "2", *"d42-b")
            await dialog_with(pilot, app, "d42-b", f"try {attempt + 1}")
            await pilot.press("escape")
            await board_again(pilot, app)
        type_at_once(app, "D", "2", *"d42-b", "enter")
        assert "✔ DONE" in await outcome(pilot, app)
    assert [(p.appliance, p.form["appliance_mode"]) for p in posts(sim)] == [
        ("d42-b", "standby")]
    assert results(app) == ["cancelled"] * 8 + ["done"]


async def test_failover_and_failback_with_the_name_typed_at_once_under_load(
        sim, tmp_path, busy_core):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        for attempt in range(12):
            type_at_once(app, "F", *"d42-b")
            await dialog_with(pilot, app, "d42-b", f"failover, try {attempt + 1}")
            await pilot.press("escape")
            await board_again(pilot, app)
        type_at_once(app, "F", *"d42-b", "enter")
        assert "✔ DONE" in await outcome(pilot, app)
        await pilot.press("escape")
        await board_again(pilot, app)
        await wait_for(pilot, lambda: app.snapshots["main"].desired_production == "d42-b",
                       what="d42-b production")
        type_at_once(app, "B", *"d42-a", "enter")
        assert "✔ DONE" in await outcome(pilot, app)
    truth = sim.truth()["appliances"]
    assert truth["d42-a"]["mode"] == "production" and truth["d42-b"]["mode"] == "standby"


async def test_board_keys_in_a_name_typed_at_once_are_typed_not_obeyed(sim, tmp_path):
    """`q` quits, `p` pauses polling, `t` switches the theme, `l` maximizes the timeline —
    on the board. Typed right after `F`, they are the name, and nothing else happens."""
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        theme = app.theme
        type_at_once(app, "F", *"qlptr")
        await dialog_with(pilot, app, "qlptr", "board keys")
        assert app.is_running and not app.paused and app.theme == theme
        await pilot.press("enter")
        await wait_for(pilot, lambda: "type d42-b exactly to confirm" in screen_text(app),
                       what="the wrong-name notice")
        assert not posts(sim)


async def test_enter_on_a_wrong_name_says_what_it_wants(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        type_at_once(app, "F", *"d42-x", "enter")
        await wait_for(pilot, lambda: "✖ type d42-b exactly to confirm" in screen_text(app),
                       what="the wrong-name notice")
        assert isinstance(app.screen, ActionDialog) and app.screen.phase == "confirm"
        type_at_once(app, "backspace", "b")  # corrected: the notice goes, Enter confirms
        await dialog_with(pilot, app, "d42-b", "corrected")
        assert "exactly" not in screen_text(app)
        await pilot.press("enter")
        assert "✔ DONE" in await outcome(pilot, app)
    assert [r.appliance for r in posts(sim)] == ["d42-a", "d42-b"]


async def test_the_palette_path_keeps_the_name_typed_right_after_enter(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        await pilot.press("ctrl+p", *"Fail over")
        # as a person does: look until the entry is highlighted, then Enter and the name
        await wait_for(pilot, lambda: "Fail over" in screen_text(app), what="the entry")
        await pilot.pause(0.3)
        type_at_once(app, "enter", *"d42-b")
        await dialog_with(pilot, app, "d42-b", "palette")
        assert "make d42-b production, d42-a standby" in screen_text(app)


async def test_a_pasted_name_lands_in_the_field(sim, tmp_path):
    from textual import events

    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        type_at_once(app, "F")
        app._driver.send_message(events.Paste("d42-b\n"))
        await dialog_with(pilot, app, "d42-b", "pasted")
