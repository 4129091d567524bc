"""Idle cost of the console: terminal bytes per second and CPU, `d42tui --demo` at 80x24.

After the first full board is painted (its size reported apart, in 24-bit colour and
under NO_COLOR) and the start-up work it defers past that paint is done (billed apart:
the first 5 s), the demo runs untouched for 30 s with its 1 s polls and 1 Hz
countdowns; we count what it writes to the terminal and the CPU the process used
(the console's own process: the demo's simulator runs in a child process of its own). Targets: ≤ 200 B/s, ≤ 1% of one core.
Usage: python3 benchmarks/console_idle.py [--seconds 30]; --smoke for CI (5 s).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.tui.ptyterm import PtyProgram  # noqa: E402

MARKERS = (b"HEALTHY", b"next backup", b"palette")
SETTLE = 0.5  # the rest of the first frame after the markers
DEFERRED = 4.5  # then start-up work the console defers past its first paint


def start(env: dict[str, str], argv: tuple[str, ...] = ("--demo",)) -> tuple[PtyProgram, int]:
    program = PtyProgram([sys.executable, "-m", "d42tui", *argv],
                         env={"D42TUI_STATE_DIR": tempfile.mkdtemp(), **env})
    for marker in MARKERS:
        if not program.read(30, until=marker):
            program.close()
            raise SystemExit(f"{marker!r} never painted")
    program.read(SETTLE)
    return program, len(program.output)


def colour_codes(data: bytes) -> int:
    return len(re.findall(rb"\x1b\[[0-9;]*(?:38|48);2;[0-9;]*m", data))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--smoke", action="store_true", help="5 s (CI)")
    args = parser.parse_args()
    seconds = 5.0 if args.smoke else args.seconds

    program, first = start({"COLORTERM": "truecolor"})
    try:
        first_codes = colour_codes(bytes(program.output))
        # Start-up work deferred past the first paint (the schedule scan at +2 s, the first
        # look at the backup file) is billed apart, not as idle.
        cpu_a, t_a = program.cpu_seconds(), time.monotonic()
        program.read(DEFERRED)
        cpu0, t0 = program.cpu_seconds(), time.monotonic()
        settled = len(program.output)
        program.read(seconds)
        cpu1, t1 = program.cpu_seconds(), time.monotonic()
        idle = len(program.output) - settled
    finally:
        program.close()
    plain, plain_first = start({"NO_COLOR": "1"})
    plain.close()
    plain_codes = colour_codes(bytes(plain.output[:plain_first]))

    elapsed = t1 - t0
    print(f"first paint, 24-bit colour:   {first:7d} bytes ({first_codes} 24-bit colour codes)")
    print(f"first paint, NO_COLOR:        {plain_first:7d} bytes ({plain_codes} 24-bit colour codes)")
    print(f"deferred start-up, {t0 - t_a:3.1f} s:    {cpu0 - cpu_a:7.2f} s CPU once (after the first "
          f"paint; {settled - first} bytes)")
    print(f"idle output over {elapsed:4.1f} s:     {idle:7d} bytes = {idle / elapsed:6.1f} B/s "
          "(target ≤ 200 B/s)")
    print(f"idle CPU over {elapsed:4.1f} s:        {cpu1 - cpu0:7.2f} s   = "
          f"{100 * (cpu1 - cpu0) / elapsed:6.2f} % of one core (target ≤ 1 %; the console's "
          "own process: the demo's simulator runs in another)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
