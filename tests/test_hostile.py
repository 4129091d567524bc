"""A hostile or broken appliance never raises out of the client: every answer is classified."""

from __future__ import annotations

import asyncio
import time

import pytest

from d42tui.appliance import ApplianceClient
from d42tui.config import ApplianceConfig

DEEP = b"[" * 100_000 + b"]" * 100_000


async def hostile_server(answer: bytes, trickle: bool = False):
    async def handle(reader, writer):
        try:
            await reader.readuntil(b"\r\n\r\n")
            if trickle:  # slowloris: one byte a while, forever
                for byte in answer:
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(0.05)
            else:
                writer.write(answer)
                await writer.drain()
                await asyncio.sleep(5)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


CASES = {
    "huge header": b"HTTP/1.1 200 OK\r\nX-Junk: " + b"a" * 200_000 + b"\r\n\r\n",
    "endless chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       + b"400000\r\n" + b"x" * 0x400000 + b"\r\n" + b"400000\r\n",
    "deep JSON": b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(DEEP) + DEEP,
    "not UTF-8": b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\xff\xfe\xfa\xfb",
    "infinite numbers": b'HTTP/1.1 200 OK\r\nContent-Length: 60\r\n\r\n'
                        b'{"cpu_used_percent": 1e999, "dbsize": "-5 MB", "version": 1}   ',
    "lies about length": b"HTTP/1.1 200 OK\r\nContent-Length: 9999\r\n\r\n{}",
    "not HTTP": b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
}


@pytest.mark.parametrize("name", list(CASES))
async def test_hostile_answers_become_failures_within_the_deadline(name):
    server, port = await hostile_server(CASES[name], trickle=False)
    cfg = ApplianceConfig(name="evil", url=f"http://127.0.0.1:{port}")
    started = time.perf_counter()
    async with ApplianceClient(cfg, 1.0) as client:
        result = await client.health()
    server.close()
    assert time.perf_counter() - started < 1.5
    if result.ok:  # only the "numbers" case parses; its nonsense figures are dropped
        assert name == "infinite numbers"
        assert result.health.cpu_percent is None
    else:
        assert result.failure is not None and result.failure.kind.label


async def test_slowloris_is_cut_at_the_deadline():
    server, port = await hostile_server(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", True)
    cfg = ApplianceConfig(name="slow", url=f"http://127.0.0.1:{port}")
    started = time.perf_counter()
    async with ApplianceClient(cfg, 0.5) as client:
        result = await client.health()
    server.close()
    assert not result.ok and result.failure.kind.value == "timeout"
    assert time.perf_counter() - started < 1.0
