"""A small HTTP/1.1 transport for httpx on asyncio streams: keep-alive, pinning, "sent" flag.

HTTP/1.1 itself (status line, headers, framing, chunked bodies, keep-alive rules) is
h11's, the sans-IO implementation httpcore uses too; this module only moves its bytes.
httpx's default stack (httpcore on anyio) costs about twice the CPU per request, which
dominates polling many appliances every second (`benchmarks/poll_many.py` prints both).
What this transport adds:

- the certificate pin, checked on the TLS object right after the handshake, before a
  single request byte (and so before credentials) is written: `PinMismatch`;
- the `SENT_FLAG` request extension: a dict that gets `"sent": True` just before the
  request's bytes go out and `"answered": True` once the response head has arrived, so the
  client can tell a mode change that never left from one that is in doubt;
- caps: the response head (`MAX_HEAD`, h11's `max_incomplete_event_size`) and the body
  (`MAX_BODY`, counted as it arrives);
- smaller TLS read buffers than asyncio's (`_small_tls_read_buffers`, measured there);
- keep-alive with a small idle pool: a connection goes back only when h11 says both sides
  are IDLE for the next cycle; an idle connection that received anything (the server closed
  it, or wrote to it unasked) is dropped before a byte is written on it, and the request goes
  on a fresh one. A request is never written twice: once its bytes went out, a failure is
  the caller's to judge ("unknown" for a mode change), not retried here.

Errors, as httpx's: `httpx.ConnectError` for connecting, `httpx.ReadError` for a failure
during the exchange, caused by `asyncio.IncompleteReadError` (the peer closed early: how
much arrived) or by `ProtocolError` (an answer that is not valid HTTP, h11's verdict).
Any error or cancellation closes the connection.
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import hashlib
import select
import ssl
from collections import defaultdict

import h11

from ._httpx import httpx

MAX_HEAD = 64 * 1024
MAX_BODY = 4 * 1024 * 1024
READ_SIZE = 64 * 1024
SENT_FLAG = "d42tui.sent"  # request extension: a dict set to {"sent": True} once bytes go out


def _small_tls_read_buffers() -> None:
    """asyncio gives every TLS connection a 256 KiB read buffer up front
    (`SSLProtocol.max_size`, a private class attribute, bytearray'd and so touched at once);
    our answers are a few KiB. Measured with `benchmarks/poll_many.py --transport lean`
    (200 TLS appliances, 8 rounds, twice each): peak RSS 120 MB as asyncio has it, 76-77 MB
    with 32 KiB, CPU per round the same within the noise. A smaller value only means reads
    in smaller chunks. This is the one place that touches it; it applies process-wide once
    a LeanTransport exists, and leaves a Python whose asyncio has no such attribute alone."""
    if getattr(asyncio.sslproto.SSLProtocol, "max_size", 0) > 32 * 1024:
        asyncio.sslproto.SSLProtocol.max_size = 32 * 1024


class PinMismatch(Exception):
    """The peer's certificate is not the pinned one; nothing was sent."""


class ProtocolError(httpx.RemoteProtocolError):
    pass


def sha256_fingerprint(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, 64, 2))


class _Reader(asyncio.StreamReader):
    """A stream reader that notes whether anything arrived while its connection sat idle."""

    idle = False
    stale = False

    def feed_data(self, data: bytes) -> None:
        if self.idle:
            self.stale = True
        super().feed_data(data)

    def feed_eof(self) -> None:
        if self.idle:
            self.stale = True
        super().feed_eof()

    def set_exception(self, exc: BaseException) -> None:
        if self.idle:
            self.stale = True
        super().set_exception(exc)


