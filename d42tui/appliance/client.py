"""Async HTTP client for one appliance: health, set mode, main-API liveness.

Every call has a hard deadline and turns every way of failing into a `Failure`
with a kind an operator can act on. Certificate pins are checked right after the
TLS handshake, before a single request byte (and so before credentials) is sent.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..config.models import ApplianceConfig, TlsConfig
from ..config.secrets import Secret, SecretError
from ._httpx import httpx
from .failures import Failure, FailureKind, classify_exception
from .health import Health, clean_text, parse_health
from .mode_answer import ModeAnswer, other_mode, read_mode_answer
from .transport import SENT_FLAG, LeanTransport

__all__ = ["ApplianceClient", "Failure", "FailureKind", "ModeAnswer", "ModeChangeResult",
           "PollResult", "classify_exception", "ssl_context_for_tls"]

HEALTH_PATH = "/healthstats/"
MODE_PATH = "/api/1.0/appliancemode/"
API_PROBE_PATH = "/api/1.0/tags/?limit=1"
USER_AGENT = "d42tui/0.1"
BASE_HEADERS = (("User-Agent", USER_AGENT), ("Accept-Encoding", "identity"),
                ("Accept", "*/*"))
MAX_BODY = 256 * 1024

TransportFactory = Callable[[ssl.SSLContext | None, str | None], httpx.AsyncBaseTransport]


@dataclass(frozen=True)
class PollResult:
    """One health poll of one appliance."""

    appliance: str
    at: float  # epoch seconds, from the poller's clock
    latency: float | None  # seconds, None when nothing answered
    health: Health | None
    failure: Failure | None
    api_ok: bool | None = None  # main-API probe: None when not configured
    api_failure: Failure | None = None
    # The site's mode probe (None when not configured, or when it failed: see probe_failure)
    probed_mode: str | None = None
    probe_failure: Failure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None and self.health is not None


Outcome = Literal["done", "failed", "unknown"]


@dataclass(frozen=True)
class ModeChangeResult:
    """What happened to one `POST appliancemode`. `unknown` when it may have applied;
    `done` with `confirmed` False when a 200's message is not the vendor's words for it."""

    appliance: str
    mode: str
    outcome: Outcome
    status: int | None
    message: str  # the appliance's own text, or what went wrong
    sent: bool  # whether the request may have reached the appliance
    latency: float | None
    failure: Failure | None = None
    answer: ModeAnswer | None = None  # how a 200's message reads; None without one

    @property
    def confirmed(self) -> bool:
        return self.answer is ModeAnswer.CONFIRMS


def ssl_context_for_tls(tls: TlsConfig) -> ssl.SSLContext:
    if tls.fingerprint_sha256 or not tls.verify:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False  # with a pin, the pin is the identity
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if tls.ca_file:
        return ssl.create_default_context(cafile=str(tls.ca_file))
    return ssl.create_default_context()


def _error_text(body: Any) -> str:
    """The appliance's own error text from `{"errors": [{...}]}`, if it sent one."""
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            parts = [str(first.get(k)) for k in ("title", "detail", "reason") if first.get(k)]
            return clean_text(" — ".join(dict.fromkeys(parts)))
        if isinstance(body.get("msg"), str):
            return clean_text(body["msg"])
    return ""


def _status_failure(response: httpx.Response, body: Any) -> Failure:
    code = response.status_code
    text = _error_text(body) or clean_text(response.reason_phrase or "")
    if code == 401:
        return Failure(FailureKind.UNAUTHORIZED, text, code)
    if code == 403:
        return Failure(FailureKind.FORBIDDEN, text, code)
    if code >= 500:
        return Failure(FailureKind.SERVER_ERROR, f"HTTP {code} {text}".strip(), code)
    return Failure(FailureKind.HTTP_ERROR, f"HTTP {code} {text}".strip(), code)


class _Sent(dict):
    """Set by the transport once request bytes went out (then silence means "unknown")."""

    @property
    def sent(self) -> bool:
        return bool(self.get("sent"))


