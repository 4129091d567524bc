"""Carry out a guarded plan: re-poll, compare, send step by step, verify, audit.

Used by the console and the command line alike. A result is only `done` when
the appliance answered 200; silence after sending is `unknown`, never success.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .actions import ActionKind, Plan, Step, picture_changes, picture_of, plan_action
from .audit import JsonlLog, new_action_id
from .config import Config
from .locks import LockHeld, pid_lock
from .poller import Poller
from .state import StateStore

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
    """One action per pair across processes (console, CLI, watcher); never waits."""
    try:
        with pid_lock(directory / f"action-{pair}.lock"):
            yield
    except LockHeld as exc:
        raise ActionBusy(f"another action on pair {pair} is in progress (pid {exc.holder})") from None


class ActionRunner:
    """Runs plans for every pair of a config; one at a time per pair."""

    def __init__(self, config: Config, poller: Poller, store: StateStore, audit: JsonlLog, *,
                 read_only: bool = False, clock: Callable[[], float] = time.time):
        self.config = config
        self.poller = poller
        self.store = store
        self.audit = audit
        self.read_only = read_only
        self.clock = clock
        self._busy: set[str] = set()

    def busy(self, pair: str | None = None) -> bool:
        return bool(self._busy) if pair is None else pair in self._busy

    def _record(self, phase: str, action_id: str, plan: Plan, /, **extra) -> None:
        self.audit.append({"phase": phase, "action_id": action_id, "pair": plan.pair,
                           "action": plan.action.value, "target": plan.target, **extra})

    def _close(self, action_id: str, plan: Plan, outcome: Result, detail: str,
               steps: tuple[StepResult, ...] = (), changes: tuple[str, ...] = (),
               warnings: tuple[str, ...] = ()) -> ActionResult:
        self._record("after", action_id, plan, result=outcome, detail=detail,
                     responses=[{"appliance": s.step.appliance, "mode": s.step.mode,
                                 "outcome": s.outcome, "status": s.status, "message": s.message}
                                for s in steps], changes=list(changes))
        return ActionResult(action_id, plan, outcome, detail, steps, changes, warnings)

    def refuse(self, plan: Plan, outcome: Result, detail: str, force: bool = False) -> ActionResult:
        """Record an action that ends before anything is sent (refused, or cancelled by the user)."""
        action_id = new_action_id()
        self._record("before", action_id, plan, plan=plan.lines(), forced=force,
                     steps=[s.text for s in plan.steps], picture=plan.picture.describe())
        return self._close(action_id, plan, outcome, detail)

    async def run(self, plan: Plan, *, force: bool = False,
                  progress: Progress | None = None) -> ActionResult:
        say = progress or (lambda text: None)
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
                self._record("before", action_id, plan, **before)
                return await self._run_locked(action_id, plan, force, say)
        except ActionBusy as exc:
            self._record("before", action_id, plan, **before)
            return self._close(action_id, plan, "refused", str(exc))
        finally:
            self._busy.discard(plan.pair)

    async def _dns(self, action_id: str, plan: Plan, step: Step) -> StepResult:
        from .dns import switch

        cfg = self.config.pair(plan.pair).dns
        assert cfg is not None
        if plan.dns_ttl is not None:  # the operator chose a TTL for this switch
            cfg = cfg.model_copy(update={"ttl": plan.dns_ttl})
        to = step.appliance if step.appliance in cfg.targets else step.mode
        try:
            result = await switch(cfg, to, pair=plan.pair, expected_old=plan.dns_expected)
        except ValueError as exc:
            return StepResult(step, "failed", str(exc))
        outcome = {"done": "done", "unknown": "unknown"}.get(result.outcome, "failed")
        message = result.text
        if outcome != "done":
            message += f" Retry with: {result.retry_command}"
        self._record("step", action_id, plan,
                     request=f"DNS {result.name} {result.type} "
                             f"{', '.join(result.old_values) or '(none)'} → {result.new_value} "
                             f"TTL {cfg.ttl}",
                     outcome=result.outcome, message=result.text,
                     retry_command=result.retry_command if outcome != "done" else None)
        return StepResult(step, outcome, message)

    async def _run_locked(self, action_id: str, plan: Plan, force: bool,
                          say: Progress) -> ActionResult:
        pair_cfg = self.config.pair(plan.pair)
        pair_poller = self.poller.pairs[plan.pair]
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
        results: list[StepResult] = []
        warnings: list[str] = []
        roles_marked = False
        for step in fresh.steps:
            if step.kind == "dns":
                if fresh.new_production and not roles_marked:
                    # The promotion stands whatever DNS does next.
                    self.store.set_desired_production(plan.pair, fresh.new_production, self.clock())
                    roles_marked = True
                say(f"switching DNS {step.url} to {step.appliance}")
                result = await self._dns(action_id, plan, step)
                results.append(result)
                if result.outcome != "done":
                    done = ", ".join(f"{r.step.appliance} → {r.step.mode}" for r in results
                                     if r.outcome == "done" and r.step.kind == "mode")
                    lead = f"{done} done; " if done else ""
                    return self._close(action_id, plan, "unknown" if result.outcome == "unknown"
                                       else "failed", f"{lead}DNS step {result.outcome}: "
                                       f"{result.message}", tuple(results),
                                       warnings=tuple(warnings))
                continue
            view = snap.views[step.appliance]
            if step.only_if_answering and not (view.last and view.last.ok):
                results.append(StepResult(step, "skipped", "does not answer: not fenced"))
                warnings.append(f"{step.appliance} was not put in standby (it does not answer): "
                                "re-assert standby when it returns")
                continue
            say(f"sending appliance_mode={step.mode} to {step.appliance}")
            client = pair_poller.clients[step.appliance]
            answer = await client.set_mode(step.mode)
            self._record("step", action_id, plan,
                         request=f"POST {step.url}/api/1.0/appliancemode/ appliance_mode={step.mode}",
                         outcome=answer.outcome, status=answer.status, message=answer.message)
            results.append(StepResult(step, answer.outcome, answer.message, answer.status,
                                      answer.outcome != "done" or answer.confirmed))
            if answer.outcome == "done":
                if not answer.confirmed:
                    warnings.append(f"{step.appliance} {answer.message}")
                self.store.record_mode(plan.pair, step.appliance, step.mode, self.clock())
                if step.mode == "production" and step.appliance == fresh.new_production \
                        and not roles_marked:
                    # Desired with the mode, before anyone sees either (the watcher writes
                    # both at once too): a dead old primary is a fencing debt from here on,
                    # not a split brain on the board until the action ends.
                    self.store.set_desired_production(plan.pair, fresh.new_production, self.clock())
                    roles_marked = True
                self.poller.refresh(plan.pair)
                continue
            if not step.required:
                warnings.append(f"{step.appliance}: {answer.message}")
                continue
            done_before = [r for r in results if r.outcome == "done"]
            partial = (" Already done: " + ", ".join(
                f"{r.step.appliance} → {r.step.mode}" for r in done_before) + ".") if done_before else ""
            if answer.outcome == "unknown":
                return self._close(action_id, plan, "unknown",
                                   f"{step.appliance}: {answer.message}. The console keeps "
                                   f"polling; check before retrying.{partial}", tuple(results),
                                   warnings=tuple(warnings))
            return self._close(action_id, plan, "failed", f"{step.appliance}: {answer.message}."
                               f"{partial}", tuple(results), warnings=tuple(warnings))
        say("verifying")
        if fresh.new_production and not roles_marked:
            self.store.set_desired_production(plan.pair, fresh.new_production, self.clock())
        after = await pair_poller.poll_once()
        self.poller.refresh(plan.pair)
        for r in results:
            if r.outcome == "done" and r.step.kind == "mode" and r.step.mode == "production":
                last = after.views[r.step.appliance].last
                if not (last and last.ok):
                    warnings.append(f"{r.step.appliance} accepted production but does not answer "
                                    "health now; keep watching")
        sent = ", ".join(f"{r.step.url} → {r.step.appliance}" if r.step.kind == "dns"
                         else f"{r.step.appliance} → {r.step.mode}"
                         + ("" if r.confirmed else " (unconfirmed)") for r in results
                         if r.outcome == "done") or "nothing"
        return self._close(action_id, plan, "done", f"changed: {sent}", tuple(results),
                           warnings=tuple(warnings))
