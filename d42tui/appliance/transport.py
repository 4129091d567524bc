"""A small HTTP/1.1 transport for httpx on asyncio streams: keep-alive, pinning, "sent" flag.

httpx's default stack (httpcore, h11, anyio) costs ~0.85 ms of CPU per request,
which dominates polling many appliances every second; this one does the same
job for our few simple requests at a fraction of that. The pin is checked on the
TLS object right after the handshake, before a single request byte is written.
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import hashlib
import ssl
from collections import defaultdict

from ._httpx import httpx

# asyncio gives every TLS connection a 256 KiB read buffer up front (SSLProtocol.max_size);
# our answers are a few KiB, and at 200 appliances that buffer alone is 50 MB of RSS.
# A smaller value only means reads in smaller chunks.
if getattr(asyncio.sslproto.SSLProtocol, "max_size", 0) > 32 * 1024:
    asyncio.sslproto.SSLProtocol.max_size = 32 * 1024

MAX_HEAD = 64 * 1024
MAX_BODY = 4 * 1024 * 1024
SENT_FLAG = "d42tui.sent"  # request extension: a dict set to {"sent": True} once bytes go out


class PinMismatch(Exception):
    """The peer's certificate is not the pinned one; nothing was sent."""


class ProtocolError(httpx.RemoteProtocolError):
    pass


def sha256_fingerprint(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, 64, 2))


class _Conn:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with keep-alive for one client; TLS per `ssl_context`, optional SHA-256 pin."""

    def __init__(self, ssl_context: ssl.SSLContext | None, pin: str | None = None,
                 max_idle: int = 2, source_address: str | None = None):
        self.ssl_context = ssl_context
        self.pin = pin
        self.local_addr = (source_address, 0) if source_address else None
        self.max_idle = max_idle
        self._idle: dict[tuple[str, str, int], list[_Conn]] = defaultdict(list)

    async def _connect(self, scheme: str, host: str, port: int) -> _Conn:
        tls = self.ssl_context if scheme == "https" else None
        try:
            reader, writer = await asyncio.open_connection(
                host, port, ssl=tls, server_hostname=host if tls else None,
                local_addr=self.local_addr)
        except OSError as exc:  # refused, unreachable, TLS handshake (ssl.SSLError)
            raise httpx.ConnectError(str(exc) or exc.__class__.__name__) from exc
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
            if candidate.reader.at_eof() or candidate.writer.is_closing():
                candidate.close()  # the server closed it while idle
            else:
                conn = candidate
        if conn is None:
            conn = await self._connect(scheme, url.host, port)
        try:
            return await self._exchange(conn, request, key)
        except (ConnectionError, asyncio.IncompleteReadError, ProtocolError) as exc:
            conn.close()
            raise httpx.ReadError(str(exc) or exc.__class__.__name__) from exc
        except BaseException:
            conn.close()  # cancelled (deadline) or anything else: the connection is unusable
            raise

    async def _exchange(self, conn: _Conn, request: httpx.Request,
                        key: tuple[str, str, int]) -> httpx.Response:
        body = request.content if isinstance(request.stream, httpx.ByteStream) else await request.aread()
        target = request.url.raw_path.decode("ascii")
        head = [f"{request.method} {target} HTTP/1.1"]
        headers = request.headers
        for name, value in headers.multi_items():
            head.append(f"{name}: {value}")
        if body and "content-length" not in headers:
            head.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        flag = request.extensions.get(SENT_FLAG)
        if flag is not None:
            flag["sent"] = True
        conn.writer.write(data)
        await conn.writer.drain()
        try:
            raw_head = await conn.reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise ProtocolError("response head too large") from None
        if flag is not None:
            flag["answered"] = True
        lines = raw_head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"not an HTTP/1.x status line: {lines[0][:40]!r}")
        version, status = parts[0], int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        resp_headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise ProtocolError("malformed header line")
            resp_headers.append((name.strip(), value.strip()))
        lower = {n.lower(): v for n, v in resp_headers}
        keep_alive = version == "HTTP/1.1" and lower.get("connection", "").lower() != "close"
        if request.method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            content = b""
        elif "chunked" in lower.get("transfer-encoding", "").lower():
            content = await self._read_chunked(conn.reader)
        elif "content-length" in lower:
            try:
                length = int(lower["content-length"])
            except ValueError:
                raise ProtocolError("bad Content-Length") from None
            if length < 0 or length > MAX_BODY:
                raise ProtocolError("body too large")
            content = await conn.reader.readexactly(length)
        else:
            content = await conn.reader.read(MAX_BODY)
            keep_alive = False
        if keep_alive and len(self._idle[key]) < self.max_idle:
            self._idle[key].append(conn)
        else:
            conn.close()
        return httpx.Response(status, headers=resp_headers, content=content,
                              extensions={"http_version": version.encode(),
                                          "reason_phrase": reason.encode("latin-1")})

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        out = bytearray()
        while True:
            try:
                size_line = await reader.readuntil(b"\r\n")
            except asyncio.LimitOverrunError:
                raise ProtocolError("chunk header too large") from None
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError:
                raise ProtocolError("bad chunk size") from None
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                return bytes(out)
            if len(out) + size > MAX_BODY:
                raise ProtocolError("body too large")
            out += await reader.readexactly(size)
            await reader.readexactly(2)

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()
