"""The S3 checker against moto's S3 server on loopback, through a real boto3 client."""

from __future__ import annotations

import logging
import secrets
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from d42tui.backup import BackupState, Code, ErrorKind, S3Backup, assess_pipeline, make_checker

UTC = timezone.utc
boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_secret(monkeypatch: pytest.MonkeyPatch, tmp_path) -> str:
    """Credentials from the environment only: no profile files, no instance metadata."""
    secret = "s3cr3t-" + secrets.token_hex(16)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTESTD42TUI")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return secret


@pytest.fixture
def bucket(s3_endpoint: str, aws_secret: str) -> str:
    name = f"d42-{secrets.token_hex(6)}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name


def s3_config(endpoint: str, bucket: str, key: str = "backups/d42.bak", **changes: object) -> S3Backup:
    return S3Backup.model_validate({"kind": "s3", "bucket": bucket, "key": key,
                                    "endpoint_url": endpoint, "region": "us-east-1",
                                    "timeout": "2s", **changes})


def put(endpoint: str, bucket: str, key: str, data: bytes) -> None:
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").put_object(
        Bucket=bucket, Key=key, Body=data)


async def test_present_object_with_size_and_mtime(s3_endpoint: str, bucket: str, aws_secret: str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    put(s3_endpoint, bucket, "backups/d42.bak", b"y" * 2048)
    cfg = s3_config(s3_endpoint, bucket)
    checker = make_checker(cfg)
    status = await checker.check()
    assert (status.state, status.present, status.size) == (BackupState.READY, True, 2048)
    assert status.mtime is not None and before <= status.mtime <= datetime.now(UTC)
    assert status.location == f"s3://{bucket}/backups/d42.bak"
    assert assess_pipeline([status], now=datetime.now(UTC), backup=cfg) == []
    # a new object is complete when it appears: ready at once, never "in progress"
    put(s3_endpoint, bucket, "backups/d42.bak", b"y" * 4096)
    again = await checker.check()
    assert (again.state, again.size) == (BackupState.READY, 4096)
    assert aws_secret not in repr(status) + repr(again) + str(status.to_dict())
    for record in caplog.records:
        assert aws_secret not in record.getMessage(), record.name


async def test_missing_object(s3_endpoint: str, bucket: str) -> None:
    cfg = s3_config(s3_endpoint, bucket, key="backups/absent.bak")
    status = await make_checker(cfg).check()
    assert status.state is BackupState.MISSING and status.size is None
    codes = [w.code for w in assess_pipeline([status], now=datetime.now(UTC), backup=cfg)]
    assert codes == [Code.BACKUP_MISSING]


async def test_stale_object(s3_endpoint: str, bucket: str) -> None:
    put(s3_endpoint, bucket, "backups/d42.bak", b"z")
    cfg = s3_config(s3_endpoint, bucket, max_age="1h")
    status = await make_checker(cfg).check()
    later = datetime.now(UTC) + timedelta(hours=3)
    warnings = assess_pipeline([status], now=later, backup=cfg)
    assert [(w.code, w.severity) for w in warnings] == [(Code.BACKUP_STALE, "critical")]


async def test_missing_bucket_is_named(s3_endpoint: str, aws_secret: str) -> None:
    status = await make_checker(s3_config(s3_endpoint, "no-such-bucket-d42")).check()
    assert (status.state, status.error_kind) == (BackupState.ERROR, ErrorKind.NO_BUCKET)


async def test_no_credentials(s3_endpoint: str, bucket: str,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    status = await make_checker(s3_config(s3_endpoint, bucket)).check()
    assert status.error_kind is ErrorKind.CREDENTIALS


async def test_unknown_profile(s3_endpoint: str, bucket: str) -> None:
    status = await make_checker(s3_config(s3_endpoint, bucket, profile="nope")).check()
    assert status.error_kind is ErrorKind.CREDENTIALS and "nope" in (status.error or "")


async def test_endpoint_refused(aws_secret: str) -> None:
    endpoint = f"http://127.0.0.1:{_free_port()}"
    status = await make_checker(s3_config(endpoint, "whatever", timeout="1s")).check()
    assert status.error_kind is ErrorKind.REFUSED and endpoint in (status.error or "")
