"""`d42tui switchover`: a planned switchover now, at a time, in a while, or after the next
restore; `--cancel` removes a scheduled one.

A scheduled one is stored in the state file. A watcher running for the pair on this host
takes it up when it falls due; without one the command waits in the foreground (Ctrl-C
cancels it) and runs it itself. Either way it is checked again when due and skipped with
the reason unless the pair is fit for it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime

from ..config.errors import ConfigError
from ..finishing import say


def add_switchover_arguments(p: argparse.ArgumentParser) -> None:
    when = p.add_mutually_exclusive_group()
    when.add_argument("--at", help="a time: HH:MM (the next one, in the pair's time zone) or "
                                   "an ISO date and time")
    when.add_argument("--in", dest="in_", metavar="DURATION", help="after a while (30m, 2h)")
    when.add_argument("--after-next-restore", action="store_true",
                      help="at the end of the standby's restore that follows the next backup")
    when.add_argument("--cancel", action="store_true", help="remove the scheduled switchover")


def when_of(args: argparse.Namespace, pair, now: float) -> tuple[float, str, str] | None:
    """(epoch, why, expected loss) of the moment asked for; None: now."""
    from ..config.durations import DurationRangeError, parse_duration
    from ..engine.switchover import after_next_restore

    if args.after_next_restore:
        moment = after_next_restore(pair, datetime.fromtimestamp(now, UTC))
        local = moment.restore.astimezone(pair.zone)
        return (moment.at.timestamp(),
                f"after the next restore (the {moment.backup.astimezone(pair.zone):%H:%M} "
                f"backup, restored at {local:%H:%M})", moment.loss)
    if args.in_:
        try:
            seconds = parse_duration(args.in_)
        except (DurationRangeError, ValueError) as exc:
            raise ConfigError([f"--in {args.in_}: {exc}"]) from None
        return now + seconds, f"in {args.in_}, as asked", ""
    if args.at:
        return _at(args.at, pair, now), f"at {args.at}, as asked", ""
    return None


def _at(text: str, pair, now: float) -> float:
    zone = pair.zone
    here = datetime.fromtimestamp(now, zone)
    try:
        if len(text) <= 5 and ":" in text:
            hour, minute = (int(x) for x in text.split(":"))
            moment = here.replace(hour=hour, minute=minute, second=0, microsecond=0)
            if moment.timestamp() <= now:
                from datetime import timedelta

                moment = (moment.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=zone)
            return moment.timestamp()
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError([f"--at {text}: not a time (HH:MM, or an ISO date and time such as "
                           "2026-12-03T16:45)"]) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp()


def cmd_switchover(args: argparse.Namespace) -> int:
    from ..config.models import load_config
    from .common import oneshot_config, pick_pair

    config = load_config(args.config).config
    pair = pick_pair(config, args.pair)
    config = oneshot_config(config.model_copy(update={"pairs": [pair]}))
    if getattr(args, "read_only", False) and (args.cancel or args.at or args.in_
                                              or args.after_next_restore):
        print("REFUSED: read-only mode: nothing is scheduled or cancelled", file=sys.stderr)
        return 1
    if args.cancel:
        return _cancel(config, pair)
    from ..engine.switchover import ScheduleRefused

    try:
        moment = when_of(args, pair, time.time())
    except ScheduleRefused as exc:
        print(f"REFUSED: {exc}", file=sys.stderr)
        return 1
    if moment is None:  # now: the guarded action, as failover or failback
        from .actions import _act

        return asyncio.run(_act(args, config, _kind(), None))
    return asyncio.run(_schedule(args, config, pair, *moment))


def _kind():
    from ..actions.kinds import ActionKind

    return ActionKind.SWITCHOVER


def _audit(config, pair, action: str, target: str, result: str, detail: str) -> None:
    from ..engine.audit import JsonlLog, audit_path
    from ..engine.switchover import record

    record(JsonlLog(audit_path(config)), pair.name, action, target, result, detail)


def _cancel(config, pair) -> int:
    from ..config.models import state_dir
    from ..engine.state import StateStore
    from ..engine.switchover import ScheduledSwitchover, take_switchover

    store = StateStore(state_dir(config))
    raw = take_switchover(store, pair.name)
    if raw is None:
        print(f"no switchover is scheduled for pair {pair.name}: nothing to cancel")
        return 1
    try:
        text = ScheduledSwitchover.from_json(raw).text(pair.zone, time.time())
    except ValueError:
        text = f"an unreadable record ({str(raw)[:120]})"
    _audit(config, pair, "switchover-cancel", pair.name, "done", f"cancelled: {text}")
    print(f"cancelled: {text}")
    return 0


async def _schedule(args: argparse.Namespace, config, pair, at: float, why: str,
                    loss: str) -> int:
    from ..actions.planner import plan_action
    from ..config.models import state_dir
    from ..engine.audit import actor
    from ..engine.poller import Poller
    from ..engine.state import StateStore
    from ..engine.switchover import (
        ScheduledSwitchover,
        scheduled_switchover,
        store_switchover,
    )

    now = time.time()
    if at <= now:
        print(f"REFUSED: that moment has passed ({_local(at, pair)}); for a switchover now, "
              "leave out --at/--in", file=sys.stderr)
        return 1
    store = StateStore(state_dir(config))
    try:
        existing = scheduled_switchover(store, pair.name)
    except ValueError as exc:
        print(f"REFUSED: {exc}", file=sys.stderr)
        return 1
    if existing is not None:
        print(f"REFUSED: one is scheduled already ({existing.text(pair.zone, now)}); "
              f"`d42tui switchover --cancel --pair {pair.name}` first", file=sys.stderr)
        return 1
    poller = Poller(config, store)
    try:
        print(f"polling pair {pair.name}…", flush=True)
        snap = await poller.pairs[pair.name].poll_fully()
    finally:
        await poller.aclose()
    plan = plan_action(_kind(), pair, snap)
    source = snap.verdict.production or snap.desired_production
    item = ScheduledSwitchover(at=at, source=source, target=plan.target, by=actor(),
                               created_at=now, why=why, loss=loss or (plan.data_loss or ""))
    print(f"will schedule: {item.text(pair.zone, now)}")
    print("\n".join(plan.lines()))
    if plan.refused:
        print(f"NOTE: right now it would be refused ({plan.refusal}); it is checked again "
              "when it falls due and skipped unless the pair is fit for it")
    if args.dry_run:
        print("dry run: nothing was scheduled.")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            print("not confirmed: stdin is not a terminal (pass --yes in scripts)",
                  file=sys.stderr)
            return 1
        from .actions import _ask

        if _ask(f"Type the name ({plan.target}) to confirm: ") != plan.target:
            print("cancelled: nothing was scheduled.")
            return 1
    store_switchover(store, pair.name, item)
    _audit(config, pair, "switchover-schedule", plan.target, "done",
           f"scheduled: {item.text(pair.zone, now)}")
    if _watcher_runs(config, pair):
        print(f"SCHEDULED: {item.text(pair.zone, now)}; the watcher of pair {pair.name} runs "
              "it when it falls due (`d42tui switchover --cancel` removes it)")
        return 0
    print(f"SCHEDULED: {item.text(pair.zone, now)}. No watcher runs for pair {pair.name} "
          "here: this command waits and runs it (Ctrl-C cancels it).", flush=True)
    return await _wait_and_run(args, config, pair, item)


def _local(ts: float, pair) -> str:
    return datetime.fromtimestamp(ts, pair.zone).strftime("%Y-%m-%d %H:%M %Z")


def _watcher_runs(config, pair) -> bool:
    from ..watch.status import automation_for

    state = automation_for(config, pair, time.time())
    return pair.automation.enabled and state.kind != "OFF"


async def _wait_and_run(args: argparse.Namespace, config, pair, item) -> int:
    from ..config.models import state_dir
    from ..engine.state import StateStore, automation_entry
    from ..engine.switchover import take_switchover
    from ..watch.status import active_pause

    store = StateStore(state_dir(config))
    try:
        while (left := item.at - time.time()) > 0:
            await asyncio.sleep(min(left, 5.0))
            raw = automation_entry(store, pair.name).get("scheduled_switchover")
            if raw != item.to_json():
                print("the scheduled switchover was cancelled or replaced: this command stops")
                return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        take_switchover(store, pair.name)
        _audit(config, pair, "switchover-cancel", item.target, "done",
               "cancelled by Ctrl-C while waiting")
        print("\ncancelled: the scheduled switchover is removed; nothing was sent.")
        return 1
    if take_switchover(store, pair.name) != item.to_json():
        print("the scheduled switchover was taken up or cancelled meanwhile: this command stops")
        return 1
    from ..actions.switchover import due_plan

    async def make_plan(pair_poller):
        say(f"due: {item.text(pair.zone, time.time())}; polling pair {pair.name}…")
        snap = await pair_poller.poll_fully()
        pause = active_pause(automation_entry(store, pair.name), time.time())
        plan, why = due_plan(pair, snap, item, pause.text(time.time()) if pause else None)
        if plan is None:
            _audit(config, pair, "switchover-skipped", item.target, "refused",
                   f"skipped: {why}")
            say(f"SKIPPED: the scheduled switchover does not run: {why}")
            return 1
        return plan

    from .actions import run_guarded

    args.yes = True  # confirmed when it was scheduled: the checks run again, not the typing
    return await run_guarded(args, config, _kind(), item.target, make_plan)
