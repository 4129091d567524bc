"""Minimal cron maths for the board until `d42tui/schedule.py` lands (then delete this).

Epoch seconds in, epoch seconds out; cron expressions read in the pair's time zone.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from croniter import croniter

# How long a backup may take to land before a restore can use it. schedule.py will
# own this figure (and may take it from config); this is only the shim's guess.
BACKUP_LANDS_AFTER = 15 * 60


def next_fire(cron: str, tz: tzinfo, now: float) -> float:
    start = datetime.fromtimestamp(now, tz)
    return croniter(cron, start).get_next(datetime).timestamp()


def prev_fire(cron: str, tz: tzinfo, now: float) -> float:
    start = datetime.fromtimestamp(now, tz)
    return croniter(cron, start).get_prev(datetime).timestamp()


def countdown_text(seconds: float) -> str:
    """`1:02:03`; `2d 01:02:03` beyond a day; never negative."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    clock = f"{h}:{m:02d}:{s:02d}"
    return f"{days}d {h:02d}:{m:02d}:{s:02d}" if days else clock


def restore_window(restore_cron: str, tz: tzinfo, duration: float,
                   now: float) -> tuple[float, float] | None:
    """(start, end) of the restore window that holds `now`, if any."""
    start = prev_fire(restore_cron, tz, now + 1e-3)
    if start <= now < start + duration:
        return start, start + duration
    return None


def restore_before_backup_lands(backup_cron: str, restore_cron: str, tz: tzinfo,
                                now: float) -> tuple[float, float] | None:
    """(restore, backup) for the first restore of the next day that starts less than
    BACKUP_LANDS_AFTER after the backup it would use started; None when all are fine."""
    at = now
    for _ in range(24):
        restore = next_fire(restore_cron, tz, at)
        if restore - now > 86400:
            break
        backup = prev_fire(backup_cron, tz, restore + 1e-3)
        if restore - backup < BACKUP_LANDS_AFTER:
            return restore, backup
        at = restore
    return None
