"""The demo's simulator in a process of its own, owned by the console.

`d42tui --demo` starts `d42tui simulate --stop-on-eof` first thing, and loads the
console while the simulator boots on another core; `wait_ready()` hands over the
config it wrote. Two reasons for a second process: the simulated appliances no longer
share the console's interpreter lock (what the board shows as latency is the network's,
not the UI's), and their certificates and servers are off the console's start-up path.

The child stops when its standard input closes, so it never outlives the console, even
one killed with SIGKILL. Its stderr goes to a log file next to the config, never to the
terminal the console draws on. Fault injection goes through the simulator's control API.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

PACKAGE_PARENT = Path(__file__).resolve().parents[2]


class SimulatorStartError(Exception):
    """The simulator process did not come up; the message says why (from its log)."""


class SimulatorProcess:
    """`with SimulatorProcess(directory) as sim: config_path = sim.wait_ready()`."""

    def __init__(self, directory: Path, pairs: int = 1):
        self.directory = Path(directory)
        self.pairs = pairs
        self.config_path = self.directory / "demo.yaml"
        self.log_path = self.directory / "simulator.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._control_url: str | None = None
        self._client: Any = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> SimulatorProcess:
        env = dict(os.environ)
        # The child must import this same d42tui, installed or not.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PACKAGE_PARENT), env.get("PYTHONPATH")) if p)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "d42tui", "simulate", "--pairs", str(self.pairs),
             "--config-out", str(self.config_path), "--stop-on-eof"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env,
            cwd=self.directory,
            start_new_session=True)  # the terminal's Ctrl-C / SIGHUP are the console's to handle
        return self

    def wait_ready(self, timeout: float = 30.0) -> Path:
        """Block until the simulator has written its config; its path. SimulatorStartError
        if the process exits first or says nothing within `timeout` seconds."""
        assert self._proc is not None and self._proc.stdout is not None, "start() first"
        deadline = time.monotonic() + timeout
        out = self._proc.stdout
        seen = b""
        while b"\n" not in seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SimulatorStartError(f"no answer within {timeout:g}s{self._log_tail()}")
            ready, _, _ = select.select([out], [], [], left)
            if ready:
                chunk = os.read(out.fileno(), 256)
                if not chunk:
                    code = self._proc.wait(5)
                    raise SimulatorStartError(f"it exited with status {code}{self._log_tail()}")
                seen += chunk
        word, _, url = seen.split(b"\n", 1)[0].strip().partition(b" ")
        if word != b"ready" or not url.startswith(b"http://127.0.0.1:"):
            raise SimulatorStartError(f"unexpected output {seen[:80]!r}{self._log_tail()}")
        self._control_url = url.decode()
        return self.config_path

    def _log_tail(self) -> str:
        try:
            lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines()
                     if ln.strip()]
        except OSError:
            return ""
        return f": {lines[-1][:300]}" if lines else ""

    def set_fault(self, appliance: str, kind: str, ms: int | None = None) -> object:
        """Inject a fault through the control API (blocking: call it from a thread)."""
        return self._control().set_fault(appliance, kind, ms)

    def set_mode_by_hand(self, appliance: str, mode: str) -> object:
        """Flip a mode as a person in the appliance's UI would (blocking, as set_fault)."""
        return self._control().set_mode_by_hand(appliance, mode)

    def _control(self):  # -> ControlClient, imported only when the demo injects something
        if self._client is None:
            from .control import ControlClient

            assert self._control_url is not None, "wait_ready() first"
            self._client = ControlClient(self._control_url)
        return self._client

    def stop(self, timeout: float = 5.0) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        proc, self._proc = self._proc, None
        if proc is not None:
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    try:
                        pipe.close()  # EOF on its stdin: it stops by itself
                    except OSError:
                        pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
