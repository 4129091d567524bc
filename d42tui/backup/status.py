"""What a look at the backup file found, and the base class every location checker shares.

`BackupChecker.check()` never raises: failures come back as a status with a named error kind.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any, ClassVar, Self

log = logging.getLogger("d42tui.backup")
UTC = timezone.utc


class BackupState(StrEnum):
    READY = "ready"  # present and not changing
    IN_PROGRESS = "in-progress"  # changed since the last look: still being written
    MISSING = "missing"
    ERROR = "error"  # could not look: see error_kind


class ErrorKind(StrEnum):
    WRONG_PASSWORD = "wrong-password"
    KEY_REJECTED = "key-rejected"
    AUTH_FAILED = "auth-failed"  # both a key and a password were tried and refused
    AUTH_METHOD = "auth-method"  # the server does not offer the method configured
    KEY_FILE = "key-file"  # unreadable, not a key, encrypted without (the right) passphrase
    UNKNOWN_HOST_KEY = "unknown-host-key"
    CHANGED_HOST_KEY = "changed-host-key"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"  # name does not resolve, no route
    PROTOCOL = "protocol"  # the connection broke or the peer spoke nonsense
    PERMISSION = "permission-denied"
    NOT_A_FILE = "not-a-file"
    NO_DIRECTORY = "no-directory"  # NFS: the directory is absent (export not mounted?)
    IO = "io-error"  # NFS: stale handle, I/O error
    NO_BUCKET = "no-such-bucket"
    CREDENTIALS = "credentials"  # S3: none found, or the profile does not exist
    SECRET = "secret"  # a password or passphrase source could not be read
    BUSY = "busy"  # the previous look has not returned (a hung mount or server)
    DEPENDENCY = "dependency"  # a library this location needs is not installed
    UNEXPECTED = "unexpected"


@dataclass(frozen=True)
class BackupFileStatus:
    """One look at the backup file. Never holds a secret."""

    location: str
    state: BackupState
    checked_at: datetime
    present: bool = False
    size: int | None = None
    mtime: datetime | None = None
    error_kind: ErrorKind | None = None
    error: str | None = None
    note: str | None = None  # something to warn about even though the look worked

    def age(self, now: datetime) -> float | None:
        """Seconds since the file was last written, or None when unknown."""
        return None if self.mtime is None else (now - self.mtime).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (for `status --json`)."""
        return {
            "location": self.location, "state": str(self.state),
            "checked_at": self.checked_at.isoformat(), "present": self.present,
            "size": self.size, "mtime": self.mtime.isoformat() if self.mtime else None,
            "error_kind": str(self.error_kind) if self.error_kind else None,
            "error": self.error, "note": self.note,
        }


class BackupCheckError(Exception):
    """A look at the file failed in a way the operator can act on."""

    def __init__(self, kind: ErrorKind, text: str):
        super().__init__(text)
        self.kind = kind
        self.text = text


@dataclass(frozen=True)
class Observation:
    """What a location reported, before judging growth."""

    present: bool
    size: int | None = None
    mtime: datetime | None = None
    note: str | None = None


def utc_now() -> datetime:
    return datetime.now(UTC)


class BackupChecker(ABC):
    """Looks at one backup file. Subclasses implement `_observe`, which may block in a thread.

    A file that changed since the previous look is still being written ("in progress");
    on the first look, one written within `settle` seconds is too. The comparison with the
    previous look needs no clock agreement with the server.
    """

    atomic_writes: ClassVar[bool] = False  # S3 objects appear whole: never "in progress"
    timeouts_per_look: ClassVar[int] = 1  # network waits one look may chain (connects, retries)

    def __init__(self, location: str, *, timeout: float, settle: float = 60.0,
                 clock: Callable[[], datetime] = utc_now):
        self.location = location
        self._timeout = timeout
        self._settle = settle
        self._clock = clock
        self._previous: Observation | None = None
        self._pending: asyncio.Future[Observation] | None = None

    @property
    def deadline(self) -> float:
        """How long one look may take in all before it is given up (its thread may linger)."""
        return self._timeout * self.timeouts_per_look + 1

    @abstractmethod
    async def _observe(self) -> Observation:
        """Look at the file. Raise BackupCheckError for a named failure."""

    async def aclose(self) -> None:
        """Release connections. The checker may be used again afterwards."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location})"

    async def check(self) -> BackupFileStatus:
        now = self._clock()
        if self._pending is not None and not self._pending.done():
            return self._error(now, ErrorKind.BUSY, f"the previous look at {self.location} has "
                               "not returned yet (a hung mount or server?)")
        self._pending = asyncio.ensure_future(self._observe())
        self._pending.add_done_callback(_swallow)
        try:
            # shielded: a look that overruns keeps its thread; the next check reports BUSY
            obs = await asyncio.wait_for(asyncio.shield(self._pending), self.deadline)
        except BackupCheckError as exc:
            return self._error(now, exc.kind, exc.text)
        except TimeoutError:
            return self._error(now, ErrorKind.TIMEOUT, f"no answer about {self.location} "
                               f"within {self.deadline:g}s")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a library failing in a way not foreseen: report, never crash
            log.warning("unexpected error checking %s: %s", self.location, type(exc).__name__)
            return self._error(now, ErrorKind.UNEXPECTED, f"{type(exc).__name__}: {exc}"[:300])
        state = self._judge(obs, now)
        if obs.present:
            self._previous = obs
        return BackupFileStatus(self.location, state, now, obs.present, obs.size, obs.mtime,
                                note=obs.note)

    def _judge(self, obs: Observation, now: datetime) -> BackupState:
        if not obs.present:
            return BackupState.MISSING
        if self.atomic_writes:
            return BackupState.READY
        previous = self._previous
        if previous is not None:
            changed = (obs.size, obs.mtime) != (previous.size, previous.mtime)
            return BackupState.IN_PROGRESS if changed else BackupState.READY
        recent = obs.mtime is not None and (now - obs.mtime).total_seconds() < self._settle
        return BackupState.IN_PROGRESS if recent else BackupState.READY

    def _error(self, now: datetime, kind: ErrorKind, text: str) -> BackupFileStatus:
        log.info("backup check %s: %s: %s", self.location, kind, text)
        return BackupFileStatus(self.location, BackupState.ERROR, now, error_kind=kind, error=text)


def _swallow(future: asyncio.Future[Observation]) -> None:
    """Retrieve the outcome of a look nobody waits for any more (no 'never retrieved' noise)."""
    if not future.cancelled():
        future.exception()
