"""One simulated appliance: its mode, backups, fault and HTTP routes, per the contract in
docs/appliance-api.md. Networking lives in `http.py`; time-based figures in `health.py`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import math
import threading
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from croniter import croniter

from . import health
from .http import HANG_UP, HOLD, Outcome, Request, Response, reason

FAULT_KINDS = ("none", "down", "blackhole", "slow", "error500", "unauthorized", "garbage", "flap",
               "backup-failing")
MODES = ("production", "standby")
DEFAULT_SLOW_MS = 2000
MAX_SLOW_MS = 600_000

MANAGER = "manager"  # the Appliance Manager (:4343, or the plain :4242 listener)
MAIN_API = "api"  # the main application (:443)

_SECRET_FIELDS = ("password", "passwd", "secret", "token", "passphrase")

GARBAGE_PAGE = (b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
                b"<body><center><h1>502 Bad Gateway</h1></center>\n"
                b"<hr><center>corporate-proxy/1.0</center></body></html>\n")


@dataclass(frozen=True)
class SimRequest:
    """One request as it reached an appliance's HTTP layer. Never holds a password.

    `path` is without the query string; `auth_ok` is True only when the appliance
    accepted the basic-auth credentials (False when none were sent, when they were
    wrong, and under the `unauthorized` fault).
    """

    appliance: str
    method: str
    path: str
    form: dict[str, str]
    auth_user: str | None
    auth_ok: bool
    at: float
    client: str | None = None  # the address the request came from


def error_response(status: int, detail: str, title: str | None = None,
                   headers: list[tuple[str, str]] | None = None) -> Response:
    """The vendor's error body: `{"errors": [{"code", "reason", "title", "detail"}]}`."""
    body = {"errors": [{"code": status, "reason": reason(status), "title": title or reason(status),
                        "detail": detail}]}
    return Response.json(status, body, headers)


def validate_cron(value: str | None, key: str) -> None:
    if value is not None and (not isinstance(value, str) or len(value.split()) != 5
                              or not croniter.is_valid(value)):
        raise ValueError(f"{key}: '{value}' is not a 5-field cron expression")


