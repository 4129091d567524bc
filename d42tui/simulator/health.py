"""What a simulated appliance reports, as pure functions of its settings and the time.

Backup status strings, the auto-restore window and the `/healthstats/` figures;
no I/O and no state, so the behaviour can be tested without a server.
"""

from __future__ import annotations

import hashlib
import math
import random
from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter

VERSION = "18.10.00.1690226275"
BACKUP_JOB_ID = 1
BACKUP_JOB_NAME = "nightly"
BACKUP_METHOD_SFTP = 2
NEVER_BACKED_UP = "Backup not run since last reboot. Please check."
BACKUP_FAILED = "File send failed :[Errno 2] No such file\n"
FIGURES_PERIOD = 10  # seconds during which the health figures stay the same


def vendor_time(epoch: float, timezone: str) -> str:
    """`YYYY-MM-DD HH:MM:SS` in the appliance's time zone, as its status strings show."""
    return datetime.fromtimestamp(epoch, ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S")


def status_text(text: str, epoch: float, timezone: str) -> str:
    """The vendor's `<text>\\n @ <time>` format."""
    return f"{text}\n @ {vendor_time(epoch, timezone)}"


def last_fire(cron: str, timezone: str, now: float) -> float:
    """Epoch of the most recent fire of `cron` at or before `now`, in `timezone`."""
    # croniter's get_prev is strictly before its start: start one second after the
    # current whole second so that a fire at exactly `now` counts.
    start = datetime.fromtimestamp(math.floor(now) + 1, ZoneInfo(timezone))
    return float(croniter(cron, start).get_prev(float))


def in_restore_window(cron: str | None, timezone: str, duration: float, now: float) -> bool:
    """Whether an auto-restore started by `cron` is still running at `now`.

    Simplification: every fire starts a restore lasting `duration`; the vendor's rule
    that a fire inside a running restore is skipped only matters when the restores
    overlap, and then the appliance is restoring either way.
    """
    if not cron or duration <= 0:
        return False
    return now - last_fire(cron, timezone, now) < duration


def backup_status(*, last_backup: float | None, failing: bool, backup_cron: str | None,
                  timezone: str, now: float) -> str:
    """The status string of the appliance's one backup job."""
    if failing:
        attempt = last_fire(backup_cron, timezone, now) if backup_cron else now
        return status_text(BACKUP_FAILED, attempt, timezone)
    if last_backup is None:
        return NEVER_BACKED_UP
    return status_text("good", last_backup, timezone)


def _stable(name: str) -> random.Random:
    return random.Random(hashlib.sha256(f"{name}|static".encode()).digest())


def health_figures(name: str, now: float, load: str) -> dict:
    """CPU, disk, database size and memory; `load` is "standby", "production" or "restoring".

    Deterministic: the same name and 10-second period give the same figures, so a
    test can compare two reads; the figures wander a little from period to period.
    """
    static = _stable(name)
    memtotal = static.choice([3948, 7986, 16013])
    swaptotal = 8187
    disk_base = static.randint(8, 30)
    db_base = static.randint(60, 400)
    period = int(now // FIGURES_PERIOD)
    rnd = random.Random(hashlib.sha256(f"{name}|{period}".encode()).digest())
    cpu_range = {"standby": (0.8, 5.0), "production": (3.0, 18.0), "restoring": (55.0, 85.0)}[load]
    cpu = rnd.uniform(*cpu_range)
    memfree = int(memtotal * rnd.uniform(0.30, 0.50))
    if load == "restoring":
        memfree = int(memfree * 0.5)
    days = max(0, int(now // 86400) - 19000)  # the database grows a little every day
    return {
        "cpu_used_percent": f"{cpu:.5f}",
        "dbsize": f"{db_base + days % 50} MB",
        "disk_used_percent": str(disk_base + rnd.randint(0, 1)),
        "memory_in_MB": {
            "buffers": int(memtotal * rnd.uniform(0.02, 0.04)),
            "cached": int(memtotal * rnd.uniform(0.06, 0.12)),
            "memfree": memfree,
            "memtotal": memtotal,
            "swapfree": swaptotal - rnd.randint(0, 40),
            "swaptotal": swaptotal,
        },
    }
