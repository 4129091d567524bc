"""The console's and the CLI's driver of the one engine: re-poll, compare, preflight, then
the journaled plan (`engine.py`), verified, audited.

A result is only `done` when the appliance answered 200; silence after sending is
`unknown`, never success. A plan that cannot finish while the person waits (an
unanswered POST, a new production that does not answer health) stays journaled: every
reader shows it, and a running watcher or `d42tui resume-plan` finishes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..config.models import Config, PairConfig
from ..engine.audit import JsonlLog, new_action_id
from ..engine.journal import (
    MOVES,
    Driver,
    Journal,
    JournalStep,
    StepKind,
    close_journal,
    journal_problem,
    load_journal,
    new_journal,
    save_journal,
)
from ..engine.locks import LockHeld, action_lock_path, pid_lock
from ..engine.poller import Poller
from ..engine.state import StateDamaged, StateStore
from .journal import journal_of
from .planner import ActionKind, Picture, Plan, Step, picture_changes, picture_of, plan_action
from .preflight import plan_problems
from .steps import Closed, Engine, Policy

Result = Literal["done", "refused", "cancelled", "failed", "unknown"]
EXIT_CODES = {"done": 0, "refused": 1, "cancelled": 1, "failed": 3, "unknown": 4}
Progress = Callable[[str], None]


@dataclass(frozen=True)
class StepResult:
    step: Step
    outcome: Literal["done", "failed", "unknown", "skipped"]
    message: str
    status: int | None = None
    confirmed: bool = True  # False: a 200 whose message is not the vendor's words for it


@dataclass(frozen=True)
class ActionResult:
    action_id: str
    plan: Plan
    outcome: Result
    detail: str
    steps: tuple[StepResult, ...] = ()
    changes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.outcome]


class ActionBusy(Exception):
    pass


@contextlib.contextmanager
def pair_lock(directory: Path, pair: str) -> Iterator[None]:
    """One action per pair across processes (console, CLI, watcher); never waits. The
    holder of a journaled plan holds it for the plan's whole life: a plan whose lock is
    free was interrupted."""
    try:
        with pid_lock(action_lock_path(directory.parent, pair)):
            yield
    except LockHeld as exc:
        raise ActionBusy(f"another action on pair {pair} is in progress (pid {exc.holder})") from None


def unfinished_text(journal: Journal) -> str:
    return (f"{journal.describe()} (by the {journal.by}, pid {journal.pid}) is unfinished: "
            f"{journal.sent_so_far()}")


class ActionRunner:
    """Runs plans for every pair of a config; one at a time per pair."""

    def __init__(self, config: Config, poller: Poller, store: StateStore, audit: JsonlLog, *,
                 read_only: bool = False, clock: Callable[[], float] = time.time,
                 by: Driver = "console"):
        self.config = config
        self.poller = poller
        self.store = store
        self.audit = audit
        self.read_only = read_only
        self.clock = clock
        self.by = by
        self._busy: set[str] = set()
        # With `coordination:`, the pair's action key in etcd, held for each plan's life
        # (d42tui.coord.actionlock): (pair, action, plan_id) -> an async context manager.
        self.action_key: Callable[[str, str, str], Any] | None = None
        if config.coordination is not None:
            from ..coord.actionlock import person_action_key

            coord = config.coordination
            self.action_key = lambda pair, action, plan_id: person_action_key(
                coord, pair, action, by, plan_id, clock)

    @contextlib.asynccontextmanager
    async def coordinated(self, pair: str, action: str, plan_id: str,
                          warn: Progress) -> AsyncIterator[Any]:
        """The pair's action key for the block (ActionBusy when another holds it); None
        without `coordination:`. Running uncoordinated is said through `warn` first."""
        if self.action_key is None:
            yield None
            return
        async with self.action_key(pair, action, plan_id) as guard:
            guard.say = warn
            if (text := guard.uncoordinated_text()) is not None:
                warn(text)
            yield guard

    def busy(self, pair: str | None = None) -> bool:
        return bool(self._busy) if pair is None else pair in self._busy

    def _record(self, phase: str, action_id: str, plan: Plan, /, **extra) -> None:
        self.audit.append({"phase": phase, "action_id": action_id, "pair": plan.pair,
                           "action": plan.action.value, "target": plan.target, **extra})

    def _close(self, action_id: str, plan: Plan, outcome: Result, detail: str,
               changes: tuple[str, ...] = ()) -> ActionResult:
        self._record("after", action_id, plan, result=outcome, detail=detail,
                     changes=list(changes))
        return ActionResult(action_id, plan, outcome, detail, (), changes)

    def refuse(self, plan: Plan, outcome: Result, detail: str, force: bool = False) -> ActionResult:
        """Record an action that ends before anything is sent (refused, or cancelled by the user)."""
        action_id = new_action_id()
        self._record("before", action_id, plan, plan=plan.lines(), forced=force,
                     steps=[s.text for s in plan.steps], picture=plan.picture.describe())
        return self._close(action_id, plan, outcome, detail)

    def engine(self, pair: str, say: Progress) -> Engine:
        pair_cfg = self.config.pair(pair)
        pair_poller = self.poller.pairs[pair]

        def log(level: str, event: str, text: str, **fields) -> None:
            if event in ("retry", "confirm-waiting", "dns-failed"):
                say(text)
        return Engine(pair_cfg, self.store, self.audit, pair_poller.clients, self.clock,
                      policy=Policy.of(pair_cfg, watcher=False), say=log, progress=say,
                      changed=lambda: self.poller.refresh(pair))

    async def run(self, plan: Plan, *, force: bool = False,
                  progress: Progress | None = None, warn: Progress | None = None
                  ) -> ActionResult:
        say = progress or (lambda text: None)
        warn = warn or say
        action_id = new_action_id()
        before = dict(plan=plan.lines(), steps=[s.text for s in plan.steps],
                      picture=plan.picture.describe(), forced=force)
        if self.read_only:
            self._record("before", action_id, plan, **before)
            return self._close(action_id, plan, "refused", "read-only mode: nothing is sent")
        if plan.pair in self._busy:
            self._record("before", action_id, plan, **before)
            return self._close(action_id, plan, "refused",
                               f"an action on pair {plan.pair} is already running")
        self._busy.add(plan.pair)
        try:
            with pair_lock(self.store.directory / "locks", plan.pair):
                async with self.coordinated(plan.pair, plan.action.value, action_id,
                                            warn) as guard:
                    if guard is not None:
                        before["coordination"] = guard.record
                    self._record("before", action_id, plan, **before)
                    return await self._run_locked(action_id, plan, force, say, guard)
        except ActionBusy as exc:
            self._record("before", action_id, plan, **before)
            return self._close(action_id, plan, "refused", str(exc))
        finally:
            self._busy.discard(plan.pair)

    async def _run_locked(self, action_id: str, plan: Plan, force: bool,
                          say: Progress, guard: Any = None) -> ActionResult:
        pair_cfg = self.config.pair(plan.pair)
        pair_poller = self.poller.pairs[plan.pair]
        try:
            open_plan, unreadable = load_journal(self.store, plan.pair)
        except StateDamaged as exc:
            return self._close(action_id, plan, "refused", f"{exc}. Nothing was sent.")
        if open_plan is not None or unreadable is not None:
            what = unfinished_text(open_plan) if open_plan else "an unreadable plan record"
            return self._close(action_id, plan, "refused", (
                f"{what}. Finish or roll it back first: d42tui resume-plan {plan.pair}. "
                "Nothing was sent."))
        say("polling both appliances again")
        snap = await pair_poller.poll_once()
        self.poller.refresh(plan.pair)
        changes = tuple(picture_changes(plan.picture, picture_of(snap)))
        self._record("precheck", action_id, plan, picture=picture_of(snap).describe(),
                     changes=list(changes))
        if changes:
            return self._close(action_id, plan, "cancelled",
                               "the situation changed since the plan was shown: "
                               + "; ".join(changes) + ". Nothing was sent.", changes=changes)
        fresh = plan if plan.action is ActionKind.DNS_SET else plan_action(
            plan.action, pair_cfg, snap, plan.target)
        if fresh.refused and not (force and fresh.forceable):
            hint = " (it can be forced)" if fresh.forceable else ""
            return self._close(action_id, plan, "refused", f"{fresh.refusal}{hint}. Nothing was sent.")
        sends_to = {s.appliance for s in fresh.steps if s.kind == "mode"}
        problems = plan_problems(pair_cfg, sends_to, any(s.kind == "dns" for s in fresh.steps),
                                 self.store, self.audit.path,
                                 any(s.kind == "fence" for s in fresh.steps))
        if problems:
            return self._close(action_id, plan, "refused", "cannot start: " + "; ".join(
                problems) + ". Nothing was sent.")
        journal = journal_of(fresh, pair_cfg, action_id, self.by, self.clock(), forced=force)
        return await self.drive(journal, fresh, snap, say, guard)

    async def resume(self, pair: str, how: str, say: Progress,
                     warn: Progress | None = None) -> ActionResult | str:
        """`d42tui resume-plan`: finish an interrupted plan (`complete`), undo what it sent
        (`rollback`), or drop its record sending nothing (`abandon`). A string says why
        there is nothing to do."""
        with pair_lock(self.store.directory / "locks", pair):  # ActionBusy: its owner runs it
            async with self.coordinated(pair, f"resume-plan --{how}", "", warn or say) as guard:
                return await self._resume_locked(pair, how, say, guard)

    async def _resume_locked(self, pair: str, how: str, say: Progress,
                             guard: Any) -> ActionResult | str:
        pair_cfg = self.config.pair(pair)
        journal, raw = load_journal(self.store, pair)
        if journal is None and raw is None:
            return f"pair {pair} has no unfinished plan"
        why = "this version cannot read it" if journal is None else \
            journal_problem(journal, pair_cfg)
        now = self.clock()
        if why is not None or how == "abandon":
            stub = journal or new_journal(plan_id=new_action_id(), kind="failover",
                                          pair=pair, source=None, target=pair,
                                          started_at=now, steps=())
            detail = (f"abandoned by a person, nothing sent: {stub.sent_so_far()}"
                      if why is None else f"set aside, nothing sent: {why}")
            close_journal(self.store, stub, "cancelled", detail, now)
            self.audit.append({"phase": "after", "action_id": stub.plan_id, "pair": pair,
                               "action": stub.action, "target": stub.target,
                               "result": "cancelled", "detail": detail})
            if why is not None and how != "abandon":
                return f"the plan record is not acted on ({why}); it was set aside"
            return f"abandoned: {detail}"
        assert journal is not None
        self.audit.append({"phase": "step", "action_id": journal.plan_id, "pair": pair,
                           "action": journal.action, "target": journal.target,
                           "step": f"resume-plan --{how}", "outcome": "resumed",
                           "message": f"{how} by a person: {journal.sent_so_far()}"})
        back = rollback_of(journal, pair_cfg, new_action_id(), now) \
            if how == "rollback" else None
        runs = back or journal
        problems = plan_problems(pair_cfg, {s.appliance for s in runs.steps if s.kind.mode},
                                 any(s.kind is StepKind.DNS for s in runs.steps),
                                 self.store, self.audit.path)
        if problems:
            return "cannot start: " + "; ".join(problems) + ". Nothing was sent."
        if back is not None:
            detail = f"rolled back by a person: {journal.sent_so_far()}"
            close_journal(self.store, journal, "cancelled", detail, now)
            self.audit.append({"phase": "after", "action_id": journal.plan_id, "pair": pair,
                               "action": journal.action, "target": journal.target,
                               "result": "cancelled", "detail": detail})
            self.audit.append({"phase": "before", "action_id": back.plan_id, "pair": pair,
                               "action": back.action, "target": back.target,
                               "plan": back.lines(), "steps": [s.text for s in back.steps],
                               "forced": False})
            journal = back
        say("polling both appliances again")
        snap = await self.poller.pairs[pair].poll_once()
        return await self.drive(journal, plan_of(journal, pair_cfg), snap, say, guard)

    async def drive(self, journal: Journal, plan: Plan, snap, say: Progress,
                    guard: Any = None) -> ActionResult:
        """Carry the journaled plan out while the person waits: to its end, or, when a step
        must wait longer than a person should (an unanswered POST; the new production's
        health past `confirm_timeout`), leave it journaled and say so. `guard` is the
        pair's action key (coordination): what it says goes into the plan's warnings."""
        engine = self.engine(plan.pair, say)
        if guard is not None:
            plan_id = journal.plan_id
            if (text := guard.uncoordinated_text()) is not None:
                engine.warnings.setdefault(plan_id, []).append(text)

            def lost(text: str) -> None:
                (guard.say or say)(text)
                engine.warnings.setdefault(plan_id, []).append(text)
            guard.on_lost = lost
            if guard.lost is not None:
                lost(guard.lost_text())
        pair_poller = self.poller.pairs[plan.pair]
        interval = self.config.pair(plan.pair).poll.interval
        deadline = time.monotonic() + engine.policy.confirm_timeout

        try:
            save_journal(self.store, journal)
            while (open_plan := await engine.advance(journal, snap)) is not None:
                journal = open_plan
                if (task := engine.dns_running(journal)) is not None:
                    await asyncio.wait({task})
                    continue
                waiting = journal.steps[journal.current or 0]
                if waiting.kind is not StepKind.CONFIRM or time.monotonic() >= deadline:
                    return self._unfinished(journal, plan, engine)
                await asyncio.sleep(interval)
                snap = await pair_poller.poll_once()
                self.poller.refresh(plan.pair)
        except (OSError, StateDamaged) as exc:  # the state could not be written mid-plan
            return self._unfinished(journal, plan, engine, f"the state file could not be "
                                    f"written ({exc}); ")
        finally:
            await engine.aclose()
        closed = engine.closed[journal.plan_id]
        warnings = list(closed.warnings)
        if closed.result == "done" and plan.new_production:
            say("verifying")
            after = await pair_poller.poll_once()
            self.poller.refresh(plan.pair)
            if not after.views[plan.new_production].answers:
                warnings.append(f"{plan.new_production} accepted production but does not "
                                "answer health now; keep watching")
        return self._result(closed, plan, warnings)

    def _result(self, closed: Closed, plan: Plan, warnings: list[str]) -> ActionResult:
        return ActionResult(closed.journal.plan_id, plan, closed.result,  # type: ignore[arg-type]
                            closed.detail, step_results(closed.journal, plan),
                            warnings=tuple(warnings))

    def _unfinished(self, journal: Journal, plan: Plan, engine: Engine,
                    lead: str = "") -> ActionResult:
        detail = (f"{lead}{journal.sent_so_far()}: it may have applied. The plan stays open "
                  f"until it is finished: by a running watcher, or `d42tui resume-plan "
                  f"{plan.pair}`")
        # This session's part ends here; whoever finishes the plan writes the last record.
        engine.record("after", journal, result="unknown", detail=detail, unfinished=True)
        return ActionResult(journal.plan_id, plan, "unknown", detail,
                            step_results(journal, plan),
                            warnings=tuple(engine.warnings.pop(journal.plan_id, [])))


def step_results(journal: Journal, plan: Plan) -> tuple[StepResult, ...]:
    """The plan's steps as the operator saw them, with what happened to each."""
    out = []
    for s in journal.steps:
        if s.ref is None or s.ref >= len(plan.steps) or s.status == "pending":
            continue
        outcome = {"done": "done", "failed": "failed", "skipped": "skipped"}.get(s.status,
                                                                                 "unknown")
        out.append(StepResult(plan.steps[s.ref], outcome, s.detail,  # type: ignore[arg-type]
                              confirmed=not s.unconfirmed))
    return tuple(out)


