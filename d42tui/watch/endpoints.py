"""The watcher's read-only HTTP endpoints: `/metrics`, `/status` and load-balancer checks.

Served from inside the watcher's event loop by a small asyncio server; h11 parses every
byte a client sends. Each connection is bounded (a request head of 8 KiB, a deadline to
send it, a deadline to take the answer, at most `MAX_CONNECTIONS` at once), so a slow or
hostile client costs a socket, never a poll round. Nothing here changes the watcher:
every handler only reads the snapshots and decisions it already holds.

    GET /metrics                       Prometheus text exposition (metrics.py)
    GET /status                        what `d42tui status --json` prints
    GET /pairs/PAIR/production         200 while the pair's production serves, else 503
    GET /appliances/NAME/production    200 while NAME is desired and asserted production
    GET /appliances/NAME/standby       200 while NAME is desired and asserted standby
                                       (and answers); 503 with the reason otherwise

HEAD is answered like GET without a body; any other method is 405, an unknown name 404.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import h11

from ..config.errors import ConfigError
from ..config.secrets import SecretError
from ..engine.pair import PairSnapshot, Verdict
from ..engine.words import iso
from .config import ListenAddress, WatchConfig
from .metrics import WatcherMetrics

if TYPE_CHECKING:
    from .service import Watcher

MAX_HEAD = 8 * 1024  # request line and headers; a larger one is cut off (431)
HEAD_TIMEOUT = 10.0  # seconds to send a whole request head, from its first byte or idle
WRITE_TIMEOUT = 10.0  # seconds for a client to take an answer
TLS_HANDSHAKE_TIMEOUT = 10.0
MAX_CONNECTIONS = 32  # at once; more are closed at once, unread
MAX_REQUESTS_PER_CONNECTION = 100
READ_CHUNK = 4096
JSON_TYPE = "application/json"
SERVER = b"d42tui-watch"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()


def json_answer(status: int, data: Any, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
    return Answer(status, (json.dumps(data, ensure_ascii=False) + "\n").encode(), JSON_TYPE,
                  headers)


# --- the health checks (pure) ----------------------------------------------------------


def stale_after(watch: Any) -> float:
    """How old the latest poll may be before a health check stops trusting it: the
    heartbeat's own rule (three intervals and a timeout)."""
    poll = watch.pair.poll
    return 3 * poll.interval + poll.timeout + 5


def role_check(snap: PairSnapshot | None, name: str, role: str, now: float,
               max_age: float) -> tuple[bool, str]:
    """Whether `name` is the pair's desired and asserted `role` and answers, and why not."""
    if snap is None:
        return False, "not polled yet"
    if now - snap.at > max_age:
        return False, f"the watcher's latest poll is {now - snap.at:.0f}s old"
    verdict = snap.verdict.verdict
    if verdict is Verdict.STATE_DAMAGED:
        return False, "the state file is damaged: which appliance is production is unknown"
    desired = snap.desired_production
    if role == "production" and name != desired:
        return False, f"{name} is not the desired production ({desired} is)"
    if role == "standby" and name == desired:
        return False, f"{name} is the desired production, not the standby"
    mode = snap.modes[name].mode
    if mode != role:
        return False, f"{name} is asserted {mode}, not {role}"
    if role == "standby" and verdict is Verdict.SPLIT_BRAIN:
        return False, "SPLIT BRAIN: both appliances act as production"
    last = snap.views[name].last
    if last is None:
        return False, f"{name} not polled yet"
    if not last.ok:
        kind = last.failure.kind.label if last.failure is not None else "no answer"
        return False, f"{name} does not answer its health poll ({kind})"
    return True, f"{name} is {role} and answers"


# --- the server ----------------------------------------------------------------------------


