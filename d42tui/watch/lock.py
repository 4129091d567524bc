"""One watcher per pair per host: a lock file in the state dir, held for the process's life.

A second `d42tui watch` on the same pair refuses to start and names the holder's pid.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


class WatcherRunning(Exception):
    """Another watcher holds this pair on this host."""


@contextlib.contextmanager
def watch_lock(directory: Path, pair: str) -> Iterator[None]:
    """One watcher per pair per host, for the life of the process; never waits."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"watch-{pair}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise WatcherRunning(f"pair {pair} is already watched on this host by pid {holder} "
                                 f"(lock {path})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)
