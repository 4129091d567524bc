"""Typed health figures of one appliance, parsed defensively from `/healthstats/`.

Numbers arrive as strings ("2.51904", "84 MB"), fields go missing, and a proxy
may answer with HTML: parsing never raises, it records what it could not read.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ..text import clean_text

Level = Literal["ok", "warning", "critical"]

_STAMP_RE = re.compile(r"@\s*(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})\s*$")
_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMgGtT]?)(?:i?[bB])?\s*$")
_SIZE_FACTOR_MB = {"": 1 / (1024 * 1024), "k": 1 / 1024, "m": 1.0, "g": 1024.0, "t": 1024.0 * 1024}


@dataclass(frozen=True)
class BackupJobStatus:
    """One entry of `backup_status`: the text, its timestamp and how bad it is."""

    job_name: str
    text: str  # the status text without the "@ time" suffix
    at: datetime | None  # naive, in the appliance's own time zone
    level: Level


@dataclass(frozen=True)
class Health:
    cpu_percent: float | None = None
    disk_percent: float | None = None
    dbsize_mb: float | None = None
    mem_total_mb: float | None = None
    mem_available_mb: float | None = None  # memfree + buffers + cached
    swap_total_mb: float | None = None
    swap_free_mb: float | None = None
    version: str | None = None
    backups: tuple[BackupJobStatus, ...] = ()
    unparsed: tuple[str, ...] = ()  # fields present but unreadable, or missing

    @property
    def mem_free_percent(self) -> float | None:
        if self.mem_total_mb and self.mem_available_mb is not None:
            return 100.0 * self.mem_available_mb / self.mem_total_mb
        return None

    @property
    def swap_free_percent(self) -> float | None:
        if self.swap_total_mb and self.swap_free_mb is not None:
            return 100.0 * self.swap_free_mb / self.swap_total_mb
        return None  # no swap configured: nothing to alarm on

    @property
    def backup_level(self) -> Level:
        """Worst backup job level; no jobs at all is a warning (as the vendor's plugin says)."""
        if not self.backups:
            return "warning"
        order = {"ok": 0, "warning": 1, "critical": 2}
        return max((b.level for b in self.backups), key=order.__getitem__)

    @property
    def last_good_backup(self) -> datetime | None:
        times = [b.at for b in self.backups if b.level == "ok" and b.at is not None]
        return max(times) if times else None




def backup_level(text: str) -> Level:
    """The public plugins' reading: "good" → OK, "please check" → WARNING, else CRITICAL."""
    lowered = text.lower()
    if "good" in lowered:
        return "ok"
    if "please check" in lowered:
        return "warning"
    return "critical"


def parse_backup_status(raw: Any) -> BackupJobStatus | None:
    if not isinstance(raw, dict):
        return None
    status = raw.get("status")
    if not isinstance(status, str):
        return None
    name = raw.get("job_name")
    name = clean_text(name, 80) if isinstance(name, str) else f"job {raw.get('id', '?')}"
    at = None
    text = status
    if match := _STAMP_RE.search(status):
        try:
            at = datetime.fromisoformat(match.group(1).replace("T", " "))
        except ValueError:
            at = None
        text = status[: match.start()]
    text = " ".join(clean_text(text).split())  # the vendor pads with newlines
    return BackupJobStatus(job_name=name, text=text, at=at, level=backup_level(status))


def to_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            number = float(value)  # JSON's 1e999 arrives as inf; NaN and inf are not figures
        except OverflowError:  # an integer with hundreds of digits
            return None
        return number if math.isfinite(number) else None
    if isinstance(value, str):
        try:
            number = float(value.strip().rstrip("%"))
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def to_megabytes(value: Any) -> float | None:
    """"84 MB" → 84.0; "1.5 GB" → 1536.0; a bare number is taken as MB."""
    if (number := to_number(value)) is not None:
        return number
    if isinstance(value, str) and (match := _SIZE_RE.match(value)):
        return float(match.group(1)) * _SIZE_FACTOR_MB[match.group(2).lower()]
    return None


def parse_health(data: Any) -> Health | None:
    """A `Health` from decoded JSON, or None when it is not a healthstats object at all."""
    if not isinstance(data, dict):
        return None
    known = {"cpu_used_percent", "disk_used_percent", "dbsize", "memory_in_MB", "version",
             "backup_status"}
    if not known & data.keys():
        return None
    unparsed: list[str] = []

    def field(key: str, conv) -> float | None:
        if key not in data:
            unparsed.append(key)
            return None
        value = conv(data[key])
        if value is None:
            unparsed.append(key)
        return value

    cpu = field("cpu_used_percent", to_number)
    disk = field("disk_used_percent", to_number)
    dbsize = field("dbsize", to_megabytes)
    memory = data.get("memory_in_MB")
    mem_total = mem_avail = swap_total = swap_free = None
    if isinstance(memory, dict):
        mem_total = to_number(memory.get("memtotal"))
        parts = [to_number(memory.get(k)) for k in ("memfree", "buffers", "cached")]
        mem_avail = sum(p for p in parts if p is not None) if parts[0] is not None else None
        swap_total = to_number(memory.get("swaptotal"))
        swap_free = to_number(memory.get("swapfree"))
        if mem_total is None or mem_avail is None:
            unparsed.append("memory_in_MB")
    else:
        unparsed.append("memory_in_MB")
    version = data.get("version")
    if not isinstance(version, str):
        unparsed.append("version")
        version = None
    raw_backups = data.get("backup_status")
    backups: list[BackupJobStatus] = []
    if isinstance(raw_backups, list):
        backups = [b for b in map(parse_backup_status, raw_backups) if b is not None]
    else:
        unparsed.append("backup_status")
    return Health(
        cpu_percent=cpu, disk_percent=disk, dbsize_mb=dbsize,
        mem_total_mb=mem_total, mem_available_mb=mem_avail,
        swap_total_mb=swap_total, swap_free_mb=swap_free,
        version=clean_text(version, 64) or None if version else None,
        backups=tuple(backups[:20]),
        unparsed=tuple(unparsed),
    )
