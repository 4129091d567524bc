"""Poll many simulated pairs and print round duration, CPU per round and peak RSS.

The simulator runs in its own process (so its CPU is not counted); 10% of the
appliances are black-holed. Usage: python3 benchmarks/poll_many.py [--pairs 100]
[--rounds 30] [--interval 1] [--timeout 1]; --smoke for a short run in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from d42tui.config.models import load_config  # noqa: E402
from d42tui.engine.poller import Poller  # noqa: E402
from d42tui.engine.state import StateStore  # noqa: E402
from d42tui.simulator import ControlClient  # noqa: E402


def start_simulator(pairs: int, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "D42TUI_STATE_DIR": str(out.parent)}
    proc = subprocess.Popen([sys.executable, "-m", "d42tui", "simulate", "--pairs", str(pairs),
                             "--config-out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if out.exists() and out.stat().st_size > 0:
            try:
                load_config(out)
                return proc
            except Exception:
                pass
        if proc.poll() is not None:
            raise SystemExit(f"simulator exited: {proc.stdout.read()}")
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("simulator did not start in 60 s")


async def run(args: argparse.Namespace, config_path: Path) -> None:
    config = load_config(config_path).config
    pairs = []
    for p in config.pairs:
        poll = p.poll.model_copy(update={"interval": args.interval, "timeout": args.timeout})
        pairs.append(p.model_copy(update={"poll": poll}))
    config = config.model_copy(update={"pairs": pairs})
    control = ControlClient(config.simulator.control_url)
    names = [a.name for p in config.pairs for a in p.appliances]
    holes = names[:: 10]  # 10%
    for name in holes:
        control.set_fault(name, "blackhole")
    store = StateStore(config_path.parent / "bench-state")
    poller = Poller(config, store)
    durations, cpu = [], []
    try:
        for _ in range(args.rounds):
            tick = time.perf_counter()
            usage = resource.getrusage(resource.RUSAGE_SELF)
            await poller.poll_once()
            after = resource.getrusage(resource.RUSAGE_SELF)
            durations.append(time.perf_counter() - tick)
            cpu.append((after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime))
            rest = args.interval - (time.perf_counter() - tick)
            if rest > 0:
                await asyncio.sleep(rest)
    finally:
        await poller.aclose()
    durations.sort()
    p99 = durations[min(len(durations) - 1, int(round(0.99 * (len(durations) - 1))))]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"pairs={len(config.pairs)} appliances={len(names)} black-holed={len(holes)} "
          f"rounds={args.rounds} interval={args.interval}s timeout={args.timeout}s")
    print(f"round duration: p50 {statistics.median(durations) * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms, max {durations[-1] * 1000:.0f} ms "
          f"(limit timeout + 100 ms = {(args.timeout + 0.1) * 1000:.0f} ms)")
    first = cpu[0]
    steady = cpu[1:] or cpu
    print(f"CPU per round: first {first * 1000:.0f} ms (TLS handshakes), steady mean "
          f"{statistics.mean(steady) * 1000:.0f} ms = {100 * statistics.mean(steady) / args.interval:.1f}% "
          f"of one core")
    print(f"peak RSS: {rss_mb:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--smoke", action="store_true", help="10 pairs, 3 rounds")
    args = parser.parse_args()
    if args.smoke:
        args.pairs, args.rounds = 10, 3
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.yaml"
        proc = start_simulator(args.pairs, out)
        try:
            asyncio.run(run(args, out))
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
