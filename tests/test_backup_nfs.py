"""The NFS checker on a local directory standing in for the mounted export."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from d42tui.backup import BackupState, Code, ErrorKind, NfsBackup, assess_pipeline, make_checker
from d42tui.backup.nfs import NfsChecker

UTC = timezone.utc


def nfs_config(path: Path, **changes: object) -> NfsBackup:
    return NfsBackup.model_validate({"kind": "nfs", "path": str(path), "timeout": "1s", **changes})


def nfs(path: Path, **changes: object) -> NfsChecker:
    made = make_checker(nfs_config(path, **changes))
    assert isinstance(made, NfsChecker)
    return made


def write(path: Path, data: bytes, age: float) -> None:
    path.write_bytes(data)
    moment = time.time() - age
    os.utime(path, (moment, moment))


async def test_present_file_with_size_and_mtime(tmp_path: Path) -> None:
    backup = tmp_path / "d42.bak"
    write(backup, b"x" * 4096, age=3600)
    status = await nfs(backup).check()
    assert (status.state, status.present, status.size) == (BackupState.READY, True, 4096)
    assert status.mtime == datetime.fromtimestamp(backup.stat().st_mtime, UTC)
    assert status.location == f"nfs:{backup}"


async def test_stale_and_missing(tmp_path: Path) -> None:
    backup = tmp_path / "d42.bak"
    cfg = nfs_config(backup, max_age="24h")
    checker = make_checker(cfg)
    missing = await checker.check()
    assert missing.state is BackupState.MISSING
    write(backup, b"x", age=30 * 3600)
    stale = await checker.check()
    now = datetime.now(UTC)
    assert stale.state is BackupState.READY  # appeared, but written long ago: not growing
    assert [w.code for w in assess_pipeline([missing], now=now, backup=cfg)] == [Code.BACKUP_MISSING]
    assert [w.code for w in assess_pipeline([missing, stale], now=now, backup=cfg)] == \
        [Code.BACKUP_STALE]


async def test_growth_and_shrink(tmp_path: Path) -> None:
    backup = tmp_path / "d42.bak"
    write(backup, b"x" * 1000, age=2 * 86400)
    checker = nfs(backup)
    history = [await checker.check()]
    write(backup, b"x" * 300, age=60)  # tonight's backup, a third the size
    history += [await checker.check(), await checker.check()]
    assert [s.state for s in history] == [BackupState.READY, BackupState.IN_PROGRESS,
                                          BackupState.READY]
    warnings = assess_pipeline(history, now=datetime.now(UTC), backup=nfs_config(backup))
    assert [w.code for w in warnings] == [Code.BACKUP_SHRUNK]
    assert "70% smaller" in warnings[0].text


async def test_directory_absent_means_export_not_mounted(tmp_path: Path) -> None:
    status = await nfs(tmp_path / "not-mounted" / "d42.bak").check()
    assert (status.state, status.error_kind) == (BackupState.ERROR, ErrorKind.NO_DIRECTORY)
    assert "mounted" in (status.error or "")


async def test_a_directory_is_not_a_backup(tmp_path: Path) -> None:
    status = await nfs(tmp_path).check()
    assert status.error_kind is ErrorKind.NOT_A_FILE


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
async def test_permission_denied(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        status = await nfs(locked / "d42.bak").check()
    finally:
        locked.chmod(0o700)
    assert status.error_kind is ErrorKind.PERMISSION


async def test_a_hung_stat_times_out_then_reports_busy(tmp_path: Path) -> None:
    """A hard NFS mount that stops answering blocks stat() until it comes back. That cannot
    be set up without root and an NFS server, so the stat waits on an event here."""
    release = threading.Event()
    checker = nfs(tmp_path / "d42.bak", timeout="100ms")
    original = checker._stat

    def hung() -> object:
        release.wait(10)
        return original()

    checker._stat = hung  # type: ignore[method-assign]
    started = time.monotonic()
    first = await checker.check()
    assert first.error_kind is ErrorKind.TIMEOUT and time.monotonic() - started < checker.deadline + 1
    second = await checker.check()
    assert second.error_kind is ErrorKind.BUSY
    release.set()
    await asyncio.sleep(0.2)
    checker._stat = original  # type: ignore[method-assign]
    assert (await checker.check()).state is BackupState.MISSING
