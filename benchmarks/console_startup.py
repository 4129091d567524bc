"""Start-up: `d42tui --demo` until its first full board is painted, against a minimal
Textual app until its first paint, in the same run; prints both and the ratio.

Also in the same run, the floor of any console on our stack: the minimal app when it also
imports httpx and croniter (the design card's) and PyYAML (the config) — what a console
must load before it can read its config, poll and count down — and the CPU each program
has used by its first paint (the demo's includes its simulator's): on 2 cores, no split of
that work over processes could paint sooner than half of it.

Both run in an 80x24 pseudo-terminal; "painted" means the markers have been written
(the demo: the verdict from its first poll, the schedule and the footer). Target: ratio
≤ 1.5. d42tui is byte-compiled first, as `pip install` leaves it: with
PYTHONDONTWRITEBYTECODE set (as on our CI machines) an editable checkout would otherwise
compile every module from source on each start while Textual's come precompiled.
Usage: python3 benchmarks/console_startup.py [--runs 7]; --smoke for CI (2 runs);
--imports adds one run of each under `python -X importtime`, import cost by package
(importtime itself inflates the figures by about a third; compare them with each other).
"""

from __future__ import annotations

import argparse
import compileall
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.tui.ptyterm import ROOT, PtyProgram  # noqa: E402

MINIMAL = '''{imports}
from textual.app import App
from textual.widgets import Footer, Static

class Minimal(App):
    def compose(self):
        yield Static("minimal board painted")
        yield Footer()

Minimal().run()
'''

FLOOR_IMPORTS = "import httpx, croniter, yaml"
DEMO_MARKERS = (b"HEALTHY", b"next backup", b"palette")
MINIMAL_MARKERS = (b"minimal board painted",)


def time_to_paint(argv: list[str], markers: tuple[bytes, ...],
                  timeout: float = 30.0) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its children) at the first paint."""
    started = time.perf_counter()
    program = PtyProgram(argv, env={"D42TUI_STATE_DIR": tempfile.mkdtemp()})
    try:
        for marker in markers:
            if not program.read(timeout, until=marker):
                raise SystemExit(f"{argv}: {marker!r} never painted")
        wall = time.perf_counter() - started
        return wall, program.tree_cpu_seconds()
    finally:
        program.close()


IMPORT_LINE = re.compile(rb"import time:\s+(\d+) \|\s+\d+ \| *([\w.]+)")


def import_costs(argv: list[str], markers: tuple[bytes, ...]) -> Counter[str]:
    """Self import time (ms) per top-level package, from `-X importtime` on the terminal."""
    program = PtyProgram([argv[0], "-X", "importtime", *argv[1:]],
                         env={"D42TUI_STATE_DIR": tempfile.mkdtemp()})
    try:
        for marker in markers:
            if not program.read(30, until=marker):
                raise SystemExit(f"{argv}: {marker!r} never painted")
    finally:
        program.close()
    costs: Counter[str] = Counter()
    for micros, module in IMPORT_LINE.findall(bytes(program.output)):
        costs[module.decode().split(".")[0]] += int(micros) / 1000
    return costs


def print_import_costs(minimal: Path) -> None:
    demo = import_costs([sys.executable, "-m", "d42tui", "--demo"], DEMO_MARKERS)
    base = import_costs([sys.executable, str(minimal)], MINIMAL_MARKERS)
    print(f"imports (self time under -X importtime): d42tui --demo {sum(demo.values()):.0f} ms, "
          f"minimal app {sum(base.values()):.0f} ms; by package, demo (minimal):")
    for package, ms in demo.most_common(14):
        print(f"  {package:<22} {ms:6.1f} ms ({base.get(package, 0.0):5.1f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="2 runs (CI)")
    parser.add_argument("--imports", action="store_true", help="import cost by package")
    args = parser.parse_args()
    runs = 2 if args.smoke else args.runs
    compileall.compile_dir(str(ROOT / "d42tui"), quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        minimal, floor = Path(tmp) / "minimal.py", Path(tmp) / "floor.py"
        minimal.write_text(MINIMAL.format(imports=""))
        floor.write_text(MINIMAL.format(imports=FLOOR_IMPORTS))
        programs = {
            "minimal": ([sys.executable, str(minimal)], MINIMAL_MARKERS),
            "floor": ([sys.executable, str(floor)], MINIMAL_MARKERS),
            "demo": ([sys.executable, "-m", "d42tui", "--demo"], DEMO_MARKERS),
        }
        time_to_paint(*programs["minimal"])  # warm the file cache
        walls: dict[str, list[float]] = {name: [] for name in programs}
        cpus: dict[str, list[float]] = {name: [] for name in programs}
        for _ in range(runs):
            for name, (argv, markers) in programs.items():
                wall, cpu = time_to_paint(argv, markers)
                walls[name].append(wall)
                cpus[name].append(cpu)
        if args.imports:
            print_import_costs(minimal)
    wall = {name: statistics.median(times) for name, times in walls.items()}
    cpu = {name: statistics.median(times) for name, times in cpus.items()}
    base = wall["minimal"]
    print(f"medians of {runs} runs; CPU counts the process and its children (the demo's simulator)")
    print(f"minimal Textual app, first paint:       {base * 1000:6.0f} ms, CPU {cpu['minimal'] * 1000:4.0f} ms")
    print(f"the same importing {FLOOR_IMPORTS[7:]:<20} {wall['floor'] * 1000:6.0f} ms, CPU "
          f"{cpu['floor'] * 1000:4.0f} ms ({wall['floor'] / base:.2f}x: the floor on our stack)")
    print(f"d42tui --demo, first full board:        {wall['demo'] * 1000:6.0f} ms, CPU {cpu['demo'] * 1000:4.0f} ms")
    print(f"ratio:                                  {wall['demo'] / base:6.2f}x  (target ≤ 1.5x)")
    print(f"demo CPU / 2 cores:                     {cpu['demo'] / 2 * 1000:6.0f} ms "
          f"({cpu['demo'] / 2 / base:.2f}x: no split of today's work paints sooner)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