@dataclass
class SimAppliance:
    """Settings and mutable state of one appliance; state changes happen under `lock`."""

    name: str
    mode: str
    username: str
    password: str = field(repr=False)
    backup_cron: str | None
    restore_cron: str | None
    restore_duration: float
    timezone: str
    health_auth: bool
    api: bool
    clock: Callable[[], float]
    lock: threading.Lock
    record: Callable[[SimRequest], None]
    fault: str = field(default="none", init=False)
    fault_ms: int = field(default=DEFAULT_SLOW_MS, init=False)
    version: str = field(default=health.VERSION, init=False)  # what /healthstats/ says
    _flap_count: int = field(default=0, init=False)
    # faults seen only by clients from one address: {address: (kind, ms)}
    faults_from: dict[str, tuple[str, int]] = field(default_factory=dict, init=False)
    _production_since: float | None = field(default=None, init=False)  # None while standby
    # the last backup taken before the latest mode change
    _last_backup: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"{self.name}: mode must be production or standby, not '{self.mode}'")
        validate_cron(self.backup_cron, "backup_cron")
        validate_cron(self.restore_cron, "restore_cron")
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{self.timezone}'") from None
        if self.mode == "production":
            self._production_since = -math.inf  # production since before anyone looked

    # --- state, called under self.lock ---------------------------------------------

    def set_fault(self, kind: str, ms: int | None, source: str | None = None) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind '{kind}' (one of {', '.join(FAULT_KINDS)})")
        if ms is not None and (isinstance(ms, bool) or not isinstance(ms, int)
                               or not 0 <= ms <= MAX_SLOW_MS):
            raise ValueError(f"ms must be an integer between 0 and {MAX_SLOW_MS}")
        if source is not None:  # only for clients from that address; `none` clears it
            if kind == "none":
                self.faults_from.pop(source, None)
            else:
                self.faults_from[source] = (kind, DEFAULT_SLOW_MS if ms is None else ms)
            return
        self.fault = kind
        self.fault_ms = DEFAULT_SLOW_MS if ms is None else ms
        self._flap_count = 0

    def set_version(self, version: str) -> None:
        """An upgrade (or a downgrade): Device42 restores only between identical versions."""
        if not isinstance(version, str) or not 0 < len(version) <= 64 \
                or not version.isprintable():
            raise ValueError("version must be 1 to 64 printable characters")
        self.version = version

    def set_mode(self, mode: str, now: float) -> None:
        if mode == self.mode:
            return  # idempotent: re-asserting a mode changes nothing
        if mode == "standby":
            self._last_backup = self.last_backup(now)
            self._production_since = None
        else:
            self._production_since = now
        self.mode = mode

    def last_backup(self, now: float) -> float | None:
        """A production appliance backs up at each cron fire; a standby never does."""
        if self._production_since is not None and self.backup_cron:
            fire = health.last_fire(self.backup_cron, self.timezone, now)
            if fire >= self._production_since:
                return fire
        return self._last_backup

    def restoring(self, now: float) -> bool:
        return self.mode == "standby" and health.in_restore_window(
            self.restore_cron, self.timezone, self.restore_duration, now)

    def truth(self) -> dict[str, object]:
        truth = {"mode": self.mode, "fault": self.fault}
        if self.faults_from:
            truth["faults_from"] = {a: k for a, (k, _) in sorted(self.faults_from.items())}
        return truth

    # --- HTTP ----------------------------------------------------------------------

    async def handle(self, request: Request, listener: str) -> Outcome:
        now = self.clock()
        user, password = _basic_auth(request)
        credentials_ok = (user is not None and password is not None
                          and hmac.compare_digest(user.encode(), self.username.encode())
                          and hmac.compare_digest(password.encode(), self.password.encode()))
        with self.lock:
            fault, delay_ms = self.faults_from.get(request.client or "",
                                                   (self.fault, self.fault_ms))
            fail_now = False
            if fault == "flap":
                self._flap_count += 1
                fail_now = self._flap_count % 2 == 0
        auth_ok = credentials_ok and fault != "unauthorized"
        self.record(SimRequest(self.name, request.method, request.path,
                               self._loggable_form(request), user, auth_ok, now,
                               request.client))
        if fault == "blackhole":
            return HOLD
        if fault == "down" or fail_now:
            return HANG_UP
        if fault == "slow":
            await asyncio.sleep(delay_ms / 1000)
        if fault == "error500":
            return error_response(500, "An unexpected error occurred on the appliance.",
                                  "Internal Server Error")
        if fault == "unauthorized":
            return self._unauthorized(listener)
        if fault == "garbage":
            return Response(200, GARBAGE_PAGE, "text/html; charset=utf-8")
        if listener == MAIN_API:
            return self._main_api(request, auth_ok)
        return self._manager(request, auth_ok, now)

    def _manager(self, request: Request, auth_ok: bool, now: float) -> Response:
        path = request.path
        if path == "/healthstats/":
            if request.method not in ("GET", "HEAD"):
                return _not_allowed("GET")
            if self.health_auth and not auth_ok:
                return self._unauthorized(MANAGER)
            return Response.json(200, self._healthstats(now))
        if path == "/api/1.0/appliancemode/":
            # There is no GET of the mode (docs/appliance-api.md): the method is checked first.
            if request.method != "POST":
                return _not_allowed("POST")
            if not auth_ok:
                return self._unauthorized(MANAGER)
            return self._set_mode(request, now)
        if path == "/api/1.0/backup_schedules/":
            if request.method not in ("GET", "HEAD"):
                return _not_allowed("GET")
            if not auth_ok:
                return self._unauthorized(MANAGER)
            return Response.json(200, {"jobs": [{"job_id": health.BACKUP_JOB_ID,
                                                 "method": health.BACKUP_METHOD_SFTP,
                                                 "name": health.BACKUP_JOB_NAME}]})
        return _not_found(path)

    def _set_mode(self, request: Request, now: float) -> Response:
        form = _form(request)
        if form is None:
            return error_response(400, "Expected a form body (application/x-www-form-urlencoded) "
                                  "with appliance_mode=production or appliance_mode=standby.",
                                  "Bad Request")
        mode = form.get("appliance_mode")
        if mode not in MODES:
            detail = ("appliance_mode is required" if mode is None
                      else f"appliance_mode must be production or standby, not '{mode[:40]}'")
            return error_response(400, detail + ".", "Bad Request")
        with self.lock:
            self.set_mode(mode, now)
        flag, jobs = ("True", "disabled") if mode == "standby" else ("False", "enabled")
        return Response.json(200, {"msg": f"Appliance Manager standby mode set to {flag}. "
                                          f"Background jobs {jobs}"})

    def _healthstats(self, now: float) -> dict:
        with self.lock:
            restoring = self.restoring(now)
            load = "restoring" if restoring else self.mode
            status = health.backup_status(
                last_backup=self.last_backup(now), failing=self.fault == "backup-failing",
                backup_cron=self.backup_cron, timezone=self.timezone, now=now)
        body = {"backup_status": [{"id": health.BACKUP_JOB_ID, "job_name": health.BACKUP_JOB_NAME,
                                   "status": status}]}
        body.update(health.health_figures(self.name, now, load))
        body["version"] = self.version
        return dict(sorted(body.items()))

    def _main_api(self, request: Request, auth_ok: bool) -> Response:
        if request.path != "/api/1.0/tags/":
            return _not_found(request.path)
        if request.method not in ("GET", "HEAD"):
            return _not_allowed("GET")
        if not auth_ok:
            return self._unauthorized(MAIN_API)
        params = dict(parse_qsl(request.query))
        try:
            limit = int(params.get("limit", "100"))
            offset = int(params.get("offset", "0"))
            if limit < 1 or offset < 0:
                raise ValueError
        except ValueError:
            return error_response(400, "limit must be a positive integer and offset a "
                                  "non-negative one.", "Bad Request")
        tags = [{"id": i + 1, "name": n} for i, n in enumerate(_TAGS)]
        return Response.json(200, {"limit": limit, "offset": offset,
                                   "tags": tags[offset:offset + limit], "total_count": len(tags)})

    def _unauthorized(self, listener: str) -> Response:
        realm = "Device42" if listener == MAIN_API else "Appliance Manager"
        return error_response(401, "Authentication credentials were not provided or are invalid.",
                              "Unauthorized", [("WWW-Authenticate", f'Basic realm="{realm}"')])

    def _loggable_form(self, request: Request) -> dict[str, str]:
        """The form as logged: fields that look secret, or hold the password, are masked."""
        form = _form(request) or {}
        return {k: "***" if any(s in k.lower() for s in _SECRET_FIELDS)
                or (self.password and self.password in v) else v
                for k, v in form.items()}


_TAGS = ("production", "datacenter-1", "datacenter-2", "network", "storage", "retired")


def _not_allowed(allow: str) -> Response:
    return error_response(405, "Method not allowed on this endpoint.", "Method Not Allowed",
                          [("Allow", allow)])


def _not_found(path: str) -> Response:
    return error_response(404, f"No endpoint at {path[:200]}.", "Not Found")


def _basic_auth(request: Request) -> tuple[str | None, str | None]:
    value = request.header("authorization")
    if not value:
        return None, None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else (user, None)


def _form(request: Request) -> dict[str, str] | None:
    """The urlencoded form body (last value per key), or None when the body is not a form."""
    ctype = (request.header("content-type") or "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        return None
    try:
        text = request.body.decode("utf-8")
        return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)))
    except (UnicodeDecodeError, ValueError):
        return None
