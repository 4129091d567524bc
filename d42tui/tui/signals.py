"""SIGTERM and SIGHUP: quit like `q`, but never in the middle of an action.

A dropped SSH session (SIGHUP) at 3 a.m. must not leave a failover half done, the old
primary demoted and the standby not yet promoted. The console detaches from the dead
terminal (frames go to /dev/null, input never comes), lets the action in flight finish
(each of its steps has its own deadline; MAX_FINISH caps the wait) and then exits; the
audit log gets its result. An action still waiting for its confirmation was never
confirmed: nothing is sent. SIGTERM does the same; a second SIGTERM exits at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from ..finishing import detach_terminal, exit_now
from .timeline_events import console_event

if TYPE_CHECKING:
    from .app import ConsoleApp

MAX_FINISH = 120.0  # seconds an action in flight may take to finish after the signal
CHECK_EVERY = 0.2


class SignalExits:
    def __init__(self, app: ConsoleApp) -> None:
        self.app = app
        self.pending: int | None = None  # the exit status, once a signal said "exit"
        self._since = 0.0
        self.hung_up = False  # the terminal went away (SIGHUP)
        self._stdin_keeper: int | None = None  # write end of the pipe that is now stdin

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGHUP):
            try:
                loop.add_signal_handler(signum, self.received, signum)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread, or no signals here: the default stays

    def busy(self) -> bool:
        return bool(self.app.in_flight) or self.app.desk.busy()

    def received(self, signum: int) -> None:
        app = self.app
        if signum == signal.SIGHUP and not self.hung_up:
            self._detach_terminal()
        code = 128 + signum
        if not self.busy() or (self.pending is not None and signum == signal.SIGTERM):
            self._exit(code)
            return
        if self.pending is None:
            self.pending, self._since = code, time.monotonic()
            what = ", ".join(app.in_flight) or "an action"
            app.add_events([console_event(
                app.clock(), f"{signal.Signals(signum).name}: finishing {what} before exiting",
                "warning")])
            app.set_interval(CHECK_EVERY, self._exit_when_done)

    def _exit_when_done(self) -> None:
        if not self.busy() or time.monotonic() - self._since > MAX_FINISH:
            self._exit(self.pending)

    def _exit(self, code: int | None) -> None:
        if self._stdin_keeper is not None:
            # EOF on the quiet stdin: Textual's input thread, maybe blocked reading it,
            # wakes up and sees the exit (it would hold the exit up forever otherwise).
            os.close(self._stdin_keeper)
            self._stdin_keeper = None
        self.app.exit(return_code=code or 0)

    def _detach_terminal(self) -> None:
        """The terminal is gone: writes to it would fail (and stall Textual's writer), and
        reads would spin. Stdin becomes a pipe that stays quiet until `_exit` closes it."""
        self.hung_up = True
        self._stdin_keeper = detach_terminal(quiet_stdin=True)


class _SurvivingStream:
    """A text stream whose failed writes are dropped (the terminal hung up: EIO)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError:
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError:
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def leave_after_hang_up(app: ConsoleApp, code: int) -> None:
    """After `App.run` returned: a hung-up terminal also sent SIGCONT, on which Textual
    resumes its application mode and starts a second input thread that nothing stops;
    that thread would keep the process alive for ever. Leave without waiting for it."""
    if app.signal_exits.hung_up:
        exit_now(code)


@contextmanager
def terminal_may_vanish() -> Iterator[None]:
    """Around `App.run`: Textual writes frames to `sys.__stderr__` from a thread that dies
    on the first failed write, after which the UI blocks on its full queue. On a hung-up
    terminal a write fails before our SIGHUP handler can run; dropping it instead keeps
    the console alive to finish the action in flight."""
    original = sys.__stderr__
    if original is None:
        yield
        return
    sys.__stderr__ = _SurvivingStream(original)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.__stderr__ = original