class ApplianceClient:
    """One appliance's Appliance Manager (and optional main API). Reuses connections."""

    def __init__(self, cfg: ApplianceConfig, timeout: float,
                 clock: Callable[[], float] = time.time, *,
                 transport: TransportFactory = LeanTransport,
                 source_address: str | None = None):
        """`transport(ssl_context, pin)` builds the HTTP transport; only a benchmark
        passes another (httpx's default, which does not check the pin) to compare.
        `source_address`: the local address to poll from (a multi-homed host)."""
        self.cfg = cfg
        self.timeout = timeout
        self.clock = clock
        self._client = _transport(cfg.tls, transport=transport, source_address=source_address)
        # The mode probe is another service (a CMDB, a status page): its own TLS settings.
        # A plain-HTTP probe needs no TLS context (loading the system CAs costs ~30 ms).
        self._probe_client = (_transport(cfg.mode_probe.tls, transport=transport,
                                         tls_needed=cfg.mode_probe.url.startswith("https:"))
                              if cfg.mode_probe is not None else None)
        self._urls: dict[str, httpx.URL] = {}  # parsed once: the same few URLs every poll

    async def aclose(self) -> None:
        await self._client.aclose()
        if self._probe_client is not None:
            await self._probe_client.aclose()

    async def __aenter__(self) -> ApplianceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _auth(self, which: str = "manager") -> str:
        """The Authorization header's value (HTTP basic): never logged, never shown."""
        secret = (self.cfg.api.secret() if which == "api" and self.cfg.api else self.cfg.secret())
        if secret is None:
            raise _NoCredentials(Failure(FailureKind.NO_CREDENTIALS,
                                         "set password_env, password_file or password_command"))
        user = self.cfg.api.username if which == "api" and self.cfg.api else self.cfg.username
        try:
            password = secret.value()
        except SecretError as exc:
            raise _NoCredentials(Failure(FailureKind.SECRET_UNREADABLE,
                                         unreadable_text(secret, exc))) from None
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return f"Basic {token}"

    async def _request(self, method: str, url: str, tracer: _Sent, deadline: float | None = None,
                       client: httpx.AsyncBaseTransport | None = None, *,
                       auth: str | None = None, data: dict[str, str] | None = None
                       ) -> tuple[httpx.Response, bytes]:
        """One request straight to the transport: no cookie jar, no redirects, no client-side
        auth flow — our few requests need none of httpx's client layers, which cost about as
        much CPU as the transport itself at a poll a second."""
        if deadline is None:
            deadline = asyncio.get_running_loop().time() + self.timeout
        target = self._urls.get(url)
        if target is None:
            target = self._urls[url] = httpx.URL(url)
        headers = dict(BASE_HEADERS)
        if auth is not None:
            headers["Authorization"] = auth
        request = httpx.Request(method, target, headers=headers, data=data,
                                extensions={SENT_FLAG: tracer})
        async with asyncio.timeout_at(deadline):
            response = await (client or self._client).handle_async_request(request)
            try:
                content = await response.aread()
            finally:
                await response.aclose()
            return response, content[:MAX_BODY]

    async def health(self, deadline: float | None = None) -> PollResult:
        """`deadline` (event-loop time) lets a poll round end all its polls at one instant."""
        started = time.perf_counter()
        at = self.clock()
        tracer = _Sent()
        try:
            kwargs = {"auth": self._auth()} if self.cfg.health_auth else {}
            response, raw = await self._request("GET", self.cfg.url + HEALTH_PATH, tracer,
                                                deadline, **kwargs)
        except _NoCredentials as exc:
            return PollResult(self.cfg.name, at, None, None, exc.failure)
        except Exception as exc:  # every transport failure becomes a Failure
            return PollResult(self.cfg.name, at, None, None, classify_exception(exc))
        latency = time.perf_counter() - started
        body = _decode(raw)
        if response.status_code != 200:
            return PollResult(self.cfg.name, at, latency, None, _status_failure(response, body))
        if body is _NOT_JSON:
            return PollResult(self.cfg.name, at, latency, None,
                              Failure(FailureKind.NOT_JSON, _snippet(raw)))
        health = parse_health(body)
        if health is None:
            return PollResult(self.cfg.name, at, latency, None,
                              Failure(FailureKind.BAD_RESPONSE, "JSON without health fields"))
        return PollResult(self.cfg.name, at, latency, health, None)

    async def api_alive(self, deadline: float | None = None) -> Failure | None:
        """None when the main application answers its API; the failure otherwise."""
        if self.cfg.api is None:
            return None
        tracer = _Sent()
        try:
            response, raw = await self._request("GET", self.cfg.api.url + API_PROBE_PATH, tracer,
                                                deadline, auth=self._auth("api"))
        except _NoCredentials as exc:
            return exc.failure
        except Exception as exc:
            return classify_exception(exc)
        body = _decode(raw)
        if response.status_code != 200:
            return _status_failure(response, body)
        if not isinstance(body, dict) or "total_count" not in body:
            return Failure(FailureKind.BAD_RESPONSE, "no tag list in the API answer")
        return None

    async def probe_mode(self, deadline: float | None = None) -> tuple[str | None,
                                                                      Failure | None]:
        """The mode the site's probe reports: ("production" | "standby", None), or
        (None, why not). Never the appliance's own word: it has no GET of its mode."""
        probe = self.cfg.mode_probe
        if probe is None:
            return None, None
        tracer = _Sent()
        try:
            kwargs = {"auth": self._auth()} if probe.auth else {}
            response, raw = await self._request("GET", probe.url, tracer, deadline,
                                                self._probe_client, **kwargs)
        except _NoCredentials as exc:
            return None, exc.failure
        except Exception as exc:
            return None, classify_exception(exc)
        body = _decode(raw)
        if response.status_code != 200:
            return None, _status_failure(response, body)
        if probe.json_path is None:
            text = raw.decode("utf-8", "replace")
            found = [m for m, v in (("production", probe.production),
                                    ("standby", probe.standby)) if v in text]
        else:
            value: Any = body
            for key in probe.json_path.split("."):
                value = value.get(key) if isinstance(value, dict) else None
            if value is None or isinstance(value, (dict, list)):
                return None, Failure(FailureKind.BAD_RESPONSE,
                                     f"no value at {probe.json_path}")
            text = str(value).lower() if isinstance(value, bool) else str(value)
            found = [m for m, v in (("production", probe.production),
                                    ("standby", probe.standby)) if v == text]
        if len(found) != 1:
            return None, Failure(FailureKind.BAD_RESPONSE, "the answer says neither mode"
                                 if not found else "the answer says both modes")
        return found[0], None

    async def poll(self, deadline: float | None = None) -> PollResult:
        """Health, plus the main-API probe and the mode probe when configured, concurrently."""
        if self.cfg.api is None and self.cfg.mode_probe is None:
            return await self.health(deadline)
        result, api_failure, (mode, probe_failure) = await asyncio.gather(
            self.health(deadline), self.api_alive(deadline), self.probe_mode(deadline))
        return PollResult(result.appliance, result.at, result.latency, result.health,
                          result.failure,
                          api_ok=None if self.cfg.api is None else api_failure is None,
                          api_failure=api_failure, probed_mode=mode,
                          probe_failure=probe_failure)

    async def set_mode(self, mode: str) -> ModeChangeResult:
        """POST the mode. Never reports `done` without the appliance's 200 answer, and a 200
        is read for what its message says (`_mode_answered`)."""
        if mode not in ("production", "standby"):
            raise ValueError(f"unknown mode {mode!r}")
        started = time.perf_counter()
        tracer = _Sent()
        try:
            response, raw = await self._request(
                "POST", self.cfg.url + MODE_PATH, tracer,
                data={"appliance_mode": mode}, auth=self._auth())
        except _NoCredentials as exc:
            failure = exc.failure
            return ModeChangeResult(self.cfg.name, mode, "failed", None, str(failure), False, None,
                                    failure)
        except Exception as exc:
            failure = classify_exception(exc)
            # Once the request went out, silence is not "no": the mode may have changed.
            outcome: Outcome = "unknown" if tracer.sent else "failed"
            note = ("no answer after the request was sent: the appliance may have applied it"
                    if tracer.sent else f"not sent: {failure}")
            return ModeChangeResult(self.cfg.name, mode, outcome, None, note, tracer.sent, None,
                                    failure)
        latency = time.perf_counter() - started
        body = _decode(raw)
        if response.status_code == 200:
            return self._mode_answered(mode, body, raw, latency)
        failure = _status_failure(response, body)
        outcome = "unknown" if response.status_code in (502, 504) else "failed"
        return ModeChangeResult(self.cfg.name, mode, outcome, response.status_code, str(failure),
                                True, latency, failure)


    def _mode_answered(self, mode: str, body: Any, raw: bytes,
                       latency: float) -> ModeChangeResult:
        """A 200 to the mode POST, read for what its message says."""
        def result(outcome: Outcome, message: str, failure: Failure | None = None,
                   answer: ModeAnswer | None = None) -> ModeChangeResult:
            return ModeChangeResult(self.cfg.name, mode, outcome, 200, message, True, latency,
                                    failure, answer)

        said = body.get("msg") if isinstance(body, dict) else None
        if isinstance(said, str):
            text = clean_text(said)
            answer = read_mode_answer(mode, text)
            if answer is ModeAnswer.CONFIRMS:
                return result("done", text, answer=answer)
            if answer is ModeAnswer.UNRECOGNISED:
                return result("done", f"answered 200 but its message does not confirm {mode}: "
                                      f"{_quoted(text)}", answer=answer)
            detail = (f"asked for {mode}, it answered 200 {_quoted(text)}: that is "
                      f"{other_mode(mode)}" if answer is ModeAnswer.CONTRADICTS else
                      f"asked for {mode}, it answered 200 with an error: {_quoted(text)}")
            failure = Failure(FailureKind.MODE_NOT_SET, detail, 200)
            return result("failed", str(failure), failure, answer)
        if isinstance(body, dict) and body.get("errors"):
            failure = Failure(FailureKind.MODE_NOT_SET, f"asked for {mode}, it answered 200 with "
                              f"an error: {_quoted(_error_text(body) or _snippet(raw))}", 200)
            return result("failed", str(failure), failure, ModeAnswer.ERROR)
        return result("unknown", "answered 200 without the expected message",
                      Failure(FailureKind.BAD_RESPONSE, _snippet(raw)))


