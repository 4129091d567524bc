"""A hostile or broken appliance never raises out of the client: every answer is classified."""

from __future__ import annotations

import asyncio
import socket
import struct
import time

import pytest

from d42tui.appliance.client import ApplianceClient
from d42tui.config.models import ApplianceConfig

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


ESC_BODY = (b'{"errors": [{"code": 500, "title": "\\u001b]52;c;cHduZWQ=\\u0007boom", '
            b'"detail": "\\u001b[2J"}]}')
ESC_HEALTH = (b'{"cpu_used_percent": "1", "version": "18\\u001b]0;pwned\\u0007", "backup_status": '
              b'[{"id": 1, "job_name": "n\\u001b[31m", "status": "good\\u001b[2J @ 2026-01-01 00:00:00"}]}')


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 500 \x1b[2Jgone\r\nContent-Length: %d\r\n\r\n" % len(ESC_BODY) + ESC_BODY,
    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(ESC_HEALTH) + ESC_HEALTH,
])
async def test_no_terminal_escape_from_an_appliance_reaches_the_screen(answer):
    server, port = await hostile_server(answer)
    cfg = ApplianceConfig(name="evil", url=f"http://127.0.0.1:{port}")
    async with ApplianceClient(cfg, 1.0) as client:
        result = await client.health()
    server.close()
    shown = repr(result.health) + str(result.failure) if result.health else str(result.failure)
    shown += "".join(b.text + b.job_name for b in (result.health.backups if result.health else ()))
    shown += result.health.version if result.health and result.health.version else ""
    assert "\x1b" not in shown and "\x07" not in shown


# --- what a broken connection is called --------------------------------------------------

async def closing_server(answer: bytes | None, *, reset: bool = False, greet: bool = False):
    """Reads the request (unless it `greet`s first, as a plain server under a TLS client),
    writes `answer` (if any), then closes, or resets (RST)."""
    async def handle(reader, writer):
        try:
            if not greet:
                await reader.readuntil(b"\r\n\r\n")
            if answer:
                writer.write(answer)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        if reset:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        else:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


WORDS = {
    "hangs up": (dict(answer=None), "http",
                 "network error: connection closed without an answer"),
    "cut short": (dict(answer=b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}"), "http",
                  "network error: the answer was cut short (2 of 100 bytes)"),
    "head cut": (dict(answer=b"HTTP/1.1 200 OK\r\nContent-Le"), "http",
                 "network error: connection closed in the middle of the answer"),
    "reset": (dict(answer=None, reset=True), "http", "network error: the connection was reset "
                                                     "(by the appliance or something in between)"),
    "not HTTP": (dict(answer=b"SSH-2.0-OpenSSH_9.2\r\n\r\n"), "http",
                 "network error: the answer is not valid HTTP (not an HTTP/1.x status line: "
                 "'SSH-2.0-OpenSSH_9.2')"),
    "TLS to plain HTTP": (dict(answer=b"HTTP/1.1 400 Bad Request\r\n\r\n", greet=True), "https",
                          "TLS error: the port does not speak TLS (plain HTTP?)"),
}


@pytest.mark.parametrize("name", list(WORDS))
async def test_a_broken_connection_is_said_in_plain_words(name):
    behaviour, scheme, said = WORDS[name]
    server, port = await closing_server(**behaviour)
    cfg = ApplianceConfig(name="flaky", url=f"{scheme}://127.0.0.1:{port}",
                          tls={"verify": False})
    async with ApplianceClient(cfg, 2.0) as client:
        result = await client.health()
    server.close()
    assert str(result.failure) == said
    assert not any(jargon in said for jargon in ("bytes read", "Errno", "SSL:", "_ssl.c"))


async def test_a_mode_post_that_is_hung_up_on_is_unknown_and_says_why():
    server, port = await closing_server(None)
    cfg = ApplianceConfig(name="flaky", url=f"http://127.0.0.1:{port}", password="pw")
    async with ApplianceClient(cfg, 2.0) as client:
        result = await client.set_mode("standby")
    server.close()
    assert result.outcome == "unknown" and result.sent
    assert str(result.failure) == "network error: connection closed without an answer"


async def test_nothing_listening_is_refused():
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with ApplianceClient(ApplianceConfig(name="gone", url=f"http://127.0.0.1:{port}"),
                               1.0) as client:
        result = await client.health()
    assert str(result.failure) == "connection refused: nothing listens on the port"
