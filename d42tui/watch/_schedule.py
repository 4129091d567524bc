"""The cron maths watch mode needs, in epoch seconds: restore windows and the data loss.

Thin adapters over `d42tui.engine.schedule` (DST-correct, shared with the console), so the
watcher and the board always agree on the restore window and the standby's data age.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..engine import schedule


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def restore_window(cron: str | None, tz: str, duration: float,
                   now: float) -> tuple[float, float] | None:
    """(start, end) of the restore estimated to be running at `now`, else None."""
    if cron is None or duration <= 0:
        return None
    window = schedule.restore_window(cron, tz, duration, _at(now))
    return None if window is None else (window[0].timestamp(), window[1].timestamp())


def restore_finished_between(cron: str | None, tz: str, duration: float, since: float,
                             now: float) -> float | None:
    """End of a restore that began at or after `since` and has ended by `now`, else None."""
    if cron is None:
        return None
    start = schedule.next_fire(cron, tz, _at(since - 1e-3)).timestamp()
    return start + duration if start + duration <= now else None


def data_loss_text(backup_cron: str | None, restore_cron: str | None, tz: str,
                   restore_duration: float, now: float) -> str:
    """What failing over to the standby loses, as an estimate (no API tells the last restore)."""
    if restore_cron is None or backup_cron is None:
        return ("estimated data loss unknown (backup_cron and restore_cron are not both "
                "configured): changes since the standby's last restore are not on the new primary")
    estimate = schedule.estimate_standby_data(backup_cron, restore_cron, tz, _at(now),
                                              restore_duration=restore_duration)
    return (f"{schedule.loss_text(estimate, _at(now), tz)}; changes after that are not on the "
            f"new primary (estimate: {estimate.reason})")


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
