"""`d42tui --demo` in a real terminal (tmux at 80x24): the board, then a fault, then the banner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from d42tui.engine.audit import JsonlLog

from ..conftest import write_sim_config
from .ptyterm import ROOT, wait_gone


def _tmux() -> str:
    path = shutil.which("tmux")
    if path:
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but tmux is not installed: the end-to-end test must run in CI")
    pytest.skip("tmux is not installed")


class Session:
    """`command` in a private tmux server at 80x24: capture, keys, wait, and hang up."""

    def __init__(self, tmp_path, command: str, **env: str) -> None:
        self.tmux = _tmux()
        self.name = f"d42tui-e2e-{uuid.uuid4().hex[:8]}"
        self.socket = str(tmp_path / "tmux.sock")  # a private server: never the user's tmux
        env = {**os.environ, "PYTHONPATH": str(ROOT),
               "D42TUI_STATE_DIR": str(tmp_path / "state"), "TERM": "xterm-256color", **env}
        env.pop("NO_COLOR", None)
        subprocess.run([self.tmux, "-S", self.socket, "new-session", "-d", "-s", self.name,
                        "-x", "80", "-y", "24", command], check=True, env=env, cwd=ROOT)

    def run(self, *args: str, check: bool = True) -> str:
        return subprocess.run([self.tmux, "-S", self.socket, *args], capture_output=True,
                              text=True, check=check).stdout

    def capture(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.name, check=False)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.name, *keys)

    def wait(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.capture()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen:\n{self.capture()}")

    def pane_pid(self) -> int:
        return int(self.run("list-panes", "-t", self.name, "-F", "#{pane_pid}").split()[0])

    def hang_up(self) -> None:
        """As when the SSH connection drops: the terminal goes away, SIGHUP follows."""
        self.run("kill-server", check=False)


@pytest.fixture
def tmux_session(tmp_path):
    session = Session(tmp_path, f"{sys.executable} -m d42tui --demo")
    yield session.capture, session.keys, session.wait
    session.hang_up()


def test_a_dropped_session_finishes_the_failover_in_flight(sim, tmp_path):
    cfg = write_sim_config(sim, tmp_path)
    session = Session(tmp_path, f"{sys.executable} -m d42tui --config {cfg}")
    try:
        session.wait("✔ HEALTHY")
        pid = session.pane_pid()
        sim.set_fault("d42-b", "slow", ms=600)  # each step of the failover takes a while
        session.keys("F")
        session.wait("Type d42-b")
        session.keys(*"d42-b", "Enter")
        session.wait("polling both appliances again", timeout=5)
    finally:
        session.hang_up()
    assert wait_gone(pid, 20), "the console did not exit after the hang-up"
    truth = sim.truth()["appliances"]
    assert truth["d42-b"]["mode"] == "production" and truth["d42-a"]["mode"] == "standby"
    records = list(JsonlLog(tmp_path / "state" / "audit.jsonl").records())
    after = [r for r in records if r.get("phase") == "after"]
    assert [r["result"] for r in after] == ["done"], records



def test_demo_in_a_real_terminal(tmux_session):
    capture, keys, wait = tmux_session
    wait("✔ HEALTHY")
    screen = wait("x faults")  # the footer
    lines = screen.splitlines()
    assert len(lines) <= 24 and max(len(line) for line in lines) <= 80
    for text in ("d42-a", "d42-b", "production · declared", "standby · declared", "● UP",
                 "next backup", "automation OFF · no watcher running",
                 "Timeline", "main: start → HEALTHY", "? help", "x faults"):
        assert text in screen, text
    # the simulated standby restores at :30 every 4 hours: inside that hour, the window
    assert "next restore" in screen or "RESTORE WINDOW ON" in screen
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
    screen = wait("✔ HEALTHY")
    assert "probe ✔" in screen  # the demo's mode probes agree with the asserted modes
    keys("x")
    wait("flip its mode by hand")
    keys("Tab", "9")  # d42-b made production in its own UI, behind the console's back
    screen = wait("✖ SPLIT BRAIN")
    assert "probe: production ✖" in screen
    keys("q")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "HEALTHY" in capture():
        time.sleep(0.2)


def test_a_dropped_session_never_confirms_an_open_dialog(sim, tmp_path):
    cfg = write_sim_config(sim, tmp_path)
    session = Session(tmp_path, f"{sys.executable} -m d42tui --config {cfg}")
    try:
        session.wait("✔ HEALTHY")
        pid = session.pane_pid()
        session.keys("F")
        session.wait("Type d42-b")
        session.keys(*"d42-b")  # typed, never confirmed
        time.sleep(0.3)
    finally:
        session.hang_up()
    assert wait_gone(pid, 10), "the console did not exit after the hang-up"
    assert not [r for r in sim.requests() if r.method == "POST"]
    truth = sim.truth()["appliances"]
    assert truth["d42-a"]["mode"] == "production" and truth["d42-b"]["mode"] == "standby"


def test_a_dropped_demo_session_leaves_nothing_behind(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    session = Session(tmp_path, f"{sys.executable} -m d42tui --demo", TMPDIR=str(temp))
    try:
        session.wait("✔ HEALTHY")
        pid = session.pane_pid()
    finally:
        session.hang_up()
    assert wait_gone(pid, 15), "the demo outlived its terminal"
    assert not list(temp.iterdir()), "the demo left its temporary files (and passwords)"


def test_the_practised_drill_with_names_typed_at_once(tmux_session):
    """Kill the primary, read the next step off the board, fail over, bring it back, fence
    it, fail back — each name typed in the same burst as the key that opens its dialog
    (one send-keys: no pause between the keys), as the practised incident did it."""
    capture, keys, wait = tmux_session

    def result(title: str) -> str:
        """The dialog's own result (the timeline under it may say DONE of an earlier one)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            screen = capture()
            if title in screen and any(mark in screen.split(title, 1)[1] for mark in (
                    "✔ DONE", "✖ REFUSED", "■ CANCELLED", "✖ FAILED", "? UNKNOWN")):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"no result in the {title!r} dialog; the screen:\n{capture()}")

    wait("✔ HEALTHY")
    keys("x")
    wait("black-hole it")
    keys("1")  # kill d42-a, the production appliance
    wait("✖ PRIMARY DOWN")
    wait("▶ next: F fails over to d42-b")
    keys("F", *"d42-b", "Enter")
    screen = result("failover · pair main")
    assert "✔ DONE" in screen, screen
    keys("Escape")
    wait("x faults")
    keys("x")
    wait("clear every fault")
    keys("c")  # d42-a comes back, still production by its own account
    wait("came back: R re-asserts standby", timeout=30)
    keys("R", *"d42-a", "Enter")  # the only appliance offered: no chooser
    screen = result("reassert · pair main")
    assert "✔ DONE" in screen and "re-asserted: d42-a standby" in screen, screen
    keys("Escape")
    wait("production d42-b · standby d42-a", timeout=20)
    keys("B", *"d42-a", "Enter")
    screen = result("failback · pair main")
    assert "✔ DONE" in screen, screen
    keys("Escape")
    wait("production d42-a · standby d42-b", timeout=20)
