"""One watcher per pair per host: a lock file in the state dir, held for the process's life.

A second `d42tui watch` on the same pair refuses to start and names the holder's pid.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from ..engine.locks import LockHeld, pid_lock


class WatcherRunning(Exception):
    """Another watcher holds this pair on this host."""


@contextlib.contextmanager
def watch_lock(directory: Path, pair: str) -> Iterator[None]:
    """One watcher per pair per host, for the life of the process; never waits."""
    path = directory / f"watch-{pair}.lock"
    try:
        with pid_lock(path):
            yield
    except LockHeld as exc:
        raise WatcherRunning(f"pair {pair} is already watched on this host by pid {exc.holder} "
                             f"(lock {path})") from None
