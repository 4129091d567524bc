"""The lean HTTP/1.1 transport against small real servers: chunked, close, keep-alive, limits."""

from __future__ import annotations

import asyncio
import ssl

import httpx
import pytest

from d42tui.appliance.transport import (
    MAX_BODY,
    MAX_HEAD,
    SENT_FLAG,
    LeanTransport,
    PinMismatch,
    ProtocolError,
)
from d42tui.simulator.certs import make_certificate, server_context


async def serve(responses: list[bytes]):
    """A loopback server answering each request with the next canned response."""
    seen: list[bytes] = []

    async def handle(reader, writer):
        try:
            while responses:
                head = await reader.readuntil(b"\r\n\r\n")
                seen.append(head)
                writer.write(responses.pop(0))
                await writer.drain()
                if b"Connection: close" in seen[-1] or not responses:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", seen


async def test_chunked_body_is_reassembled():
    server, url, _ = await serve([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"])
    async with httpx.AsyncClient(transport=LeanTransport(None)) as client:
        response = await client.get(url + "/healthstats/")
    assert response.status_code == 200 and response.content == b"hello world"
    server.close()


async def test_body_until_close_and_keep_alive_reuse():
    server, url, seen = await serve([
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyes",
    ])
    async with httpx.AsyncClient(transport=LeanTransport(None)) as client:
        first = await client.get(url + "/a")
        second = await client.get(url + "/b")
    assert (first.content, second.content) == (b"ok", b"yes")
    assert len(seen) == 2  # both on one connection: the server's loop served them in turn
    server.close()


async def test_http10_body_read_to_close():
    server, url, _ = await serve([b"HTTP/1.0 200 OK\r\n\r\nold style"])
    async with httpx.AsyncClient(transport=LeanTransport(None)) as client:
        response = await client.get(url + "/")
    assert response.content == b"old style"
    server.close()


@pytest.mark.parametrize("answer", [
    b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
])
async def test_garbage_is_a_protocol_error_not_a_crash(answer):
    server, url, _ = await serve([answer])
    async with httpx.AsyncClient(transport=LeanTransport(None)) as client:
        with pytest.raises(httpx.TransportError):
            await client.get(url + "/")
    server.close()


async def test_closed_idle_connection_is_not_reused():
    server, url, seen = await serve([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])
    transport = LeanTransport(None)
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.get(url + "/")).content == b"ok"
        await asyncio.sleep(0.05)  # the server closed its side after its only answer
        server.close()
        await server.wait_closed()
        with pytest.raises(httpx.ConnectError):
            await client.get(url + "/")  # reconnect: refused, not a stale-socket hang


# --- hostile servers of our own: each connection is a `script` run on its reader/writer --------

class Server:
    """A loopback server that runs `script(reader, writer, n)` for its n-th connection (from 0)
    and records what each connection sent it."""

    def __init__(self, script, ssl_context=None):
        self.script = script
        self.ssl_context = ssl_context
        self.accepted = 0
        self.received: list[bytearray] = []  # per connection, every byte the client wrote
        self.finished: list[asyncio.Event] = []

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0,
                                                 ssl=self.ssl_context)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc):
        self.server.close()

    async def _handle(self, reader, writer):
        n = self.accepted
        self.accepted += 1
        self.received.append(bytearray())
        self.finished.append(asyncio.Event())
        try:
            await self.script(_Recording(reader, self.received[n]), writer, n)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()
            self.finished[n].set()


class _Recording:
    def __init__(self, reader, into: bytearray):
        self.reader, self.into = reader, into

    async def request(self) -> bytes:
        head = await self.reader.readuntil(b"\r\n\r\n")
        self.into += head
        return head

    async def rest(self) -> bytes:
        data = await self.reader.read()
        self.into += data
        return data


def answers(*responses: bytes, then_close: bool = True):
    """A script answering each request on a connection with the next response in turn."""
    async def script(reader, writer, n):
        for response in responses:
            await reader.request()
            writer.write(response)
            await writer.drain()
        if not then_close:
            await reader.rest()
    return script


