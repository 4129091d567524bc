"""The `dns:` section of a pair: service name, record type, targets, servers and backend.

Values are normalised on load, so the rest of the package compares answers as plain strings.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..config.messages import may_echo
from ..config.secrets import Secret
from ..config.types import Duration, StrictModel, check_one_secret, pick_secret

RecordType = Literal["A", "AAAA", "CNAME"]
TsigAlgorithm = Literal["hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224",
                        "hmac-sha1", "hmac-md5"]
BACKEND_KINDS = ("rfc2136", "command")
MAX_TTL = 86400
_LABEL_RE = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_REDACTED = "<not shown>"


def normalize_name(text: Any, what: str = "name") -> str:
    """A DNS host name, lower-case and without the final dot; ValueError if it is not one."""
    if not isinstance(text, str):
        raise ValueError(f"the {what} must be a string such as d42.example.com")
    name = text.strip().lower().removesuffix(".")
    labels = name.split(".")
    if (not name or len(name) > 253 or len(labels) < 2
            or not all(_LABEL_RE.match(label) for label in labels)):
        raise ValueError(f"'{text}' is not a fully qualified host name such as d42.example.com")
    return name


def normalize_value(rtype: str, text: Any) -> str:
    """The canonical text of one record value of type `rtype`; ValueError when it does not fit."""
    if not isinstance(text, str):
        # YAML reads some unquoted IPv6 addresses (2001:0:0:1) as sexagesimal integers
        raise ValueError(f"{text!r} is not text: quote the address in the YAML file")
    value = text.strip()
    if rtype == "CNAME":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            return normalize_name(value, "CNAME target")
        raise ValueError(f"'{text}' is an address; a CNAME points at a host name "
                         "(use type A or AAAA)")
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"'{text}' is not an {'IPv4' if rtype == 'A' else 'IPv6'} address"
                         ) from None
    if rtype == "A" and address.version != 4:
        raise ValueError(f"'{text}' is an IPv6 address; use type AAAA for it")
    if rtype == "AAAA" and address.version != 6:
        raise ValueError(f"'{text}' is an IPv4 address; use type A for it")
    return address.compressed


@dataclass(frozen=True)
class Endpoint:
    """One DNS server to talk to: an address or host name, and a port."""

    host: str
    port: int = 53

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 53 else f"{host}:{self.port}"


def parse_endpoint(text: Any) -> Endpoint:
    """`host`, `host:port`, `v6addr` or `[v6addr]:port`; the port defaults to 53."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a server is written host or host:port, such as 192.0.2.53:53")
    raw = text.strip()
    host, port = raw, "53"
    if raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"'{text}' is not [IPv6]:port")
        port = rest[1:] or "53"
    elif raw.count(":") == 1:
        host, port = raw.split(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"'{text}' has an invalid port")
    try:
        host = ipaddress.ip_address(host).compressed
    except ValueError:
        host = normalize_name(host, "server") if "." in host else _single_label(host, text)
    return Endpoint(host, int(port))


def _single_label(host: str, text: str) -> str:
    if host == "localhost":
        return host
    raise ValueError(f"'{text}' is neither an IP address nor a fully qualified host name")


def _check_timeout(value: float, key: str, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"@{key}: must be between {low:g}s and {high:g}s")


