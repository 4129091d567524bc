"""The watch service: one lock per pair and host, the engine's `Poller`, and the loop.

`Watcher.start` takes the locks and recovers unfinished plans; `run` polls every pair on its
interval until the stop event; `aclose` marks the heartbeats stopped and drains notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Awaitable, Callable

from ..appliance.client import ApplianceClient
from ..config.models import Config, state_dir
from ..engine.audit import JsonlLog, audit_path, events_path
from ..engine.poller import Poller
from ..engine.state import StateStore
from .decision import Decision
from .lock import watch_lock
from .notify import Notifier
from .watcher import PairWatch, Say


class Watcher:
    """Watches the pairs of `config` (already narrowed to the ones to watch)."""

    def __init__(self, config: Config, *, dry_run: bool = False, say: Say,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] | None = None,
                 client_factory: Callable[..., ApplianceClient] = ApplianceClient,
                 store: StateStore | None = None, name: str | None = None):
        self.config, self.dry_run, self.say, self.clock = config, dry_run, say, clock
        self.name = name or socket.gethostname()
        self._sleep = sleep
        self.store = store or StateStore(state_dir(config))
        self.audit, self.events = JsonlLog(audit_path(config)), JsonlLog(events_path(config))
        self.poller = Poller(config, self.store, clock=clock, client_factory=client_factory)
        self.notifiers = {p.name: Notifier(p.automation.notify,
                                           lambda lvl, text, n=p.name: say(lvl, "notify", text,
                                                                           pair=n),
                                           sleep=sleep or asyncio.sleep)
                          for p in config.pairs}
        self.coordinator = None  # with `coordination:`: one etcd session for every pair
        if config.coordination is not None and not dry_run:
            from ..coord.leader import Coordinator

            self.coordinator = Coordinator(config.coordination, self.name, say, clock=clock)
        self.pairs = {p.name: PairWatch(p, self.poller.pairs[p.name], self.store, self.audit,
                                        self.events, self.notifiers[p.name], clock=clock,
                                        sleep=sleep or asyncio.sleep, say=say, dry_run=dry_run,
                                        coord=self.coordinator.pair(p.name, self.store)
                                        if self.coordinator else None)
                      for p in config.pairs}
        self._locks = contextlib.ExitStack()

    def start(self) -> None:
        """Take one lock per pair (raises WatcherRunning), then recover unfinished plans."""
        if not self.dry_run:
            for name in self.pairs:
                self._locks.enter_context(watch_lock(self.store.directory / "locks", name))
        for watch in self.pairs.values():
            watch.recover()
            watch.ctx.notice("watcher-started", "info", f"watch mode started (pid {os.getpid()}"
                             f", {socket.gethostname()}): automatic failover is armed for "
                             f"{watch.pair.name} unless paused")

    async def round(self) -> dict[str, Decision]:
        results = await asyncio.gather(*(w.round() for w in self.pairs.values()))
        return dict(zip(self.pairs, results))

    async def _loop(self, watch: PairWatch, stop: asyncio.Event) -> None:
        interval = watch.pair.poll.interval
        while not stop.is_set():
            started = time.monotonic()
            try:
                await watch.round()
            except Exception as exc:  # one bad round must not end unattended watching
                if os.environ.get("D42TUI_DEBUG"):
                    raise
                watch.internal_error(exc)
            remaining = max(0.0, interval - (time.monotonic() - started))
            if self._sleep is not None:
                await self._sleep(remaining)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), remaining)

    async def run(self, stop: asyncio.Event) -> None:
        keep = [self.coordinator.run(stop)] if self.coordinator is not None else []
        await asyncio.gather(*(self._loop(w, stop) for w in self.pairs.values()), *keep)

    async def aclose(self, started: bool = True) -> None:
        for watch in self.pairs.values():
            await watch.ctx.engine.aclose()
            await watch._release()
        if self.coordinator is not None:  # our keys go now: another watcher takes over
            await self.coordinator.aclose()
        if started:  # never touch the heartbeat of a watcher this process did not replace
            for watch in self.pairs.values():
                watch.heartbeat(stopped=True)
                watch.ctx.notice("watcher-stopped", "warning", f"watch mode stopped (pid "
                                 f"{os.getpid()}): automation for {watch.pair.name} is OFF")
        await asyncio.gather(*(n.drain(5.0) for n in self.notifiers.values()),
                             *(w.witness.aclose() for w in self.pairs.values()),
                             return_exceptions=True)
        await self.poller.aclose()
        self._locks.close()
