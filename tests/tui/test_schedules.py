"""Schedules on the board: countdowns, the restore window, local time, the cron clash."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from d42tui.config.models import Config
from d42tui.tui.widgets.countdown import Countdown

from . import handmade as H
from .conftest import handmade_app, screen_text


async def test_countdowns_tick_from_the_injected_clock():
    now = [H.NOW]
    app = handmade_app(clock=lambda: now[0])
    async with app.run_test(size=(80, 24)) as pilot:
        app.show_snapshot(H.healthy(app.config))
        await pilot.pause()
        countdown = app.screen.query_one(Countdown)
        assert countdown.lines == ("1h 42m", "2h 12m")  # minutes beyond an hour
        now[0] += 61
        app.screen.schedule.tick()
        await pilot.pause()
        assert countdown.lines == ("1h 41m", "2h 11m")
        now[0] = H.NOW + 3600 + 40 * 60  # 03:57:30: the last hour counts in seconds
        app.screen.schedule.tick()
        await pilot.pause()
        assert countdown.lines == ("2m 30s", "32m 30s")
        assert "next backup  on d42-a  04:00 UTC  in 2m 30s" in screen_text(app)


async def test_restore_window_is_said_on_the_card_and_in_the_schedule():
    during = H.NOW + 2 * 3600 + 12 * 60 + 40  # 04:30:10
    app = handmade_app(clock=lambda: during)
    async with app.run_test(size=(80, 24)) as pilot:
        app.show_snapshot(H.healthy(app.config))
        await pilot.pause()
        text = screen_text(app)
        assert "RESTORE WINDOW ON until 05:00 UTC" in text  # the standby's card
        assert "RESTORE WINDOW ON d42-b  until 05:00 UTC  ends in 29m 50s" in text
        # the shorter row is padded before its "in", which stays next to its figure
        assert "next backup  on d42-a  08:00 UTC               in 3h 29m" in text, text


async def test_appliance_time_and_local_time_when_they_differ():
    app = handmade_app(local_tz=ZoneInfo("Europe/Berlin"))
    async with app.run_test(size=(80, 24)) as pilot:
        app.show_snapshot(H.healthy(app.config))
        await pilot.pause()
        assert "04:00 UTC (06:00 local)" in screen_text(app)


async def test_a_restore_before_its_backup_lands_is_warned():
    data = H.config_dict()
    data["pairs"][0]["restore_cron"] = "5 */4 * * *"
    app = handmade_app(config=Config.model_validate(data))
    from dataclasses import replace

    from d42tui.backup.pipeline import Code, PipelineWarning, Severity
    from d42tui.engine import schedule

    pair = app.config.pairs[0]
    clash = schedule.restore_before_backup_lands(pair.backup_cron, pair.restore_cron, pair.zone,
                                                 schedule.DEFAULT_BACKUP_DURATION)
    snap = H.with_pipeline(H.healthy(app.config))
    snap = replace(snap, pipeline=replace(snap.pipeline, warnings=(
        PipelineWarning(Code.RESTORE_BEFORE_BACKUP, Severity.WARNING, clash),)))
    async with app.run_test(size=(80, 24)) as pilot:
        app.show_snapshot(snap)  # the engine's monitor found it, off the UI loop
        await pilot.pause()
        text = " ".join(screen_text(app).split())
        assert "▲ the restore at 00:05 starts 5 min after the backup at 00:00 begins" in text
        assert text.count("starts 5 min after the backup") == 1  # beside the schedules only
