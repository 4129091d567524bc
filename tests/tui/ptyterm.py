"""Run a command in a pseudo-terminal of a given size and collect what it writes.

Used by the console tests and by the benchmarks in benchmarks/."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class PtyProgram:
    def __init__(self, argv: list[str], *, size: tuple[int, int] = (80, 24),
                 env: dict[str, str] | None = None):
        self.master, slave = pty.openpty()
        cols, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full_env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color",
                    "COLORTERM": "truecolor", **(env or {})}
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                     env=full_env, start_new_session=True, cwd=ROOT)
        os.close(slave)
        self.output = bytearray()

    def read(self, seconds: float, until: bytes | None = None) -> bool:
        """Collect output for `seconds` (or until `until` appears); True if it appeared."""
        deadline = time.monotonic() + seconds
        while True:
            if until is not None and until in self.output:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([self.master], [], [], min(left, 0.1))
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    return until is not None and until in self.output
                if not chunk:
                    return False
                self.output += chunk

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        os.close(self.master)

    def cpu_seconds(self) -> float:
        """User + system CPU of the process so far (all its threads), from /proc."""
        return _cpu(_stat(self.proc.pid))

    def tree_cpu_seconds(self) -> float:
        """CPU so far of the process and its live children (the demo's simulator runs in
        a session of its own, so children are found by parent, not by session)."""
        total, parents = 0.0, {self.proc.pid}
        for pid in sorted(int(p) for p in os.listdir("/proc") if p.isdigit()):
            try:
                fields = _stat(pid)
            except OSError:
                continue
            if pid in parents or int(fields[1]) in parents:
                parents.add(pid)
                total += _cpu(fields)
        return total


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat after the command name: [state, ppid, pgrp, ...]."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cpu(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    """Whether process `pid` has ended (or is a zombie) within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        if state == "Z":
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
