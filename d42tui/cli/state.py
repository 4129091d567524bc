"""Commands on the console's own state: a person confirms the roles after a damaged file.

A state file that cannot be read is never guessed at: until someone says which appliance
is production (`d42tui confirm-roles PAIR --production NAME`), every reader reports it and
nothing acts. Confirming sends nothing to an appliance; it records what the person knows.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from ..config.errors import ConfigError


def add_state_parsers(sub) -> None:
    p = sub.add_parser("confirm-roles", help="say which appliance is production after the state "
                                             "file was damaged (sends nothing)")
    p.add_argument("pair")
    p.add_argument("--production", required=True, help="the appliance that is production now")
    p.add_argument("--config", default=argparse.SUPPRESS)
    p.add_argument("--yes", action="store_true", help="skip the typed confirmation")
    p.set_defaults(func=cmd_confirm_roles)

    p = sub.add_parser("resume-plan", help="finish (or roll back, or abandon) an action that "
                                           "was interrupted mid-way")
    p.add_argument("pair")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--rollback", action="store_true",
                     help="undo what it sent: production back to where it was")
    how.add_argument("--abandon", action="store_true",
                     help="drop the record, send nothing (you have checked the pair by hand)")
    p.add_argument("--config", default=argparse.SUPPRESS)
    p.add_argument("--yes", action="store_true", help="skip the typed confirmation")
    p.add_argument("--read-only", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_resume_plan)


def _previous_roles(store, pair: str) -> str | None:
    """What the last good generation of the state said of the pair, for the person to
    weigh (it may predate the last action)."""
    try:
        data: Any = json.loads(store.previous.read_text())
        entry = data["pairs"][pair]
        modes = ", ".join(f"{n} {m['mode']}" for n, m in sorted(entry.get("modes", {}).items()))
        return f"desired production {entry.get('desired_production', '?')}" + (
            f"; asserted {modes}" if modes else "")
    except (OSError, ValueError, KeyError, TypeError):
        return None


def cmd_confirm_roles(args: argparse.Namespace) -> int:
    from ..config.models import load_config, state_dir
    from ..engine.audit import JsonlLog, audit_path, new_action_id
    from ..engine.state import StateDamaged, StateStore, automation_entry

    config = load_config(getattr(args, "config", None)).config
    try:
        pair = config.pair(args.pair)
    except KeyError:
        raise ConfigError([f"no pair named {args.pair} (known: "
                           f"{', '.join(p.name for p in config.pairs)})"]) from None
    names = [a.name for a in pair.appliances]
    if args.production not in names:
        raise ConfigError([f"--production: {args.production} is not an appliance of pair "
                           f"{pair.name} ({', '.join(names)})"])
    store = StateStore(state_dir(config))
    damage = store.damage()
    if damage is None:
        try:
            store.roles(pair)
        except StateDamaged as exc:  # a rebuilt file whose pair waits for its confirmation
            damage = exc
    if damage is not None:
        print(str(damage))
    elif automation_entry(store, pair.name).get("journal"):
        print(f"pair {pair.name} has an unfinished plan: finish or roll it back first "
              f"(d42tui resume-plan {pair.name})")
        return 1
    else:
        print(f"the state file {store.path} can be read; this re-states the roles of pair "
              f"{pair.name} anyway.")
    previous = _previous_roles(store, pair.name)
    if previous:
        print(f"the previous generation ({store.previous.name}) said: {previous}")
    other = next(n for n in names if n != args.production)
    print(f"Will record: {args.production} production, {other} standby (desired production "
          f"{args.production}). Nothing is sent to an appliance: re-assert the roles "
          f"afterwards if they may differ (d42tui reassert NAME).")
    if not args.yes:
        if not sys.stdin.isatty():
            print("not confirmed: stdin is not a terminal (pass --yes in scripts)",
                  file=sys.stderr)
            return 1
        print(f"Type the production's name ({args.production}) to confirm: ", end="", flush=True)
        if sys.stdin.readline().strip() != args.production:
            print("cancelled: nothing was written.")
            return 1
    kept = store.confirm_roles(pair, args.production, time.time(), [p.name for p in config.pairs])
    action_id = new_action_id()
    base = {"action_id": action_id, "pair": pair.name, "action": "confirm-roles",
            "target": args.production}
    audit = JsonlLog(audit_path(config))
    audit.append({"phase": "before", **base, "damage": damage.problem if damage else None,
                  "kept": str(kept) if kept else None, "previous": previous})
    detail = f"roles confirmed by a person: {args.production} production, {other} standby"
    audit.append({"phase": "after", **base, "result": "done", "detail": detail})
    print(f"DONE: {detail}" + (f"; the damaged file is kept as {kept}" if kept else ""))
    return 0


def cmd_resume_plan(args: argparse.Namespace) -> int:
    import asyncio

    from ..actions.runner import ActionBusy, ActionRunner
    from ..config.models import load_config, state_dir
    from ..engine.audit import JsonlLog, audit_path
    from ..engine.journal import load_journal
    from ..engine.poller import Poller
    from ..engine.state import StateStore
    from ..finishing import Finishing, say
    from .common import oneshot_config

    config = load_config(getattr(args, "config", None)).config
    try:
        pair = config.pair(args.pair)
    except KeyError:
        raise ConfigError([f"no pair named {args.pair} (known: "
                           f"{', '.join(p.name for p in config.pairs)})"]) from None
    if getattr(args, "read_only", False):
        print("REFUSED: read-only mode: nothing is sent")
        return 1
    how = "rollback" if args.rollback else "abandon" if args.abandon else "complete"
    store = StateStore(state_dir(config))
    journal, raw = load_journal(store, pair.name)
    if journal is None and raw is None:
        print(f"pair {pair.name} has no unfinished plan: nothing to do")
        return 0
    if journal is not None:
        print("\n".join(journal.lines()))
        for i, step in enumerate(journal.steps, 1):
            print(f"  step {i}: {step.status}" + (f" ({step.detail})" if step.detail else ""))
        print(f"so far: {journal.sent_so_far()} (by the {journal.by}, pid {journal.pid})")
    else:
        print(f"an unreadable plan record: {str(raw)[:200]}")
    print({"complete": "Will finish it: each unfinished step is sent (the POST is idempotent)",
           "rollback": "Will undo it: production goes back to where it was before the plan",
           "abandon": "Will drop the record and send nothing"}[how] + ".")
    if not args.yes:
        if not sys.stdin.isatty():
            print("not confirmed: stdin is not a terminal (pass --yes in scripts)",
                  file=sys.stderr)
            return 1
        print(f"Type the pair's name ({pair.name}) to confirm: ", end="", flush=True)
        if sys.stdin.readline().strip() != pair.name:
            print("cancelled: nothing was sent.")
            return 1
    config = oneshot_config(config.model_copy(update={"pairs": [pair]}))
    pair = config.pairs[0]

    async def run() -> int:
        poller = Poller(config, store)
        runner = ActionRunner(config, poller, store, JsonlLog(audit_path(config)), by="cli")
        try:
            with Finishing():
                result = await runner.resume(pair.name, how, lambda text: say(f"… {text}"),
                                             lambda text: say(f"WARNING: {text}"))
        except ActionBusy as exc:
            print(f"REFUSED: {exc}: the plan is being carried out")
            return 1
        finally:
            await poller.aclose()
        if isinstance(result, str):
            print(result)
            return 1 if result.startswith(("cannot start", "the plan record")) else 0
        for step in result.steps:
            say(f"  {step.step.text}: {step.outcome}: {step.message}")
        for warning in result.warnings:
            say(f"WARNING: {warning}")
        say(f"{result.outcome.upper()}: {result.detail}")
        return result.exit_code
    return asyncio.run(run())
