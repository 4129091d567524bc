"""Headless guarded actions and the audit commands: same plans, same checks as the console.

`--yes` skips only the typed confirmation, never a check; `--force` is a separate,
explicit override of a refusal that can be forced. Exit codes: 0 done, 1 refused
or cancelled, 2 usage/config, 3 failed, 4 unknown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from ..actions.kinds import ACTIONS, ActionKind  # pure data: `--help` stays light
from ..config.errors import ConfigError
from ..finishing import Finishing, say
from ..text import clean_text, quoted


def add_action_parsers(sub) -> None:
    for spec in ACTIONS:
        if spec.cli_help is None:
            continue
        kind = spec.name
        p = sub.add_parser(kind, help=spec.cli_help)
        if spec.per_appliance:
            p.add_argument("name", help="the appliance")
        else:
            p.add_argument("--pair", help="the pair (needed when the config has several)")
        p.add_argument("--config", default=argparse.SUPPRESS)
        p.add_argument("--yes", action="store_true", help="skip the typed confirmation (not the checks)")
        p.add_argument("--force", action="store_true", help="override a refusal that can be forced")
        p.add_argument("--dry-run", action="store_true", help="print the plan, send nothing")
        p.add_argument("--read-only", action="store_true", default=argparse.SUPPRESS)
        p.set_defaults(func=cmd_action, action_kind=kind)
        if spec.kind is ActionKind.SWITCHOVER:
            from .switchover import add_switchover_arguments, cmd_switchover

            add_switchover_arguments(p)
            p.set_defaults(func=cmd_switchover)

    p = sub.add_parser("audit", help="show the audit trail (or: audit export --markdown)")
    p.add_argument("what", nargs="?", choices=["export"], help="export an incident timeline")
    p.add_argument("--config", default=argparse.SUPPRESS)
    p.add_argument("--since", help="a duration back (2h, 30m) or an ISO time")
    p.add_argument("--json", action="store_true")
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--output", help="write the export to this file")
    p.set_defaults(func=cmd_audit)


def _since(text: str | None) -> float | None:
    from ..config.durations import DurationRangeError, parse_duration

    if not text:
        return None
    try:
        return time.time() - parse_duration(text)
    except DurationRangeError as exc:
        raise ConfigError([f"--since: {exc}"]) from None
    except ValueError:
        pass
    from datetime import datetime

    try:
        return datetime.fromisoformat(text).timestamp()
    except (ValueError, OverflowError, OSError):
        raise ConfigError([f"--since: {quoted(text)} is neither a duration (2h) nor an ISO "
                           "time (2026-03-01T02:00)"]) from None


def _ask(prompt: str) -> str:
    print(prompt, end="", flush=True)
    line = sys.stdin.readline()
    return line.strip()


def cmd_action(args: argparse.Namespace) -> int:
    from ..config.models import load_config
    from .common import oneshot_config, pick_pair

    loaded = load_config(args.config)
    config = loaded.config
    kind = ActionKind(args.action_kind)
    target = getattr(args, "name", None)
    pair = pick_pair(config, args.pair if target is None else None, target)
    config = oneshot_config(config.model_copy(update={"pairs": [pair]}))
    return asyncio.run(_act(args, config, kind, target))


async def _act(args: argparse.Namespace, config, kind: ActionKind, target: str | None) -> int:
    from ..actions.planner import plan_action

    pair = config.pairs[0]

    async def make_plan(pair_poller):
        print(f"polling pair {pair.name}…", flush=True)
        return plan_action(kind, pair, await pair_poller.poll_fully(), target)

    return await run_guarded(args, config, kind, target or "?", make_plan)


async def run_guarded(args: argparse.Namespace, config, kind: ActionKind, target: str,
                      make_plan) -> int:
    """The frame every headless action shares: read-only refusal before any request (polls
    included), then `make_plan(pair_poller)` (a Plan, or an exit code), confirm, run."""
    from ..actions.planner import Picture, Plan
    from ..actions.runner import ActionRunner
    from ..config.models import state_dir
    from ..engine.audit import JsonlLog, audit_path
    from ..engine.poller import Poller
    from ..engine.state import StateStore

    pair = config.pairs[0]
    store = StateStore(state_dir(config))
    poller = Poller(config, store)
    runner = ActionRunner(config, poller, store, JsonlLog(audit_path(config)),
                          read_only=getattr(args, "read_only", False), by="cli")
    try:
        if runner.read_only:
            plan = Plan(kind, pair.name, target, (), Picture("not polled", ()), summary=kind.value)
            result = runner.refuse(plan, "refused", "read-only mode: nothing is sent")
            print(f"REFUSED: {result.detail}")
            return result.exit_code
        plan = await make_plan(poller.pairs[pair.name])
        if isinstance(plan, int):
            return plan
        return await confirm_and_run(args, runner, plan)
    finally:
        await poller.aclose()


def cmd_audit(args: argparse.Namespace) -> int:
    from ..config.models import load_config
    from ..engine.audit import (
        JsonlLog,
        audit_path,
        events_path,
        local_time,
        outcomes,
        timeline_markdown,
    )

    config = None
    try:
        config = load_config(args.config).config
    except ConfigError:
        if args.config:
            raise
    since = _since(args.since)
    audit = JsonlLog(audit_path(config)).read(since)
    if args.what == "export":
        events = JsonlLog(events_path(config)).read(since)
        text = timeline_markdown(audit, events, since)
        if args.output:
            with open(args.output, "w") as fh:
                fh.write(text)
            print(f"wrote {args.output}")
            for note in (audit.note, events.note):  # the file has them; the operator too
                if note:
                    print(f"WARNING: {note}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0
    # damaged lines are said on stderr: stdout stays the table (or valid JSON)
    if audit.note:
        print(f"WARNING: {audit.note}", file=sys.stderr)
    rows = outcomes(audit.records)
    if args.json:
        print(json.dumps([row.__dict__ for row in rows], indent=2))
        return 0
    if not rows:
        missing = " (no such file)" if audit.missing else ""
        print(f"no actions recorded in {audit.path}{missing}")
    for row in rows:
        forced = " (forced)" if row.forced else ""
        # The log holds what others typed and appliances answered: cleaned as it is printed.
        line = (f"{local_time(row.time)}  {row.user}@{row.host}  {row.pair}  {row.action} "
                f"{row.target}{forced}  → {row.result}: {row.detail}")
        print(clean_text(line.replace("\n", " ").replace("\t", " "), 2000))
    return 0


async def confirm_and_run(args: argparse.Namespace, runner, plan) -> int:
    """Print the plan, refuse or confirm (typed name; FORCE for an override), run, report."""
    force = getattr(args, "force", False)
    print("\n".join(plan.lines()))
    if plan.refused and not (force and plan.forceable):
        return runner.refuse(plan, "refused", plan.refusal, force).exit_code
    if args.dry_run:
        print("dry run: nothing was sent.")
        return 0
    if not plan.steps:
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            runner.refuse(plan, "cancelled", "no confirmation: not a terminal and no --yes")
            print("not confirmed: stdin is not a terminal (pass --yes in scripts)", file=sys.stderr)
            return 1
        typed = _ask(f"Type the name ({plan.target}) to confirm: ")
        if typed != plan.target:
            shown = quoted(typed, 64)  # typed by a person: may hold anything, even a password
            runner.refuse(plan, "cancelled", f"confirmation did not match ({shown})")
            print("cancelled: nothing was sent.")
            return 1
        if plan.refused:
            print(f"RISK: {plan.force_risk}")
            if _ask("Type FORCE to override the refusal: ") != "FORCE":
                runner.refuse(plan, "cancelled", "force not confirmed", True)
                print("cancelled: nothing was sent.")
                return 1
    # From here the action runs: a dropped session or a Ctrl-C lets it finish (finishing.py).
    with Finishing() as finishing:
        try:
            result = await runner.run(plan, force=force, progress=lambda text: say(f"… {text}"),
                                      warn=lambda text: say(f"WARNING: {text}"))
        except asyncio.CancelledError:
            if not finishing.abandoned:
                raise
            say("ABANDONED: the action may have partly applied; check the board or "
                "`d42tui status`", sys.stderr)
            return 130
    for step in result.steps:
        say(f"  {step.step.text}: {step.outcome}: {step.message}")
    for warning in result.warnings:
        say(f"WARNING: {warning}")
    say(f"{result.outcome.upper()}: {result.detail}")
    return result.exit_code
