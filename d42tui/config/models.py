"""The typed configuration: loading, validation with key paths, and where files live.

`load_config(path)` returns a frozen `Config` or raises `ConfigError`, whose lines
each name the file, the key path (`pairs[0].appliances[1].url`) and the problem.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from croniter import croniter
from pydantic import (
    AfterValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from ..backup.config import BackupConfig
from ..coord.config import CoordinationConfig, coordination_warnings
from ..dns.config import DnsConfig, check_targets, dns_warnings
from ..text import quoted
from ..watch.config import AutomationConfig, WatchConfig
from .durations import format_duration
from .errors import ConfigError
from .messages import format_error
from .secrets import Secret, literal_file_is_exposed
from .types import Duration, StrictModel, check_one_secret, pick_secret
from .urls import split_http_url
from .yamlload import read_yaml

MAX_CONFIG_BYTES = 1 << 20
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_FINGERPRINT_RE = re.compile(r"^[0-9A-F]{64}$")


def _check_name(value: str) -> str:
    if not _NAME_RE.match(value):
        raise ValueError(f"{quoted(value)} is not a usable name (letters, digits, . _ -; "
                         "at most 63)")
    return value


def _check_url(value: str) -> str:
    parts = split_http_url(value).parts
    if parts.username or parts.password:
        raise ValueError("put credentials in username/password_*, not in the URL")
    return value.rstrip("/")


class TlsConfig(StrictModel):
    """How the appliance's certificate is trusted. Verified by default."""

    verify: bool = True
    ca_file: Path | None = None
    fingerprint_sha256: str | None = None

    @field_validator("fingerprint_sha256")
    @classmethod
    def _fingerprint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        hexdigits = value.replace(":", "").replace(" ", "").upper()
        if not _FINGERPRINT_RE.match(hexdigits):
            raise ValueError("expected 64 hex digits (SHA-256), colons allowed: "
                             "run `d42tui fingerprint URL` to read it")
        return ":".join(hexdigits[i:i + 2] for i in range(0, 64, 2))

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, value: Path | None) -> Path | None:
        if value is not None:
            value = value.expanduser()
            if not value.is_file():
                raise ValueError(f"no such file: {value}")
        return value

    @model_validator(mode="after")
    def _one_way(self) -> TlsConfig:
        if self.ca_file and self.fingerprint_sha256:
            raise ValueError("@fingerprint_sha256: give either ca_file or fingerprint_sha256")
        if not self.verify and (self.ca_file or self.fingerprint_sha256):
            raise ValueError("@verify: verify: false contradicts ca_file/fingerprint_sha256")
        return self


def _check_full_url(value: str) -> str:
    """An http(s) URL fetched as written (a base URL loses its final slash, this one not)."""
    _check_url(value)
    return value


Name = Annotated[str, AfterValidator(_check_name)]
Url = Annotated[str, AfterValidator(_check_url)]
FullUrl = Annotated[str, AfterValidator(_check_full_url)]


class ApiConfig(StrictModel):
    """Optional main-application liveness check (`GET /api/1.0/tags/?limit=1`)."""

    url: Url
    username: str
    password: SecretStr | None = None
    password_env: str | None = None
    password_file: Path | None = None
    password_command: list[str] | None = None

    @model_validator(mode="after")
    def _secret(self) -> ApiConfig:
        check_one_secret(self, "password")
        return self

    def secret(self) -> Secret | None:
        return pick_secret(self, "password")


class ModeProbeConfig(StrictModel):
    """A site's own signal of an appliance's mode (the appliance has no GET of it): a URL
    fetched with each poll, with its own `tls:` settings. `production` and
    `standby` are the values that mean each mode: of the JSON field at `json_path`
    (dotted, e.g. `appliances.d42-a.mode`), or without it text the body contains."""

    url: FullUrl
    auth: bool = False  # send the appliance's Appliance Manager credentials (same host only)
    json_path: str | None = None
    production: str = Field(min_length=1)
    standby: str = Field(min_length=1)
    tls: TlsConfig = Field(default_factory=TlsConfig)  # its own: verified by default

    @model_validator(mode="after")
    def _distinct(self) -> ModeProbeConfig:
        if self.production == self.standby:
            raise ValueError("@standby: must differ from production")
        if self.json_path is None and (self.production in self.standby
                                       or self.standby in self.production):
            raise ValueError("@standby: without json_path the body is searched for either "
                             "text, so neither may contain the other")
        if self.json_path is not None and not all(self.json_path.split(".")):
            raise ValueError("@json_path: dotted keys such as appliances.d42-a.mode")
        return self


