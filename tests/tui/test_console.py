"""The console driven as a user would (Textual's pilot) against the real simulator."""

from __future__ import annotations

import time

from d42tui.config.models import state_dir
from d42tui.engine.state import StateStore
from d42tui.tui.screens.board import BoardScreen
from d42tui.tui.screens.help import HelpScreen
from d42tui.tui.screens.pairs import PairsScreen
from d42tui.tui.screens.too_small import TooSmallScreen
from d42tui.tui.widgets.appliance_card import ApplianceCard
from d42tui.tui.widgets.verdict_banner import VerdictBanner

from . import handmade as H
from .conftest import handmade_app, screen_text, sim_app, wait_for


def banner(app) -> str:
    model = app.screen.query_one(VerdictBanner).model
    return model.headline if model else ""


def card(app, name: str) -> str:
    model = app.screen.query_one(f"#card-{name}", ApplianceCard).model
    return model.plain() if model else ""


def verdict_events(app) -> list[str]:
    return [e.text.split(" (")[0] for e in app.events if e.kind == "verdict"]


async def test_board_reaches_healthy_on_the_simulator(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: banner(app) == "✔ HEALTHY", what="HEALTHY")
        assert "● UP" in card(app, "d42-a") and "● UP" in card(app, "d42-b")
        assert "production · declared" in card(app, "d42-a")
        assert "backup good @" in card(app, "d42-a")
        text = screen_text(app)
        assert "HEALTHY" in text and "next backup" in text
        # the simulated standby restores at :30 every 4 hours: inside that hour, the window
        assert "next restore" in text or "RESTORE WINDOW ON d42-b" in text
        assert "main: start → HEALTHY" in text  # the timeline, visible at 80x24


async def test_primary_down_after_the_threshold_then_recovery(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: banner(app) == "✔ HEALTHY", what="HEALTHY")
        sim.set_fault("d42-a", "down")
        seen: set[str] = set()

        def down() -> bool:
            seen.add(card(app, "d42-a").splitlines()[2].split(" (")[0])
            return banner(app) == "✖ PRIMARY DOWN"

        await wait_for(pilot, down, what="PRIMARY DOWN")
        assert {"◐ SUSPECT", "✖ DOWN"} <= seen
        snap = app.snapshots["main"]
        assert snap.views["d42-a"].consecutive_failures == 3  # exactly the configured threshold
        assert "failures 3" in card(app, "d42-a")
        assert verdict_events(app) == ["main: start → HEALTHY", "main: HEALTHY → DEGRADED",
                                       "main: DEGRADED → PRIMARY DOWN"]
        sim.set_fault("d42-a", "none")
        await wait_for(pilot, lambda: banner(app) == "✔ HEALTHY", what="recovery")
        after = verdict_events(app)[3:]
        assert after[0].startswith("main: PRIMARY DOWN → ") and after[-1].endswith("→ HEALTHY")
        assert "d42-a DOWN → SUSPECT: answering again" in [e.text for e in app.events]


async def test_split_brain_and_no_production_render_their_banners(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: banner(app) == "✔ HEALTHY", what="HEALTHY")
        store = StateStore(state_dir(app.config))
        store.record_mode("main", "d42-b", "production", time.time())
        await wait_for(pilot, lambda: banner(app) == "✖ SPLIT BRAIN", what="SPLIT BRAIN")
        assert "both asserted production" in screen_text(app)
        assert "production · set by console" in card(app, "d42-b")
        store.record_mode("main", "d42-a", "standby", time.time())
        store.record_mode("main", "d42-b", "standby", time.time())
        await wait_for(pilot, lambda: banner(app) == "✖ NO PRODUCTION", what="NO PRODUCTION")
        assert "no appliance is asserted production" in screen_text(app)


async def test_read_only_refuses_mutating_keys_in_one_place(sim, tmp_path):
    app = sim_app(sim, tmp_path, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: banner(app) == "✔ HEALTHY", what="HEALTHY")
        assert "READ-ONLY" in screen_text(app)
        for key, action in (("P", "promote"), ("D", "demote"), ("F", "failover"),
                            ("B", "failback"), ("R", "reassert"), ("N", "dns")):
            before = len(app._notifications)
            await pilot.press(key)
            await pilot.pause()
            notes = list(app._notifications)[before:]
            assert notes and f"read-only console: {action} refused" in notes[-1].message
            assert app.check_action(action, ()) is None  # dimmed, not hidden
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert screen_text(app).count("refused: read-only") >= 3
        # nothing reached an appliance: only health polls in the simulator's log
        assert all(r.method == "GET" for r in sim.requests())


async def test_mutating_keys_open_guarded_dialogs_when_writable(sim, tmp_path):
    from d42tui.tui.screens.action_dialog import ActionDialog
    from d42tui.tui.screens.choose_appliance import ChooseApplianceScreen

    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: banner(app) == "✔ HEALTHY", what="HEALTHY")
        await pilot.press("P")
        await pilot.pause()
        assert isinstance(app.screen, ChooseApplianceScreen)
        assert "1  d42-a" in screen_text(app) and "2  d42-b" in screen_text(app)
        await pilot.press("escape", "B")
        await pilot.pause()
        assert isinstance(app.screen, ActionDialog)  # failback: nothing to do, says so
        assert "REFUSED: d42-a (the preferred primary) is already production" in screen_text(app)
        await pilot.press("escape")
        assert app.check_action("promote", ()) is True
        assert all(r.method == "GET" for r in sim.requests())