async def wait_until(condition, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def cause(exc: BaseException, kind: type) -> BaseException:
    seen = exc
    while seen is not None and not isinstance(seen, kind):
        seen = seen.__cause__
    assert seen is not None, f"{kind.__name__} not in the cause chain of {exc!r}"
    return seen


async def test_a_chunked_body_in_pieces_with_trailers_and_the_connection_reused():
    async def script(reader, writer, n):
        await reader.request()
        for piece in (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"",
                      b"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\nX-Trailer: t\r\n\r\n"):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.01)  # two segments: the parser must wait for the second
        await reader.request()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await reader.rest()
    async with Server(script) as server:
        async with httpx.AsyncClient(transport=LeanTransport(None)) as client:
            first = await client.get(server.url + "/a")
            second = await client.get(server.url + "/b")
    assert first.content == b'{"a": 1}' and second.content == b"ok"
    assert server.accepted == 1


@pytest.mark.parametrize("response", [
    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1),  # said up front
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"               # counted as it comes
    + b"%x\r\n" % (1024 * 1024) + b"x" * (1024 * 1024) * 1 + b"\r\n",
])
async def test_a_body_over_the_cap_is_refused(response):
    async def script(reader, writer, n):
        await reader.request()
        writer.write(response)
        if b"chunked" in response:
            chunk = response.split(b"\r\n\r\n", 1)[1]
            for _ in range(MAX_BODY // (1024 * 1024) + 1):
                writer.write(chunk)
                await writer.drain()
        await reader.rest()
    async with Server(script) as server:
        async with httpx.AsyncClient(transport=LeanTransport(None)) as client:
            with pytest.raises(httpx.ReadError) as caught:
                await client.get(server.url + "/")
        await asyncio.wait_for(server.finished[0].wait(), 5)  # the client closed it
    assert str(cause(caught.value, ProtocolError)) == "body too large"


async def test_a_head_over_the_cap_is_refused():
    async def script(reader, writer, n):
        await reader.request()
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(MAX_HEAD // 1000 + 2):
            writer.write(b"X-Padding: " + b"p" * 1000 + b"\r\n")
            await writer.drain()
        await reader.rest()
    async with Server(script) as server:
        async with httpx.AsyncClient(transport=LeanTransport(None)) as client:
            with pytest.raises(httpx.ReadError) as caught:
                await client.get(server.url + "/")
    assert str(cause(caught.value, ProtocolError)) == "response head too large"


@pytest.mark.parametrize(("status_line", "said"), [
    (b"ICY 200 OK", "not an HTTP/1.x status line: 'ICY 200 OK'"),
    (b"HTTP/1.1 two hundred OK", "illegal status line"),
    (b"HTTP/1.1 200 OK\r\nno colon here", "illegal header line"),
])
async def test_a_garbage_head_is_a_protocol_error(status_line, said):
    async with Server(answers(status_line + b"\r\n\r\n")) as server:
        async with httpx.AsyncClient(transport=LeanTransport(None)) as client:
            with pytest.raises(httpx.ReadError) as caught:
                await client.get(server.url + "/")
    bad = cause(caught.value, ProtocolError)
    assert isinstance(bad, httpx.RemoteProtocolError) and str(bad).startswith(said)


@pytest.mark.parametrize(("response", "partial", "expected"), [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"a" * 10, b"a" * 10, 100),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n9\r\nwor",
     b"hellowor", None),
])
async def test_a_server_closing_mid_body_is_a_read_error_saying_how_much_came(
        response, partial, expected):
    async with Server(answers(response)) as server:
        transport = LeanTransport(None)
        async with httpx.AsyncClient(transport=transport) as client:
            with pytest.raises(httpx.ReadError) as caught:
                await client.get(server.url + "/")
            assert not any(transport._idle.values())  # nothing half-read goes back to the pool
    short = cause(caught.value, asyncio.IncompleteReadError)
    assert (short.partial, short.expected) == (partial, expected)


