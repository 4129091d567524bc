"""A small HTTP/1.1 server on asyncio streams: the plumbing under every simulated listener.

It parses requests strictly (malformed → 400, oversized → 431/413, unsupported
transfer codings → 501), keeps connections alive, and lets a handler answer, hang
up without answering, or hold the connection forever (the black hole).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

log = logging.getLogger("d42tui.simulator")

MAX_HEAD_BYTES = 16 * 1024  # request line + headers
MAX_HEADERS = 100
MAX_BODY_BYTES = 1024 * 1024
IDLE_TIMEOUT = 75.0  # a keep-alive connection waiting for its next request
BODY_TIMEOUT = 30.0
CLOSE_TIMEOUT = 2.0
LINGER_SECONDS = 1.0  # after an error response, how long unread input is drained
LINGER_BYTES = 4 * MAX_BODY_BYTES  # TLS close_notify exchange before the transport is aborted

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_REQUEST_LINE = re.compile(rf"^({_TOKEN}) (\S+) HTTP/(\d)\.(\d)$")
_HEADER_NAME = re.compile(rf"^{_TOKEN}$")


class HangUp:
    """Handler outcome: close the connection without sending a response."""


class Hold:
    """Handler outcome: never answer; keep the connection until the client leaves."""


HANG_UP = HangUp()
HOLD = Hold()


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    path: str
    query: str
    version: tuple[int, int]
    headers: tuple[tuple[str, str], ...]  # names lower-cased, in order received
    body: bytes
    client: str | None = None  # the peer's address (faults by client address)

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def connection_tokens(self) -> set[str]:
        return {token.strip().lower() for key, value in self.headers if key == "connection"
                for token in value.split(",")}

    @property
    def wants_keep_alive(self) -> bool:
        tokens = self.connection_tokens()
        if self.version >= (1, 1):
            return "close" not in tokens
        return "keep-alive" in tokens


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False  # close the connection after this response

    @classmethod
    def json(cls, status: int, payload: Any, headers: list[tuple[str, str]] | None = None,
             close: bool = False) -> Response:
        return cls(status, json.dumps(payload).encode(), "application/json", headers or [], close)


Outcome = Response | HangUp | Hold
Handler = Callable[[Request], Awaitable[Outcome]]
ErrorFactory = Callable[[int, str], Response]


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class HttpError(Exception):
    """The request cannot be served; answered with `status` and the connection closed."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def parse_head(head: bytes) -> tuple[str, str, tuple[int, int], list[tuple[str, str]]]:
    """Request line and headers from the bytes before the blank line (CRLF endings)."""
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        raise HttpError(400, "undecodable request head") from None
    lines = text.split("\r\n")
    match = _REQUEST_LINE.match(lines[0])
    if not match:
        raise HttpError(400, "malformed request line")
    method, target = match.group(1), match.group(2)
    major, minor = int(match.group(3)), int(match.group(4))
    if (major, minor) not in ((1, 0), (1, 1)):
        raise HttpError(505, f"HTTP/{major}.{minor} is not supported")
    if not (target.startswith("/") or target == "*"):
        raise HttpError(400, "the request target must be an absolute path")
    if any(ord(c) < 0x21 or ord(c) > 0x7e for c in target):
        raise HttpError(400, "the request target has invalid characters")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":
            raise HttpError(400, "obsolete header line folding")
        name, sep, value = line.partition(":")
        if not sep or not _HEADER_NAME.match(name):
            raise HttpError(400, "malformed header line")
        if any(c in value for c in "\r\n\0"):
            raise HttpError(400, "invalid character in a header value")
        headers.append((name.lower(), value.strip(" \t")))
        if len(headers) > MAX_HEADERS:
            raise HttpError(431, f"more than {MAX_HEADERS} header lines")
    if (major, minor) == (1, 1) and not any(k == "host" for k, _ in headers):
        raise HttpError(400, "HTTP/1.1 requests need a Host header")
    return method, target, (major, minor), headers


