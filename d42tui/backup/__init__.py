"""Backup pipeline: is the backup file where the standby restores from present and fresh.

Checkers for SFTP, NFS and S3 share one async `check()`; `assess_pipeline` turns what they saw into warnings.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from .config import AnyBackup, BackupConfig, NfsBackup, S3Backup, SftpBackup
from .pipeline import (
    Code,
    JobStatus,
    PipelineWarning,
    Severity,
    assess_pair,
    assess_pipeline,
    classify_backup_status,
    estimate_pair,
    landed_times,
)
from .status import (
    BackupChecker,
    BackupCheckError,
    BackupFileStatus,
    BackupState,
    ErrorKind,
    Observation,
    utc_now,
)

__all__ = [
    "AnyBackup", "BackupConfig", "NfsBackup", "S3Backup", "SftpBackup",
    "Code", "JobStatus", "PipelineWarning", "Severity", "assess_pair", "assess_pipeline",
    "classify_backup_status", "estimate_pair", "landed_times",
    "BackupChecker", "BackupCheckError", "BackupFileStatus", "BackupState", "ErrorKind",
    "Observation", "make_checker",
]


def make_checker(config: AnyBackup, *, settle: float = 60.0,
                 clock: Callable[[], datetime] = utc_now) -> BackupChecker:
    """The checker for a pair's `backup:` section (paramiko and boto3 load only when needed)."""
    if isinstance(config, SftpBackup):
        from .sftp import SftpChecker

        return SftpChecker(config, settle=settle, clock=clock)
    if isinstance(config, NfsBackup):
        from .nfs import NfsChecker

        return NfsChecker(config, settle=settle, clock=clock)
    from .s3 import S3Checker

    return S3Checker(config, settle=settle, clock=clock)
