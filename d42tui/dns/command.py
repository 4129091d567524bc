"""The `command` backend: an external program (argv, no shell) makes the DNS change.

Exit 0 is done (verification then decides), non-zero failed, killed at the timeout unknown.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import signal
import time

from .backend import DnsUpdateResult, UpdateOutcome
from .config import CommandBackend, DnsConfig

log = logging.getLogger("d42tui.dns")

TAIL_LINES = 10
TAIL_BYTES = 64 * 1024  # kept per stream; a chatty program cannot fill memory
LINE_CHARS = 300


def _printable(line: str) -> str:
    """No terminal escapes from a program's output reach the board."""
    return "".join(c if c.isprintable() else "?" for c in line)[:LINE_CHARS]


def tail_lines(data: bytes, count: int = TAIL_LINES) -> tuple[str, ...]:
    lines = data.decode("utf-8", errors="replace").splitlines()
    return tuple(_printable(line.rstrip()) for line in lines if line.strip())[-count:]


async def _read_tail(stream: asyncio.StreamReader | None, kept: bytearray) -> None:
    """Into `kept`, so what was read survives a cancelled reader."""
    if stream is None:
        return
    while chunk := await stream.read(4096):
        kept += chunk
        if len(kept) > TAIL_BYTES:
            del kept[:len(kept) - TAIL_BYTES]


class CommandUpdater:
    """Runs the configured program once per update."""

    kind = "command"

    def __init__(self, cfg: DnsConfig):
        if not isinstance(cfg.backend, CommandBackend):
            raise TypeError("CommandUpdater needs a command backend config")
        self.cfg = cfg
        self.settings: CommandBackend = cfg.backend

    def invocation(self, old_values: tuple[str, ...], new_value: str
                   ) -> tuple[list[str], dict[str, str]]:
        """argv and the variables added to the environment (pure). Several old values are
        joined with commas; no old record is an empty string."""
        old = ",".join(old_values)
        ttl = str(self.cfg.ttl)
        argv = [*self.settings.argv, self.cfg.name, self.cfg.type, old, new_value, ttl]
        env = {"D42_DNS_NAME": self.cfg.name, "D42_DNS_TYPE": self.cfg.type,
               "D42_DNS_OLD": old, "D42_DNS_NEW": new_value, "D42_DNS_TTL": ttl}
        return argv, env

    async def update(self, old_values: tuple[str, ...], new_value: str) -> DnsUpdateResult:
        argv, extra = self.invocation(old_values, new_value)
        program = os.path.basename(argv[0])
        timeout = self.settings.timeout
        started = time.monotonic()

        def result(outcome: UpdateOutcome, text: str, sent: bool, code: int | None = None,
                   out: bytes | bytearray = b"", err: bytes | bytearray = b""
                   ) -> DnsUpdateResult:
            stdout, stderr = tail_lines(bytes(out)), tail_lines(bytes(err))
            log.info("dns update %s %s -> %s via %s: %s: %s", self.cfg.name,
                     ", ".join(old_values) or "(none)", new_value, program, outcome, text)
            return DnsUpdateResult(outcome, text, sent, exit_code=code, stdout_tail=stdout,
                                   stderr_tail=stderr, elapsed=time.monotonic() - started)

        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env={**os.environ, **extra},
                start_new_session=True)  # its own process group, so a timeout kills helpers too
        except OSError as exc:
            return result("failed", f"cannot run {argv[0]}: {exc.strerror or exc}; "
                                    "nothing was changed", False)
        out, err = bytearray(), bytearray()
        readers = asyncio.gather(_read_tail(proc.stdout, out), _read_tail(proc.stderr, err))
        try:
            code = await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            _kill_group(proc.pid)
            await proc.wait()
            await _drain(readers)
            return result("unknown", f"{program} did not finish within {timeout:g}s and was "
                                     "killed: the change may or may not have been made",
                          True, None, bytes(out), bytes(err))
        except asyncio.CancelledError:
            _kill_group(proc.pid)
            raise
        await _drain(readers)
        if code == 0:
            return result("done", f"{program} exited 0", True, code, out, err)
        if code < 0:
            return result("unknown", f"{program} was killed by signal {-code} before it "
                                     "finished: the change may or may not have been made",
                          True, code, out, err)
        last = (tail_lines(bytes(err), 1) or tail_lines(bytes(out), 1) or ("no output",))[0]
        return result("failed", f"{program} exited {code}: {last}", True, code, out, err)

    def recipe(self, old_values: tuple[str, ...], new_value: str) -> str:
        argv, env = self.invocation(old_values, new_value)
        assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        return f"{assignments} {shlex.join(argv)}"


def _kill_group(pid: int) -> None:
    """Kill the process group this backend started (its leader is `pid`)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


async def _drain(readers: asyncio.Future[list[None]]) -> None:
    """Let the readers reach end of file; a grandchild holding a pipe must not hang us."""
    try:
        await asyncio.wait_for(readers, 2)
    except TimeoutError:
        pass
