"""Watch a pair's backup pipeline alongside the polls: the file, the schedules, the data age.

The poller asks `tick()` every round; a file check runs every `check_every`
rounds in the background, so a slow SFTP server never delays a poll round.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..config.models import PairConfig
from ..engine import schedule
from . import make_checker
from .pipeline import PipelineWarning, Severity, _file_warnings, _schedule_warnings, estimate_pair
from .status import BackupChecker, BackupFileStatus

HISTORY = 24


@dataclass(frozen=True)
class PipelineView:
    """The backup pipeline of one pair, as of one poll round. Times are aware (UTC)."""

    latest: BackupFileStatus | None  # None: no backup location configured, or not looked yet
    warnings: tuple[PipelineWarning, ...]
    estimate: schedule.DataAgeEstimate | None
    next_backup: datetime | None
    next_restore: datetime | None
    restore_window: tuple[datetime, datetime] | None
    loss_text: str | None

    def to_dict(self) -> dict[str, Any]:
        est = self.estimate
        return {
            "file": self.latest.to_dict() if self.latest else None,
            "warnings": [w.to_dict() for w in self.warnings],
            "next_backup": _iso(self.next_backup),
            "next_restore": _iso(self.next_restore),
            "restore_running": self.restore_window is not None,
            "standby_data": None if est is None else {
                "restored_backup_time": _iso(est.restored_backup_time),
                "last_restore_time": _iso(est.last_restore_time),
                "data_age_seconds": None if est.data_age is None else round(est.data_age),
                "is_estimate": est.is_estimate, "reason": est.reason,
            },
            "loss": self.loss_text,
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(
        timespec="seconds").replace("+00:00", "Z")


class BackupMonitor:
    """Per pair: the checker (if a location is configured) and a bounded history."""

    def __init__(self, pair: PairConfig, clock: Callable[[], float]):
        self.pair = pair
        self.clock = clock
        self.checker: BackupChecker | None = (make_checker(pair.backup)
                                              if pair.backup is not None else None)
        self.history: deque[BackupFileStatus] = deque(maxlen=HISTORY)
        self._task: asyncio.Task[BackupFileStatus] | None = None
        self._rounds = 0
        self._cached: tuple[tuple[Any, ...], PipelineView] | None = None
        # Schedule warnings depend on the config only, but finding them scans a year of
        # cron fires (~0.2 s): done once, in a thread, so it never delays a poll or a paint.
        self._static: list[PipelineWarning] | None = None
        self._static_job: asyncio.Future[list[PipelineWarning]] | None = None

    def _schedule_warnings(self) -> list[PipelineWarning]:
        pair = self.pair
        duration = pair.backup.backup_duration if pair.backup else schedule.DEFAULT_BACKUP_DURATION
        return _schedule_warnings(pair.timezone, pair.backup_cron, pair.restore_cron, duration,
                                  pair.restore_duration)

    def _start_static(self, delay: float = 0.0) -> asyncio.Future[list[PipelineWarning]] | None:
        """Find the schedule warnings in a thread; `delay` keeps that (GIL-holding) work
        away from the console's first paint."""
        if self._static is None and self._static_job is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop: nobody is waiting on a paint
                self._static = self._schedule_warnings()
                return None
            job: asyncio.Future[list[PipelineWarning]] = loop.create_future()

            def start() -> None:
                inner = loop.run_in_executor(None, self._schedule_warnings)
                inner.add_done_callback(
                    lambda f: job.cancelled() or (job.set_exception(f.exception())
                                                  if f.exception() else job.set_result(f.result())))

            if delay:
                loop.call_later(delay, start)
            else:
                start()
            job.add_done_callback(self._static_landed)
            self._static_job = job
        return self._static_job

    def _static_landed(self, job: asyncio.Future[list[PipelineWarning]]) -> None:
        if not job.cancelled() and job.exception() is None:
            self._static = job.result()

    def tick(self) -> None:
        """Called once per poll round: start a background look when one is due."""
        if self.checker is None:
            return
        due = self._rounds % max(1, self.pair.backup.check_every) == 0
        self._rounds += 1
        if due and (self._task is None or self._task.done()):
            self._task = asyncio.ensure_future(self.checker.check())
            self._task.add_done_callback(self._landed)

    def _landed(self, task: asyncio.Task[BackupFileStatus]) -> None:
        if not task.cancelled() and task.exception() is None:
            self.history.append(task.result())

    async def check_now(self) -> None:
        """One look, awaited, with the schedule warnings ready (the one-shot commands)."""
        job = self._start_static()
        if self.checker is not None:
            self.history.append(await self.checker.check())
        if job is not None:
            await job

    def view(self, switched_at: float | None = None,
             diverged_at: float | None = None) -> PipelineView:
        """Recomputed when a new look landed, a scheduled time passed, or a minute went by:
        cron maths every round for every pair would cost more than the polls themselves.
        `switched_at`: when production last moved to the appliance that has it now (the
        standby's data is its own until it restores after that). `diverged_at`: since when
        the two appliances report different versions (the restores since then fail)."""
        self._start_static(delay=2.0)
        now_ts = self.clock()
        key = (len(self.history), self.history[-1] if self.history else None, int(now_ts // 60),
               self._static is not None, switched_at, diverged_at)
        if self._cached is not None:
            old_key, old = self._cached
            boundaries = [t.timestamp() for t in (old.next_backup, old.next_restore) if t]
            if old.restore_window:
                boundaries.append(old.restore_window[1].timestamp())
            if old_key == key and all(now_ts < b for b in boundaries):
                return old
        view = self._compute(datetime.fromtimestamp(now_ts, UTC), switched_at, diverged_at)
        self._cached = (key, view)
        return view

    def _compute(self, now: datetime, switched_at: float | None = None,
                 diverged_at: float | None = None) -> PipelineView:
        pair = self.pair
        history = list(self.history)
        # The production appliance's own backup status is judged by the pair verdict.
        found = list(self._static or [])
        if history and pair.backup is not None:
            found += _file_warnings(history, now, pair.backup, pair.timezone, pair.restore_cron,
                                    pair.restore_duration)
        warnings = tuple(sorted(found, key=lambda w: w.severity is not Severity.CRITICAL))
        estimate = loss = None
        if pair.backup_cron and pair.restore_cron:
            estimate = estimate_pair(pair, history, now)
            if diverged_at is not None:
                then = datetime.fromtimestamp(diverged_at, UTC)
                estimate = schedule.since_versions_diverged(
                    estimate, estimate_pair(pair, history, then), then, now, pair.timezone)
            if switched_at is not None:
                estimate = schedule.since_role_switch(
                    estimate, datetime.fromtimestamp(switched_at, UTC), now, pair.timezone)
            loss = schedule.loss_text(estimate, now, pair.timezone)
        window = None
        if pair.restore_cron:
            window = schedule.restore_window(pair.restore_cron, pair.timezone,
                                             pair.restore_duration, now)
        return PipelineView(
            latest=history[-1] if history else None, warnings=warnings, estimate=estimate,
            next_backup=schedule.next_fire(pair.backup_cron, pair.timezone, now)
            if pair.backup_cron else None,
            next_restore=schedule.next_fire(pair.restore_cron, pair.timezone, now)
            if pair.restore_cron else None,
            restore_window=window, loss_text=loss)

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self.checker is not None:
            await self.checker.aclose()
