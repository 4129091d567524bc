"""The demo's simulator runs in a process of its own: it serves the config it wrote, takes
faults through its control API, and never outlives the console (quit, SIGTERM, SIGKILL)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from d42tui.cli.common import oneshot_config, poll_all_once
from d42tui.config.models import load_config
from d42tui.engine.pair import Reachability, Verdict
from d42tui.simulator.process import SimulatorProcess, SimulatorStartError

from .tui.ptyterm import ROOT, PtyProgram, wait_gone


def _alive_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line mentions `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def _assert_nothing_left(tmp_path: Path) -> None:
    """No simulator of this test's demo still runs, and its temporary directory is gone."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive_mentioning(f"--config-out {tmp_path}"):
        time.sleep(0.1)
    assert not _alive_mentioning(f"--config-out {tmp_path}")
    assert not list(tmp_path.glob("d42tui-demo-*")), "the demo left its temporary files"


def _poll(config):
    snaps = asyncio.run(poll_all_once(oneshot_config(config)))
    return snaps[config.pairs[0].name]


def test_the_process_serves_the_config_it_wrote_and_takes_faults(tmp_path):
    with SimulatorProcess(tmp_path) as sim:
        config = load_config(sim.wait_ready()).config
        pid = sim.pid
        assert (tmp_path / "demo.yaml").stat().st_mode & 0o077 == 0
        snap = _poll(config)
        assert snap.verdict.verdict is Verdict.HEALTHY
        sim.set_fault("d42-a", "down")
        snap = _poll(config)
        assert snap.views["d42-a"].reachability is Reachability.DOWN
        assert snap.views["d42-b"].reachability is Reachability.UP
        with pytest.raises(ValueError):
            sim.set_fault("d42-a", "no-such-fault")
    assert wait_gone(pid)
    assert sim.pid is None


def test_the_simulator_stops_when_its_owner_is_killed(tmp_path):
    owner = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from d42tui.simulator.process import SimulatorProcess
            sim = SimulatorProcess(Path({str(tmp_path)!r})).start()
            sim.wait_ready()
            print(sim.pid, flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        child = int(owner.stdout.readline())
        assert not wait_gone(child, timeout=0.3)
        owner.kill()  # SIGKILL: no cleanup code runs in the owner
        owner.wait(5)
        assert wait_gone(child), "the simulator outlived the console that owned it"
    finally:
        owner.kill()
        owner.wait(5)


def test_a_simulator_that_cannot_start_says_why(tmp_path):
    sim = SimulatorProcess(tmp_path, pairs=0).start()
    try:
        with pytest.raises(SimulatorStartError, match=r"exited with status 2: .*--pairs must be"):
            sim.wait_ready(timeout=20)
    finally:
        sim.stop()


def _demo(tmp_path: Path, *args: str) -> PtyProgram:
    return PtyProgram([sys.executable, "-m", "d42tui", "--demo", *args],
                      env={"TMPDIR": str(tmp_path), "D42TUI_STATE_DIR": str(tmp_path / "state")})


def test_sigterm_quits_the_demo_cleanly_and_stops_its_simulator(tmp_path):
    program = _demo(tmp_path)
    try:
        assert program.read(30, until=b"HEALTHY"), bytes(program.output[-500:])
        assert _alive_mentioning(f"--config-out {tmp_path}"), "no simulator process?"
        os.kill(program.proc.pid, signal.SIGTERM)
        assert program.proc.wait(10) == 128 + signal.SIGTERM
        program.read(0.5)
        assert b"Traceback" not in program.output
        assert b"\x1b[?1049l" in program.output  # the terminal's normal screen is back
    finally:
        program.close()
    _assert_nothing_left(tmp_path)


def test_a_refused_demo_start_leaves_no_simulator_behind(tmp_path):
    program = _demo(tmp_path, "--theme", "no-such-theme")
    try:
        assert program.proc.wait(30) == 2
        program.read(0.5)
        assert b"no theme named 'no-such-theme'" in program.output
    finally:
        program.close()
    _assert_nothing_left(tmp_path)


def test_sigterm_while_the_demo_starts_still_cleans_up(tmp_path):
    program = _demo(tmp_path)
    try:
        deadline = time.monotonic() + 20
        while not _alive_mentioning(f"--config-out {tmp_path}"):
            assert time.monotonic() < deadline, "the simulator never started"
            time.sleep(0.005)
        os.kill(program.proc.pid, signal.SIGTERM)  # before the console has painted anything
        assert program.proc.wait(10) == 128 + signal.SIGTERM
        program.read(0.3)
        assert b"HEALTHY" not in program.output and b"Traceback" not in program.output
    finally:
        program.close()
    _assert_nothing_left(tmp_path)
