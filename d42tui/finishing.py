"""Signals while a headless action runs: the action finishes, then the command exits.

`d42tui failover` over SSH: a dropped session (SIGHUP) or a reflexive Ctrl-C between the
demote and the promote would leave the pair with no production appliance. Inside
`Finishing`: SIGHUP detaches from the dead terminal (output to /dev/null) and the
action goes on; the first Ctrl-C or SIGTERM says the action will finish, a second one
abandons it (the audit log then shows it in doubt). The console has its own version of
this in tui/signals.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable


def say(text: str, stream=None) -> None:
    """Print, but never fail: the terminal may have gone away mid-action (EIO)."""
    try:
        print(text, file=stream or sys.stdout, flush=True)
    except (OSError, ValueError):
        pass


class Finishing:
    """`with Finishing(): result = await runner.run(...)`; `abandoned` after a second signal."""

    def __init__(self, note: Callable[[str], None] | None = None) -> None:
        self.note = note or (lambda text: say(text, sys.stderr))
        self.abandoned = False
        self._asked = False
        self._installed: list[int] = []
        self._task: asyncio.Task | None = None

    def __enter__(self) -> Finishing:
        loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            try:
                loop.add_signal_handler(signum, self._received, signum)
            except (NotImplementedError, RuntimeError, ValueError):
                continue  # not the main thread: the defaults stay
            self._installed.append(signum)
        return self

    def __exit__(self, *exc: object) -> None:
        loop = asyncio.get_running_loop()
        for signum in self._installed:
            loop.remove_signal_handler(signum)
        self._installed.clear()

    def _received(self, signum: int) -> None:
        if signum == signal.SIGHUP:
            detach_terminal()
            return
        if self._asked:
            self.abandoned = True
            self.note("abandoning the action: it may have partly applied "
                      "(`d42tui audit` shows it in doubt)")
            if self._task is not None:
                self._task.cancel()
            return
        self._asked = True
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        self.note(f"{name}: the action in flight will finish first, so the pair is not "
                  "left half switched (press Ctrl-C again to abandon it)")


def detach_terminal(quiet_stdin: bool = False) -> int | None:
    """The terminal hung up: output goes to /dev/null. Input reads end of file, or with
    `quiet_stdin` comes from a pipe that stays silent until the returned write end is
    closed (a reader thread blocked on it then sees end of file)."""
    null = os.open(os.devnull, os.O_RDWR)
    keeper = None
    source = null
    if quiet_stdin:
        source, keeper = os.pipe()
    for fd, target in ((0, source), (1, null), (2, null)):
        try:
            os.dup2(target, fd)
        except OSError:
            pass
    os.close(null)
    if source != null:
        os.close(source)
    return keeper


def exit_now(code: int) -> None:
    """Flush what can be flushed and end the process without waiting for other threads
    (a library thread left on a dead terminal must not keep the process alive)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
