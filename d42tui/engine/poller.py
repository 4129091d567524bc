"""Concurrent polling of every appliance of every pair; emits immutable snapshots.

Each pair runs on its own interval; each appliance poll has a hard deadline, so a
black-holed appliance costs at most `timeout` and never delays the others.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Sequence

from ..appliance.client import ApplianceClient, Failure, FailureKind, PollResult
from ..backup.monitor import BackupMonitor
from ..config.models import Config, PairConfig
from .locks import action_lock_path, lock_is_free
from .pair import (
    ApplianceView,
    PairSnapshot,
    Reason,
    observe,
    pair_verdict,
    version_reason,
    versions_differ,
)
from .secretread import appliance_secret_problems
from .state import StateDamaged, StateStore, automation_entry
from .switchover import scheduled_switchover

Subscriber = Callable[[PairSnapshot], None]
SECRET_CHECK_INTERVAL = 60.0  # seconds between looks at the password sources


class PairPoller:
    """Polls one pair; `poll_once()` is one round, `run()` repeats it on the interval."""

    def __init__(self, pair: PairConfig, store: StateStore, *,
                 clock: Callable[[], float] = time.time,
                 client_factory: Callable[..., ApplianceClient] = ApplianceClient,
                 shared: bool = False):
        self.pair = pair
        # with `coordination:` the state (the journal too) is shared with other hosts
        self.shared = shared
        self.store = store
        self.clock = clock
        # the source address only when set: a test's own factory need not know the keyword
        bind = {"source_address": pair.poll.source_address} if pair.poll.source_address else {}
        self.clients = {a.name: client_factory(a, pair.poll.timeout, clock=clock, **bind)
                        for a in pair.appliances}
        self.views = {a.name: ApplianceView(a.name) for a in pair.appliances}
        self._inflight: dict[str, asyncio.Task[PollResult]] = {}
        self.round = 0
        self.diverged_at: float | None = None  # since when the versions differ, as seen here
        self.latest: PairSnapshot | None = None
        self.monitor: BackupMonitor | None = None
        # One round at a time: the console's background loop and an action's re-poll share
        # this poller; overlapping rounds would see each other's polls as "still unanswered".
        self._round_lock = asyncio.Lock()
        self.secret_reasons: tuple[Reason, ...] = ()
        # Told of each round's poll results (the watcher's latency histogram); quick, no raise.
        self.result_listeners: list[Callable[[Sequence[PollResult]], None]] = []
        self._secrets_at: float | None = None
        self._secrets_task: asyncio.Task[None] | None = None
        if pair.backup is not None or pair.backup_cron or pair.restore_cron:
            self.monitor = BackupMonitor(pair, clock)

    async def _poll_one(self, name: str, deadline: float) -> PollResult:
        task = self._inflight.get(name)
        if task is not None and not task.done():
            # Still waiting on the last round's answer: that is a failure of this round too.
            return PollResult(name, self.clock(), None, None,
                              Failure(FailureKind.TIMEOUT, "previous poll still unanswered"))
        task = asyncio.ensure_future(self.clients[name].poll())
        self._inflight[name] = task
        deadline = self.pair.poll.timeout + 0.1
        try:
            return await asyncio.wait_for(asyncio.shield(task), deadline)
        except TimeoutError:
            return PollResult(name, self.clock(), None, None,
                              Failure(FailureKind.TIMEOUT, "no answer in time"))

    async def poll_once(self) -> PairSnapshot:
        async with self._round_lock:
            return await self._poll_round()

    async def poll_fully(self) -> PairSnapshot:
        """One round, and the look at the passwords it started: what a one-shot command
        plans on (a console's next round has it anyway)."""
        await self.poll_once()
        if (task := self.look_at_secrets()) is not None:
            await asyncio.gather(task, return_exceptions=True)
        return self.snapshot()

    async def _poll_round(self) -> PairSnapshot:
        names = [a.name for a in self.pair.appliances]
        # One deadline for the whole round, from its start: a poll that started late (a busy
        # loop at the top of a round) does not push the round past `timeout`.
        deadline = asyncio.get_running_loop().time() + self.pair.poll.timeout
        if self.monitor is not None:
            self.monitor.tick()
        results = await asyncio.gather(*(self._poll_one(n, deadline) for n in names))
        self.look_at_secrets()  # after the polls: never in the way of their latency
        for listener in self.result_listeners:
            listener(results)
        for result in results:
            self.views[result.appliance] = observe(self.views[result.appliance], result,
                                                   self.pair.poll)
        return self.snapshot(advance=True)

    def snapshot(self, advance: bool = False) -> PairSnapshot:
        """The current picture; re-derived when the asserted modes change between polls."""
        if advance:
            self.round += 1
        damage: str | None = None
        interrupted: tuple[Reason, ...] = ()
        scheduled, unreadable = None, ()
        try:
            desired, modes = self.store.roles(self.pair)
            since = self.store.desired_since(self.pair.name)
            auto = automation_entry(self.store, self.pair.name)  # one read for both
            interrupted = self._interrupted(auto)
            try:
                scheduled = scheduled_switchover(self.store, self.pair.name, auto)
            except ValueError as exc:  # said, never acted on
                unreadable = (Reason("warning", f"a scheduled switchover is not acted on: "
                                                f"{exc}"),)
        except StateDamaged as exc:  # never guessed: the board says so and nothing acts
            (desired, modes), since, damage = self.store.declared(self.pair), None, str(exc)
        views = dict(self.views)
        differ = versions_differ(views)
        if differ and self.diverged_at is None:
            self.diverged_at = self.clock()  # first seen: the restores from now on fail
        elif differ is False:
            self.diverged_at = None
        pipeline = self.monitor.view(since, self.diverged_at) if self.monitor is not None \
            else None
        extra = tuple(Reason(str(w.severity), w.text) for w in pipeline.warnings) if pipeline else ()
        if differ and (found := version_reason(views, desired, self._next_restore(pipeline))):
            extra = (found, *extra)
        snap = PairSnapshot(
            pair=self.pair.name, round=self.round, at=self.clock(), views=views, modes=modes,
            desired_production=desired,
            verdict=pair_verdict(self.pair, views, modes, desired, extra, damage,
                                 interrupted + unreadable + self.secret_reasons),
            order=tuple(views), pipeline=pipeline,
            interrupted=interrupted[0].text if interrupted and interrupted[0].level ==
            "critical" else None,
            versions_diverged_at=self.diverged_at if differ else None,
            scheduled_switchover=scheduled)
        self.latest = snap
        return snap

    def _next_restore(self, pipeline) -> str | None:
        """The standby's next restore as HH:MM in the pair's zone, if it has a schedule."""
        moment = pipeline.next_restore if pipeline is not None else None
        if moment is None and self.pair.restore_cron:
            from datetime import UTC, datetime

            from .schedule import next_fire

            moment = next_fire(self.pair.restore_cron, self.pair.timezone,
                               datetime.fromtimestamp(self.clock(), UTC))
        return moment.astimezone(self.pair.zone).strftime("%H:%M") if moment else None

    def _interrupted(self, auto: dict) -> tuple[Reason, ...]:
        """An open plan whose owner no longer holds the pair's lock: it stopped mid-way, and
        what it sent may have left the pair with no production. Every reader says so. With
        coordination, a plan of a process on another host is in progress there (that host's
        lock is not ours to see; if it died, the next leader takes the plan up within the
        lease): said as a warning, not as interrupted."""
        raw = auto.get("journal")
        if raw is None or not lock_is_free(action_lock_path(self.store.directory,
                                                            self.pair.name)):
            return ()
        from .journal import Journal

        journal = Journal.from_json(raw)
        if self.shared and journal is not None and journal.host \
                and journal.host != socket.gethostname():
            return (Reason("warning", f"an action is in progress on {journal.host}: "
                                      f"{journal.describe()} (by the {journal.by}, pid "
                                      f"{journal.pid})"),)
        what = (f"{journal.describe()} (by the {journal.by}, pid {journal.pid}): "
                f"{journal.sent_so_far()}" if journal else "a plan this version cannot read")
        return (Reason("critical", f"an action was interrupted: {what}; `d42tui resume-plan "
                                   f"{self.pair.name}` finishes or rolls it back (a running "
                                   "watcher finishes it)"),)

    def look_at_secrets(self) -> asyncio.Task[None] | None:
        """Whether the console can read the passwords an action would need, looked at now and
        then, off the loop and never holding up a round (a secret command may be slow): an
        unreadable one is a critical reason on the board, in `status` and `check`, long
        before a failover needs it."""
        now = self.clock()
        running = self._secrets_task is not None and not self._secrets_task.done()
        if running or (self._secrets_at is not None
                       and now - self._secrets_at < SECRET_CHECK_INTERVAL):
            return self._secrets_task
        self._secrets_at = now
        self._secrets_task = asyncio.ensure_future(self._check_secrets())
        return self._secrets_task

    async def _check_secrets(self) -> None:
        problems = await asyncio.to_thread(appliance_secret_problems, self.pair)
        self.secret_reasons = tuple(Reason("critical", f"{text}: a failover or any action on "
                                                       "it would fail") for text in problems)

    async def aclose(self) -> None:
        for task in self._inflight.values():
            task.cancel()
        if self._secrets_task is not None:
            await asyncio.gather(self._secrets_task, return_exceptions=True)
        await asyncio.gather(*self._inflight.values(), return_exceptions=True)
        await asyncio.gather(*(c.aclose() for c in self.clients.values()),
                             return_exceptions=True)
        if self.monitor is not None:
            await self.monitor.aclose()


class Poller:
    """All pairs of a config. Subscribers get every snapshot, in the poller's loop."""

    def __init__(self, config: Config, store: StateStore, *,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] | None = None,
                 client_factory: Callable[..., ApplianceClient] = ApplianceClient):
        self.config = config
        self.store = store
        self.clock = clock
        shared = getattr(config, "coordination", None) is not None
        self.pairs = {p.name: PairPoller(p, store, clock=clock, client_factory=client_factory,
                                         shared=shared)
                      for p in config.pairs}
        self._subscribers: list[Subscriber] = []
        self._wake = {name: asyncio.Event() for name in self.pairs}
        self.paused = False
        self._sleep = sleep

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def _emit(self, snap: PairSnapshot) -> None:
        for callback in list(self._subscribers):
            callback(snap)

    async def poll_once(self) -> dict[str, PairSnapshot]:
        snaps = await asyncio.gather(*(p.poll_once() for p in self.pairs.values()))
        for snap in snaps:
            self._emit(snap)
        return {s.pair: s for s in snaps}

    def poll_now(self) -> None:
        """Start the next round of every pair at once (the `r` key)."""
        for event in self._wake.values():
            event.set()

    def refresh(self, pair: str) -> PairSnapshot:
        """Re-emit a pair's snapshot after its asserted modes changed (no new poll)."""
        snap = self.pairs[pair].snapshot()
        self._emit(snap)
        return snap

    async def _run_pair(self, poller: PairPoller) -> None:
        wake = self._wake[poller.pair.name]
        interval = poller.pair.poll.interval
        while True:
            started = time.monotonic()
            if not self.paused:
                self._emit(await poller.poll_once())
            remaining = interval - (time.monotonic() - started)
            wake.clear()
            if self._sleep is not None:
                await self._sleep(max(0.0, remaining))
                continue
            if remaining > 0:
                try:
                    await asyncio.wait_for(wake.wait(), remaining)
                except TimeoutError:
                    pass

    async def run(self) -> None:
        """Poll forever (until cancelled)."""
        try:
            await asyncio.gather(*(self._run_pair(p) for p in self.pairs.values()))
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        await asyncio.gather(*(p.aclose() for p in self.pairs.values()), return_exceptions=True)
