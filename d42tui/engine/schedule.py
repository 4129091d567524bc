"""Cron maths for the console: next/previous fires, countdowns, restore windows, data age.

Pure functions (no I/O; the clock is passed in). Every datetime returned is aware and in UTC.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from itertools import islice
from zoneinfo import ZoneInfo

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter

DEFAULT_BACKUP_DURATION = 1800.0
DEFAULT_RESTORE_DURATION = 1800.0
# Whole-schedule checks scan a fixed year, so `config check` says the same thing every day.
REFERENCE_START = datetime(2024, 1, 1, tzinfo=UTC)
_SCAN_DAYS = 366
_SCAN_FIRES = 1000
_CHAIN_FIRES = 3000

Tz = str | tzinfo


class ScheduleError(ValueError):
    """A cron expression that cannot be used: invalid, or it never fires."""


def zone_of(tz: Tz) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} is naive: pass an aware datetime")
    return moment.astimezone(UTC)


def _fixed_time(cron: str) -> bool:
    """Vixie cron's rule: a job with '*' in its minute or hour field is a wildcard job."""
    fields = cron.split()
    return len(fields) >= 2 and not fields[0].startswith("*") and not fields[1].startswith("*")


@lru_cache(maxsize=32)
def _slack(zone: tzinfo) -> timedelta:
    """More than any shift of the zone's clocks (1990-2050), so fires further apart keep order."""
    offsets = {datetime(year, month, day, 12, tzinfo=UTC).astimezone(zone).utcoffset()
               for year in range(1990, 2051) for month in range(1, 13) for day in (1, 15)}
    known = [o for o in offsets if o is not None] or [timedelta(0)]
    return max(known) - min(known) + timedelta(minutes=1)


