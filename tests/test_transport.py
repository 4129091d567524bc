"""The lean HTTP/1.1 transport against small real servers: chunked, close, keep-alive, limits."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from d42tui.appliance.transport import LeanTransport


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