async def test_theme_switching_at_runtime(sim, tmp_path):
    app = sim_app(sim, tmp_path, theme="light")
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.theme == "light"
        await pilot.press("t")
        assert app.theme == "high-contrast"
        await pilot.press("t")
        assert app.theme == "dark"
        dark = app.screen.styles.background
        await pilot.press("t")
        assert app.theme == "light"
        await pilot.pause()
        # the screen is redrawn in the new theme's colours (its background is $background)
        assert app.screen.styles.background != dark


async def test_pause_stops_polling_and_says_so(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "main" in app.snapshots, what="first poll")
        await pilot.press("p")
        assert "PAUSED" in screen_text(app) or (await pilot.pause()) or "PAUSED" in screen_text(app)
        await pilot.pause(0.3)
        rounds = app.snapshots["main"].round
        await pilot.pause(0.6)
        assert app.snapshots["main"].round == rounds
        await pilot.press("p")
        await wait_for(pilot, lambda: app.snapshots["main"].round > rounds, what="resume")


async def test_too_small_screen_and_back():
    app = handmade_app()
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen)
        assert "terminal too small: need 80×24, have 60×20" in screen_text(app)
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen), what="board back")
        await pilot.resize_terminal(79, 24)
        await wait_for(pilot, lambda: isinstance(app.screen, TooSmallScreen), what="too small")


async def test_many_pairs_list_drills_into_a_board():
    app = handmade_app(pairs=3)
    async with app.run_test(size=(80, 24)) as pilot:
        config = app.config
        app.show_snapshot(H.healthy(config, 0))
        app.show_snapshot(H.primary_down(config, 1))
        await pilot.pause()
        assert isinstance(app.screen, PairsScreen)
        text = screen_text(app)
        assert "✔ HEALTHY" in text and "✖ PRIMARY DOWN" in text and "? UNKNOWN" in text
        assert text.splitlines()[-1].startswith("⏎ open pair")  # the footer says how
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, BoardScreen) and app.screen.pair.name == "emea"
        assert banner(app) == "✖ PRIMARY DOWN"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, PairsScreen)
        await pilot.press("F")  # the action keys act on the pair under the cursor
        await pilot.pause()
        assert "failover · pair emea" in screen_text(app)
        assert "make d42-b-2 production, d42-a-2 standby" in screen_text(app)


async def test_demo_fault_keys_exist_only_in_the_demo(sim, tmp_path):
    plain = sim_app(sim, tmp_path)
    async with plain.run_test(size=(80, 24)) as pilot:
        await pilot.press("x")
        await pilot.pause()
        assert not any(k == "x" for k in plain.screen.active_bindings)
        assert "faults" not in screen_text(plain)
    demo = sim_app(sim, tmp_path, demo=True)
    async with demo.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: banner(demo) == "✔ HEALTHY", what="HEALTHY")
        await pilot.press("x")
        await pilot.pause()
        assert "black-hole it" in screen_text(demo)
        await pilot.press("5")  # break d42-a's backup
        await wait_for(pilot, lambda: banner(demo) != "✔ HEALTHY", what="backup failure")
        assert "backup" in screen_text(demo).lower()
        assert sim.truth()["appliances"]["d42-a"]["fault"] == "backup-failing"
        await pilot.press("x", "tab")  # the other appliance
        await pilot.pause()
        assert "▶ d42-b ◀" in screen_text(demo)
        await pilot.press("7")  # d42-b rejects the credentials
        await wait_for(pilot, lambda: sim.truth()["appliances"]["d42-b"]["fault"]
                       == "unauthorized", what="the 401 fault")
        assert sim.truth()["appliances"]["d42-a"]["fault"] == "backup-failing"
        await wait_for(pilot, lambda: "credentials rejected (401)" in screen_text(demo),
                       what="the 401 on the board")


async def test_quit_asks_only_with_an_action_in_flight():
    app = handmade_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.in_flight.append("promote d42-b")
        await pilot.press("q")
        await pilot.pause()
        assert "An action is in flight" in screen_text(app)
        await pilot.press("n")
        await pilot.pause()
        app.in_flight.clear()
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_command_palette_lists_the_actions_and_respects_read_only():
    app = handmade_app(read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Poll now", "Pause / resume polling", "Keys", "Next theme",
                      "Theme: high-contrast", "Timeline: maximize / restore", "Quit",
                      "Promote (refused: read-only)", "Fail over (refused: read-only)",
                      "DNS target (refused: read-only)"):
            assert title in titles, title
        assert not any(t.startswith("Demo:") for t in titles)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert "palette" in type(app.screen).__name__.lower() or "Command" in type(app.screen).__name__


async def test_help_lists_the_palette_and_keeps_each_state_beside_its_key():
    app = handmade_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.show_snapshot(H.healthy(app.config))
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        assert "^p    command palette" in text
        rows = [row.split("│ ", 1)[-1] for row in text.splitlines()]  # inside the box
        assert not any(row.startswith(("[", "first]")) for row in rows)
        assert "F     fail over" in text
        assert "      [asks first]" in text  # wrapped under the description, never split


async def test_the_pair_list_marks_a_summary_it_has_to_cut():
    app = handmade_app(pairs=3)
    async with app.run_test(size=(80, 24)) as pilot:
        for index in range(3):
            app.show_snapshot(H.primary_down(app.config, 0) if index == 0 else
                              H.healthy(app.config, index))
        await pilot.pause()
        await pilot.pause()
        row = next(line for line in screen_text(app).splitlines() if "PRIMARY DOWN" in line)
        assert row.rstrip().endswith("…") and "d42-a (production) is" in row
