"""`d42tui --demo` in a real terminal (tmux at 80x24): the board, then a fault, then the banner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from .ptyterm import ROOT


def _tmux() -> str:
    path = shutil.which("tmux")
    if path:
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but tmux is not installed: the end-to-end test must run in CI")
    pytest.skip("tmux is not installed")


@pytest.fixture
def tmux_session(tmp_path):
    tmux = _tmux()
    name = f"d42tui-e2e-{uuid.uuid4().hex[:8]}"
    socket = str(tmp_path / "tmux.sock")  # a private server: never the user's own tmux
    env = {**os.environ, "PYTHONPATH": str(ROOT), "D42TUI_STATE_DIR": str(tmp_path / "state"),
           "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    command = f"{sys.executable} -m d42tui --demo"
    subprocess.run([tmux, "-S", socket, "new-session", "-d", "-s", name, "-x", "80", "-y", "24",
                    command], check=True, env=env, cwd=ROOT)

    def capture() -> str:
        return subprocess.run([tmux, "-S", socket, "capture-pane", "-p", "-t", name],
                              capture_output=True, text=True).stdout

    def keys(*keys: str) -> None:
        subprocess.run([tmux, "-S", socket, "send-keys", "-t", name, *keys], check=True)

    def wait(text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = capture()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen:\n{capture()}")

    yield capture, keys, wait
    subprocess.run([tmux, "-S", socket, "kill-server"], capture_output=True)


def test_demo_in_a_real_terminal(tmux_session):
    capture, keys, wait = tmux_session
    wait("✔ HEALTHY")
    screen = wait("x faults")  # the footer
    lines = screen.splitlines()
    assert len(lines) <= 24 and max(len(line) for line in lines) <= 80
    for text in ("d42-a", "d42-b", "production · declared", "standby · declared", "● UP",
                 "next backup", "next restore", "automation OFF · no watcher running",
                 "Timeline", "main: start → HEALTHY", "? help", "x faults"):
        assert text in screen, text
    keys("x")
    wait("black-hole it")
    keys("1")  # kill d42-a, the production appliance
    screen = wait("✖ PRIMARY DOWN")
    assert "✖ DOWN" in screen
    keys("l")  # at 80x24 the fault's own event may be below the fold: maximize the timeline
    wait("demo: injected fault 'down' into d42-a")
    keys("l")
    keys("x")
    wait("clear every fault")
    keys("c")
    wait("✔ HEALTHY")
    keys("q")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "HEALTHY" in capture():
        time.sleep(0.2)
