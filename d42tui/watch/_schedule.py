"""The little cron maths watch mode needs: the standby's restore window and its data age.

A private stand-in (croniter, tz-aware) until `d42tui/schedule.py` reaches main; then these
call `schedule.restore_window` / `estimate_standby_data` instead. Epoch seconds in and out.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime

from croniter import croniter


def _local(now: float, tz: str) -> datetime:
    return datetime.fromtimestamp(now, zoneinfo.ZoneInfo(tz))


def prev_fire(cron: str, tz: str, now: float) -> float:
    """The last fire at or before `now` (a fire at exactly `now` has happened)."""
    start = _local(now + 1e-3, tz)
    return float(croniter(cron, start).get_prev(datetime).timestamp())


def next_fire(cron: str, tz: str, after: float) -> float:
    """The first fire strictly after `after`."""
    return float(croniter(cron, _local(after, tz)).get_next(datetime).timestamp())


def restore_window(cron: str | None, tz: str, duration: float,
                   now: float) -> tuple[float, float] | None:
    """(start, end) of the restore estimated to be running at `now`, else None."""
    if cron is None or duration <= 0:
        return None
    start = prev_fire(cron, tz, now)
    return (start, start + duration) if start + duration > now else None


def restore_finished_between(cron: str | None, tz: str, duration: float, since: float,
                             now: float) -> float | None:
    """End of a restore that began at or after `since` and has ended by `now`, else None."""
    if cron is None:
        return None
    start = next_fire(cron, tz, since - 1e-3)
    return start + duration if start + duration <= now else None


def _hhmm(ts: float, tz: str, now: float) -> str:
    local, today = _local(ts, tz), _local(now, tz).date()
    return f"{local:%H:%M}" if local.date() == today else f"{local:%Y-%m-%d %H:%M}"


def data_loss_text(backup_cron: str | None, restore_cron: str | None, tz: str,
                   restore_duration: float, now: float) -> str:
    """What failing over to the standby loses, as an estimate (no API tells the last restore)."""
    if restore_cron is None or backup_cron is None:
        return ("estimated data loss unknown (backup_cron and restore_cron are not both "
                "configured): changes since the standby's last restore are not on the new primary")
    restore = prev_fire(restore_cron, tz, now)
    if restore + restore_duration > now:  # still running: the one before is the last finished
        restore = prev_fire(restore_cron, tz, restore - 1)
    backup = prev_fire(backup_cron, tz, restore)
    age_min = int((now - backup) // 60)
    return (f"changes since ~{_hhmm(backup, tz, now)} ({age_min} min ago) are not on the new "
            f"primary (estimate: the standby's last finished restore began at "
            f"{_hhmm(restore, tz, now)} and restored that backup)")


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