def _instants(wall: datetime, zone: tzinfo, fixed: bool) -> tuple[list[datetime], datetime, datetime]:
    """When cron runs a job due at the naive local time `wall` (Vixie cron's DST rules),
    plus the earliest and latest instant that wall time can stand for.

    Usually once. A wall time repeated when clocks go back: both passes for a wildcard
    job, the first for a fixed-time job. A wall time skipped when clocks go forward: a
    fixed-time job runs as the gap ends, a wildcard job not at all.
    """
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return [first], first, first
    if first < second:
        return ([first] if fixed else [first, second]), first, second
    if not fixed:
        return [], second, first
    # in the gap: the transition lies in (second, first]; find it to the second
    after = first.astimezone(zone).utcoffset()
    lo, hi = math.floor(second.timestamp()), math.ceil(first.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(zone).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return [datetime.fromtimestamp(hi, UTC)], second, first


def _fires(cron: str, zone: tzinfo, start: datetime, backwards: bool = False) -> Iterator[datetime]:
    """Fire instants strictly after `start`, or at/before it when `backwards`, in order.

    croniter matches the fields on naive local times; `_instants` maps them to instants.
    Across a DST change that mapping can reorder fires by up to the shift, so candidates
    wait in a heap until no later local time could still produce an earlier instant.
    (croniter's own aware iteration skipped fires across Lord Howe's 30-minute change and
    ran fixed-time jobs twice when clocks go back.)
    """
    fixed, slack = _fixed_time(cron), _slack(zone)
    wall = start.astimezone(zone).replace(tzinfo=None)
    try:
        it = croniter(cron, wall + slack if backwards else wall - slack)
    except (CroniterBadCronError, CroniterError, ValueError, KeyError) as exc:
        raise ScheduleError(f"'{cron}' is not a usable cron expression: {exc}") from None
    sign = -1 if backwards else 1
    heap: list[tuple[float, datetime]] = []
    last: datetime | None = None
    idle = 0
    while True:
        try:
            due = it.get_prev(datetime) if backwards else it.get_next(datetime)
        except CroniterBadDateError:
            raise ScheduleError(f"'{cron}' never fires (no such date)") from None
        moments, earliest, latest = _instants(due, zone, fixed)
        for moment in moments:
            if (moment <= start) if backwards else (moment > start):
                heapq.heappush(heap, (sign * moment.timestamp(), moment))
        # no local time still to come can map beyond this edge
        edge = latest + slack if backwards else earliest - slack
        idle += 1
        while heap and (heap[0][1] > edge if backwards else heap[0][1] < edge):
            moment = heapq.heappop(heap)[1]
            if last is None or (moment < last if backwards else moment > last):
                last, idle = moment, 0
                yield moment
        if idle > 100_000:
            raise ScheduleError(f"'{cron}': no fire time near {start:%Y-%m-%d %H:%M}Z")


def next_fire(cron: str, tz: Tz, now: datetime) -> datetime:
    """The first fire strictly after `now`."""
    return next(_fires(cron, zone_of(tz), _utc(now)))


def prev_fire(cron: str, tz: Tz, now: datetime) -> datetime:
    """The last fire at or before `now` (a fire at exactly `now` has happened)."""
    return next(_fires(cron, zone_of(tz), _utc(now), backwards=True))


def countdown_text(seconds: float) -> str:
    """Compact countdown: "12s", "4m 05s", "3h 12m", "2d 03h" (rounded up, never negative)."""
    s = max(0, math.ceil(seconds)) if math.isfinite(seconds) else 0
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def duration_words(seconds: float) -> str:
    """A duration for sentences, to the minute: "45 min", "3 h 12 min", "2 d 4 h"; under a
    minute is said so, never "0 min"."""
    if seconds < 60:
        return "under a minute"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    days, hours = divmod(hours, 24)
    return f"{days} d" + (f" {hours} h" if hours else "")


def _restore_starts(cron: str, zone: tzinfo, duration: float, now: datetime) -> list[datetime]:
    """Restores that really started at or before `now`, oldest first (at least the last two).

    A fire inside a running restore's window does not start (the vendor's rule), so the
    chain is replayed forward from a fire that must have started: one at least `duration`
    after the fire before it. With no such gap (a misconfiguration that `restore_overlaps_
    itself` reports) the chain starts at the first fire after yesterday's local midnight.
    """
    local_now = now.astimezone(zone)
    boundary = datetime.combine(local_now.date() - timedelta(days=1), datetime.min.time(),
                                tzinfo=zone).astimezone(UTC)
    fires: list[datetime] = []  # newest first
    anchors = 0
    for fire in islice(_fires(cron, zone, now, backwards=True), _CHAIN_FIRES):
        if fires and (fires[-1] - fire).total_seconds() >= duration:
            anchors += 1  # fires[-1] starts whatever ran before it
            if anchors >= 2:
                break
        elif fires and fire < boundary and anchors == 0:
            break
        fires.append(fire)
    starts: list[datetime] = []
    for fire in reversed(fires):
        if not starts or (fire - starts[-1]).total_seconds() >= duration:
            starts.append(fire)
    return starts


def last_restore_start(restore_cron: str, tz: Tz, duration: float, now: datetime) -> datetime | None:
    """When the newest restore that really started (at or before `now`) began."""
    starts = _restore_starts(restore_cron, zone_of(tz), duration, _utc(now))
    return starts[-1] if starts else None


def restore_window(restore_cron: str, tz: Tz, duration: float,
                   now: datetime) -> tuple[datetime, datetime] | None:
    """(start, end) of the restore (estimated to be) running at `now`, else None."""
    now = _utc(now)
    starts = _restore_starts(restore_cron, zone_of(tz), duration, now)
    if starts and starts[-1] + timedelta(seconds=duration) > now:
        return starts[-1], starts[-1] + timedelta(seconds=duration)
    return None


@lru_cache(maxsize=64)
def _scan(cron: str, zone: tzinfo, start: datetime) -> tuple[datetime, ...]:
    """A year of fires (at most _SCAN_FIRES) after `start`."""
    end = start + timedelta(days=_SCAN_DAYS)
    out = []
    for fire in islice(_fires(cron, zone, start), _SCAN_FIRES):
        if fire > end:
            break
        out.append(fire)
    return tuple(out)


def restore_overlaps_itself(restore_cron: str, tz: Tz, duration: float, *,
                            start: datetime | None = None) -> bool:
    """True when two restores fire closer together than `duration`: the later one will not start."""
    fires = _scan(restore_cron, zone_of(tz), _utc(start or REFERENCE_START))
    return any((b - a).total_seconds() < duration for a, b in zip(fires, fires[1:]))


@lru_cache(maxsize=64)
def _clashes(backup_cron: str, zone: tzinfo, backup_duration: float,
             restores: tuple[datetime, ...]) -> tuple[tuple[datetime, datetime], ...]:
    """(restore, backup) pairs where the restore starts while that backup may still run."""
    out: list[tuple[datetime, datetime]] = []
    if not restores:
        return ()
    # One walk along the backup fires beside the (sorted) restores, not a fresh prev_fire
    # (a new croniter) per restore: a year of 4-hourly restores cost ~0.4 s that way.
    backup = prev_fire(backup_cron, zone, restores[0])
    later = _fires(backup_cron, zone, backup)
    upcoming = next(later)
    for restore in restores:
        while upcoming <= restore:  # prev_fire's rule: a fire at exactly `restore` counts
            backup, upcoming = upcoming, next(later)
        if restore < backup + timedelta(seconds=backup_duration):
            out.append((restore, backup))
    return tuple(out)


def restore_before_backup_lands(backup_cron: str, restore_cron: str, tz: Tz,
                                backup_duration: float, *,
                                start: datetime | None = None) -> str | None:
    """A warning when a restore starts while the backup it needs may still be written."""
    zone = zone_of(tz)
    restores = _scan(restore_cron, zone, _utc(start or REFERENCE_START))
    clashes = _clashes(backup_cron, zone, backup_duration, restores)
    if not clashes:
        return None
    restore, backup = clashes[0]
    every = len(clashes) == len(restores)
    fmt = "%H:%M" if every else "%a %Y-%m-%d %H:%M"
    lead = (restore - backup).total_seconds()
    when = f"{lead / 60:.0f} min after" if lead >= 60 else "as"
    ready = (backup + timedelta(seconds=backup_duration)).astimezone(zone)
    share = "every restore" if every else f"{len(clashes)} of {len(restores)} restores in a year"
    return (f"the restore at {restore.astimezone(zone):{fmt}} starts {when} the backup at "
            f"{backup.astimezone(zone):%H:%M} begins, but a backup takes up to "
            f"{duration_words(backup_duration)}, so it reads a file still being written or the "
            f"previous backup ({share}); schedule the restore at {ready:%H:%M} or later")


@dataclass(frozen=True, kw_only=True)
class DataAgeEstimate:
    """What the standby holds, estimated: there is no API for the last restore."""

    restored_backup_time: datetime | None  # when that backup was taken: its data is as of then
    last_restore_time: datetime | None  # start of the newest restore that has finished
    data_age: float | None  # seconds between restored_backup_time and `now`
    is_estimate: bool = True
    reason: str
    restored_backup_landed: datetime | None = None
    restore_running_since: datetime | None = None
    # Set when the standby was production until then and has not restored since: its data
    # is its own, up to about that moment (restored_backup_time holds the same time).
    left_production_at: datetime | None = None


def since_role_switch(estimate: DataAgeEstimate, switched_at: datetime, now: datetime,
                      tz: Tz) -> DataAgeEstimate:
    """The estimate for a standby that was production until `switched_at` (a failover or a
    failback): unchanged if a restore began after the switch, else its own data up to then.
    The crons alone would say it holds the backup restored before it ever was standby."""
    last = estimate.last_restore_time
    if last is not None and _utc(last) >= _utc(switched_at):
        return estimate
    switched_at, now = _utc(switched_at), _utc(now)
    return DataAgeEstimate(
        restored_backup_time=switched_at, last_restore_time=last,
        data_age=(now - switched_at).total_seconds(),
        restore_running_since=estimate.restore_running_since, left_production_at=switched_at,
        reason=(f"estimated: it was production until {_when(switched_at, zone_of(tz), now)} and "
                "has not restored since; its data is its own up to then"))


def since_versions_diverged(estimate: DataAgeEstimate, before: DataAgeEstimate,
                            diverged_at: datetime, now: datetime, tz: Tz) -> DataAgeEstimate:
    """The estimate once the two appliances report different versions: Device42 restores
    only between identical versions, so every restore since `diverged_at` failed and the
    standby holds what it had restored before (`before`: the estimate as of then)."""
    last = estimate.last_restore_time
    if last is None or _utc(last) < _utc(diverged_at):
        return estimate  # no restore since: nothing to discount
    now, zone = _utc(now), zone_of(tz)
    taken = before.restored_backup_time
    return replace(
        before, data_age=None if taken is None else (now - _utc(taken)).total_seconds(),
        restore_running_since=estimate.restore_running_since,
        reason=(f"estimated: the versions differ since {_when(diverged_at, zone, now)}, so the "
                f"restores since then failed; before that: {before.reason}"))


def _when(moment: datetime, zone: tzinfo, now: datetime) -> str:
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    if local.date() == today:
        return f"{local:%H:%M}"
    if timedelta(0) <= today - local.date() < timedelta(days=6):
        return f"{local:%a %H:%M}"
    return f"{local:%Y-%m-%d %H:%M}"


def estimate_standby_data(backup_cron: str | None, restore_cron: str | None, tz: Tz,
                          now: datetime, backup_landed_times: Iterable[datetime] = (),
                          backup_duration: float = DEFAULT_BACKUP_DURATION,
                          restore_duration: float = DEFAULT_RESTORE_DURATION) -> DataAgeEstimate:
    """Which backup the standby last restored, and how old its data is at `now`.

    The last restore is the newest that has finished (one still inside its window has
    not). It restored the newest backup that had landed before it began: from observed
    landing times (file mtimes) when any precede it, else from the backup cron plus
    `backup_duration`. A backup that landed after the restore began does not count.
    """
    zone, now = zone_of(tz), _utc(now)
    observed = tuple(map(_utc, backup_landed_times))
    if restore_cron is None:
        return DataAgeEstimate(restored_backup_time=None, last_restore_time=None, data_age=None,
                               reason="no restore schedule (restore_cron) is configured")
    dur = timedelta(seconds=restore_duration)
    starts = _restore_starts(restore_cron, zone, restore_duration, now)
    running = starts[-1] if starts and starts[-1] + dur > now else None
    finished = [s for s in starts if s + dur <= now]
    note = (f"; a restore began at {_when(running, zone, now)} and may run until "
            f"{_when(running + dur, zone, now)}, so it is not counted") if running else ""
    if not finished:
        return DataAgeEstimate(restored_backup_time=None, last_restore_time=None, data_age=None,
                               restore_running_since=running,
                               reason="no restore has finished yet" + note)
    restore = finished[-1]
    landed_before = sorted(t for t in observed if t <= restore)
    fallback = ""
    if landed_before:
        landed = landed_before[-1]
        taken = landed - timedelta(seconds=backup_duration)
        if backup_cron is not None:
            fire = prev_fire(backup_cron, zone, landed)
            # the run that wrote the file, unless the file came from outside the schedule
            if (landed - fire).total_seconds() <= backup_duration:
                taken = fire
        source = f"the backup file written at {_when(landed, zone, now)}"
    elif backup_cron is not None:
        taken = prev_fire(backup_cron, zone, restore - timedelta(seconds=backup_duration))
        landed = taken + timedelta(seconds=backup_duration)
        source = f"the {_when(taken, zone, now)} backup (by backup_cron)"
        if observed:
            fallback = " (no backup file was seen before that restore)"
    else:
        return DataAgeEstimate(restored_backup_time=None, last_restore_time=restore, data_age=None,
                               restore_running_since=running,
                               reason="no backup schedule (backup_cron) and no backup file seen"
                                      " before the last restore" + note)
    return DataAgeEstimate(
        restored_backup_time=taken, last_restore_time=restore,
        data_age=(now - taken).total_seconds(), restored_backup_landed=landed,
        restore_running_since=running,
        reason=(f"estimated: the last finished restore began at {_when(restore, zone, now)} "
                f"and restored {source}{fallback}{note}"))


def loss_text(estimate: DataAgeEstimate, now: datetime, tz: Tz) -> str:
    """"failing over now loses changes made after ~HH:MM (about 3 h 12 min)"."""
    if estimate.restored_backup_time is None:
        return f"failing over now: the standby's data age is unknown ({estimate.reason})"
    now = _utc(now)
    since = _when(estimate.restored_backup_time, zone_of(tz), now)
    age = (now - estimate.restored_backup_time).total_seconds()
    return f"failing over now loses changes made after ~{since} (about {duration_words(age)})"