class ApplianceConfig(StrictModel):
    name: Name
    url: Url
    username: str = "d42admin"
    password: SecretStr | None = None
    password_env: str | None = None
    password_file: Path | None = None
    password_command: list[str] | None = None
    health_auth: bool = False  # send basic auth to /healthstats/ (sites that protect it)
    tls: TlsConfig = Field(default_factory=TlsConfig)
    api: ApiConfig | None = None
    mode_probe: ModeProbeConfig | None = None

    @model_validator(mode="after")
    def _secret(self) -> ApplianceConfig:
        check_one_secret(self, "password")
        probe = self.mode_probe
        if probe is not None and probe.auth and \
                urlsplit(probe.url).hostname != urlsplit(self.url).hostname:
            raise ValueError(f"@mode_probe.auth: the Appliance Manager credentials go only to "
                             f"{urlsplit(self.url).hostname}, not to "
                             f"{urlsplit(probe.url).hostname}")
        return self

    def secret(self) -> Secret | None:
        return pick_secret(self, "password")

    @property
    def insecure(self) -> bool:
        return urlsplit(self.url).scheme == "https" and not self.tls.verify


def check_source_address(value: str) -> str:
    """A literal IPv4 or IPv6 address of this host (no name: a bind needs an address)."""
    import ipaddress

    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"{quoted(value)} is not an IP address (such as 192.0.2.10)") from None


class PollConfig(StrictModel):
    interval: Duration = 5.0
    timeout: Duration = 3.0
    failure_threshold: int = Field(3, ge=1, le=100)  # consecutive failures before DOWN
    recovery_threshold: int = Field(2, ge=1, le=100)  # consecutive successes before UP again
    source_address: str | None = None  # the local address polls leave from (multi-homed hosts)

    @field_validator("source_address")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        return None if value is None else check_source_address(value)

    @model_validator(mode="after")
    def _sane(self) -> PollConfig:
        if not 0.2 <= self.interval <= 3600:
            raise ValueError(f"@interval: must be between 200ms and 1h, "
                             f"found {format_duration(self.interval)}")
        if self.timeout <= 0 or self.timeout > 120:
            raise ValueError("@timeout: must be between 1ms and 2m")
        if self.timeout > self.interval:
            # Rounds would stretch to the timeout: failure_threshold polls would take longer
            # than the operator reckons, and watch mode's heartbeat would go stale.
            raise ValueError(f"@timeout: {format_duration(self.timeout)} is longer than "
                             f"interval ({format_duration(self.interval)}): a poll must end "
                             "before the next one is due; give at most the interval")
        return self


def _pair_of(values: list[float], key: str, ascending: bool,
             top: float | None) -> tuple[float, float]:
    if len(values) != 2:
        raise ValueError(f"{key}: expected [warning, critical]")
    for value in values:
        if not 0 <= value <= (top if top is not None else value):
            raise ValueError(f"{key}: {value:g} is not a percentage (0 to 100)" if top else
                             f"{key}: {value:g} cannot be negative")
    warn, crit = values
    if ascending and warn > crit or not ascending and warn < crit:
        order = "below" if ascending else "above"
        raise ValueError(f"{key}: the warning level must be {order} the critical level")
    return warn, crit


class Thresholds(StrictModel):
    """[warning, critical]; the vendor's monitoring defaults."""

    cpu_percent: tuple[float, float] = (85, 95)
    disk_percent: tuple[float, float] = (60, 80)
    dbsize_mb: tuple[float, float] = (1000, 2000)
    memory_free_percent: tuple[float, float] = (15, 10)  # alarm when free falls below
    swap_free_percent: tuple[float, float] = (15, 5)

    @model_validator(mode="after")
    def _order(self) -> Thresholds:
        for key in ("cpu_percent", "disk_percent", "dbsize_mb"):
            _pair_of(list(getattr(self, key)), f"@{key}", ascending=True,
                     top=None if key == "dbsize_mb" else 100)
        for key in ("memory_free_percent", "swap_free_percent"):
            _pair_of(list(getattr(self, key)), f"@{key}", ascending=False, top=100)
        return self