def plan_of(journal: Journal, pair: PairConfig) -> Plan:
    """A journaled plan as the planner would have shown it (to report a resumed one)."""
    url = {a.name: a.url for a in pair.appliances}
    steps = tuple(
        Step(s.appliance, s.value or "", pair.dns.name if pair.dns else "", kind="dns")
        if s.kind is StepKind.DNS else
        Step(s.appliance, "fence", (pair.automation.fence_command or ["?"])[0],
             not s.optional, kind="fence")
        if s.kind is StepKind.FENCE else
        Step(s.appliance, s.kind.mode or "", url.get(s.appliance, ""), not s.optional,
             s.optional)
        for s in journal.steps if s.kind is not StepKind.CONFIRM)
    return Plan(ActionKind(journal.kind), journal.pair, journal.target, steps,
                Picture("resumed", ()), new_production=journal.new_production,
                summary=f"resume {journal.describe()}", dns_ttl=journal.dns_ttl,
                dns_expected=journal.dns_expected)


def rollback_of(journal: Journal, pair: PairConfig, plan_id: str, now: float) -> Journal:
    """The plan that undoes what an interrupted one sent (or may have sent): for a move,
    production goes back to its source — its target demoted first when it answers, never
    two productions — and DNS back if it was switched; else the opposite mode."""
    touched = [s for s in journal.steps if s.status in ("done", "running", "waiting", "failed")
               or s.attempts]
    if journal.kind in MOVES and journal.source:
        source, target = journal.source, journal.target
        steps = [JournalStep(StepKind.DEMOTE, target, f"POST appliance_mode=standby to {target}"
                             " (if it answers)", optional=True, ref=0),
                 JournalStep(StepKind.PROMOTE, source,
                             f"POST appliance_mode=production to {source}", ref=1)]
        if any(s.kind is StepKind.DNS for s in touched) and pair.dns is not None:
            steps += [JournalStep(StepKind.CONFIRM, source, f"confirm {source} answers health"),
                      JournalStep(StepKind.DNS, source, f"DNS: point {pair.dns.name} at "
                                  f"{source} again", ref=2)]
        return new_journal(plan_id=plan_id, kind="failover", pair=journal.pair, source=target,
                           target=source, started_at=now, steps=tuple(steps), by="cli",
                           new_production=source, reasons=(
                               f"rolls back {journal.describe()} ({journal.sent_so_far()})",))
    step = journal.steps[0]
    back = StepKind.PROMOTE if step.kind is StepKind.DEMOTE else StepKind.DEMOTE
    kind = "promote" if back is StepKind.PROMOTE else "demote"
    return new_journal(plan_id=plan_id, kind=kind, pair=journal.pair, source=None,
                       target=journal.target, started_at=now, by="cli",
                       new_production=journal.target if back is StepKind.PROMOTE else None,
                       steps=(JournalStep(back, journal.target, f"POST appliance_mode="
                                          f"{back.mode} to {journal.target}", ref=0),),
                       reasons=(f"rolls back {journal.describe()}",))