async def test_keep_alive_reuses_one_connection_until_the_server_says_close():
    async with Server(answers(*[b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n%d" % i
                                for i in range(3)],
                              b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nz",
                              then_close=False)) as server:
        async with httpx.AsyncClient(transport=LeanTransport(None)) as client:
            bodies = [(await client.get(server.url + f"/{i}")).content for i in range(4)]
            assert server.accepted == 1
            server.script = answers(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nn")
            bodies.append((await client.get(server.url + "/again")).content)
    assert bodies == [b"0", b"1", b"2", b"z", b"n"]
    assert server.accepted == 2  # a new connection only after the server's "close"
    assert server.received[0].count(b"GET /") == 4


@pytest.mark.parametrize("while_idle", ["closes", "speaks unasked", "speaks right after"])
async def test_a_connection_the_server_dropped_while_idle_is_not_written_on(while_idle):
    dropped, answered = asyncio.Event(), asyncio.Event()

    async def script(reader, writer, n):
        await reader.request()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\nconn%d" % (5, n))
        await writer.drain()
        if n == 0:
            if while_idle == "speaks unasked":
                await answered.wait()  # the client has its answer and the connection is idle
            if while_idle.startswith("speaks"):  # as a server timing out an idle client does
                writer.write(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                dropped.set()
                await reader.rest()  # keeps it open: only the client can see it is spoilt
            else:
                writer.close()
                await writer.wait_closed()
                dropped.set()
        else:
            await reader.rest()

    async with Server(script) as server:
        async with httpx.AsyncClient(transport=LeanTransport(None)) as client:
            assert (await client.get(server.url + "/first")).content == b"conn0"
            answered.set()
            await asyncio.wait_for(dropped.wait(), 5)
            second = await client.get(server.url + "/second")
        await asyncio.wait_for(server.finished[0].wait(), 5)
    assert (second.status_code, second.content) == (200, b"conn1")
    assert server.accepted == 2
    assert b"/second" not in server.received[0]  # not a byte of it on the dropped connection
    assert server.received[1].startswith(b"GET /second ")


@pytest.fixture(scope="module")
def tls_server_context():
    return make_certificate("pinned"), server_context(make_certificate("impostor"))


async def test_the_pin_refuses_before_a_byte_is_written(tls_server_context):
    pinned, impostor_context = tls_server_context

    async def script(reader, writer, n):
        await reader.rest()  # every byte the client sends after the handshake, until it closes

    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.check_hostname = False
    client_context.verify_mode = ssl.CERT_NONE
    async with Server(script, impostor_context) as server:
        flag: dict = {}
        async with httpx.AsyncClient(
                transport=LeanTransport(client_context, pinned.fingerprint_sha256)) as client:
            with pytest.raises(PinMismatch):
                await client.post(server.url + "/api/1.0/appliancemode/",
                                  data={"mode": "standby"}, extensions={SENT_FLAG: flag},
                                  auth=("admin", "secret"))
        await wait_until(lambda: server.finished and server.finished[0].is_set())
    assert server.accepted == 1  # the handshake happened: the refusal is the pin's
    assert server.received[0] == b""
    assert flag == {}  # "never sent": the client can say so for a mode change


async def test_the_right_pin_is_served(tls_server_context):
    pinned, _ = tls_server_context
    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.check_hostname = False
    client_context.verify_mode = ssl.CERT_NONE
    flag: dict = {}
    async with Server(answers(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"),
                      server_context(pinned)) as server:
        async with httpx.AsyncClient(
                transport=LeanTransport(client_context, pinned.fingerprint_sha256)) as client:
            response = await client.get(server.url + "/", extensions={SENT_FLAG: flag})
    assert response.content == b"{}" and response.http_version == "HTTP/1.1"
    assert flag == {"sent": True, "answered": True}
