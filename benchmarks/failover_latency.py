"""Failover latency of `d42tui watch`: from a fault on the primary to the promotion POST at the
simulator and to the changed answer at a real BIND 9, split into detection and action.

The simulator runs in its own process (`d42tui simulate`), BIND is started here, the watcher
runs in this process on the real clock. Then a flapping primary for a long stretch must give
zero failovers. Usage: python3 benchmarks/failover_latency.py [--trials 20] [--flap 600];
--smoke for CI (2 trials per fault, a 30 s flap run).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.pop("D42TUI_STATE_DIR", None)  # each trial gets its own state dir via the config

import dns.message  # noqa: E402
import dns.query  # noqa: E402

from d42tui.appliance.client import ApplianceClient  # noqa: E402
from d42tui.config.models import Config, load_config  # noqa: E402
from d42tui.dns import DnsConfig  # noqa: E402
from d42tui.engine.audit import JsonlLog, audit_path, outcomes  # noqa: E402
from d42tui.simulator import ControlClient  # noqa: E402
from d42tui.watch.service import Watcher  # noqa: E402

NEW, OLD = "10.0.0.2", "10.0.0.1"


class DnsWatch(threading.Thread):
    """Asks BIND every 2 ms and notes when it first answers `NEW` (a thread: no load on the
    watcher's event loop)."""

    def __init__(self, named, fqdn: str):
        super().__init__(daemon=True)
        self.named, self.fqdn = named, fqdn
        self.changed_at: float | None = None
        self.done = threading.Event()

    def run(self) -> None:
        query = dns.message.make_query(self.fqdn, "A")
        while not self.done.is_set():
            try:
                answer = dns.query.udp(query, self.named.host, timeout=0.5, port=self.named.port)
                values = {r.to_text() for rr in answer.answer for r in rr}
            except Exception:
                values = set()
            if NEW in values:
                self.changed_at = time.time()
                return
            time.sleep(0.002)


def bench_config(base: Config, named, state: Path) -> Config:
    pair = base.pairs[0]
    far = f"0 {(datetime.now(UTC).hour + 12) % 24} * * *"  # no restore window during the run
    dns_cfg = DnsConfig.model_validate(named.dns_section({pair.appliances[0].name: OLD,
                                                          pair.appliances[1].name: NEW}))
    auto = pair.automation.model_copy(update={"witnesses": [f"{named.host}:{named.port}"]})
    pair = pair.model_copy(update={"restore_cron": far, "dns": dns_cfg, "automation": auto})
    return base.model_copy(update={"pairs": [pair], "state_dir": state})


async def reset(config: Config, control: ControlClient, named) -> None:
    pair = config.pairs[0]
    a, b = pair.appliances
    control.set_fault(a.name, "none")
    control.set_fault(b.name, "none")
    for cfg, mode in ((b, "standby"), (a, "production")):
        async with ApplianceClient(cfg, 5) as client:
            result = await client.set_mode(mode)
            assert result.outcome == "done", result.message
    named.set_record(OLD)
    control.clear_requests()


async def trial(base: Config, control: ControlClient, named, kind: str, index: int,
                tmp: Path, interval: float) -> dict[str, float]:
    config = bench_config(base, named, tmp / f"state-{kind}-{index}")
    await reset(config, control, named)
    pair = config.pairs[0]
    primary, standby = (a.name for a in pair.appliances)
    marks: dict[str, float] = {}

    def say(level, event, text, pair=None, **fields):
        if event == "primary-failing" and f" {pair_threshold}/" in text:
            marks.setdefault("detected", time.time())
        if event == "failover":
            marks.setdefault("decided", time.time())

    pair_threshold = pair.poll.failure_threshold
    watcher = Watcher(config, say=say)
    watcher.start()
    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop))
    dns_watch = DnsWatch(named, pair.dns.name)
    try:
        await asyncio.sleep(3 * interval + random.random() * interval)  # armed, random phase
        dns_watch.start()
        t0 = time.time()
        await asyncio.to_thread(control.set_fault, primary, kind)
        deadline = time.monotonic() + 30
        while dns_watch.changed_at is None and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if dns_watch.changed_at is None:
            raise SystemExit(f"{kind} trial {index}: DNS never changed")
    finally:
        dns_watch.done.set()
        stop.set()
        await task
        await watcher.aclose()
    posts = [r for r in await asyncio.to_thread(control.requests, standby)
             if r["method"] == "POST" and r["form"].get("appliance_mode") == "production"]
    if len(posts) != 1:
        raise SystemExit(f"{kind} trial {index}: {len(posts)} promotion POSTs, expected 1")
    post, changed = posts[0]["at"], dns_watch.changed_at
    return {"detect": marks["detected"] - t0, "decide": marks["decided"] - marks["detected"],
            "post": post - marks["detected"], "dns": changed - marks["detected"],
            "total_post": post - t0, "total_dns": changed - t0}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def row(label: str, values: list[float]) -> str:
    return (f"  {label:<50} p50 {statistics.median(values):7.3f}s  p95 {pct(values, 0.95):7.3f}s"
            f"  max {max(values):7.3f}s")


