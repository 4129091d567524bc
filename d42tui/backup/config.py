"""The `backup:` section of a pair: where production writes the backup file, and how fresh it must be.

One location (`kind: sftp | nfs | s3`, the same place the standby restores from) plus thresholds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Discriminator, Field, SecretStr, Tag, field_validator, model_validator

from ..config.secrets import Secret
from ..config.types import Duration, StrictModel, check_one_secret, pick_secret
from ..config.urls import split_http_url


class _BackupCommon(StrictModel):
    max_age: Duration = 26 * 3600.0  # a daily backup, plus slack for its run time
    shrink_ratio: float = Field(0.5, gt=0, lt=1)  # warn when a backup shrinks by more than this
    check_every: int = Field(6, ge=1, le=10_000)  # look at the file every N polls
    backup_duration: Duration = 1800.0  # how long a backup takes to land after its cron fires
    timeout: Duration = 10.0  # per network operation (connect, stat, head)

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: float) -> float:
        if not 0 < value <= 300:
            raise ValueError("must be between 1ms and 5m")
        return value


class SftpBackup(_BackupCommon):
    """The file on an SFTP server. Host keys are checked against `known_hosts`."""

    kind: Literal["sftp"]
    host: str = Field(min_length=1)
    port: int = Field(22, ge=1, le=65535)
    username: str = Field(min_length=1)
    path: str = Field(min_length=1)  # the backup file, as the SFTP server names it
    key_file: Path | None = None
    password: SecretStr | None = None
    password_env: str | None = None
    password_file: Path | None = None
    password_command: list[str] | None = None
    key_passphrase: SecretStr | None = None
    key_passphrase_env: str | None = None
    key_passphrase_file: Path | None = None
    key_passphrase_command: list[str] | None = None
    known_hosts: Path = Path("~/.ssh/known_hosts")
    strict_host_keys: bool = True  # false: accept an unknown host key (never a changed one)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if any(c.isspace() for c in value) or "@" in value or "/" in value:
            raise ValueError(f"'{value}' is not a host name or address (user and path go in "
                             "username and path)")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> SftpBackup:
        check_one_secret(self, "password")
        check_one_secret(self, "key_passphrase")
        if self.key_file is None and self.password_secret() is None:
            raise ValueError("@key_file: give key_file or a password (password_env, "
                             "password_file or password_command)")
        if self.key_file is None and self.passphrase_secret() is not None:
            raise ValueError("@key_passphrase: a key passphrase needs key_file")
        return self

    def password_secret(self) -> Secret | None:
        return pick_secret(self, "password")

    def passphrase_secret(self) -> Secret | None:
        return pick_secret(self, "key_passphrase")

    @property
    def location(self) -> str:
        path = self.path if self.path.startswith("/") else f"/~/{self.path}"
        return f"sftp://{self.username}@{_host_for_url(self.host)}:{self.port}{path}"


class NfsBackup(_BackupCommon):
    """The file on the NFS export, through a local mount of it."""

    kind: Literal["nfs"]
    path: Path

    @property
    def location(self) -> str:
        return f"nfs:{self.path}"


class S3Backup(_BackupCommon):
    """The object in S3. Credentials come from the usual AWS sources (env, profile, role)."""

    kind: Literal["s3"]
    bucket: str = Field(min_length=3, max_length=255)
    key: str = Field(min_length=1)
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None:
            split_http_url(value, example="https://s3.example.com:9000")
        return value

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _kind(value: object) -> str | None:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return kind if kind in ("sftp", "nfs", "s3") else None


AnyBackup = SftpBackup | NfsBackup | S3Backup
BackupConfig = Annotated[
    Annotated[SftpBackup, Tag("sftp")] | Annotated[NfsBackup, Tag("nfs")] | Annotated[S3Backup, Tag("s3")],
    Discriminator(_kind, custom_error_type="backup_kind",
                  custom_error_message="@kind: expected sftp, nfs or s3")]