def _check_cron(value: str) -> str:
    if not isinstance(value, str) or not croniter.is_valid(value) or len(value.split()) != 5:
        raise ValueError(f"'{value}' is not a 5-field cron expression (minute hour day month weekday)")
    from datetime import datetime

    from ..engine.schedule import ScheduleError, next_fire

    try:
        next_fire(value, "UTC", datetime(2024, 1, 1, tzinfo=UTC))
    except ScheduleError:
        raise ValueError(f"'{value}' never fires (e.g. 31 February)") from None
    return value


class PairConfig(StrictModel):
    name: Name
    production: str  # the appliance desired to be production at first start
    appliances: list[ApplianceConfig]
    timezone: str = "UTC"
    restore_cron: str | None = None  # auto-restore on the standby
    backup_cron: str | None = None  # backups on production
    restore_duration: Duration = 1800.0  # how long a restore may take (its window)
    poll: PollConfig = Field(default_factory=PollConfig)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    dns: DnsConfig | None = None
    backup: BackupConfig | None = None
    automation: AutomationConfig = Field(default_factory=AutomationConfig)

    @field_validator("restore_cron", "backup_cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else _check_cron(value)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}' (IANA names such as Europe/Berlin)") from None
        return value

    @field_validator("appliances")
    @classmethod
    def _two(cls, value: list[ApplianceConfig]) -> list[ApplianceConfig]:
        if len(value) != 2:
            raise ValueError(f"a warm HA pair has exactly 2 appliances, found {len(value)}")
        if value[0].name == value[1].name:
            raise ValueError(f"both appliances are named '{value[0].name}'")
        return value

    @model_validator(mode="after")
    def _production_known(self) -> PairConfig:
        names = [a.name for a in self.appliances]
        if self.production not in names:
            raise ValueError(f"@production: '{self.production}' is not one of this pair's "
                             f"appliances ({', '.join(names)})")
        if self.dns is not None and (problem := check_targets(self.dns, names)):
            raise ValueError(problem)
        return self

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def appliance(self, name: str) -> ApplianceConfig:
        for appliance in self.appliances:
            if appliance.name == name:
                return appliance
        raise KeyError(name)

    def peer_of(self, name: str) -> ApplianceConfig:
        return next(a for a in self.appliances if a.name != name)


class SimulatorRef(StrictModel):
    """Written by `d42tui simulate`, so `--config` is enough to reach its control API."""

    control_url: Url


class Config(StrictModel):
    pairs: list[PairConfig] = Field(min_length=1)
    state_dir: Path | None = None
    audit_log: Path | None = None
    simulator: SimulatorRef | None = None
    watch: WatchConfig = Field(default_factory=WatchConfig)  # the watcher process's endpoints
    coordination: CoordinationConfig | None = None  # watchers on several hosts share etcd

    @model_validator(mode="after")
    def _unique(self) -> Config:
        seen_pairs: set[str] = set()
        seen: dict[str, str] = {}
        origins: dict[tuple[str, str, int], tuple[str, str]] = {}
        for i, pair in enumerate(self.pairs):
            if pair.name in seen_pairs:
                raise ValueError(f"@pairs[{i}].name: pair name '{pair.name}' is used twice")
            seen_pairs.add(pair.name)
            for j, appliance in enumerate(pair.appliances):
                if appliance.name in seen:
                    raise ValueError(f"@pairs[{i}].appliances[{j}].name: appliance name "
                                     f"'{appliance.name}' is already used in pair {seen[appliance.name]}")
                seen[appliance.name] = pair.name
                # One server under two names would be "both" appliances: its failover a no-op
                # that reports success, its health counted twice.
                origin = split_http_url(appliance.url).origin
                if origin in origins:
                    other, where = origins[origin]
                    raise ValueError(f"@pairs[{i}].appliances[{j}].url: {quoted(appliance.url)} "
                                     f"is the same server as {other} ({where}.url): a pair "
                                     "needs two appliances")
                origins[origin] = (appliance.name, f"pairs[{i}].appliances[{j}]")
        return self

    def pair(self, name: str) -> PairConfig:
        for pair in self.pairs:
            if pair.name == name:
                return pair
        raise KeyError(name)

    def pair_of_appliance(self, name: str) -> PairConfig:
        for pair in self.pairs:
            if any(a.name == name for a in pair.appliances):
                return pair
        raise KeyError(name)


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    path: Path
    warnings: list[str]


