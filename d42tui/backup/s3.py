"""The backup object in S3 (or an S3-compatible store): boto3 head_object in a worker thread.

Credentials come from boto3's usual chain; this module never sees or stores them itself.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .config import S3Backup
from .status import UTC, BackupChecker, BackupCheckError, ErrorKind, Observation, utc_now


class S3Checker(BackupChecker):
    """An object appears whole when its upload completes, so it is never "in progress"."""

    atomic_writes = True
    timeouts_per_look = 4  # two attempts, each: connect, read

    def __init__(self, config: S3Backup, *, settle: float = 60.0,
                 clock: Callable[[], datetime] = utc_now):
        super().__init__(config.location, timeout=config.timeout, settle=settle, clock=clock)
        self._cfg = config
        self._client: Any = None
        self._lock = threading.Lock()

    async def _observe(self) -> Observation:
        return await asyncio.to_thread(self._head)

    def _make_client(self) -> Any:
        try:
            import boto3
            from botocore.config import Config
            from botocore.exceptions import ProfileNotFound
        except ImportError:
            raise BackupCheckError(ErrorKind.DEPENDENCY, "S3 backups need boto3: "
                                   "pip install 'd42tui[s3]'") from None
        cfg = self._cfg
        try:
            session = boto3.Session(profile_name=cfg.profile)
        except ProfileNotFound:
            raise BackupCheckError(ErrorKind.CREDENTIALS,
                                   f"AWS profile '{cfg.profile}' does not exist") from None
        return session.client(
            "s3", endpoint_url=cfg.endpoint_url, region_name=cfg.region,
            config=Config(connect_timeout=cfg.timeout, read_timeout=cfg.timeout,
                          retries={"max_attempts": 2, "mode": "standard"}))

    def _head(self) -> Observation:
        with self._lock:
            if self._client is None:
                self._client = self._make_client()  # names a missing boto3
            client, cfg = self._client, self._cfg
        from botocore.exceptions import (
            ClientError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            PartialCredentialsError,
            ReadTimeoutError,
        )

        where = self.location
        try:
            head = client.head_object(Bucket=cfg.bucket, Key=cfg.key)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = exc.response.get("Error", {}).get("Code", "")
            if status == 404 or code in ("NoSuchKey", "NotFound", "404"):
                if self._bucket_missing(client):
                    raise BackupCheckError(ErrorKind.NO_BUCKET,
                                           f"bucket {cfg.bucket} does not exist") from None
                return Observation(False)
            if status == 403:
                raise BackupCheckError(ErrorKind.PERMISSION, (
                    f"access denied to {where}: wrong credentials, or they lack s3:GetObject "
                    "(without s3:ListBucket S3 also answers 403 for a missing object)")) from None
            raise BackupCheckError(ErrorKind.PROTOCOL, f"{where}: S3 answered {status} {code}") from None
        except (NoCredentialsError, PartialCredentialsError):
            raise BackupCheckError(ErrorKind.CREDENTIALS, (
                "no AWS credentials found (environment, shared credentials file, profile, or "
                "instance role)")) from None
        except (ConnectTimeoutError, ReadTimeoutError):
            raise BackupCheckError(ErrorKind.TIMEOUT, f"{where}: no answer within "
                                   f"{cfg.timeout:g}s") from None
        except EndpointConnectionError:
            endpoint = cfg.endpoint_url or "the S3 endpoint"
            raise BackupCheckError(ErrorKind.REFUSED, f"cannot connect to {endpoint}") from None
        mtime = head["LastModified"]
        mtime = mtime.astimezone(UTC) if mtime.tzinfo else mtime.replace(tzinfo=UTC)
        return Observation(True, int(head["ContentLength"]), mtime)

    def _bucket_missing(self, client: Any) -> bool:
        from botocore.exceptions import ClientError

        try:
            client.head_bucket(Bucket=self._cfg.bucket)
        except ClientError as exc:
            return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404
        return False
