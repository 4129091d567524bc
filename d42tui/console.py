"""Start the console: on a config, or on the built-in simulator with `--demo`.

Until the Textual console lands this prints the status table once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path


def run_console(args: argparse.Namespace) -> int:
    from .cli import oneshot_config, poll_all_once
    from .config import load_config
    from .report import status_table

    if args.demo:
        from .simulator.run import build_demo, write_config

        sim, passwords = build_demo()
        with sim, tempfile.TemporaryDirectory(prefix="d42tui-demo-") as tmp:
            path = write_config(sim, Path(tmp) / "demo.yaml", passwords)
            config = oneshot_config(load_config(path).config)
            sys.stdout.write(status_table(config, asyncio.run(poll_all_once(config))))
        return 0
    loaded = load_config(args.config)
    config = oneshot_config(loaded.config)
    sys.stdout.write(status_table(config, asyncio.run(poll_all_once(config))))
    return 0
