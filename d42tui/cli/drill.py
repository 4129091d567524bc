"""`d42tui drill`: a guarded, journaled DR drill (switchover to the standby, checks,
switchover back) and its Markdown report for the audit file."""

from __future__ import annotations

import argparse
import asyncio
import sys

from ..finishing import Finishing, say


def add_drill_parser(sub) -> None:
    p = sub.add_parser("drill", help="DR drill: switch over to the standby, check it serves, "
                                     "switch back; a report for the audit file")
    p.add_argument("--pair", help="the pair (needed when the config has several)")
    p.add_argument("--config", default=argparse.SUPPRESS)
    p.add_argument("--yes", action="store_true", help="skip the typed confirmation (not the checks)")
    p.add_argument("--report", metavar="FILE.md", help="write the Markdown report here")
    p.add_argument("--read-only", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_drill)


def cmd_drill(args: argparse.Namespace) -> int:
    from ..config.models import load_config
    from .common import oneshot_config, pick_pair

    config = load_config(args.config).config
    pair = pick_pair(config, args.pair)
    if getattr(args, "read_only", False):
        print("REFUSED: read-only mode: a drill sends mode changes", file=sys.stderr)
        return 1
    config = oneshot_config(config.model_copy(update={"pairs": [pair]}))
    return asyncio.run(_drill(args, config, pair))


async def _drill(args: argparse.Namespace, config, pair) -> int:
    from ..actions.drill import DrillRunner, drill_refusal, report_markdown
    from ..actions.runner import ActionRunner
    from ..config.models import state_dir
    from ..engine.audit import JsonlLog, actor, audit_path
    from ..engine.poller import Poller
    from ..engine.state import StateStore

    store = StateStore(state_dir(config))
    poller = Poller(config, store)
    audit = JsonlLog(audit_path(config))
    runner = ActionRunner(config, poller, store, audit, by="cli")
    try:
        print(f"polling pair {pair.name}…", flush=True)
        snap = await poller.pairs[pair.name].poll_fully()
        why = drill_refusal(pair, snap, poller.pairs[pair.name].clock())
        if why is None and not args.yes:
            standby = snap.verdict.standby
            print(f"DR drill on pair {pair.name}: switch over to {standby}, check that it "
                  f"serves (and DNS), switch back to {snap.verdict.production}.")
            if not sys.stdin.isatty():
                print("not confirmed: stdin is not a terminal (pass --yes in scripts)",
                      file=sys.stderr)
                return 1
            from .actions import _ask

            if _ask(f"Type the name ({standby}) to confirm: ") != standby:
                print("cancelled: nothing was sent.")
                return 1
        drill_runner = DrillRunner(runner, pair, audit, actor(), say=say)
        with Finishing():  # a dropped session lets the drill finish (and come back)
            drill = await drill_runner.run()
    finally:
        await poller.aclose()
    text = report_markdown(drill, pair.zone)
    if args.report:
        with open(args.report, "w") as fh:
            fh.write(text)
        print(f"wrote {args.report}")
    else:
        sys.stdout.write(text)
    say(f"DRILL {drill.result.upper()}: {drill.detail}")
    return {"passed": 0, "refused": 1}.get(drill.result, 3)