def body_length(headers: list[tuple[str, str]]) -> int:
    if any(k == "transfer-encoding" for k, _ in headers):
        if any(k == "content-length" for k, _ in headers):
            raise HttpError(400, "both Transfer-Encoding and Content-Length")
        raise HttpError(501, "Transfer-Encoding is not supported; send Content-Length")
    values = {v for k, v in headers if k == "content-length"}
    if not values:
        return 0
    if len(values) > 1 or not next(iter(values)).isdigit():
        raise HttpError(400, "invalid Content-Length")
    length = int(next(iter(values)))
    if length > MAX_BODY_BYTES:
        raise HttpError(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    return length


async def read_request(reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> Request | None:
    """The next request on the connection, or None when the client closed it cleanly."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise HttpError(400, "connection closed inside the request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise HttpError(431, f"request head larger than {MAX_HEAD_BYTES} bytes") from None
    except TimeoutError:
        return None
    head = head.lstrip(b"\r\n")  # RFC 9112 §2.2: tolerate blank lines before the request line
    if len(head) > MAX_HEAD_BYTES:
        raise HttpError(431, f"request head larger than {MAX_HEAD_BYTES} bytes")
    method, target, version, headers = parse_head(head[:-4])
    length = body_length(headers)
    body = b""
    if length:
        if any(k == "expect" and v.lower() == "100-continue" for k, v in headers):
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            body = await asyncio.wait_for(reader.readexactly(length), BODY_TIMEOUT)
        except (TimeoutError, asyncio.IncompleteReadError):
            raise HttpError(400, "the body is shorter than its Content-Length") from None
    path, _, query = target.partition("?")
    return Request(method, target, path, query, version, tuple(headers), body)


def encode_response(response: Response, keep_alive: bool, head_only: bool = False) -> bytes:
    lines = [f"HTTP/1.1 {response.status} {reason(response.status)}",
             f"Date: {formatdate(usegmt=True)}",
             "Server: d42tui-simulator"]
    if response.content_type:
        lines.append(f"Content-Type: {response.content_type}")
    lines.append(f"Content-Length: {len(response.body)}")
    lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    lines.extend(f"{k}: {v}" for k, v in response.headers)
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + response.body


def _plain_error(status: int, detail: str) -> Response:
    return Response.json(status, {"error": detail})


class Listener:
    """One listening socket (TCP or TLS on 127.0.0.1) and the connections it accepted.

    `close()` stops listening and drops every connection (clients then see
    "connection refused"); `open()` binds again on the same port.
    """

    def __init__(self, handler: Handler, ssl_context: ssl.SSLContext | None = None,
                 on_error: ErrorFactory = _plain_error, host: str = "127.0.0.1"):
        self.handler = handler
        self.ssl_context = ssl_context
        self.on_error = on_error
        self.host = host
        self.port: int | None = None
        self._server: asyncio.AbstractServer | None = None
        self._connections: dict[asyncio.Task, asyncio.StreamWriter] = {}

    @property
    def is_open(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{self.host}:{self.port}"

    async def open(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port or 0, ssl=self.ssl_context,
            limit=MAX_HEAD_BYTES + 4, reuse_address=True, backlog=128,
            ssl_handshake_timeout=10.0 if self.ssl_context else None)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task, writer in list(self._connections.items()):
            writer.transport.abort()
            task.cancel()
        if self._connections:
            await asyncio.wait(list(self._connections), timeout=2.0)
        if server is not None:
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if self._server is None:  # the TLS handshake finished after close()
            writer.transport.abort()
            return
        self._connections[task] = writer
        try:
            await self._converse(reader, writer)
        except asyncio.CancelledError:
            # Swallowed on purpose: on 3.11 start_server's done-callback calls
            # task.exception(), which raises (and logs a traceback) for a cancelled task.
            writer.transport.abort()
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
            writer.transport.abort()
        finally:
            self._connections.pop(task, None)
            try:
                await _close(writer)
            except asyncio.CancelledError:
                writer.transport.abort()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                request = await read_request(reader, writer)
            except HttpError as exc:
                error = self.on_error(exc.status, exc.detail)
                writer.write(encode_response(error, keep_alive=False))
                await writer.drain()
                await _discard_rest(reader, writer)
                return
            if request is None:
                return
            peer = writer.get_extra_info("peername")
            if isinstance(peer, tuple) and peer:
                request = replace(request, client=str(peer[0]))
            try:
                outcome = await self.handler(request)
            except Exception:  # a simulator bug must answer 500, not kill the listener
                log.exception("simulator handler failed for %s %s", request.method, request.path)
                outcome = self.on_error(500, "the simulator failed to handle this request")
            if isinstance(outcome, HangUp):
                writer.transport.abort()
                return
            if isinstance(outcome, Hold):
                await _hold(reader)
                return
            keep_alive = request.wants_keep_alive and not outcome.close
            writer.write(encode_response(outcome, keep_alive, head_only=request.method == "HEAD"))
            await writer.drain()
            if not keep_alive:
                return


async def _discard_rest(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Let an error response reach a client that is still sending (a too-large body).

    Closing a socket with unread input makes the kernel send a reset, which can
    destroy the response before the client reads it; so read and drop for a moment.
    """
    if writer.can_write_eof():
        writer.write_eof()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LINGER_SECONDS
    received = 0
    while received < LINGER_BYTES and (left := deadline - loop.time()) > 0:
        try:
            chunk = await asyncio.wait_for(reader.read(65536), left)
        except (TimeoutError, OSError, ssl.SSLError):
            return
        if not chunk:
            return
        received += len(chunk)


async def _hold(reader: asyncio.StreamReader) -> None:
    """Read and discard until the client gives up (EOF) or the task is cancelled."""
    while await reader.read(65536):
        pass


async def _close(writer: asyncio.StreamWriter) -> None:
    if writer.transport.is_closing():
        return
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT)
    except (TimeoutError, ConnectionError, ssl.SSLError, OSError):
        writer.transport.abort()
    except asyncio.CancelledError:
        writer.transport.abort()
        raise
