"""Poll many simulated pairs and print round duration, CPU per round and peak RSS.

Two phases against one simulator, side by side: our transport (`LeanTransport`, h11 on
asyncio streams) and, as the reference, httpx's default transport (httpcore). Each phase
runs in a child process of its own, so neither's CPU, peak RSS or TLS sessions count in
the other's figures; the simulator runs in a third (its CPU is not counted). 10% of the
appliances are black-holed. Usage: python3 benchmarks/poll_many.py [--pairs 100]
[--rounds 30] [--interval 1] [--timeout 1] [--transport both|lean|httpx]; --smoke for a
short run in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
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

from d42tui.appliance import ApplianceClient  # noqa: E402
from d42tui.appliance._httpx import httpx  # noqa: E402
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


def httpx_default(context, pin):
    """httpx's own transport, for comparison only: it does not check the pin."""
    return httpx.AsyncHTTPTransport(verify=context if context is not None else True)


TRANSPORTS = {"lean": ("LeanTransport (h11)", None), "httpx": ("httpx default", httpx_default)}


async def run(args: argparse.Namespace, config_path: Path) -> dict:
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
    store = StateStore(config_path.parent / f"bench-state-{args.phase}")
    factory = TRANSPORTS[args.phase][1]
    client_factory = (functools.partial(ApplianceClient, transport=factory) if factory
                      else ApplianceClient)
    poller = Poller(config, store, client_factory=client_factory)
    durations, cpu, sys_cpu = [], [], []
    try:
        for _ in range(args.rounds):
            tick = time.perf_counter()
            usage = resource.getrusage(resource.RUSAGE_SELF)
            await poller.poll_once()
            after = resource.getrusage(resource.RUSAGE_SELF)
            durations.append(time.perf_counter() - tick)
            cpu.append((after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime))
            sys_cpu.append(after.ru_stime - usage.ru_stime)
            rest = args.interval - (time.perf_counter() - tick)
            if rest > 0:
                await asyncio.sleep(rest)
    finally:
        await poller.aclose()
    durations.sort()
    p99 = durations[min(len(durations) - 1, int(round(0.99 * (len(durations) - 1))))]
    steady = cpu[1:] or cpu
    return {"pairs": len(config.pairs), "appliances": len(names), "holes": len(holes),
            "p50": statistics.median(durations), "p99": p99, "max": durations[-1],
            "first": cpu[0], "steady": statistics.mean(steady),
            "steady_sys": statistics.mean(sys_cpu[1:] or sys_cpu),
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_phase(args: argparse.Namespace, phase: str, config_path: Path) -> dict:
    cmd = [sys.executable, __file__, "--phase", phase, "--config", str(config_path),
           "--rounds", str(args.rounds), "--interval", str(args.interval),
           "--timeout", str(args.timeout)]
    done = subprocess.run(cmd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(args: argparse.Namespace, results: dict[str, dict]) -> None:
    any_result = next(iter(results.values()))
    print(f"pairs={any_result['pairs']} appliances={any_result['appliances']} "
          f"black-holed={any_result['holes']} rounds={args.rounds} interval={args.interval}s "
          f"timeout={args.timeout}s (limit per round: timeout + 100 ms = "
          f"{(args.timeout + 0.1) * 1000:.0f} ms)")
    names = [TRANSPORTS[k][0] for k in results]
    rows = [
        ("round p50 / p99 / max", lambda r: f"{r['p50'] * 1000:.0f} / {r['p99'] * 1000:.0f} / "
                                            f"{r['max'] * 1000:.0f} ms"),
        ("CPU first round (TLS)", lambda r: f"{r['first'] * 1000:.0f} ms"),
        ("CPU per round, steady", lambda r: f"{r['steady'] * 1000:.0f} ms = "
                                            f"{100 * r['steady'] / args.interval:.1f}% of a core"),
        ("  of which in the kernel", lambda r: f"{r['steady_sys'] * 1000:.0f} ms"),
        ("peak RSS", lambda r: f"{r['rss_mb']:.0f} MB"),
    ]
    width = max(26, *(len(n) + 2 for n in names))
    print(f"{'':24}" + "".join(f"{n:>{width}}" for n in names))
    for label, cell in rows:
        print(f"{label:24}" + "".join(f"{cell(r):>{width}}" for r in results.values()))
    if "lean" in results and "httpx" in results and results["lean"]["steady"] > 0:
        print(f"httpx default / LeanTransport, steady CPU: "
              f"{results['httpx']['steady'] / results['lean']['steady']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--transport", choices=["both", "lean", "httpx"], default="both")
    parser.add_argument("--smoke", action="store_true", help="10 pairs, 3 rounds")
    parser.add_argument("--phase", choices=list(TRANSPORTS), help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:  # a child: one transport against the parent's simulator
        print(json.dumps(asyncio.run(run(args, args.config))))
        return
    if args.smoke:
        args.pairs, args.rounds = 10, 3
    phases = list(TRANSPORTS) if args.transport == "both" else [args.transport]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.yaml"
        proc = start_simulator(args.pairs, out)
        try:
            report(args, {phase: run_phase(args, phase, out) for phase in phases})
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
