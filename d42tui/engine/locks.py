"""A lock file that names its holder: one action per pair, one watcher per pair per host.

Non-blocking `flock` on a file in the state dir; the holder writes its pid into it, so
whoever is refused can be told who holds it. The lock dies with the process.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from ..config.paths import make_private_dir


class LockHeld(Exception):
    def __init__(self, path: Path, holder: str):
        super().__init__(f"{path} is held by pid {holder}")
        self.path = path
        self.holder = holder


@contextlib.contextmanager
def pid_lock(path: Path) -> Iterator[None]:
    """Hold `path` exclusively for the block; raise LockHeld at once if someone else does."""
    make_private_dir(path.parent)  # the first lock may be what creates the state dir
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise LockHeld(path, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def action_lock_path(state_dir: Path, pair: str) -> Path:
    """The pair's action lock: held by whoever runs an action on it, for a journaled plan's
    whole life."""
    return state_dir / "locks" / f"action-{pair}.lock"


def lock_is_free(path: Path) -> bool:
    """Whether nobody holds `path` now (an open plan whose lock is free was interrupted).
    Takes and drops the lock at once; writes nothing into the file."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True
