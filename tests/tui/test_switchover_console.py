"""The console's `S` key: a planned switchover now, after the next restore (stored, shown on
the board, audited), or the planned one cancelled — each through a guarded dialog."""

from __future__ import annotations

from d42tui.engine.switchover import scheduled_switchover
from d42tui.tui.screens.action_dialog import ActionDialog
from d42tui.tui.screens.choose_appliance import ChooseApplianceScreen

from .conftest import screen_text, sim_app, wait_for
from .test_automation import audit, healthy, shown


def switchover_records(app) -> list[tuple[str, str]]:
    return [(r["action"], r["phase"]) for r in audit(app)
            if r.get("action", "").startswith("switchover-")]


async def test_schedule_after_the_next_restore_then_cancel(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, ChooseApplianceScreen))
        text = screen_text(app)
        assert "switchover: when?" in text and "after the next restore, at " in text
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionDialog))
        await shown(pilot, app, "Schedule: Switch over (type d42-b first)")
        assert "Planned: switchover d42-a → d42-b at " in screen_text(app)
        await pilot.press(*"d42-b", "enter")
        await shown(pilot, app, "✔ SCHEDULED")
        item = scheduled_switchover(app.store, "main")
        assert item is not None and item.source == "d42-a" and item.target == "d42-b"
        assert item.at > app.clock() and "after the 12:00 backup" not in item.why
        assert [r for r in sim.requests() if r.method == "POST"] == []  # nothing sent now
        await pilot.press("escape")
        await shown(pilot, app, "⏲ planned switchover d42-a → d42-b at ")

        await pilot.press("S")  # again: now it offers to cancel the planned one
        await wait_for(pilot, lambda: isinstance(app.screen, ChooseApplianceScreen))
        assert "cancel the planned one: switchover d42-a → d42-b" in screen_text(app)
        await pilot.press("2")
        await wait_for(pilot, lambda: scheduled_switchover(app.store, "main") is None,
                       what="the planned switchover removed")
        await wait_for(pilot, lambda: "⏲ planned" not in screen_text(app))
        assert switchover_records(app) == [
            ("switchover-schedule", "before"), ("switchover-schedule", "after"),
            ("switchover-cancel", "before"), ("switchover-cancel", "after")]


async def test_switchover_now_is_refused_unless_healthy(sim, tmp_path):
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await healthy(pilot, app)
        sim.set_fault("d42-b", "down")
        await wait_for(pilot, lambda: app.snapshots["main"].verdict.verdict.value
                       == "STANDBY DOWN", what="STANDBY DOWN")
        await pilot.press("S", "1")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionDialog))
        await shown(pilot, app, "✖ REFUSED: the pair is STANDBY DOWN")
        assert [r for r in sim.requests() if r.method == "POST"] == []