def _transport(tls: TlsConfig, *, transport: TransportFactory, tls_needed: bool = True,
               source_address: str | None = None) -> httpx.AsyncBaseTransport:
    context = ssl_context_for_tls(tls) if tls_needed else None
    extra = {"source_address": source_address} if source_address else {}
    return transport(context, tls.fingerprint_sha256, **extra)


class _NoCredentials(Exception):
    """No password to send: none configured, or its source cannot be read."""

    def __init__(self, failure: Failure):
        super().__init__(str(failure))
        self.failure = failure


def unreadable_text(secret: Secret, exc: SecretError) -> str:
    """Which source failed, and why when that is safe: a command's stderr is not shown
    (a password manager may echo what it was given there)."""
    if secret.kind == "command":
        return f"{secret.describe()} failed (run it by hand to see why)"
    return str(exc)


_NOT_JSON = object()


def _decode(raw: bytes) -> Any:
    """JSON from a body, read leniently: one invalid byte in a text field is shown as "\ufffd"
    and the rest still read, so a stray byte never makes a serving appliance "down"."""
    try:
        text = raw.decode(json.detect_encoding(raw), "replace")
        return json.loads(text)
    except (ValueError, RecursionError, LookupError):
        return _NOT_JSON


def _quoted(text: str, limit: int = 160) -> str:
    """An appliance's message in quotes, one line, cut with a mark when long."""
    text = " ".join(text.split())
    return f"'{text[:limit]}…'" if len(text) > limit else f"'{text}'"


def _snippet(raw: bytes) -> str:
    text = clean_text(raw[:80].decode("utf-8", "replace"))
    return " ".join(text.split())[:60] or "(empty body)"