class EndpointServer:
    """The endpoints of one watcher; `start()` binds, `aclose()` stops serving."""

    def __init__(self, watcher: Watcher, settings: WatchConfig, address: ListenAddress, *,
                 status: Callable[[], dict[str, Any]] | None = None):
        self.watcher = watcher
        self.settings = settings
        self.address = address
        self.metrics = WatcherMetrics(watcher)
        self._status = status or self._status_json
        self._server: asyncio.Server | None = None
        self._auth: bytes | None = None
        self._context: ssl.SSLContext | None = None
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self._tasks: set[asyncio.Task[None]] = set()
        self.port: int | None = None
        self.refused = 0  # connections closed unread: over MAX_CONNECTIONS

    # --- starting and stopping --------------------------------------------------------------

    async def start(self) -> None:
        await self.prepare()
        await self.bind()

    async def prepare(self) -> None:
        """Read the basic-auth password and load the certificate; ConfigError (exit 2)
        naming the key when one cannot be used."""
        auth = self.settings.basic_auth
        if auth is not None:
            secret = auth.secret()
            try:
                password = await asyncio.to_thread(secret.value)
            except SecretError as exc:
                raise ConfigError([f"watch.basic_auth.{_given(auth)}: {exc.text}: the "
                                   "endpoints are not served without their password"]) from None
            if not password:
                raise ConfigError([f"watch.basic_auth.{_given(auth)}: {secret.describe()} gave "
                                   "an empty password"])
            self._auth = f"{auth.username}:{password}".encode()
        self._context = self._tls_context()

    async def bind(self) -> None:
        """Start serving; OSError when the address cannot be bound."""
        context = self._context
        self._server = await asyncio.start_server(
            self._connection, self.address.host, self.address.port, ssl=context,
            ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT if context else None,
            limit=MAX_HEAD, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    def _tls_context(self) -> ssl.SSLContext | None:
        tls = self.settings.tls
        if tls is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(tls.cert_file.expanduser(), tls.key_file.expanduser())
        except (OSError, ssl.SSLError) as exc:
            why = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or "unusable"
            raise ConfigError([f"watch.tls: cannot load {tls.cert_file} / {tls.key_file}: "
                               f"{why}"]) from None
        return context

    @property
    def url(self) -> str:
        scheme = "https" if self.settings.tls else "http"
        host = f"[{self.address.host}]" if ":" in self.address.host else self.address.host
        return f"{scheme}://{host}:{self.port}"

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    # --- one connection ---------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        if self._slots.locked():  # the flood is bounded: no reading, no parsing
            self.refused += 1
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        clean = False
        try:
            async with self._slots:
                await self._serve(reader, writer)
            clean = True
        except (OSError, ssl.SSLError, TimeoutError, asyncio.IncompleteReadError):
            pass  # the client went away or was too slow: nothing to tell anyone
        except asyncio.CancelledError:
            pass  # the server closes (`aclose`): the connection goes with it
        finally:
            self._tasks.discard(task)
            if clean:
                writer.close()  # the answer is already drained: this only sends the FIN
            else:
                writer.transport.abort()  # never wait on a client that does not read

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        for served in range(1, MAX_REQUESTS_PER_CONNECTION + 1):
            try:
                request = await asyncio.wait_for(self._next_request(conn, reader), HEAD_TIMEOUT)
            except TimeoutError:
                return  # slow (a slowloris) or idle: the connection goes, unanswered
            except h11.RemoteProtocolError as exc:
                if conn.our_state is h11.IDLE:
                    status = exc.error_status_hint
                    reason = ("request head too large" if status == 431 else "bad request")
                    await self._send(conn, writer, json_answer(status, {"error": reason}),
                                     head_only=False, close=True)
                return
            if request is None:
                return  # the client closed
            answer = self._answer(request)
            head_only = request.method == b"HEAD"
            # the last request a connection may carry says so: the client opens another
            reusable = conn.their_state is h11.DONE and served < MAX_REQUESTS_PER_CONNECTION
            await self._send(conn, writer, answer, head_only=head_only, close=not reusable)
            if not reusable or conn.our_state is not h11.DONE:
                return
            try:
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                return

    async def _next_request(self, conn: h11.Connection,
                            reader: asyncio.StreamReader) -> h11.Request | None:
        """The next request's head. A body is never read: no endpoint takes one."""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(READ_CHUNK)
                conn.receive_data(data)
                if not data and conn.their_state is h11.IDLE:
                    return None
                continue
            if isinstance(event, h11.Request):
                # No body: its end is already parsed, and the connection can serve again.
                # A declared body is never read: the connection closes after the answer.
                if conn.their_state is h11.SEND_BODY and not _declares_body(event):
                    conn.next_event()  # EndOfMessage
                return event
            return None  # ConnectionClosed, or PAUSED after a protocol switch: done

    async def _send(self, conn: h11.Connection, writer: asyncio.StreamWriter, answer: Answer,
                    *, head_only: bool, close: bool) -> None:
        headers = [("content-type", answer.content_type),
                   ("content-length", str(len(answer.body))),
                   ("cache-control", "no-store"), ("x-content-type-options", "nosniff"),
                   *answer.headers]
        if close:
            headers.append(("connection", "close"))
        out = conn.send(h11.Response(status_code=answer.status, headers=headers,
                                     reason=_REASONS.get(answer.status, b"")))
        if not head_only and answer.body:
            out = (out or b"") + (conn.send(h11.Data(data=answer.body)) or b"")
        out = (out or b"") + (conn.send(h11.EndOfMessage()) or b"")
        writer.write(out)
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)

    # --- routing ----------------------------------------------------------------------------

    def _answer(self, request: h11.Request) -> Answer:
        if self._auth is not None and not self._authorized(request):
            return json_answer(401, {"error": "authentication required"},
                               (("www-authenticate", 'Basic realm="d42tui", charset="UTF-8"'),))
        if request.method not in (b"GET", b"HEAD"):
            return json_answer(405, {"error": "read-only: only GET and HEAD"},
                               (("allow", "GET, HEAD"),))
        path = request.target.split(b"?", 1)[0]
        try:
            parts = path.decode("ascii").split("/")
        except UnicodeDecodeError:
            return json_answer(404, {"error": "no such endpoint"})
        if parts[0] != "":
            return json_answer(400, {"error": "the target must be a path"})
        parts = parts[1:]
        if parts == ["metrics"]:
            body, kind = self.metrics.exposition()
            return Answer(200, body, kind)
        if parts == ["status"]:
            return json_answer(200, self._status())
        if len(parts) == 3 and parts[0] == "pairs" and parts[2] == "production":
            return self._pair_production(parts[1])
        if len(parts) == 3 and parts[0] == "appliances" and parts[2] in ("production",
                                                                          "standby"):
            return self._appliance_role(parts[1], parts[2])
        return json_answer(404, {"error": "no such endpoint", "endpoints": [
            "/metrics", "/status", "/pairs/PAIR/production", "/appliances/NAME/production",
            "/appliances/NAME/standby"]})

    def _authorized(self, request: h11.Request) -> bool:
        assert self._auth is not None
        given = b""
        for name, value in request.headers:
            if name == b"authorization":
                scheme, _, token = value.partition(b" ")
                if scheme.lower() == b"basic":
                    try:
                        given = base64.b64decode(token.strip(), validate=True)
                    except (binascii.Error, ValueError):
                        given = b""
        return hmac.compare_digest(given, self._auth)

    def _pair_production(self, name: str) -> Answer:
        watch = self.watcher.pairs.get(name)
        if watch is None:
            return json_answer(404, {"error": "no such pair", "pairs": list(self.watcher.pairs)})
        snap = watch.poller.latest
        appliance = snap.desired_production if snap is not None else None
        if appliance is None:
            return self._role_answer(watch, snap, None, "production", False, "not polled yet")
        ok, why = role_check(snap, appliance, "production", self.watcher.clock(),
                             stale_after(watch))
        return self._role_answer(watch, snap, appliance, "production", ok, why)

    def _appliance_role(self, name: str, role: str) -> Answer:
        watch = next((w for w in self.watcher.pairs.values() if name in w.names), None)
        if watch is None:
            return json_answer(404, {"error": "no such appliance", "appliances": [
                n for w in self.watcher.pairs.values() for n in w.names]})
        snap = watch.poller.latest
        ok, why = role_check(snap, name, role, self.watcher.clock(), stale_after(watch))
        return self._role_answer(watch, snap, name, role, ok, why)

    def _role_answer(self, watch: Any, snap: PairSnapshot | None, appliance: str | None,
                     role: str, ok: bool, why: str) -> Answer:
        return json_answer(200 if ok else 503, {
            "pair": watch.pair.name, "appliance": appliance, "role": role, "ok": ok,
            "why": why, "verdict": snap.verdict.verdict.value if snap else Verdict.UNKNOWN.value,
            "desired_production": snap.desired_production if snap else None,
            "polled_at": iso(snap.at) if snap else None})

    def _status_json(self) -> dict[str, Any]:
        from ..cli.report import status_json

        snaps = {name: w.poller.latest for name, w in self.watcher.pairs.items()
                 if w.poller.latest is not None}
        return status_json(self.watcher.config, snaps, self.watcher.clock())


def _declares_body(request: h11.Request) -> bool:
    for name, value in request.headers:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


def _given(auth: Any) -> str:
    for key in ("password_command", "password_file", "password_env"):
        if getattr(auth, key, None) is not None:
            return key
    return "password"


_REASONS = {200: b"OK", 400: b"Bad Request", 401: b"Unauthorized", 404: b"Not Found",
            405: b"Method Not Allowed", 408: b"Request Timeout", 413: b"Content Too Large",
            431: b"Request Header Fields Too Large", 503: b"Service Unavailable"}