class Rfc2136Backend(StrictModel):
    """Dynamic update (RFC 2136) over TCP, signed with a TSIG key."""

    kind: Literal["rfc2136"]
    server: str | None = None  # the primary; default: the first of `servers`
    zone: str | None = None  # default: found by an SOA query, else the name's parent
    key_name: str | None = None  # None: unsigned updates (IP-based allow-update only)
    algorithm: TsigAlgorithm = "hmac-sha256"
    secret: SecretStr | None = None
    secret_env: str | None = None
    secret_file: Path | None = None
    secret_command: list[str] | None = None
    timeout: Duration = 5.0

    @field_validator("server")
    @classmethod
    def _server(cls, value: str | None) -> str | None:
        return None if value is None else str(parse_endpoint(value))

    @field_validator("zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else normalize_name(value, "zone")

    @field_validator("key_name")
    @classmethod
    def _key_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = value.strip().lower().removesuffix(".")
        if not name or not all(_LABEL_RE.match(label) for label in name.split(".")):
            raise ValueError(f"'{value}' is not a TSIG key name (as in `key \"d42key\" {{...}}`)")
        return name

    @model_validator(mode="after")
    def _key(self) -> Rfc2136Backend:
        check_one_secret(self, "secret")
        has_secret = pick_secret(self, "secret") is not None
        if self.key_name and not has_secret:
            raise ValueError(f"@secret: key {self.key_name} needs its secret: give secret_env, "
                             "secret_file or secret_command")
        if has_secret and not self.key_name:
            raise ValueError("@key_name: a TSIG secret is given but no key_name to go with it")
        _check_timeout(self.timeout, "timeout", 0.1, 300)
        return self

    def tsig_secret(self) -> Secret | None:
        return pick_secret(self, "secret")


class CommandBackend(StrictModel):
    """An external program (argv, no shell) that makes the change: PowerShell, cloud CLIs..."""

    kind: Literal["command"]
    argv: list[str]
    timeout: Duration = 30.0

    @field_validator("argv")
    @classmethod
    def _argv(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name the program to run, e.g. [/usr/local/bin/set-dns]")
        if not all(arg for arg in value):
            raise ValueError("every argument must be a non-empty string (an argv list; no shell)")
        return value

    @model_validator(mode="after")
    def _timeout(self) -> CommandBackend:
        _check_timeout(self.timeout, "timeout", 0.1, 3600)
        return self


Backend = Annotated[Rfc2136Backend | CommandBackend, Field(discriminator="kind")]


class DnsConfig(StrictModel):
    """Which name the console keeps pointed at production, and how it changes it."""

    name: str
    type: RecordType = "A"
    ttl: int = 60
    targets: dict[str, str] = Field(min_length=1)  # appliance name -> address or target name
    servers: list[str] = Field(min_length=1)  # authoritative servers, queried directly
    verify_timeout: Duration = 30.0
    verify_interval: Duration = 1.0
    query_timeout: Duration = 3.0
    backend: Backend

    @model_validator(mode="wrap")
    @classmethod
    def _readable_errors(cls, data: Any, handler: Any) -> DnsConfig:
        try:
            return handler(data)
        except ValidationError as exc:
            raise _rewrite_errors(exc) from None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return normalize_name(value)

    @field_validator("ttl")
    @classmethod
    def _ttl(cls, value: int) -> int:
        if not 1 <= value <= MAX_TTL:
            raise ValueError(f"must be between 1 and {MAX_TTL} seconds "
                             "(a failover record wants a short TTL such as 60)")
        return value

    @field_validator("targets", mode="before")
    @classmethod
    def _targets_raw(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, dict):
            return value  # pydantic reports the type error
        rtype = info.data.get("type")
        if rtype is None:
            return value  # `type` itself is wrong; that error is enough
        problems, out = [], {}
        for appliance, raw in value.items():
            try:
                out[appliance] = normalize_value(rtype, raw)
            except ValueError as exc:
                problems.append(f"{appliance}: {exc}")
        if problems:
            raise ValueError("; ".join(problems))
        seen: dict[str, str] = {}
        for appliance, target in out.items():
            if target in seen:
                raise ValueError(f"{seen[target]} and {appliance} both have {target}: "
                                 "the board could not tell which appliance DNS points at")
            seen[target] = appliance
        if rtype == "CNAME" and (name := info.data.get("name")) in seen:
            raise ValueError(f"{seen[name]}: a CNAME cannot point at the name itself")
        return out

    @field_validator("servers")
    @classmethod
    def _servers(cls, value: list[str]) -> list[str]:
        problems, out = [], []
        for i, server in enumerate(value):
            try:
                out.append(str(parse_endpoint(server)))
            except ValueError as exc:
                problems.append(f"[{i}]: {exc}")
        if problems:
            raise ValueError("; ".join(problems))
        return out

    @model_validator(mode="after")
    def _timing(self) -> DnsConfig:
        _check_timeout(self.verify_timeout, "verify_timeout", 1, 600)
        _check_timeout(self.query_timeout, "query_timeout", 0.1, 60)
        _check_timeout(self.verify_interval, "verify_interval", 0.1, 60)
        if self.verify_interval > self.verify_timeout:
            raise ValueError("@verify_interval: must not be longer than verify_timeout")
        return self

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        return tuple(parse_endpoint(s) for s in self.servers)

    @property
    def update_endpoint(self) -> Endpoint:
        """Where RFC 2136 updates go: the backend's `server`, else the first of `servers`."""
        server = getattr(self.backend, "server", None)
        return parse_endpoint(server) if server else self.endpoints[0]

    def appliance_of(self, value: str) -> str | None:
        """The appliance whose target is `value` (already normalised), or None."""
        return next((a for a, t in self.targets.items() if t == value), None)


def _rewrite_errors(exc: ValidationError) -> ValidationError:
    """Drop the union tag from error paths (`backend.rfc2136.x` -> `backend.x`), word the
    missing/unknown `kind` like any other key, and carry the input only outside the secret's
    key (configerrors echoes scalars in its words)."""
    details: list[Any] = []
    for err in exc.errors():
        loc, kind = tuple(err["loc"]), err["type"]
        if loc[:1] == ("backend",) and len(loc) > 1 and loc[1] in BACKEND_KINDS:
            loc = loc[:1] + loc[2:]
        if kind == "union_tag_not_found":
            details.append({"type": "missing", "loc": loc + ("kind",), "input": _REDACTED})
            continue
        if kind == "union_tag_invalid":
            tag = str(err.get("ctx", {}).get("tag", ""))[:40]
            details.append({"type": PydanticCustomError(
                "backend_kind", "'{tag}' is not a backend kind (rfc2136 or command)", {"tag": tag}),
                "loc": loc + ("kind",), "input": _REDACTED})
            continue
        shown = err.get("input") if may_echo(err, loc) else _REDACTED
        detail: dict[str, Any] = {"type": kind, "loc": loc, "input": shown}
        if "ctx" in err:
            detail["ctx"] = err["ctx"]
        details.append(detail)
    return ValidationError.from_exception_data(exc.title, details)


def dns_warnings(cfg: DnsConfig) -> list[str]:
    """Allowed but worth hearing, each as `key: text` relative to the `dns:` section."""
    out: list[str] = []
    if cfg.ttl > 300:
        out.append(f"ttl: {cfg.ttl}s: after a failover, clients may keep the old address that long")
    backend = cfg.backend
    if isinstance(backend, Rfc2136Backend):
        if backend.key_name is None:
            out.append("backend.key_name: updates are unsigned; only an IP-based allow-update "
                       "will accept them, and anyone on the path can forge one")
        elif backend.algorithm in ("hmac-md5", "hmac-sha1"):
            out.append(f"backend.algorithm: {backend.algorithm} is weak; prefer hmac-sha256")
        if backend.secret is not None:
            out.append("backend.secret: the TSIG secret is written in the config file; "
                       "prefer secret_env, secret_file or secret_command")
    return out


def check_targets(cfg: DnsConfig, appliances: list[str]) -> str | None:
    """For the pair validator: every target names one of the pair's appliances."""
    unknown = [a for a in cfg.targets if a not in appliances]
    if unknown:
        return (f"@dns.targets: {', '.join(unknown)} is not one of this pair's appliances "
                f"({', '.join(appliances)})")
    return None
