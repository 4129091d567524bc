"""Failover latency with three watchers coordinated on etcd against one local watcher, and
the takeover time after the leader is SIGKILLed, side by side in one run.

Real parts: the simulator in its own process (`d42tui simulate`), a real 3-member etcd on
loopback (the tests' `etcd_cluster` recipe), each watcher a `d42tui watch` process with its
own state dir (standing in for hosts). Latency is from the fault on the primary to the
promotion POST at the simulator (its request log); takeover is from the SIGKILL to the
first "now leads" line of another watcher. Usage: python3 benchmarks/coordinated_failover.py
[--trials 5]; --smoke for CI (one trial each).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from d42tui.appliance.client import ApplianceClient  # noqa: E402
from d42tui.config.models import load_config  # noqa: E402
from d42tui.simulator import ControlClient  # noqa: E402
from tests.etcd_cluster import start_cluster  # noqa: E402

LEASE_TTL = 3.0


def start_simulator(out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "D42TUI_STATE_DIR": str(out.parent)}
    proc = subprocess.Popen([sys.executable, "-m", "d42tui", "simulate", "--config-out",
                             str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        if out.exists() and out.stat().st_size:
            try:
                load_config(out)
                return proc
            except Exception:
                pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the simulator did not start in 60 s")


class Watcher:
    def __init__(self, tmp: Path, config: Path, name: str | None):
        self.name = name or "local"
        self.log = tmp / f"{self.name}.stderr"
        env = {**os.environ, "PYTHONPATH": str(ROOT),
               "D42TUI_STATE_DIR": str(tmp / f"state-{self.name}")}
        args = ["watch", "--config", str(config), "--log-format", "json"]
        if name:
            args += ["--name", name]
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "d42tui", *args], env=env,
                                         stdout=subprocess.DEVNULL, stderr=err)

    def first(self, event: str, words: str = "") -> float | None:
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("event") == event and words in rec.get("text", ""):
                stamp = str(rec.get("time", "")).replace("Z", "+00:00")
                try:  # when the watcher logged it, not when this loop read it
                    return datetime.fromisoformat(stamp).timestamp()
                except ValueError:
                    return time.time()
        return None

    def stop(self, signum: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise SystemExit(f"timed out waiting for {what}")


async def reset(config_path: Path, control: ControlClient) -> None:
    pair = load_config(config_path).config.pairs[0]
    a, b = pair.appliances
    for name in (a.name, b.name):
        control.set_fault(name, "none")
    for cfg, mode in ((b, "standby"), (a, "production")):
        async with ApplianceClient(cfg, 5) as client:
            assert (await client.set_mode(mode)).outcome == "done"
    control.clear_requests()


def trial_config(base: Path, tmp: Path, endpoints: list[str] | None, index: int) -> Path:
    data = yaml.safe_load(base.read_text())
    pair = data["pairs"][0]
    pair["restore_cron"] = f"0 {(datetime.now(UTC).hour + 12) % 24} * * *"
    pair["poll"] = {"interval": "1s", "timeout": "500ms", "failure_threshold": 3,
                    "recovery_threshold": 2}
    pair["automation"] = {"witnesses": []}
    if endpoints:
        data["coordination"] = {"etcd": {"endpoints": endpoints, "prefix": f"/bench{index}/",
                                         "lease_ttl": f"{LEASE_TTL:g}s"}}
    path = tmp / "watch.yaml"
    path.write_text(yaml.safe_dump(data))
    path.chmod(0o600)
    return path


def promotion_at(control: ControlClient, standby: str) -> float | None:
    posts = [r for r in control.requests(standby) if r["method"] == "POST"
             and r["form"].get("appliance_mode") == "production"]
    return posts[0]["at"] if posts else None


async def trial(base: Path, tmp: Path, control: ControlClient, endpoints: list[str] | None,
                index: int, takeover: bool = False) -> dict[str, float]:
    tmp.mkdir(parents=True)
    config = trial_config(base, tmp, endpoints, index)
    await reset(config, control)
    names = ["w1", "w2", "w3"] if endpoints else [None]
    watchers = []
    try:
        for name in names:
            watchers.append(Watcher(tmp, config, name))
            if endpoints and len(watchers) == 1:
                wait(lambda: watchers[0].first("leader", "now leads"), 30, "a leader")
        if endpoints:
            for w in watchers[1:]:
                wait(lambda w=w: w.first("following"), 30, f"{w.name} following")
        else:
            wait(lambda: watchers[0].first("automation", "ARMED"), 30, "ARMED")
        time.sleep(2.5)  # the standby trusted (its answers counted), a random-ish phase
        out: dict[str, float] = {}
        if takeover:
            t0 = time.time()
            watchers[0].stop(signal.SIGKILL)
            at = wait(lambda: next((t for w in watchers[1:]
                                    if (t := w.first("leader", "now leads"))), None),
                      3 * LEASE_TTL + 10, "a new leader")
            out["takeover"] = at - t0
            time.sleep(1.0)
        t0 = time.time()
        control.set_fault("d42-a", "down")
        post = wait(lambda: promotion_at(control, "d42-b"), 60, "the promotion POST")
        out["failover"] = post - t0
        return out
    finally:
        for w in watchers:
            w.stop()


def line(label: str, values: list[float]) -> str:
    return (f"  {label:<44} p50 {statistics.median(values):6.2f}s  max {max(values):6.2f}s"
            f"  (n={len(values)})")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    trials = 1 if args.smoke else args.trials
    binary = shutil.which("etcd") or ("/usr/bin/etcd" if Path("/usr/bin/etcd").exists()
                                      else None)
    if binary is None:
        raise SystemExit("etcd is not installed (Debian: etcd-server)")
    tmp = Path(tempfile.mkdtemp(prefix="d42-coord-bench-"))
    sim = start_simulator(tmp / "sim.yaml")
    cluster = start_cluster(tmp / "etcd", binary)
    control = ControlClient(load_config(tmp / "sim.yaml").config.simulator.control_url)
    results: dict[str, list[float]] = {"local": [], "coordinated": [], "after-takeover": [],
                                       "takeover": []}
    try:
        for i in range(trials):
            results["local"].append((await trial(tmp / "sim.yaml", tmp / f"l{i}", control,
                                                 None, i))["failover"])
            coord = await trial(tmp / "sim.yaml", tmp / f"c{i}", control, cluster.endpoints,
                                2 * i)
            results["coordinated"].append(coord["failover"])
            take = await trial(tmp / "sim.yaml", tmp / f"t{i}", control, cluster.endpoints,
                               2 * i + 1, takeover=True)
            results["takeover"].append(take["takeover"])
            results["after-takeover"].append(take["failover"])
    finally:
        control.close()
        cluster.stop()
        sim.terminate()
        sim.wait(20)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"fault on the primary → promotion POST (interval 1 s, threshold 3, lease {LEASE_TTL:g}s)")
    print(line("one local watcher", results["local"]))
    print(line("three watchers coordinated on etcd", results["coordinated"]))
    print(line("  … after the leader was SIGKILLed", results["after-takeover"]))
    print(line("takeover: SIGKILL of the leader → new leader", results["takeover"]))
    extra = statistics.median(results["coordinated"]) - statistics.median(results["local"])
    print(f"  coordination adds {extra:+.2f}s at the median")


if __name__ == "__main__":
    asyncio.run(main())
