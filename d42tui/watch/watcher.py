"""One pair's watcher: each round polls, fences, finishes or starts a plan, and says why.

`PairWatch` keeps the pair's memory between rounds (hysteresis with the automation's
thresholds, what was last said); clock and sleep are injected so tests run in seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from ..actions.preflight import plan_problems
from ..actions.runner import ActionBusy, pair_lock
from ..actions.switchover import due_plan
from ..config.models import PairConfig
from ..engine.audit import JsonlLog, new_action_id
from ..engine.journal import Journal, StepKind
from ..engine.pair import ApplianceView, PairSnapshot, Reachability, Verdict, observe
from ..engine.poller import PairPoller
from ..engine.state import StateDamaged, StateStore, automation_entry, write_heartbeat
from ..engine.switchover import scheduled_switchover, take_switchover
from . import executor
from ._schedule import restore_finished_between, restore_window
from .decision import (
    Blocker,
    Decision,
    FailbackSituation,
    Situation,
    counted,
    decide,
    decide_failback,
    thresholds,
)
from .notify import Notifier
from .status import active_pause, expire_pause
from .witness import WitnessChecker

Say = Callable[..., None]  # say(level, event, text, pair=..., **fields)
HEADS_UP = frozenset({"isolated", "split-brain", "standby-down", "no-production"})


class PairWatch:
    def __init__(self, pair: PairConfig, poller: PairPoller, store: StateStore, audit: JsonlLog,
                 events: JsonlLog, notifier: Notifier, *, clock: Callable[[], float],
                 sleep: Callable[[float], Awaitable[None]], say: Say, dry_run: bool,
                 coord: Any = None):
        self.pair, self.auto, self.poller, self.store = pair, pair.automation, poller, store
        self.audit, self.events, self.clock, self.dry_run = audit, events, clock, dry_run
        self._say = say
        self.policy = thresholds(pair)
        self.names = [a.name for a in pair.appliances]
        self.views = {n: ApplianceView(n) for n in self.names}
        self.up_since: dict[str, float | None] = dict.fromkeys(self.names)
        self.was_down: set[str] = set()
        self.fence_retry_at: dict[str, tuple[float, float]] = {}
        self.journal: Journal | None = None
        self.wanted_since: float | None = None
        self.cooldown_until: float | None = None
        self.memory: dict[str, Any] = {}  # what was last said, so each thing is said once
        self.latest: Decision | None = None
        self.witness = WitnessChecker(self.auto.witness_list(),
                                      self.auto.witness_timeout or pair.poll.timeout,
                                      pair.poll.source_address)
        send = (lambda notice: None) if dry_run else notifier.send
        self.ctx = executor.Context(pair, self.auto, store, audit, poller.clients, clock, sleep,
                                    self.say, send)
        self.locks = store.directory / "locks"
        self._plan_lock: contextlib.ExitStack | None = None  # held while a plan is open
        self._plan_key: Any = None  # with `coordination:`, the pair's action key in etcd
        self.coord = coord  # d42tui.coord.leader.PairCoordination with `coordination:`
        if coord is not None:
            self.ctx.engine.may_act = coord.may_act  # the fencing check before each step

    def say(self, level: str, event: str, text: str, **fields: Any) -> None:
        self._say(level, event, text, pair=self.pair.name, **fields)

    def once(self, key: str, value: Any) -> bool:
        """True when `value` differs from what was last recorded under `key`."""
        changed = self.memory.get(key, object()) != value
        self.memory[key] = value
        return changed

    # --- start and stop ------------------------------------------------------------------

    def recover(self) -> None:
        """Find a plan an earlier watcher left unfinished: resume it, or abandon it and say so;
        and say at once what would stop a failover (a secret, the state dir, DNS)."""
        try:
            if self.coord is None:  # coordinated: only the pair's leader adopts, in a round
                self.adopt("an earlier watcher")
        except StateDamaged as exc:  # said every round (stand_still) until a person acts
            self.say("error", "state-damaged", str(exc))
        self.check_ready()

    def check_ready(self) -> None:
        """Everything a failover would need, tried now rather than when production is down."""
        names = [a.name for a in self.pair.appliances]
        problems = plan_problems(self.pair, names, self.pair.dns is not None, self.store,
                                 self.audit.path)
        if problems and self.once("not-ready", tuple(problems)):
            text = "; ".join(problems)
            self.say("error", "not-ready", f"a failover would fail: {text}")
            self.ctx.notice("not-ready", "critical", f"automatic failover cannot work: {text}")

    # --- the pair lock: held for an open plan's whole life ---------------------------------

    def _take_lock(self) -> None:
        if self._plan_lock is None:
            stack = contextlib.ExitStack()
            stack.enter_context(pair_lock(self.locks, self.pair.name))  # raises ActionBusy
            self._plan_lock = stack

    def _release_lock(self) -> None:
        if self._plan_lock is not None:
            self._plan_lock.close()
            self._plan_lock = None

    async def _take(self, what: str) -> None:
        """The local lock and, coordinated, the pair's action key in etcd (so a person's
        plan on another host and ours never run at once): ActionBusy when either is held
        by someone else; NotPermitted when this watcher no longer leads."""
        had_lock = self._plan_lock is not None
        self._take_lock()
        if self.coord is None or self._plan_key is not None:
            return
        from ..coord.actionlock import take_for_watcher

        try:
            self._plan_key = await take_for_watcher(self.coord, what)
        except BaseException:
            if not had_lock:
                self._release_lock()
            raise

    async def _release(self) -> None:
        """The action key (first: it is the one other hosts wait on) and the local lock."""
        key, self._plan_key = self._plan_key, None
        if key is not None:
            await key.release()
        self._release_lock()

    @contextlib.asynccontextmanager
    async def acting(self, what: str):
        """The pair's action lock (and key): ours already while a plan is open, else for
        the block."""
        had_lock, had_key = self._plan_lock is not None, self._plan_key is not None
        if had_lock and (self.coord is None or had_key):
            yield
            return
        await self._take(what)
        try:
            yield
        finally:  # let go only of what this block took (an open plan keeps its lock)
            if not had_key and self._plan_key is not None:
                key, self._plan_key = self._plan_key, None
                await key.release()
            if not had_lock:
                self._release_lock()

    def adopt(self, whose: str) -> None:
        """An unfinished plan nobody runs (its lock is free): validated, then completed or
        rolled back by this watcher (a person's pause leaves a person's plan to a person)."""
        if self.journal is not None or "journal" not in automation_entry(self.store,
                                                                        self.pair.name):
            return
        if self.dry_run:
            self.journal = executor.recover(self.ctx, True, whose)
            return
        try:
            self._take_lock()
        except ActionBusy:
            return  # its owner runs it: the decision says ACTING/busy
        journal, _ = executor.load_journal(self.store, self.pair.name)
        pause = active_pause(automation_entry(self.store, self.pair.name), self.clock())
        if journal is not None and journal.by != "watcher" and pause is not None \
                and pause.kind == "pause":
            self._release_lock()
            if self.once("orphan-paused", journal.plan_id):
                text = (f"an interrupted {journal.describe()} of the {journal.by} waits: "
                        f"{journal.sent_so_far()}; automation is paused, so a person finishes "
                        f"it: d42tui resume-plan {self.pair.name}")
                self.say("error", "plan-waiting", text)
                self.ctx.notice("plan-interrupted", "critical", text, plan_id=journal.plan_id)
            return
        if journal is not None and journal.by != "watcher":
            whose = f"the {journal.by} (pid {journal.pid})"
        self.journal = executor.recover(self.ctx, False, whose)
        if self.journal is None:
            self._release_lock()

    def heartbeat(self, stopped: bool = False) -> None:
        if self.dry_run:
            return
        d, p = self.latest, self.pair.poll
        record: dict[str, Any] = {
            "pid": os.getpid(), "at": self.clock(), "stale_after": 3 * p.interval + p.timeout + 5,
            "state": d.state if d else "ARMED", "primary": self.memory.get("primary"),
            "failures": list(d.failures) if d else None,
            "why": next((b.text for b in d.blockers if b.key == "isolated"), "") if d else "",
            "unreadable": any(b.key == "primary-answers" for b in d.blockers) if d else False}
        if self.coord is not None:
            record["coordination"] = self.coord.summary(self.clock())
        if stopped:
            record.update(stopped=True, stale_after=0)
        write_heartbeat(self.store.directory, self.pair.name, record)

    # --- one round -------------------------------------------------------------------------

    async def round(self) -> Decision:
        snap, witnesses = await asyncio.gather(self.poller.poll_once(), self.witness.check())
        now = self.clock()
        self.fold(snap)
        if snap.verdict.verdict is Verdict.STATE_DAMAGED:
            return self.stand_still(snap)
        if self.coord is not None:  # only the pair's leader goes on to act (d42tui.coord)
            from ..coord.watching import coordinated_round

            return await coordinated_round(self, snap, witnesses, now)
        return await self.act(snap, witnesses, now)

    async def act(self, snap: PairSnapshot, witnesses: Any, now: float) -> Decision:
        """Fence, finish a plan, decide and maybe start one: the acting half of a round."""
        if (expired := (None if self.dry_run else expire_pause(self.store, self.pair.name, now,
                                                                self.audit))):
            self.say("info", "pause-expired", f"the pause by {expired.by} ({expired.reason}) "
                     "expired: automation resumes by itself")
            self.ctx.notice("pause-expired", "info", f"automation pause by {expired.by} "
                            f"({expired.reason}) expired: automation is armed again")
        await self.fence_returning(snap)
        snap = self.poller.snapshot()  # fencing changes asserted modes: judge the pair after it
        self.note_verdict(snap)
        self.adopt("an earlier process")
        if self.journal is not None:
            await self.run_plan(snap)
            snap = self.poller.snapshot()
        decision = await self.decide_and_act(snap, witnesses, now)
        if self.auto.failback == "automatic" and self.journal is None:
            await self.failback(self.poller.snapshot(), witnesses, now)
        if self.journal is None:
            await self.scheduled_switchover(self.poller.snapshot(), now)
        self.heartbeat()
        return decision

    def stand_still(self, snap: PairSnapshot) -> Decision:
        """The state file cannot be read: which appliance should be production is unknown,
        so nothing is fenced, failed over or resumed until a person confirms the roles."""
        self.note_verdict(snap)
        text = snap.verdict.reasons[0].text
        view = self.views[snap.desired_production]
        decision = Decision(False, False, "PAUSED",
                            (view.outage_failures, self.policy.failure_threshold),
                            (Blocker("state-damaged", text, "critical"),))
        self.latest = decision
        self.report(decision, None)
        self.heartbeat()
        return decision

    def internal_error(self, exc: Exception) -> None:
        """A round that failed is said every time and alerted once per kind of error: an
        unattended watcher that cannot work must page, not just log."""
        text = f"{exc.__class__.__name__}: {str(exc)[:300]}"
        self.say("error", "internal-error", f"round failed: {text}; continuing")
        if self.once("internal-error", text):
            self.ctx.notice("internal-error", "critical", f"the watcher's round failed ({text}); "
                            "it keeps polling, but automation may not work: check the watcher")

    def fold(self, snap: PairSnapshot) -> None:
        """The engine's poll results, counted with the automation's thresholds (`observe`)."""
        primary = snap.desired_production
        self.memory["primary"] = primary
        for name in self.names:
            result = snap.views[name].last
            if result is None:
                continue
            result = counted(result, self.auto.api_probe_counts)
            before = self.views[name]
            view = self.views[name] = observe(before, result, self.policy)
            if snap.views[name].reachability is Reachability.DOWN \
                    and not snap.views[name].answers:  # not running: fenced when it answers
                self.was_down.add(name)
            self.up_since[name] = (self.up_since[name] or result.at) if result.ok else None
            if name != primary:
                continue
            n = self.policy.failure_threshold
            if not result.ok and view.answers_unreadably:
                self.say("warning", "primary-unreadable", f"{name} (production) answers but "
                         f"cannot be read: {result.failure}: not an outage, not counted")
            elif not result.ok:
                self.say("warning", "primary-failing", f"{name} (production) failed poll "
                         f"{view.outage_failures}/{n}: {result.failure}")
            elif before.consecutive_failures:
                below = " (below the threshold: a flap, not a failover)" \
                    if before.outage_failures < n else ""
                self.say("info", "primary-answers", f"{name} answers again after "
                         f"{before.consecutive_failures} failed poll(s){below}")
                self.was_down.discard(name)

    def note_verdict(self, snap: PairSnapshot) -> None:
        verdict = snap.verdict
        if not self.once("verdict", verdict.verdict):
            return
        level = {"ok": "info", "warning": "warning", "critical": "error"}[verdict.level]
        self.say(level, "verdict", verdict.headline)
        if not self.dry_run:
            self.events.append({"pair": self.pair.name, "verdict": verdict.verdict.value,
                                "text": verdict.headline, "source": "watcher"})
        if verdict.verdict is Verdict.SPLIT_BRAIN:
            self.ctx.notice("split-brain", "critical", f"{verdict.headline}. Automation will "
                            "not act; demote one side by hand (d42tui demote NAME)")
        elif verdict.verdict is Verdict.NO_PRODUCTION:
            self.ctx.notice("no-production", "critical", f"{verdict.headline}. Make the desired "
                            f"production {snap.desired_production} production again: d42tui "
                            f"promote {snap.desired_production}")
        elif verdict.verdict is Verdict.STATE_DAMAGED:
            self.ctx.notice("state-damaged", "critical", f"{verdict.headline}. Automation does "
                            "nothing (no fencing, no failover) until a person confirms the roles")

    async def fence_returning(self, snap: PairSnapshot) -> None:
        """Before anything else: an appliance that should be standby and answers again is
        told `standby` (idempotent), so a returning old primary never runs jobs."""
        pending = set(automation_entry(self.store, self.pair.name).get("fence_pending", []))
        now = self.clock()
        for name in self.names:
            if name == snap.desired_production or not snap.views[name].commandable:
                continue
            if self.journal is not None and name == self.journal.target \
                    and not self.journal.done(StepKind.PROMOTE):
                continue  # the open plan is about to promote it: never standby in between
            if name not in pending and name not in self.was_down:
                continue
            if self.fence_retry_at.get(name, (0.0, 0.0))[0] > now:
                continue
            why = ("came back after the failover" if name in pending
                   else "answers again after being down")
            if self.dry_run:
                self.say("warning", "would-fence", f"DRY RUN: would re-assert standby on {name} "
                                                   f"({why})")
                self.was_down.discard(name)
                continue
            try:
                async with self.acting(f"fence {name}"):
                    done = await executor.fence(self.ctx, name, snap, new_action_id(), why)
            except ActionBusy as exc:
                if self.once(f"fence-busy-{name}", str(exc)):
                    self.say("warning", "fence-waiting", f"cannot fence {name} yet: {exc}")
                continue
            if done:
                self.was_down.discard(name)
                self.fence_retry_at.pop(name, None)
            else:
                wait = min(60.0, 2 * self.fence_retry_at.get(name, (0.0, self.pair.poll.interval
                                                                    / 2))[1])
                self.fence_retry_at[name] = (now + wait, wait)

    async def run_plan(self, snap: PairSnapshot) -> None:
        assert self.journal is not None
        journal = self.journal
        if self.dry_run:
            if self.once("dry-plan", journal.describe()):
                self.say("warning", "would-resume", f"DRY RUN: would continue {journal.describe()}")
            return
        try:
            await self._take(journal.kind)
        except ActionBusy as exc:
            if self.once("plan-busy", str(exc)):
                self.say("warning", "plan-waiting", f"{journal.describe()} waits: {exc}")
            return
        self.memory.pop("plan-busy", None)
        if self.coord is not None:  # the shared state may have closed it meanwhile
            current, _ = executor.load_journal(self.store, self.pair.name)
            if current is not None and await self.coord.closed(current.plan_id):
                current = None  # its owner closed it; the shared state has not caught up
            if current is None or current.plan_id != journal.plan_id:
                if self.once("plan-closed", journal.plan_id):
                    self.say("info", "plan-closed", f"{journal.describe()} was closed by its "
                             "owner meanwhile: nothing more is sent")
                self.journal = None
                await self.ended()
                return
        self.journal = await self.ctx.engine.advance(journal, snap)
        await self.ended()

    async def ended(self) -> None:
        """After a plan closes: the lock (and key) go, and a failover that changed nothing is
        not retried at once."""
        if self.journal is not None:
            return
        await self._release()
        last = automation_entry(self.store, self.pair.name).get("last_plan", {})
        if last.get("kind") == "failover" and last.get("result") == "failed" \
                and not last.get("promoted"):
            self.cooldown_until = self.clock() + self.auto.cooldown

    # --- deciding --------------------------------------------------------------------------

    def situation(self, snap: PairSnapshot, witnesses: Any, now: float) -> Situation:
        primary = snap.desired_production
        standby = next(n for n in self.names if n != primary)
        auto = automation_entry(self.store, self.pair.name)
        p = self.pair
        return Situation(
            primary, standby, self.views[primary], self.views[standby],
            self.policy.failure_threshold, self.policy.recovery_threshold, snap.verdict.verdict,
            snap.modes[primary].mode, snap.modes[standby].mode, witnesses, now,
            pause=active_pause(auto, now),
            acting=self.journal.describe() if self.journal else None,
            restore=restore_window(p.restore_cron, p.timezone, p.restore_duration, now),
            wanted_since=self.wanted_since, max_defer=self.auto.max_defer,
            cooldown_until=self.cooldown_until,
            data_age=snap.pipeline.estimate.data_age
            if snap.pipeline is not None and snap.pipeline.estimate is not None else None,
            max_data_age=self.auto.max_data_age,
            extra=self.coord.blockers(primary) if self.coord is not None else ())

    async def decide_and_act(self, snap: PairSnapshot, witnesses: Any, now: float) -> Decision:
        situation = self.situation(snap, witnesses, now)
        decision = decide(situation)
        if decision.wanted and self.wanted_since is None:
            self.wanted_since = now
        elif not decision.wanted:
            self.wanted_since = None
        if decision.act:
            plan = executor.failover_plan(self.ctx, snap, self.views)
            unfit = plan.refusal or "; ".join(executor.problems(self.ctx, plan))
            if unfit:
                decision = decide(replace(situation, unfit=unfit))
                if self.once("unfit", unfit):
                    self.ctx.notice("would-fail-over", "critical", f"would fail over "
                                    f"{situation.primary} → {situation.standby} now, but it "
                                    f"cannot start: {unfit}")
            elif self.dry_run:
                if self.once("dry-failover", self.wanted_since):
                    self.say("critical", "would-fail-over", "DRY RUN: would fail over now: "
                             + " | ".join(plan.lines()))
            else:
                try:
                    await self._take("failover")
                    self.journal = await executor.start_failover(self.ctx, snap, plan, decision)
                    await self.ended()
                except ActionBusy as exc:
                    decision = decide(replace(situation, busy=str(exc)))
        self.latest = decision
        self.report(decision, situation)
        return decision

    def report(self, d: Decision, s: Situation | None) -> None:
        """Each reason for not acting once per change; state changes; alerts once per cause."""
        if self.once("decision", (d.wanted, d.keys)):
            if d.wanted and d.blockers:
                level = "error" if any(b.level == "critical" for b in d.blockers) else "warning"
                self.say(level, "not-failing-over", "; ".join(b.text for b in d.blockers))
            elif not d.wanted and (heads_up := [b for b in d.blockers if b.key in HEADS_UP]):
                self.say("warning", "blocked", "a failover would not happen now: "
                         + "; ".join(b.text for b in heads_up))
        if self.once("state", d.state):
            why = next((b.text for b in d.blockers if b.key in ("isolated", "paused", "held",
                                                                "acting", "state-damaged")), "")
            self.say("warning" if d.state != "ARMED" else "info", "automation",
                     d.state + (f": {why}" if why else ""))
            if not self.dry_run:
                self.events.append({"pair": self.pair.name, "automation": d.state,
                                    "text": f"automation {d.state}"})
            if d.state == "ISOLATED":
                self.ctx.notice("isolated", "warning", next(
                    b.text for b in d.blockers if b.key == "isolated") + ": automation will not act")
        if d.wanted and self.once("notes", d.notes) and d.notes:
            self.say("info", "note", "; ".join(d.notes))
        if d.would_act and self.once("would", (s.pause.kind, s.pause.since) if s.pause else None):
            paused = s.pause.text(s.now) if s.pause else "paused"
            self.ctx.notice("would-fail-over", "critical", f"would have failed over {s.primary} "
                            f"→ {s.standby} now, but {paused}: " + "; ".join(d.evidence))
        elif not d.wanted:
            self.memory.pop("would", None)
        old = d.wanted and "data-too-old" in d.keys
        if self.once("data-too-old", old) and old:
            self.ctx.notice("data-too-old", "critical", next(
                b.text for b in d.blockers if b.key == "data-too-old")
                + f" ({s.primary} is down: " + "; ".join(d.evidence) + ")")
        down = d.wanted and "standby-down" in d.keys
        if self.once("both-down", down) and down:
            self.ctx.notice("standby-down", "critical", f"{s.primary} (production) and the "
                            f"standby {s.standby} are both down: no failover is possible")

    async def scheduled_switchover(self, snap: PairSnapshot, now: float) -> None:
        """A person's planned switchover, when it falls due: taken out of the state (so it
        runs once), checked again from scratch, then run — or skipped with the reason."""
        try:
            item = scheduled_switchover(self.store, self.pair.name)
        except ValueError as exc:
            if self.once("switchover-unreadable", str(exc)):
                self.say("error", "switchover-unreadable", f"not acted on: {exc}")
                self.ctx.notice("switchover-skipped", "critical", f"a scheduled switchover "
                                f"cannot be read and is not acted on: {exc}")
            return
        if item is None or item.at > now:
            return
        if self.dry_run:
            if self.once("dry-switchover", item.at):
                self.say("warning", "would-switch-over", "DRY RUN: would run the scheduled "
                         + item.text(self.pair.zone, now))
            return
        if take_switchover(self.store, self.pair.name) != item.to_json():
            return  # cancelled or taken up by another process meanwhile
        pause = active_pause(automation_entry(self.store, self.pair.name), now)
        plan, why = due_plan(self.pair, snap, item, pause.text(now) if pause else None)
        if plan is not None:
            why = "; ".join(executor.problems(self.ctx, plan)) or None
        if why is None and plan is not None:
            try:
                await self._take("switchover")
            except ActionBusy as exc:
                why = str(exc)
        if why is not None or plan is None:
            text = (f"the scheduled switchover {item.source} → {item.target} (by {item.by}, "
                    f"due {datetime.fromtimestamp(item.at, self.pair.zone):%H:%M}) is skipped: "
                    f"{why}; nothing was sent")
            self.say("warning", "switchover-skipped", text)
            self.ctx.notice("switchover-skipped", "warning", text)
            base = {"action_id": new_action_id(), "pair": self.pair.name, "by": "watcher",
                    "action": "auto-switchover", "target": item.target}
            self.ctx.audit.append({"phase": "before", **base, "reasons": [
                f"switchover scheduled by {item.by}"]})
            self.ctx.audit.append({"phase": "after", **base, "result": "refused",
                                   "detail": f"skipped: {why}"})
            return
        self.journal = await executor.start_switchover(self.ctx, snap, plan, item)
        await self.ended()

    async def failback(self, snap: PairSnapshot, witnesses: Any, now: float) -> None:
        preferred, current = self.pair.production, snap.desired_production
        if preferred == current:
            return
        up = self.up_since[preferred]
        p = self.pair
        f = FailbackSituation(
            preferred, current, self.views[preferred], self.views[current],
            snap.modes[preferred].mode, snap.verdict.verdict, witnesses, now, up,
            self.auto.failback_after,
            restore_finished_between(p.restore_cron, p.timezone, p.restore_duration, up, now)
            if up is not None else None,
            pause=active_pause(automation_entry(self.store, p.name), now))
        d = decide_failback(f)
        if self.once("failback", d.keys) and d.blockers:
            self.say("info", "failback-waiting", "automatic failback waits: "
                     + "; ".join(b.text for b in d.blockers))
        if not d.act:
            return
        if self.dry_run:
            if self.once("dry-failback", up):
                plan = executor.plan_action(executor.ActionKind.FAILBACK, p, snap)
                self.say("warning", "would-fail-back", "DRY RUN: would fail back: "
                         + " | ".join(plan.lines()))
            return
        try:
            await self._take("failback")
        except ActionBusy as exc:
            self.say("warning", "failback-waiting", f"automatic failback waits: {exc}")
            return
        self.journal = await executor.start_failback(self.ctx, snap, d)
        await self.ended()
