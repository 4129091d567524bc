"""Start the console: on a config, or on the built-in simulator with `--demo`.

`run_console(args)` is what `d42tui` without a subcommand runs. Textual is imported
only here and under `d42tui/tui/`, so the headless commands never pay for it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..tui.app import DemoConsoleApp


def _themes(wanted: str | None):
    """The theme files, and the wanted theme's name checked against them (exit 2 if unknown)."""
    from ..config.errors import ConfigError
    from ..tui.themes import load_themes

    themes, problems = load_themes()
    if wanted is not None and wanted not in themes:
        raise ConfigError([f"--theme: no theme named '{wanted}' (available: "
                           f"{', '.join(sorted(themes)) or 'none'}; theme files live in themes/)"])
    return themes, problems


def run_console(args: argparse.Namespace) -> int:
    if args.demo:
        return _run_demo(args)
    from ..config.models import load_config, state_dir
    from ..engine.poller import Poller
    from ..engine.state import StateStore

    themes, problems = _themes(args.theme)
    options = dict(read_only=args.read_only, theme=args.theme, themes=themes,
                   theme_problems=problems)
    from ..tui.app import ConsoleApp
    from ..tui.signals import leave_after_hang_up, terminal_may_vanish

    loaded = load_config(args.config)
    config = loaded.config
    store = StateStore(state_dir(config))
    app = ConsoleApp(config, poller=Poller(config, store), store=store,
                     notices=loaded.warnings, **options)
    with terminal_may_vanish():
        app.run(mouse=args.mouse)
    leave_after_hang_up(app, app.return_code or 0)
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return app.return_code or 0


def _run_demo(args: argparse.Namespace) -> int:
    """The console on simulated appliances: the simulator boots in its own process (on
    another core) while this one loads the console, then hands over the config it wrote."""
    from ..simulator.process import SimulatorProcess, SimulatorStartError

    signalled: list[int] = []
    running: list[DemoConsoleApp] = []

    def unwind(signum: int, frame: object) -> None:
        signalled.append(signum)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise SystemExit(128 + signum) from None
        if running:  # the app's loop, before it took the signals over: the app quits
            loop.call_soon_threadsafe(running[0].signal_exits.received, signum)
            return
        raise SystemExit(128 + signum)

    def remember(signum: int, frame: object) -> None:
        signalled.append(signum)

    # Outside the running app (while it starts, and while it cleans up after itself) SIGTERM
    # and SIGHUP unwind like an exception, so the demo's files and simulator go with it;
    # while the app runs, its own handlers (tui/signals.py) take over.
    previous = {s: signal.signal(s, unwind) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with tempfile.TemporaryDirectory(prefix="d42tui-demo-") as tmp, \
                SimulatorProcess(Path(tmp)) as sim:
            themes, problems = _themes(args.theme)
            from ..config.models import load_config
            from ..engine.poller import Poller
            from ..engine.state import StateStore
            from ..tui.app import DemoConsoleApp
            from ..tui.demo import SimulatorDemo
            from ..tui.signals import leave_after_hang_up, terminal_may_vanish

            try:
                config = load_config(sim.wait_ready()).config
            except SimulatorStartError as exc:
                print(f"d42tui --demo: the simulator did not start: {exc}", file=sys.stderr)
                return 1
            # The demo keeps its roles to itself: never the operator's real state file.
            store = StateStore(Path(tmp) / "state")
            appliances = [a.name for pair in config.pairs for a in pair.appliances]
            app = DemoConsoleApp(config, poller=Poller(config, store), store=store,
                                 demo=SimulatorDemo(appliances, sim.set_fault,
                                                    sim.set_mode_by_hand),
                                 read_only=args.read_only, theme=args.theme, themes=themes,
                                 theme_problems=problems)
            running.append(app)
            with terminal_may_vanish():
                app.run(mouse=args.mouse)
            running.clear()
            # Cleaning up from here. A signal now (a hang-up right after `q`) is noted, not
            # raised into the middle of removing the files (asyncio put the defaults back
            # when Textual's loop closed), and the SIGCONT handler Textual's driver leaves
            # behind must not resume a finished app.
            signal.signal(signal.SIGCONT, signal.SIG_DFL)
            for s in previous:
                signal.signal(s, remember)
    except SystemExit:
        if not signalled:
            raise
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    # The demo's files and simulator are gone. After a signal, leave without waiting for an
    # input thread Textual may have left behind.
    if signalled:
        from ..finishing import exit_now

        exit_now(128 + signalled[0])
    leave_after_hang_up(app, app.return_code or 0)
    return app.return_code or 0

