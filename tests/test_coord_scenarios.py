"""Coordinated watchers as separate processes (separate state dirs, standing in for hosts)
on a real 3-member etcd and the simulated pair: each scenario asserts the simulator's
truth and its request log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .test_cli_status import ROOT
from .watch_harness import write_watch_config

LEASE_TTL = 3.0


class WatcherProcess:
    """`d42tui watch --name NAME` with its own state dir, JSON log lines on stderr."""

    def __init__(self, tmp_path: Path, config: Path, name: str, source: str | None):
        self.name, self.config = name, config
        self.state = tmp_path / f"state-{name}"
        self.log = tmp_path / f"{name}.stderr"
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "D42TUI_STATE_DIR": str(self.state)}
        args = ["watch", "--config", str(config), "--name", name, "--log-format", "json"]
        if source:
            args += ["--source-address", source]
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "d42tui", *args], env=self.env,
                                         stdout=subprocess.DEVNULL, stderr=err)

    def lines(self) -> list[dict]:
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"event": "?", "text": line})
        return out

    def saw(self, event: str, words: str = "") -> bool:
        return any(e.get("event") == event and words in e.get("text", "") for e in self.lines())

    def wait_for(self, event: str, words: str = "", timeout: float = 30) -> float:
        deadline = time.monotonic() + timeout
        while not self.saw(event, words):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: {event} {words!r} not seen:\n"
                                     + self.log.read_text(errors="replace")[-4000:])
            time.sleep(0.05)
        return time.monotonic()

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "d42tui", *args, "--config",
                               str(self.config)], env=self.env, capture_output=True, text=True,
                              timeout=60)

    def stop(self, signum: int = signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            os.kill(self.proc.pid, signum)
        self.proc.wait(20)


@pytest.fixture
def site(sim, etcd_cluster, tmp_path):
    """The config every watcher shares, and a starter of watcher processes."""
    def coordinated(data: dict) -> None:
        data["coordination"] = {"etcd": {"endpoints": etcd_cluster.endpoints,
                                         "prefix": "/site/", "lease_ttl": f"{LEASE_TTL:g}s"}}
        data["pairs"][0]["automation"] = {"witnesses": []}
    config = write_watch_config(sim, tmp_path, edit=coordinated)
    started: list[WatcherProcess] = []

    def start(name: str, source: str | None = None) -> WatcherProcess:
        started.append(WatcherProcess(tmp_path, config, name, source))
        return started[-1]
    yield start
    for w in started:
        w.stop()


def promotions(sim) -> list:
    return [r for r in sim.requests("d42-b") if r.method == "POST"
            and r.path == "/api/1.0/appliancemode/" and r.form.get("appliance_mode") == "production"]


def mode_posts(sim) -> list:
    return [r for r in sim.requests() if r.method == "POST" and r.path == "/api/1.0/appliancemode/"]


def wait_until(predicate, timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def desired(w: WatcherProcess) -> str | None:
    try:
        data = json.loads((w.state / "state.json").read_text())
    except (OSError, ValueError):
        return None
    return data.get("pairs", {}).get("main", {}).get("desired_production")


def test_primary_down_two_watchers_exactly_one_promotion(sim, site):
    w1 = site("w1", "127.0.0.2")
    w1.wait_for("leader", "now leads main")
    w2 = site("w2", "127.0.0.3")
    w2.wait_for("following", "w1 leads main")
    sim.set_fault("d42-a", "down")
    wait_until(lambda: sim.truth()["appliances"]["d42-b"]["mode"] == "production",
               what="the promotion")
    w1.wait_for("failover-done")
    # the follower has the leader's new state (desired production d42-b) in its own dir
    wait_until(lambda: desired(w2) == "d42-b", what="the follower to mirror the state")
    assert len(promotions(sim)) == 1
    assert {r.client for r in mode_posts(sim)} == {"127.0.0.2"}
    assert not w2.saw("failover")
    status = json.loads(w2.cli("status", "--json").stdout)["pairs"][0]["automation"]
    assert status["coordination"]["role"] == "follower"
    assert status["coordination"]["leader"] == "w1"
    assert "w1 leads, w2 observes" in status["text"]


def test_a_primary_black_holed_from_the_leader_only_is_not_failed_over(sim, site):
    w1 = site("w1", "127.0.0.2")
    w1.wait_for("leader", "now leads main")
    w2 = site("w2", "127.0.0.3")
    w2.wait_for("following", "w1 leads main")
    sim.set_fault("d42-a", "blackhole", source="127.0.0.2")
    # w1's own hysteresis says down; w2 sees it serving: 1 of 2 live observers, no failover
    w1.wait_for("not-failing-over", "observers 1/2 see d42-a DOWN (w1)")
    assert mode_posts(sim) == []
    assert sim.truth()["appliances"]["d42-a"]["mode"] == "production"
    assert sim.truth()["appliances"]["d42-b"]["mode"] == "standby"


def test_coordination_lost_no_action_and_a_warning(sim, site, etcd_cluster):
    w1 = site("w1")
    w1.wait_for("leader", "now leads main")
    etcd_cluster.kill(1)
    etcd_cluster.kill(2)
    w1.wait_for("coordination-lost", "no automatic action")
    check = w1.cli("check")  # the pair is fine, but automatic failover is not standing by
    assert check.returncode == 1, check.stdout
    assert check.stdout.startswith("D42 PAIR WARNING") and "coordination lost" in check.stdout
    sim.set_fault("d42-a", "down")
    w1.wait_for("primary-failing", "failed poll 3/3")
    w1.wait_for("not-failing-over", "coordination lost")
    assert mode_posts(sim) == []
    assert sim.truth()["appliances"]["d42-b"]["mode"] == "standby"
    status = w1.cli("status")
    assert "LOST · coordination lost" in status.stdout, status.stdout
    check = w1.cli("check")
    assert check.returncode == 2 and "automation LOST · coordination lost" in check.stdout


def test_leader_killed_another_takes_over_within_the_lease(sim, site):
    w1 = site("w1", "127.0.0.2")
    w1.wait_for("leader", "now leads main")
    w2 = site("w2", "127.0.0.3")
    w2.wait_for("following", "w1 leads main")
    killed = time.monotonic()
    os.kill(w1.proc.pid, signal.SIGKILL)
    took = w2.wait_for("leader", "w2) now leads main") - killed
    assert took < LEASE_TTL + 1.5, took  # the lease's TTL, and one poll round of w2
    sim.set_fault("d42-a", "down")
    wait_until(lambda: sim.truth()["appliances"]["d42-b"]["mode"] == "production",
               what="the promotion by the new leader")
    assert {r.client for r in mode_posts(sim)} == {"127.0.0.3"}


def test_leader_frozen_past_its_lease_sends_nothing_after(sim, site):
    w1 = site("w1", "127.0.0.2")
    w1.wait_for("leader", "now leads main")
    w2 = site("w2", "127.0.0.3")
    w2.wait_for("following", "w1 leads main")
    os.kill(w1.proc.pid, signal.SIGSTOP)
    w2.wait_for("leader", "w2) now leads main")
    sim.set_fault("d42-a", "down")
    w2.wait_for("failover-done")
    os.kill(w1.proc.pid, signal.SIGCONT)
    # w1 wakes up with a stale picture (it last saw d42-a production) and must not act on it
    w1.wait_for("following", "w2 leads main")
    wait_until(lambda: desired(w1) == "d42-b", what="w1 to take the shared state")
    assert [r.client for r in promotions(sim)] == ["127.0.0.3"]
    assert not [r for r in mode_posts(sim) if r.client == "127.0.0.2"]
