"""Cron maths: fires across DST, countdowns, restore windows, overlap, and the data-age table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from d42tui.engine.schedule import (
    DataAgeEstimate,
    ScheduleError,
    countdown_text,
    estimate_standby_data,
    loss_text,
    next_fire,
    prev_fire,
    restore_before_backup_lands,
    restore_overlaps_itself,
    restore_window,
)

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
H = 3600
M = 60


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(tz: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz), fold=fold)


# --- next / prev fire ------------------------------------------------------------------

FIRES = [
    # (cron, tz, now, expected next, expected prev), all instants compared in UTC
    ("0 3 * * *", "UTC", utc(2024, 6, 10, 12), utc(2024, 6, 11, 3), utc(2024, 6, 10, 3)),
    ("0 3 * * *", "UTC", utc(2024, 6, 10, 3), utc(2024, 6, 11, 3), utc(2024, 6, 10, 3)),
    ("*/15 * * * *", "UTC", utc(2024, 6, 10, 12, 7, 30), utc(2024, 6, 10, 12, 15), utc(2024, 6, 10, 12)),
    # Berlin, spring forward 2024-03-31 02:00 CET -> 03:00 CEST (01:00 UTC):
    # a fixed-time job in the gap runs when the gap ends ...
    ("30 2 * * *", BERLIN, utc(2024, 3, 30, 12), utc(2024, 3, 31, 1), utc(2024, 3, 30, 1, 30)),
    ("30 2 * * *", BERLIN, utc(2024, 3, 31, 12), utc(2024, 4, 1, 0, 30), utc(2024, 3, 31, 1)),
    # ... and an hourly (wildcard) job skips the missing hour
    ("0 * * * *", BERLIN, utc(2024, 3, 31, 0, 30), utc(2024, 3, 31, 1), utc(2024, 3, 31, 0)),
    # Berlin, fall back 2024-10-27 03:00 CEST -> 02:00 CET (01:00 UTC): a fixed-time job
    # in the repeated hour runs once, on the first pass, as cron does
    ("30 2 * * *", BERLIN, utc(2024, 10, 27, 0, 40), utc(2024, 10, 28, 1, 30), utc(2024, 10, 27, 0, 30)),
    ("30 2 * * *", BERLIN, utc(2024, 10, 27, 0, 10), utc(2024, 10, 27, 0, 30), utc(2024, 10, 26, 0, 30)),
    # ... while a wildcard job runs on both passes
    ("0 * * * *", BERLIN, utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 1), utc(2024, 10, 27, 0)),
    # New York, spring forward 2024-03-10 02:00 EST -> 03:00 EDT (07:00 UTC)
    ("30 2 * * *", NEW_YORK, utc(2024, 3, 10, 5), utc(2024, 3, 10, 7), utc(2024, 3, 9, 7, 30)),
    # New York, fall back 2024-11-03 02:00 EDT -> 01:00 EST (06:00 UTC)
    ("30 1 * * *", NEW_YORK, utc(2024, 11, 3, 6, 40), utc(2024, 11, 4, 6, 30), utc(2024, 11, 3, 5, 30)),
    ("*/20 1 * * *", NEW_YORK, utc(2024, 11, 3, 5, 50), utc(2024, 11, 3, 6), utc(2024, 11, 3, 5, 40)),
]


@pytest.mark.parametrize("cron,tz,now,nxt,prev", FIRES)
def test_next_and_prev_fire(cron: str, tz: str, now: datetime, nxt: datetime, prev: datetime) -> None:
    got_next, got_prev = next_fire(cron, tz, now), prev_fire(cron, tz, now)
    assert got_next.tzinfo is UTC and got_prev.tzinfo is UTC
    assert (got_next, got_prev) == (nxt, prev)


def test_local_now_gives_the_same_answer_as_utc_now() -> None:
    now = local(BERLIN, 2024, 10, 27, 2, 40, fold=1)  # 02:40 CET, the second pass
    assert now.astimezone(UTC) == utc(2024, 10, 27, 1, 40)
    assert next_fire("0 * * * *", BERLIN, now) == utc(2024, 10, 27, 2)
    assert prev_fire("0 * * * *", BERLIN, now) == utc(2024, 10, 27, 1)


def test_naive_now_and_bad_cron_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        next_fire("0 3 * * *", "UTC", datetime(2024, 1, 1))
    with pytest.raises(ScheduleError):
        next_fire("61 3 * * *", "UTC", utc(2024, 1, 1))


_minute = st.one_of(st.just("*"), st.integers(0, 59).map(str),
                    st.sampled_from([2, 5, 7, 15, 20, 30]).map(lambda n: f"*/{n}"),
                    st.tuples(st.integers(0, 29), st.integers(30, 59)).map(lambda t: f"{t[0]},{t[1]}"))
_hour = st.one_of(st.just("*"), st.integers(0, 23).map(str),
                  st.tuples(st.integers(0, 11), st.integers(12, 23)).map(lambda t: f"{t[0]}-{t[1]}"),
                  st.sampled_from([1, 2, 3, 6]).map(lambda n: f"*/{n}"))
_dom = st.one_of(st.just("*"), st.integers(1, 28).map(str))
_month = st.one_of(st.just("*"), st.integers(1, 12).map(str))
_dow = st.one_of(st.just("*"), st.integers(0, 6).map(str), st.just("1-5"))
_crons = st.tuples(_minute, _hour, _dom, _month, _dow).map(" ".join)
_zones = st.sampled_from(["UTC", BERLIN, NEW_YORK, "Australia/Lord_Howe", "Asia/Kathmandu",
                          "America/St_Johns", "Pacific/Chatham", "Europe/London"])
_moments = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2037, 12, 31),
                        timezones=st.just(UTC))




def _transitions(zones: list[str], year: int) -> list[tuple[str, datetime]]:
    """Every UTC offset change of `zones` in `year`, found at 15-minute resolution."""
    out = []
    for name in zones:
        zone, t = ZoneInfo(name), utc(year, 1, 1)
        offset = t.astimezone(zone).utcoffset()
        while t.year == year:
            t += timedelta(minutes=15)
            if (o := t.astimezone(zone).utcoffset()) != offset:
                out.append((name, t))
                offset = o
    return out


_DST = _transitions([BERLIN, NEW_YORK, "Australia/Lord_Howe", "America/St_Johns", "Pacific/Chatham"],
                    2024)
_near_dst = st.tuples(st.sampled_from(_DST), st.integers(-4 * 3600, 4 * 3600)).map(
    lambda t: (t[0][0], t[0][1] + timedelta(seconds=t[1])))


def _check_fires(cron: str, tz: str, now: datetime) -> None:
    assume(not ("*" not in cron.split()[2] and "*" not in cron.split()[3]))  # 31 Feb and friends
    nxt, prev = next_fire(cron, tz, now), prev_fire(cron, tz, now)
    assert nxt > now >= prev
    # no fire is skipped in between: the fire after prev is the next one, and vice versa
    assert next_fire(cron, tz, prev) == nxt
    assert prev_fire(cron, tz, nxt) == nxt


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cron=_crons, tz=_zones, now=_moments)
def test_property_next_after_now_and_prev_at_or_before(cron: str, tz: str, now: datetime) -> None:
    _check_fires(cron, tz, now)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cron=_crons, where=_near_dst)
def test_property_holds_around_dst_changes(cron: str, where: tuple[str, datetime]) -> None:
    _check_fires(cron, *where)


# --- countdown ---------------------------------------------------------------------------

@pytest.mark.parametrize("seconds,text", [
    (0, "0s"), (-5, "0s"), (12, "12s"), (11.2, "12s"), (59.5, "1m 00s"), (245, "4m 05s"),
    (3599, "59m 59s"), (3 * H + 12 * M, "3h 12m"), (3 * H + 12 * M + 30, "3h 12m"),
    (2 * 86400 + 3 * H, "2d 03h"), (float("nan"), "0s"),
])
def test_countdown_text(seconds: float, text: str) -> None:
    assert countdown_text(seconds) == text


# --- restore window ---------------------------------------------------------------------

@pytest.mark.parametrize("cron,tz,duration,now,window", [
    ("0 3 * * *", "UTC", H, utc(2024, 6, 10, 2, 59), None),
    ("0 3 * * *", "UTC", H, utc(2024, 6, 10, 3), (utc(2024, 6, 10, 3), utc(2024, 6, 10, 4))),
    ("0 3 * * *", "UTC", H, utc(2024, 6, 10, 3, 59, 59), (utc(2024, 6, 10, 3), utc(2024, 6, 10, 4))),
    ("0 3 * * *", "UTC", H, utc(2024, 6, 10, 4), None),
    # Berlin spring forward: the 02:30 restore runs at 03:00 CEST (01:00 UTC)
    ("30 2 * * *", BERLIN, 30 * M, utc(2024, 3, 31, 1, 10), (utc(2024, 3, 31, 1), utc(2024, 3, 31, 1, 30))),
    # Berlin fall back: no second 02:30 restore at 01:30 UTC
    ("30 2 * * *", BERLIN, 30 * M, utc(2024, 10, 27, 1, 40), None),
    # hourly restores that take 90 min: every other fire falls in a window and does not start
    ("0 * * * *", "UTC", 90 * M, utc(2024, 6, 10, 10, 30), (utc(2024, 6, 10, 10), utc(2024, 6, 10, 11, 30))),
    ("0 * * * *", "UTC", 90 * M, utc(2024, 6, 10, 11, 40), None),
])
def test_restore_window(cron, tz, duration, now, window) -> None:
    assert restore_window(cron, tz, duration, now) == window


# --- overlap and order warnings ---------------------------------------------------------

@pytest.mark.parametrize("cron,tz,duration,overlaps", [
    ("*/10 * * * *", "UTC", 30 * M, True),
    ("0 3 * * *", "UTC", 30 * M, False),
    ("0 3,4 * * *", "UTC", H, False),  # back to back is fine
    ("0 3,4 * * *", "UTC", H + 1, True),
    # 23.5 h restores every day: fine in UTC, but the day after spring forward is 23 h long
    ("0 2 * * *", "UTC", 23.5 * H, False),
    ("0 2 * * *", BERLIN, 23.5 * H, True),
])
def test_restore_overlaps_itself(cron, tz, duration, overlaps) -> None:
    assert restore_overlaps_itself(cron, tz, duration) is overlaps


def test_restore_before_backup_lands_every_day() -> None:
    text = restore_before_backup_lands("0 2 * * *", "15 2 * * *", BERLIN, 30 * M)
    assert text is not None
    assert "restore at 02:15 starts 15 min after the backup at 02:00" in text
    assert "every restore" in text and "02:30 or later" in text


def test_restore_after_backup_has_landed_is_fine() -> None:
    assert restore_before_backup_lands("0 1 * * *", "0 3 * * *", BERLIN, 30 * M) is None
    assert restore_before_backup_lands("0 2 * * *", "30 2 * * *", "UTC", 30 * M) is None


def test_both_in_the_spring_forward_gap_run_together() -> None:
    # in Berlin 02:00 and 02:30 do not exist on 2024-03-31: both jobs run at 03:00 CEST
    text = restore_before_backup_lands("0 2 * * *", "30 2 * * *", BERLIN, 30 * M)
    assert text is not None and "2024-03-31 03:00 starts as the backup at 03:00" in text


def test_restore_before_backup_only_on_some_days() -> None:
    text = restore_before_backup_lands("0 2 * * 1", "15 2 * * *", "UTC", 30 * M)
    assert text is not None and "Mon" in text and "of 366 restores in a year" in text


def test_restore_before_backup_only_when_clocks_go_forward() -> None:
    # 45 min apart all year, but on 2024-03-31 the 02:30 backup runs at 03:00 CEST
    assert restore_before_backup_lands("30 2 * * *", "15 3 * * *", "UTC", 30 * M) is None
    text = restore_before_backup_lands("30 2 * * *", "15 3 * * *", BERLIN, 30 * M)
    assert text is not None and "2024-03-31 03:15" in text and "1 of 366" in text


# --- data age ---------------------------------------------------------------------------

# (tz, backup_cron, restore_cron, now, landed times, backup dur, restore dur,
#  expected restore start, expected backup taken, expected running-since)
DATA_AGE = [
    pytest.param("UTC", "0 1 * * *", "0 3 * * *", utc(2024, 6, 10, 12), (), 30 * M, 30 * M,
                 utc(2024, 6, 10, 3), utc(2024, 6, 10, 1), None, id="backup-then-restore"),
    pytest.param("UTC", "0 1 * * *", "0 3 * * *", utc(2024, 6, 10, 3, 10), (), 30 * M, 30 * M,
                 utc(2024, 6, 9, 3), utc(2024, 6, 9, 1), utc(2024, 6, 10, 3), id="restore-still-running"),
    pytest.param("UTC", "0 2 * * *", "15 2 * * *", utc(2024, 6, 10, 12), (), 30 * M, 30 * M,
                 utc(2024, 6, 10, 2, 15), utc(2024, 6, 9, 2), None, id="restore-before-backup-lands"),
    pytest.param("UTC", "0 1 * * *", "0 3 * * *", utc(2024, 6, 10, 12), (utc(2024, 6, 10, 1, 7),),
                 30 * M, 30 * M, utc(2024, 6, 10, 3), utc(2024, 6, 10, 1), None, id="observed-file"),
    pytest.param("UTC", "0 1 * * *", "0 3 * * *", utc(2024, 6, 10, 12),
                 (utc(2024, 6, 9, 1, 5), utc(2024, 6, 10, 3, 5)), 30 * M, 30 * M,
                 utc(2024, 6, 10, 3), utc(2024, 6, 9, 1), None, id="backup-landed-after-restore-began"),
    pytest.param("UTC", None, "0 3 * * *", utc(2024, 6, 10, 12), (utc(2024, 6, 10, 1, 20),),
                 30 * M, 30 * M, utc(2024, 6, 10, 3), utc(2024, 6, 10, 0, 50), None,
                 id="observed-file-no-backup-cron"),
    pytest.param("UTC", "0 1 * * *", "0 3 * * *", utc(2024, 6, 10, 12), (utc(2024, 6, 10, 2, 40),),
                 30 * M, 30 * M, utc(2024, 6, 10, 3), utc(2024, 6, 10, 2, 10), None,
                 id="manual-backup-outside-schedule"),
    pytest.param("UTC", "0 1 * * 0", "0 3 * * *", utc(2024, 6, 12, 12), (), 30 * M, 30 * M,
                 utc(2024, 6, 12, 3), utc(2024, 6, 9, 1), None, id="weekly-backup-daily-restore"),
    # Berlin: on the spring-forward day the 02:30 backup runs at 03:00 CEST (01:00 UTC) and
    # has not landed by the 03:15 restore, which restores the day before's backup
    pytest.param(BERLIN, "30 2 * * *", "15 3 * * *", utc(2024, 3, 31, 10), (), 30 * M, 30 * M,
                 utc(2024, 3, 31, 1, 15), utc(2024, 3, 30, 1, 30), None, id="berlin-spring-forward"),
    pytest.param(BERLIN, "30 2 * * *", "15 3 * * *", utc(2024, 4, 1, 10), (), 30 * M, 30 * M,
                 utc(2024, 4, 1, 1, 15), utc(2024, 4, 1, 0, 30), None, id="berlin-day-after"),
    # Berlin fall back: the 02:30 backup runs once, on the CEST pass (00:30 UTC)
    pytest.param(BERLIN, "30 2 * * *", "0 4 * * *", utc(2024, 10, 27, 12), (), 30 * M, 30 * M,
                 utc(2024, 10, 27, 3), utc(2024, 10, 27, 0, 30), None, id="berlin-fall-back"),
    # New York spring forward: the 02:30 restore runs at 03:00 EDT (07:00 UTC)
    pytest.param(NEW_YORK, "0 1 * * *", "30 2 * * *", utc(2024, 3, 10, 12), (), 30 * M, 30 * M,
                 utc(2024, 3, 10, 7), utc(2024, 3, 10, 6), None, id="new-york-spring-forward"),
    # New York fall back: the 01:30 restore runs once (05:30 UTC), not again at 06:30 UTC
    pytest.param(NEW_YORK, "0 0 * * *", "30 1 * * *", utc(2024, 11, 3, 6, 45), (), 30 * M, H,
                 utc(2024, 11, 3, 5, 30), utc(2024, 11, 3, 4), None, id="new-york-fall-back"),
    # hourly restores taking 90 min: the 11:00 fire fell in the 10:00 window and did not start
    pytest.param("UTC", "45 * * * *", "0 * * * *", utc(2024, 6, 10, 12, 10), (), 10 * M, 90 * M,
                 utc(2024, 6, 10, 10), utc(2024, 6, 10, 9, 45), utc(2024, 6, 10, 12),
                 id="overlapping-restores"),
]


@pytest.mark.parametrize("tz,backup_cron,restore_cron,now,landed,bdur,rdur,restore,taken,running",
                         DATA_AGE)
def test_data_age_estimate(tz, backup_cron, restore_cron, now, landed, bdur, rdur, restore, taken,
                           running) -> None:
    est = estimate_standby_data(backup_cron, restore_cron, tz, now, landed,
                                backup_duration=bdur, restore_duration=rdur)
    assert est.is_estimate
    assert (est.last_restore_time, est.restored_backup_time, est.restore_running_since) == \
        (restore, taken, running)
    assert est.data_age == (now - taken).total_seconds()
    assert est.reason.startswith("estimated:")


def test_data_age_unknown_without_schedules() -> None:
    now = utc(2024, 6, 10, 12)
    est = estimate_standby_data("0 1 * * *", None, "UTC", now)
    assert est.data_age is None and "restore_cron" in est.reason
    est = estimate_standby_data(None, "0 3 * * *", "UTC", now)
    assert est.data_age is None and est.last_restore_time == utc(2024, 6, 10, 3)
    assert "failing over now: the standby's data age is unknown" in loss_text(est, now, "UTC")


def test_reason_says_a_running_restore_is_not_counted() -> None:
    est = estimate_standby_data("0 1 * * *", "0 3 * * *", BERLIN, utc(2024, 6, 10, 1, 10))
    assert "a restore began at 03:00 and may run until 03:30, so it is not counted" in est.reason


def test_a_standby_that_was_production_holds_its_own_data_until_it_restores() -> None:
    from d42tui.engine.schedule import since_role_switch

    # backups at 01:00, restores at 03:00 on the standby; d42-a, production until a
    # failover at 10:20, is now the standby. The crons alone say it restored the 01:00 backup
    now = utc(2024, 6, 10, 10, 40)
    crons = estimate_standby_data("0 1 * * *", "0 3 * * *", "UTC", now)
    assert crons.restored_backup_time == utc(2024, 6, 10, 1)
    est = since_role_switch(crons, utc(2024, 6, 10, 10, 20), now, "UTC")
    assert est.left_production_at == est.restored_backup_time == utc(2024, 6, 10, 10, 20)
    assert est.data_age == 20 * 60
    assert "it was production until 10:20 and has not restored since" in est.reason
    assert loss_text(est, now, "UTC") == \
        "failing over now loses changes made after ~10:20 (about 20 min)"
    # once a restore has run on it after the switch, the crons tell again
    later = utc(2024, 6, 11, 4)
    crons = estimate_standby_data("0 1 * * *", "0 3 * * *", "UTC", later)
    assert since_role_switch(crons, utc(2024, 6, 10, 10, 20), later, "UTC") is crons


@pytest.mark.parametrize("tz,now,text", [
    ("UTC", utc(2024, 6, 10, 4, 12), "failing over now loses changes made after ~01:00 (about 3 h 12 min)"),
    ("UTC", utc(2024, 6, 10, 1, 45), "failing over now loses changes made after ~01:00 (about 45 min)"),
    (BERLIN, utc(2024, 6, 10, 4, 12), "failing over now loses changes made after ~03:00 (about 3 h 12 min)"),
    ("UTC", utc(2024, 6, 12, 5, 0), "failing over now loses changes made after ~Mon 01:00 (about 2 d 4 h)"),
])
def test_loss_text(tz: str, now: datetime, text: str) -> None:
    est = DataAgeEstimate(restored_backup_time=utc(2024, 6, 10, 1), last_restore_time=None,
                          data_age=None, reason="test")
    assert loss_text(est, now, tz) == text
