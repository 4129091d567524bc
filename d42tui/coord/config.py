"""The top-level `coordination:` section: which etcd cluster the watchers share.

Imports only the shared config building blocks, so `config/models.py` can embed it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr, field_validator, model_validator

from ..config.durations import format_duration
from ..config.secrets import Secret
from ..config.types import Duration, StrictModel, check_one_secret, pick_secret
from ..config.urls import split_http_url
from ..text import quoted

MIN_TTL, MAX_TTL = 2.0, 3600.0


def _endpoint(value: str) -> str:
    url = split_http_url(value, example="https://etcd1.example.com:2379")
    if url.parts.username or url.parts.password:
        raise ValueError(f"{quoted(value)}: put credentials in username/password_*, "
                         "not in the URL")
    if url.parts.path not in ("", "/") or url.parts.query:
        raise ValueError(f"{quoted(value)}: an etcd endpoint is scheme://host:port, no path")
    return value.rstrip("/")


Endpoint = Annotated[str, AfterValidator(_endpoint)]


def _file(value: Path | None) -> Path | None:
    if value is not None:
        value = value.expanduser()
        if not value.is_file():
            raise ValueError(f"no such file: {value}")
    return value


class EtcdTls(StrictModel):
    """How the etcd servers are trusted and, optionally, the client certificate we show."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @field_validator("ca_file", "cert_file", "key_file")
    @classmethod
    def _exists(cls, value: Path | None) -> Path | None:
        return _file(value)

    @model_validator(mode="after")
    def _pair(self) -> EtcdTls:
        if (self.cert_file is None) != (self.key_file is None):
            missing = "key_file" if self.key_file is None else "cert_file"
            raise ValueError(f"@{missing}: a client certificate needs both cert_file and "
                             "key_file")
        return self


class EtcdConfig(StrictModel):
    endpoints: list[Endpoint] = Field(min_length=1)
    prefix: str = "/d42tui/"
    lease_ttl: Duration = 15.0
    timeout: Duration | None = None  # one request; default: lease_ttl / 5, at most 2s
    lost_critical_after: Duration = 300.0  # `coordination lost` turns critical after this
    tls: EtcdTls | None = None
    username: str | None = None
    password: SecretStr | None = None
    password_env: str | None = None
    password_file: Path | None = None
    password_command: list[str] | None = None

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value.startswith("/") or not value.endswith("/") or len(value) < 2 \
                or any(c.isspace() or ord(c) < 32 for c in value) or "//" in value:
            raise ValueError(f"{quoted(value)}: a key prefix such as /d42tui/ (starts and ends "
                             "with /, no spaces)")
        return value

    @model_validator(mode="after")
    def _sane(self) -> EtcdConfig:
        if not MIN_TTL <= self.lease_ttl <= MAX_TTL:
            raise ValueError(f"@lease_ttl: must be between {format_duration(MIN_TTL)} and "
                             f"{format_duration(MAX_TTL)}, found "
                             f"{format_duration(self.lease_ttl)}")
        if self.timeout is not None and not 0.05 <= self.timeout <= self.lease_ttl / 3:
            raise ValueError("@timeout: must be between 50ms and a third of lease_ttl (a "
                             "keep-alive must be able to fail and be retried within the lease)")
        check_one_secret(self, "password")
        has_secret = pick_secret(self, "password") is not None
        if self.username is not None and not has_secret:
            raise ValueError("@username: give the password too (password_env, password_file "
                             "or password_command)")
        if has_secret and self.username is None:
            raise ValueError("@username: a password needs a username")
        schemes = {split_http_url(e).scheme for e in self.endpoints}
        if len(schemes) > 1:
            raise ValueError("@endpoints: mix of http and https endpoints: use one scheme")
        if self.tls is not None and schemes == {"http"}:
            raise ValueError("@tls: tls is given but every endpoint is http://")
        return self

    @property
    def request_timeout(self) -> float:
        return self.timeout if self.timeout is not None else min(2.0, self.lease_ttl / 5)

    def secret(self) -> Secret | None:
        return pick_secret(self, "password")


class CoordinationConfig(StrictModel):
    """Watchers on several hosts share one etcd cluster: one acts per pair, all observe."""

    etcd: EtcdConfig


def coordination_warnings(coord: CoordinationConfig) -> list[str]:
    """`key: text` for things allowed but worth hearing."""
    out = []
    e = coord.etcd
    if e.password is not None:
        out.append("coordination.etcd.password: written in the config file; prefer "
                   "password_env, password_file or password_command")
    if e.endpoints[0].startswith("http://") and e.username is not None:
        out.append("coordination.etcd.endpoints: plain HTTP: the etcd password travels "
                   "unencrypted")
    if len(e.endpoints) < 3:
        out.append(f"coordination.etcd.endpoints: {len(e.endpoints)} endpoint(s): if that "
                   "member is down, coordination is lost (list every member of the cluster)")
    return out
