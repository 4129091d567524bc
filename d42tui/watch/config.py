"""The `automation:` section of a pair: when `d42tui watch` may fail over, and whom it tells.

Imports only the shared config building blocks, so `config.py` can embed it without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, SecretStr, field_validator, model_validator

from ..config.secrets import Secret
from ..config.types import Duration, StrictModel, check_one_secret, pick_secret
from ..config.urls import split_http_url
from ..text import quoted

Severity = Literal["info", "warning", "critical"]
SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class Witness:
    """One thing this host should reach if its own network is fine: TCP host:port or a URL."""

    kind: Literal["tcp", "url"]
    host: str
    port: int
    url: str | None = None

    def __str__(self) -> str:
        if self.url:
            return self.url
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_witness(text: str) -> Witness:
    """`host:port`, `tcp://host:port`, `[v6]:port`, or an http(s) URL; ValueError otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a witness is host:port (TCP) or an http(s) URL")
    raw = text.strip()
    if raw.startswith(("http://", "https://")):
        url = split_http_url(raw, example="https://witness.example.com/health")
        if url.parts.username or url.parts.password:
            raise ValueError(f"witness {quoted(url.host)}: no credentials in a witness URL")
        return Witness("url", url.host, url.port, raw)
    rest = raw.removeprefix("tcp://")
    if rest.startswith("["):
        host, sep, tail = rest[1:].partition("]")
        port_text = tail[1:] if sep and tail.startswith(":") else ""
    else:
        host, _, port_text = rest.rpartition(":")
    if not host or not (port_text.isdigit() and len(port_text) < 6) \
            or not 0 < int(port_text) < 65536:
        raise ValueError(f"{quoted(raw)} is neither host:port (e.g. 192.0.2.53:53) nor an "
                         "http(s) URL")
    return Witness("tcp", host, int(port_text))


def _witness(value: str) -> str:
    parse_witness(value)
    return value.strip()


WitnessText = Annotated[str, AfterValidator(_witness)]


class WebhookConfig(StrictModel):
    """A JSON POST with a Slack-compatible `text`. The URL often holds a token: it is a secret."""

    url: SecretStr | None = None
    url_env: str | None = None
    url_file: Path | None = None
    url_command: list[str] | None = None
    timeout: Duration = 5.0

    @model_validator(mode="after")
    def _one_url(self) -> WebhookConfig:
        check_one_secret(self, "url")
        if pick_secret(self, "url") is None:
            raise ValueError("@url: give url, url_env, url_file or url_command")
        if self.url is not None:
            check_webhook_url(self.url.get_secret_value())
        if not 0.1 <= self.timeout <= 120:
            raise ValueError("@timeout: must be between 100ms and 2m")
        return self

    def secret(self) -> Secret:
        secret = pick_secret(self, "url")
        assert secret is not None  # the validator requires one
        return secret


def check_webhook_url(value: str) -> str:
    """Raises ValueError without repeating the URL (its path may be a token)."""
    try:
        split_http_url(value, show=False)
    except ValueError:
        raise ValueError("the webhook URL must be an http(s) URL") from None
    return value.strip()


class NotifyConfig(StrictModel):
    """Where events go. A failing notification is retried, and never delays an action."""

    webhook: WebhookConfig | None = None
    command: list[str] | None = None  # argv, no shell; the event as JSON on stdin
    command_timeout: Duration = 10.0
    retries: int = Field(3, ge=0, le=10)
    backoff: Duration = 2.0  # doubles after each failed attempt
    min_severity: Severity = "info"

    @field_validator("command")
    @classmethod
    def _argv(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or not all(isinstance(a, str) and a for a in value)):
            raise ValueError("must be a non-empty argv list of strings (no shell is used)")
        return value


class AutomationConfig(StrictModel):
    """What `d42tui watch` may do for one pair. Thresholds default to the pair's `poll:`."""

    enabled: bool = True  # false: the watcher skips this pair
    failure_threshold: int | None = Field(None, ge=1, le=100)  # primary: failed polls in a row
    standby_threshold: int | None = Field(None, ge=1, le=100)  # standby: good polls in a row
    api_probe_counts: Literal["any", "all"] = "all"  # with an api: probe, which failing counts
    witnesses: list[WitnessText] = Field(default_factory=list)
    witness_timeout: Duration | None = None  # default: poll.timeout
    max_defer: Duration = 900.0  # longest wait for the standby's restore window to end
    promote_retries: int = Field(3, ge=0, le=10)  # extra POSTs on timeout / 5xx (idempotent)
    retry_backoff: Duration = 1.0  # before the first retry; doubles
    confirm_timeout: Duration = 15.0  # for the new primary to answer health after the POST
    dns_retries: int = Field(5, ge=0, le=50)
    dns_retry_interval: Duration = 30.0  # doubles, at most 10 minutes
    cooldown: Duration = 300.0  # after a failover that failed before promoting
    failback: Literal["manual", "automatic"] = "manual"
    failback_after: Duration = 3600.0  # the old primary up this long, and a restore done
    # The data-age guard (off by default; Patroni's maximum_lag_on_failover): never promote
    # automatically a standby whose estimated data is older than this.
    max_data_age: Duration | None = None
    # Fencing an old primary that cannot be demoted (it does not answer): argv, no shell — a
    # hypervisor power-off, an IPMI call, a switch port down. With require_fence the standby
    # is not promoted until it exits 0 (no promotion before the old one is known dead).
    fence_command: list[str] | None = Field(None, min_length=1)
    fence_timeout: Duration = 60.0
    require_fence: bool = False
    notify: NotifyConfig | None = None

    @model_validator(mode="after")
    def _sane(self) -> AutomationConfig:
        if self.witness_timeout is not None and not 0.05 <= self.witness_timeout <= 60:
            raise ValueError("@witness_timeout: must be between 50ms and 1m")
        if not 1 <= self.confirm_timeout <= 600:
            raise ValueError("@confirm_timeout: must be between 1s and 10m")
        if self.dns_retry_interval < 0.1:
            raise ValueError("@dns_retry_interval: must be at least 100ms")
        if self.fence_command is not None and not self.fence_command[0].strip():
            raise ValueError("@fence_command: the first item must name the program")
        if self.require_fence and not self.fence_command:
            raise ValueError("@require_fence: needs a fence_command to run")
        if not 1 <= self.fence_timeout <= 600:
            raise ValueError("@fence_timeout: must be between 1s and 10m")
        return self

    def witness_list(self) -> tuple[Witness, ...]:
        return tuple(parse_witness(w) for w in self.witnesses)


