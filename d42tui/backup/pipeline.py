"""Warnings about the backup pipeline: the file's history, the schedules, production's own status.

Pure functions: the caller passes what the checkers and polls saw; each warning has a stable code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from ..engine import schedule
from .config import AnyBackup
from .status import BackupFileStatus, BackupState

if TYPE_CHECKING:
    from ..config.models import PairConfig


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


class Code(StrEnum):
    """Stable identifiers: `status --json` and `check` output carry them."""

    BACKUP_MISSING = "backup-missing"
    BACKUP_STALE = "backup-stale"
    BACKUP_SHRUNK = "backup-shrunk"
    BACKUP_GROWING_AT_RESTORE = "backup-growing-at-restore"
    BACKUP_CHECK_FAILED = "backup-check-failed"
    BACKUP_HOST_KEY_UNVERIFIED = "backup-host-key-unverified"
    RESTORE_BEFORE_BACKUP = "restore-before-backup"
    RESTORE_OVERLAP = "restore-overlap"
    PRODUCTION_BACKUP_FAILING = "production-backup-failing"
    PRODUCTION_BACKUP_WARNING = "production-backup-warning"
    PRODUCTION_BACKUP_NO_JOBS = "production-backup-no-jobs"


@dataclass(frozen=True)
class PipelineWarning:
    code: Code
    severity: Severity
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"code": str(self.code), "severity": str(self.severity), "text": self.text}


@dataclass(frozen=True)
class JobStatus:
    """One production backup job as `/healthstats/` reports it."""

    job_name: str
    level: Literal["ok", "warning", "critical"]
    text: str  # the status without its timestamp, whitespace folded
    at: str | None  # "YYYY-MM-DD HH:MM:SS" in the appliance's local time, as given


_STAMP = re.compile(r"\s*@\s*(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\s*$")


def classify_backup_status(status: str, job_name: str = "") -> JobStatus:
    """The vendor plugins' reading: "good" OK, "please check" WARNING, anything else CRITICAL.

    "Backup not run since last reboot. Please check." is therefore a warning: the rules are
    applied in that order, and the file checks catch a backup that stays away.
    """
    match = _STAMP.search(status)
    text = " ".join((status[:match.start()] if match else status).split())
    lower = text.lower()
    level: Literal["ok", "warning", "critical"] = (
        "ok" if re.match(r"good\b", lower) else "warning" if "please check" in lower else "critical")
    return JobStatus(job_name, level, text, match.group(1) if match else None)


def _jobs(raw: Sequence[Any]) -> list[JobStatus]:
    out = []
    for i, entry in enumerate(raw):
        if isinstance(entry, Mapping):
            name, status = str(entry.get("job_name") or f"job {entry.get('id', i + 1)}"), entry.get("status")
        else:
            name, status = f"job {i + 1}", entry
        if isinstance(status, str):
            out.append(classify_backup_status(status, name))
        else:
            out.append(JobStatus(name, "warning", "no readable status", None))
    return out


def landed_times(history: Sequence[BackupFileStatus]) -> tuple[datetime, ...]:
    """Distinct modification times of settled backups, oldest first (for the data-age estimate)."""
    seen = sorted({s.mtime for s in history if s.state is BackupState.READY and s.mtime})
    return tuple(seen)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


def _file_warnings(history: Sequence[BackupFileStatus], now: datetime, backup: AnyBackup,
                   tz: str, restore_cron: str | None,
                   restore_duration: float) -> list[PipelineWarning]:
    latest = history[-1]
    out: list[PipelineWarning] = []
    if latest.state is BackupState.ERROR:
        out.append(PipelineWarning(Code.BACKUP_CHECK_FAILED, Severity.WARNING,
                                   f"cannot check the backup file {latest.location}: {latest.error}"))
    elif latest.state is BackupState.MISSING:
        out.append(PipelineWarning(Code.BACKUP_MISSING, Severity.WARNING,
                                   f"the backup file {latest.location} is missing"))
    elif (age := latest.age(now)) is not None and age > backup.max_age:
        severity = Severity.CRITICAL if age > 2 * backup.max_age else Severity.WARNING
        out.append(PipelineWarning(Code.BACKUP_STALE, severity, (
            f"the backup file {latest.location} is {schedule.duration_words(age)} old (expected "
            f"under {schedule.duration_words(backup.max_age)})")))
    if latest.note:
        out.append(PipelineWarning(Code.BACKUP_HOST_KEY_UNVERIFIED, Severity.WARNING, latest.note))
    settled: dict[datetime, BackupFileStatus] = {}
    for status in history:
        if status.state is BackupState.READY and status.mtime and status.size is not None:
            settled.pop(status.mtime, None)
            settled[status.mtime] = status  # keep the order in which backups were seen
    if len(settled) >= 2:
        old, new = (s.size or 0 for s in list(settled.values())[-2:])
        if new < old * (1 - backup.shrink_ratio):
            out.append(PipelineWarning(Code.BACKUP_SHRUNK, Severity.WARNING, (
                f"the newest backup ({_size(new)}) is {100 * (1 - new / old):.0f}% smaller than "
                f"the one before ({_size(old)}): check that it is complete and includes "
                "metadata")))
    if restore_cron is not None:
        start = schedule.last_restore_start(restore_cron, tz, restore_duration, now)
        end = start + timedelta(seconds=restore_duration) if start else None
        first = next((s for s in history if start and end and start <= s.checked_at < end), None)
        if start and first is not None and first.state is BackupState.IN_PROGRESS:
            local = start.astimezone(schedule.zone_of(tz))
            out.append(PipelineWarning(Code.BACKUP_GROWING_AT_RESTORE, Severity.WARNING, (
                f"the backup file was still being written when the restore at {local:%H:%M} "
                "began: the standby may have restored a partial file or the previous backup")))
    return out


def _schedule_warnings(tz: str, backup_cron: str | None, restore_cron: str | None,
                       backup_duration: float, restore_duration: float) -> list[PipelineWarning]:
    out: list[PipelineWarning] = []
    if restore_cron is None:
        return out
    if backup_cron is not None:
        text = schedule.restore_before_backup_lands(backup_cron, restore_cron, tz, backup_duration)
        if text:
            out.append(PipelineWarning(Code.RESTORE_BEFORE_BACKUP, Severity.WARNING, text))
    if schedule.restore_overlaps_itself(restore_cron, tz, restore_duration):
        out.append(PipelineWarning(Code.RESTORE_OVERLAP, Severity.WARNING, (
            f"restores ({restore_cron}) fire closer together than a restore takes "
            f"({schedule.duration_words(restore_duration)}): one that falls inside a running "
            "restore's window does not start")))
    return out


def _production_warnings(raw: Sequence[Any]) -> list[PipelineWarning]:
    jobs = _jobs(raw)
    if not jobs:
        return [PipelineWarning(Code.PRODUCTION_BACKUP_NO_JOBS, Severity.WARNING,
                                "production reports no backup jobs: nothing feeds the standby")]
    out = []
    for job in jobs:
        when = f" (at {job.at})" if job.at else ""
        if job.level == "critical":
            out.append(PipelineWarning(Code.PRODUCTION_BACKUP_FAILING, Severity.CRITICAL,
                                       f"production backup job '{job.job_name}': {job.text}{when}"))
        elif job.level == "warning":
            out.append(PipelineWarning(Code.PRODUCTION_BACKUP_WARNING, Severity.WARNING,
                                       f"production backup job '{job.job_name}': {job.text}{when}"))
    return out


def assess_pipeline(history: Sequence[BackupFileStatus], *, now: datetime,
                    backup: AnyBackup | None = None, tz: str = "UTC",
                    backup_cron: str | None = None, restore_cron: str | None = None,
                    restore_duration: float = schedule.DEFAULT_RESTORE_DURATION,
                    production_backup_status: Sequence[Any] | None = None,
                    ) -> list[PipelineWarning]:
    """Every warning about the backup pipeline, critical ones first.

    `history` is the checker's statuses, oldest first (empty: not looked at yet);
    `production_backup_status` is the production appliance's `backup_status` list from
    `/healthstats/` (None: not known, so nothing is said about it).
    """
    backup_duration = backup.backup_duration if backup else schedule.DEFAULT_BACKUP_DURATION
    out: list[PipelineWarning] = []
    if history and backup is not None:
        out += _file_warnings(history, now, backup, tz, restore_cron, restore_duration)
    out += _schedule_warnings(tz, backup_cron, restore_cron, backup_duration, restore_duration)
    if production_backup_status is not None:
        out += _production_warnings(production_backup_status)
    return sorted(out, key=lambda w: w.severity is not Severity.CRITICAL)


def assess_pair(pair: PairConfig, history: Sequence[BackupFileStatus], *, now: datetime,
                production_backup_status: Sequence[Any] | None = None) -> list[PipelineWarning]:
    """`assess_pipeline` with the pair's configured schedules and backup section."""
    return assess_pipeline(history, now=now, backup=pair.backup, tz=pair.timezone,
                           backup_cron=pair.backup_cron, restore_cron=pair.restore_cron,
                           restore_duration=pair.restore_duration,
                           production_backup_status=production_backup_status)


def estimate_pair(pair: PairConfig, history: Sequence[BackupFileStatus],
                  now: datetime) -> schedule.DataAgeEstimate:
    """The standby's data age for a pair, using the backup file times seen so far."""
    backup_duration = pair.backup.backup_duration if pair.backup else schedule.DEFAULT_BACKUP_DURATION
    return schedule.estimate_standby_data(pair.backup_cron, pair.restore_cron, pair.timezone, now,
                                          landed_times(history), backup_duration=backup_duration,
                                          restore_duration=pair.restore_duration)