class _Conn:
    __slots__ = ("reader", "writer", "h11")

    def __init__(self, reader: _Reader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)

    def usable(self) -> bool:
        """For an idle connection: nothing arrived since it went idle, nothing is waiting in
        the kernel either (a FIN or an unasked answer the loop has not read yet)."""
        if self.reader.stale or self.reader.at_eof() or self.writer.is_closing():
            return False
        sock = self.writer.get_extra_info("socket")
        if sock is None:
            return False
        try:
            readable, _, _ = select.select([sock.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def close(self) -> None:
        self.writer.close()


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with keep-alive for one client; TLS per `ssl_context`, optional SHA-256 pin."""

    def __init__(self, ssl_context: ssl.SSLContext | None, pin: str | None = None,
                 max_idle: int = 2, source_address: str | None = None):
        if ssl_context is not None:
            _small_tls_read_buffers()
        self.ssl_context = ssl_context
        self.pin = pin
        self.local_addr = (source_address, 0) if source_address else None
        self.max_idle = max_idle
        self._idle: dict[tuple[str, str, int], list[_Conn]] = defaultdict(list)

    async def _connect(self, scheme: str, host: str, port: int) -> _Conn:
        tls = self.ssl_context if scheme == "https" else None
        loop = asyncio.get_running_loop()
        reader = _Reader(limit=MAX_HEAD, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        try:
            transport, _ = await loop.create_connection(
                lambda: protocol, host, port, ssl=tls, server_hostname=host if tls else None,
                local_addr=self.local_addr)
        except OSError as exc:  # refused, unreachable, TLS handshake (ssl.SSLError)
            raise httpx.ConnectError(str(exc) or exc.__class__.__name__) from exc
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        if tls is not None and self.pin:
            ssl_object = writer.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
            seen = sha256_fingerprint(der) if der else "no certificate"
            if seen != self.pin:
                writer.close()
                raise PinMismatch(f"presented {seen[:23]}…, pinned {self.pin[:23]}…")
        return _Conn(reader, writer)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        port = url.port or (443 if scheme == "https" else 80)
        key = (scheme, url.host, port)
        idle = self._idle[key]
        conn = None
        while idle and conn is None:
            candidate = idle.pop()
            if candidate.usable():
                candidate.reader.idle = False
                conn = candidate
            else:
                candidate.close()  # the server closed it (or spoke unasked) while it was idle
        if conn is None:
            conn = await self._connect(scheme, url.host, port)
        try:
            response = await self._exchange(conn, request)
        except (ConnectionError, asyncio.IncompleteReadError, ProtocolError) as exc:
            conn.close()
            raise httpx.ReadError(str(exc) or exc.__class__.__name__) from exc
        except BaseException:
            conn.close()  # cancelled (deadline) or anything else: the connection is unusable
            raise
        self._release(conn, key)
        return response

    def _release(self, conn: _Conn, key: tuple[str, str, int]) -> None:
        """Back to the idle pool if h11 says the connection can carry another request."""
        state = conn.h11
        if state.our_state is h11.DONE and state.their_state is h11.DONE:
            state.start_next_cycle()
        if (state.our_state is h11.IDLE and state.their_state is h11.IDLE
                and not state.trailing_data[0]  # bytes after the answer: not ours to read
                and len(self._idle[key]) < self.max_idle):
            conn.reader.idle = True
            self._idle[key].append(conn)
        else:
            conn.close()

    async def _exchange(self, conn: _Conn, request: httpx.Request) -> httpx.Response:
        body = request.content if isinstance(request.stream, httpx.ByteStream) else await request.aread()
        headers = list(request.headers.raw)
        if body and "content-length" not in request.headers:
            headers.append((b"Content-Length", str(len(body)).encode("ascii")))
        state = conn.h11
        try:
            data = state.send(h11.Request(method=request.method.encode("ascii"),
                                          target=request.url.raw_path, headers=headers))
            if body:
                data += state.send(h11.Data(data=body))
            data += state.send(h11.EndOfMessage())
        except h11.LocalProtocolError as exc:  # nothing was written
            raise httpx.LocalProtocolError(str(exc)) from exc
        flag = request.extensions.get(SENT_FLAG)
        if flag is not None:
            flag["sent"] = True
        conn.writer.write(data)
        await conn.writer.drain()
        return await self._read_response(conn, flag, has_body=request.method != "HEAD")

    @staticmethod
    async def _read_response(conn: _Conn, flag: dict | None, *,
                             has_body: bool) -> httpx.Response:
        state, reader = conn.h11, conn.reader
        head = bytearray()  # what arrived before the response head was whole, for the words
        response: h11.Response | None = None
        chunks: list[bytes] = []
        size = 0
        expected: int | None = None
        closed = False
        while True:
            try:
                event = state.next_event()
            except h11.RemoteProtocolError as exc:
                if closed:  # the peer closed before the answer was whole
                    partial = bytes(head) if response is None else b"".join(chunks)
                    raise asyncio.IncompleteReadError(partial, expected) from None
                raise _protocol_error(exc, head if response is None else None) from exc
            if event is h11.NEED_DATA:
                data = await reader.read(READ_SIZE)
                closed = not data
                if response is None:
                    head += data
                state.receive_data(data)  # b"" tells h11 the peer closed
            elif isinstance(event, h11.Response):
                response = event
                if flag is not None:
                    flag["answered"] = True
                if has_body and event.status_code not in (204, 304):
                    expected = _content_length(event)
                    if expected is not None and expected > MAX_BODY:
                        raise ProtocolError("body too large")  # said up front: not read
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > MAX_BODY:
                    raise ProtocolError("body too large")
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise asyncio.IncompleteReadError(bytes(head), None)
            # h11.InformationalResponse (1xx): the real answer follows
        assert response is not None
        return httpx.Response(
            response.status_code, headers=response.headers.raw_items(), content=b"".join(chunks),
            extensions={"http_version": b"HTTP/" + response.http_version,
                        "reason_phrase": response.reason})

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()


def _content_length(response: h11.Response) -> int | None:
    for name, value in response.headers:
        if name == b"content-length":
            return int(value)  # h11 has checked it is a number
    return None


def _protocol_error(exc: h11.RemoteProtocolError, head: bytearray | None) -> ProtocolError:
    """h11's verdict on a malformed answer, in the words the failure texts use."""
    if head is not None:
        if exc.error_status_hint == 431:
            return ProtocolError("response head too large")
        if not head.startswith(b"HTTP/1."):
            line = bytes(head).split(b"\r\n", 1)[0].decode("latin-1")
            return ProtocolError(f"not an HTTP/1.x status line: {line[:40]!r}")
    return ProtocolError(str(exc) or "malformed answer")