def automation_problems(pair: object) -> list[str]:
    """Checks that need the whole pair (`key: problem`), made when `watch` starts."""
    auto: AutomationConfig = pair.automation  # type: ignore[attr-defined]
    out = []
    if auto.failback == "automatic" and getattr(pair, "restore_cron", None) is None:
        out.append("automation.failback: automatic failback waits for a restore cycle on the "
                   "old primary: set restore_cron, or use failback: manual")
    return out


def automation_warnings(pair: object) -> list[str]:
    """Allowed, but an operator should hear it when `watch` starts (`key: text`)."""
    auto: AutomationConfig = pair.automation  # type: ignore[attr-defined]
    out = []
    if auto.notify and auto.notify.webhook and auto.notify.webhook.url is not None:
        out.append("automation.notify.webhook.url: the webhook URL (it holds a token) is written "
                   "in the config file; prefer url_env, url_file or url_command")
    if not auto.witnesses:
        out.append("automation.witnesses: none configured: the standby answering will be the "
                   "only evidence that this host is not cut off")
    return out


# --- the watcher's read-only HTTP endpoints (`watch: listen:`) ------------------------------

DEFAULT_LISTEN_HOST = "127.0.0.1"


@dataclass(frozen=True)
class ListenAddress:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def loopback(self) -> bool:
        return self.host in ("localhost", "::1") or self.host.startswith("127.")


def parse_listen(text: str) -> ListenAddress:
    """`HOST:PORT`, `[v6]:PORT`, `:PORT` or `PORT` (host 127.0.0.1); ValueError otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("give HOST:PORT, e.g. 127.0.0.1:9442")
    raw = text.strip()
    if raw.startswith("["):
        host, sep, tail = raw[1:].partition("]")
        port_text = tail[1:] if sep and tail.startswith(":") else ""
    elif ":" in raw:
        host, _, port_text = raw.rpartition(":")
    else:
        host, port_text = "", raw
    host = host or DEFAULT_LISTEN_HOST
    if not (port_text.isdigit() and len(port_text) < 6) or not 0 < int(port_text) < 65536:
        raise ValueError(f"{quoted(raw)} is not HOST:PORT with a port 1-65535 "
                         "(e.g. 127.0.0.1:9442)")
    if any(c.isspace() or c in "/@?#" for c in host):
        raise ValueError(f"{quoted(raw)}: {quoted(host)} is not a host name or address")
    return ListenAddress(host, int(port_text))


def _listen(value: str) -> str:
    parse_listen(value)
    return value.strip()


ListenText = Annotated[str, AfterValidator(_listen)]


class ListenTlsConfig(StrictModel):
    """Serve the endpoints over HTTPS: a PEM certificate (chain) and its key."""

    cert_file: Path
    key_file: Path


class BasicAuthConfig(StrictModel):
    """HTTP basic auth on every endpoint; the password from a secret source."""

    username: str = Field(min_length=1, max_length=64, pattern=r"^[^:\s]+$")
    password: SecretStr | None = None
    password_env: str | None = None
    password_file: Path | None = None
    password_command: list[str] | None = None

    @model_validator(mode="after")
    def _one_password(self) -> BasicAuthConfig:
        check_one_secret(self, "password")
        if pick_secret(self, "password") is None:
            raise ValueError("@password: give password_env, password_file or password_command")
        return self

    def secret(self) -> Secret:
        secret = pick_secret(self, "password")
        assert secret is not None  # the validator requires one
        return secret


class WatchConfig(StrictModel):
    """Settings of the `d42tui watch` process itself (not of one pair)."""

    listen: ListenText | None = None  # HOST:PORT for /metrics, /status and the health checks
    tls: ListenTlsConfig | None = None
    basic_auth: BasicAuthConfig | None = None

    @property
    def address(self) -> ListenAddress | None:
        return None if self.listen is None else parse_listen(self.listen)


def listen_warnings(watch: WatchConfig, address: ListenAddress) -> list[str]:
    """Allowed, but said when `watch` starts (`key: text`)."""
    out = []
    if not address.loopback and watch.basic_auth is None:
        out.append(f"watch.listen: {address} is reachable from other hosts and has no "
                   "basic_auth: anyone there can read the pair's state")
    if not address.loopback and watch.tls is None:
        out.append(f"watch.listen: {address} is reachable from other hosts over plain HTTP"
                   + (": the basic-auth password travels unencrypted" if watch.basic_auth
                      else ""))
    if watch.basic_auth is not None and watch.basic_auth.password is not None:
        out.append("watch.basic_auth.password: written in the config file; prefer "
                   "password_env, password_file or password_command")
    return out