async def flap_run(base: Config, control: ControlClient, named, seconds: float,
                   tmp: Path) -> tuple[int, int, int]:
    config = bench_config(base, named, tmp / "state-flap")
    await reset(config, control, named)
    primary = config.pairs[0].appliances[0].name
    failing = {"count": 0, "max": 0, "run": 0}

    def say(level, event, text, pair=None, **fields):
        if event == "primary-failing":
            failing["count"] += 1
            failing["run"] += 1
            failing["max"] = max(failing["max"], failing["run"])
        elif event == "primary-answers":
            failing["run"] = 0

    watcher = Watcher(config, say=say)
    watcher.start()
    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop))
    await asyncio.sleep(3)
    control.set_fault(primary, "flap")
    await asyncio.sleep(seconds)
    stop.set()
    await task
    await watcher.aclose()
    control.set_fault(primary, "none")
    acted = [o for o in outcomes(list(JsonlLog(audit_path(config)).records()))
             if o.action == "auto-failover"]
    return len(acted), failing["count"], failing["max"]


async def run(args: argparse.Namespace, sim_config: Path, named, tmp: Path) -> None:
    base = load_config(sim_config).config
    poll = base.pairs[0].poll
    control = ControlClient(base.simulator.control_url)
    print(f"failover latency: {args.trials} trials per fault; poll interval {poll.interval:g}s, "
          f"timeout {poll.timeout:g}s, failure threshold {poll.failure_threshold}; "
          "a TCP witness; DNS by RFC 2136 to BIND 9 on loopback", flush=True)
    overhead: list[float] = []
    for kind in ("down", "blackhole"):
        results = [await trial(base, control, named, kind, i, tmp, poll.interval)
                   for i in range(args.trials)]
        hysteresis = poll.failure_threshold * poll.interval + (
            poll.timeout if kind == "blackhole" else 0)
        print(f"{kind}: the configured hysteresis is at most {hysteresis:g}s "
              f"({poll.failure_threshold} polls x {poll.interval:g}s"
              + (f" + {poll.timeout:g}s timeout" if kind == "blackhole" else "") + ")")
        print(row("detection: fault → 3rd failed poll seen", [r["detect"] for r in results]))
        print(row("action: 3rd failed poll → decision", [r["decide"] for r in results]))
        print(row("action: 3rd failed poll → POST at the simulator", [r["post"] for r in results]))
        print(row("action: 3rd failed poll → answer changed at BIND",
                  [r["dns"] for r in results]))
        print(row("total: fault → POST at the simulator", [r["total_post"] for r in results]))
        print(row("total: fault → answer changed at BIND", [r["total_dns"] for r in results]))
        late = [max(0.0, r["detect"] - hysteresis) for r in results]
        print(row("detection beyond the configured hysteresis", late), flush=True)
        overhead += [r["dns"] + lt for r, lt in zip(results, late)]
    verdict = "OK" if pct(overhead, 0.95) < 1 else "OVER TARGET"
    print(f"what the watcher adds beyond the hysteresis (to the DNS answer), p95 "
          f"{pct(overhead, 0.95):.3f}s, max {max(overhead):.3f}s: target < 1s: {verdict}")
    acted, failed, longest = await flap_run(base, control, named, args.flap, tmp)
    print(f"flap run: {args.flap:g}s of `flap` on the primary: {acted} failovers (target 0); "
          f"{failed} failed polls, at most {longest} in a row", flush=True)
    n, every = args.nagios_attempts, args.nagios_interval
    print(f"the seed's Nagios recipe: HARD after about check interval x attempts = {every:g}s x "
          f"{n} = {every * n / 60:g} min (and then only the promotion: no DNS, no fencing)")
    if acted:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--flap", type=float, default=600, help="seconds of flapping")
    parser.add_argument("--nagios-interval", type=float, default=60,
                        help="seconds between Nagios checks, for the comparison line")
    parser.add_argument("--nagios-attempts", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="2 trials per fault, 30 s of flap")
    args = parser.parse_args()
    if args.smoke:
        args.trials, args.flap = 2, 30
    if not (shutil.which("named") or Path("/usr/sbin/named").exists()):
        raise SystemExit("BIND 9 (named) is needed: apt-get install bind9 bind9-utils")
    from poll_many import start_simulator  # this directory; it runs `d42tui simulate`

    from tests.named_server import start_named

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ["D42TUI_STATE_DIR"] = str(tmp / "sim-state")
        proc = start_simulator(1, tmp / "sim.yaml")
        os.environ.pop("D42TUI_STATE_DIR")
        try:
            with start_named(tmp / "named") as named:
                asyncio.run(run(args, tmp / "sim.yaml", named, tmp))
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
