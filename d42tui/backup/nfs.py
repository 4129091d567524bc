"""The backup file through a local mount of the NFS export: os.stat in a worker thread.

A hung hard mount blocks its thread; the base class then answers "busy" instead of piling up.
"""

from __future__ import annotations

import asyncio
import errno
import os
import stat
from collections.abc import Callable
from datetime import datetime

from .config import NfsBackup
from .status import UTC, BackupChecker, BackupCheckError, ErrorKind, Observation, utc_now


class NfsChecker(BackupChecker):
    def __init__(self, config: NfsBackup, *, settle: float = 60.0,
                 clock: Callable[[], datetime] = utc_now):
        super().__init__(config.location, timeout=config.timeout, settle=settle, clock=clock)
        self._path = config.path.expanduser()

    async def _observe(self) -> Observation:
        return await asyncio.to_thread(self._stat)

    def _stat(self) -> Observation:
        path = self._path
        try:
            st = os.stat(path)
        except FileNotFoundError:
            if not path.parent.is_dir():
                raise BackupCheckError(ErrorKind.NO_DIRECTORY, f"{path.parent} does not exist: "
                                       "is the NFS export mounted?") from None
            return Observation(False)
        except PermissionError:
            raise BackupCheckError(ErrorKind.PERMISSION, f"no permission to read {path}") from None
        except OSError as exc:
            stale = " (stale NFS file handle: remount the export)" if exc.errno == errno.ESTALE else ""
            raise BackupCheckError(ErrorKind.IO, f"{path}: {exc.strerror}{stale}") from None
        if not stat.S_ISREG(st.st_mode):
            raise BackupCheckError(ErrorKind.NOT_A_FILE, f"{path} is not a regular file: set "
                                   "path to the backup file itself")
        return Observation(True, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))