# --- loading -----------------------------------------------------------------


def parse_config(text: str, path: Path) -> Config:
    """Validate YAML text; `path` only names the file in errors."""
    data = read_yaml(text, path)
    if data is None:
        raise ConfigError([f"{path}: (top level): the file is empty; see sample_config.yaml"])
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: (top level): expected a mapping with a 'pairs' list, "
                           f"found {type(data).__name__}"])
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([format_error(path, e) for e in exc.errors()]) from None
    except RecursionError:
        raise ConfigError([f"{path}: (top level): nesting too deep"]) from None


def config_warnings(config: Config, path: Path) -> list[str]:
    """Things that are allowed but an operator should hear about."""
    out: list[str] = []
    literal = False
    for i, pair in enumerate(config.pairs):
        if pair.dns is not None:
            out.extend(f"{path}: pairs[{i}].dns.{w}" for w in dns_warnings(pair.dns))
        for j, appliance in enumerate(pair.appliances):
            key = f"pairs[{i}].appliances[{j}]"
            if appliance.password is not None or (appliance.api and appliance.api.password):
                literal = True
                out.append(f"{path}: {key}: password is written in the config file; "
                           "prefer password_env, password_file or password_command")
            if appliance.secret() is None:
                out.append(f"{path}: {key}: no password configured: "
                           "the console can watch this appliance but not change its mode")
            if appliance.insecure:
                out.append(f"{path}: {key}.tls.verify: TLS verification is OFF for "
                           f"{appliance.name}: anyone on the path can impersonate it")
            if urlsplit(appliance.url).scheme == "http":
                out.append(f"{path}: {key}.url: plain HTTP: credentials travel unencrypted")
        backup = pair.backup
        if backup is not None:
            for key in ("password", "key_passphrase", "secret_access_key"):
                if getattr(backup, key, None) is not None:
                    literal = True
                    out.append(f"{path}: pairs[{i}].backup.{key}: written in the config file; "
                               f"prefer {key}_env, {key}_file or {key}_command")
            if getattr(backup, "strict_host_keys", True) is False:
                out.append(f"{path}: pairs[{i}].backup.strict_host_keys: false: an unknown SSH "
                           "host key is accepted (a changed one never is)")
    if config.coordination is not None:
        out.extend(f"{path}: {w}" for w in coordination_warnings(config.coordination))
        literal = literal or config.coordination.etcd.password is not None
    if literal and literal_file_is_exposed(path):
        out.append(f"{path}: holds a password and is readable by others: chmod 600 {path}")
    return out


def default_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("d42tui")) / "config.yaml"


def find_config_path(explicit: str | os.PathLike | None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    if env := os.environ.get("D42TUI_CONFIG"):
        return Path(env).expanduser()
    return default_config_path()


def load_config(explicit: str | os.PathLike | None = None) -> LoadedConfig:
    path = find_config_path(explicit)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        hint = "" if explicit else " (set --config or $D42TUI_CONFIG; see sample_config.yaml)"
        raise ConfigError([f"{path}: no such file{hint}"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError([f"{path}: larger than 1 MiB; this is not a d42tui config"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text (byte {exc.start})"]) from None
    config = parse_config(text, path)
    return LoadedConfig(config, path, config_warnings(config, path))


def state_dir(config: Config | None = None) -> Path:
    """Where desired roles, pauses, the audit log and heartbeats live."""
    if env := os.environ.get("D42TUI_STATE_DIR"):
        return Path(env).expanduser()
    if config is not None and config.state_dir is not None:
        return config.state_dir.expanduser()
    from platformdirs import user_state_dir

    return Path(user_state_dir("d42tui"))


Mode = Literal["production", "standby"]
