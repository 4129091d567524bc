"""The watcher's driver of the one engine: its decisions become plans of the one planner,
carried out by the journaled engine a round at a time; returning appliances are fenced.

Nothing here sends a request or writes a step itself: `d42tui.actions.steps` does, for the
console, the CLI and the watcher alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ..actions.journal import journal_of
from ..actions.planner import ActionKind, Plan, picture_of, plan_action
from ..actions.preflight import plan_problems
from ..actions.steps import Engine, Policy
from ..appliance.client import ApplianceClient
from ..config.models import PairConfig
from ..engine.audit import JsonlLog, new_action_id
from ..engine.journal import (
    Journal,
    JournalStep,
    StepKind,
    close_journal,
    journal_problem,
    load_journal,
    new_journal,
    set_aside_journal,
)
from ..engine.pair import ApplianceView, PairSnapshot
from ..engine.state import StateStore
from ..engine.switchover import ScheduledSwitchover
from ._schedule import data_loss_text
from .config import AutomationConfig
from .decision import Decision
from .notify import Notice

Say = Callable[..., None]  # say(level, event, text, **fields)


@dataclass
class Context:
    """What a plan needs from the watcher; one per pair."""

    pair: PairConfig
    auto: AutomationConfig
    store: StateStore
    audit: JsonlLog
    clients: dict[str, ApplianceClient]
    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]
    say: Say
    notify: Callable[[Notice], None]
    engine: Engine = field(init=False)
    # a coordinated watcher that follows: what it sees is logged, the leader pages
    muted: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.engine = Engine(self.pair, self.store, self.audit, self.clients, self.clock,
                             self.sleep, Policy.of(self.pair, watcher=True), say=self.say,
                             notify=self.notice)

    def notice(self, event: str, severity: str, text: str, **details: Any) -> None:
        if self.muted:
            return
        self.notify(Notice(event, severity, self.pair.name, text, self.clock(), details))  # type: ignore[arg-type]


def planning_snapshot(snap: PairSnapshot, views: dict[str, ApplianceView]) -> PairSnapshot:
    """The poll as the watcher counts it (its own thresholds make an appliance DOWN), with
    each appliance's latest answer as the poll got it (what "it answers" goes by)."""
    return replace(snap, views={n: replace(views[n], last=snap.views[n].last)
                                for n in snap.views})


def problems(ctx: Context, plan: Plan) -> list[str]:
    """What stops the plan before its first byte (secrets, state dir, audit log, DNS)."""
    return plan_problems(ctx.pair, {s.appliance for s in plan.steps if s.kind == "mode"},
                         any(s.kind == "dns" for s in plan.steps), ctx.store, ctx.audit.path,
                         any(s.kind == "fence" for s in plan.steps))


async def start(ctx: Context, plan: Plan, snap: PairSnapshot, decision: Decision, *,
                hold: str | None = None, release_hold: bool = False,
                data_loss: str = "") -> Journal | None:
    """Audit and journal the plan, tell people, then run it (under the pair lock)."""
    journal = journal_of(plan, ctx.pair, new_action_id(), "watcher", ctx.clock(),
                         reasons=decision.evidence + decision.notes, data_loss=data_loss,
                         hold=hold, release_hold=release_hold)
    ctx.engine.begin(journal, picture=picture_of(snap).describe(),
                     reasons=list(decision.evidence), notes=list(decision.notes),
                     data_loss=data_loss, during_restore=decision.during_restore)
    if journal.kind == "failover":
        text = (f"failing over {journal.source} → {journal.target}: "
                + "; ".join(decision.evidence + decision.notes) + f". {data_loss}")
        ctx.say("critical", "failover", text, plan_id=journal.plan_id)
        ctx.notice("failover-started", "critical", text, plan_id=journal.plan_id,
                   data_loss=data_loss, during_restore=decision.during_restore)
    else:
        ctx.say("warning", journal.kind, " | ".join(journal.lines()), plan_id=journal.plan_id)
        ctx.notice(f"{journal.kind}-started", "warning", "; ".join(journal.lines()),
                   plan_id=journal.plan_id)
    if ctx.pair.dns is None:
        ctx.say("info", "dns-skipped", "no DNS target is configured: DNS is not switched")
    return await ctx.engine.advance(journal, snap)


def failover_plan(ctx: Context, snap: PairSnapshot, views: dict[str, ApplianceView]) -> Plan:
    return plan_action(ActionKind.FAILOVER, ctx.pair, planning_snapshot(snap, views))


async def start_failover(ctx: Context, snap: PairSnapshot, plan: Plan,
                         decision: Decision) -> Journal | None:
    p, now = ctx.pair, ctx.clock()
    loss = data_loss_text(p.backup_cron, p.restore_cron, p.timezone, p.restore_duration, now)
    old = next(n for n in snap.order if n != plan.target)
    hold = (f"automatic failover {old} → {plan.target} at {_local(now)}: no second automatic "
            f"failover until a person checks the pair and runs `d42tui resume {p.name}`")
    return await start(ctx, plan, snap, decision, hold=hold, data_loss=loss)


async def start_failback(ctx: Context, snap: PairSnapshot, decision: Decision
                         ) -> Journal | None:
    plan = plan_action(ActionKind.FAILBACK, ctx.pair, snap)
    if plan.refused or not plan.steps:
        ctx.say("warning", "failback-waiting", f"automatic failback waits: {plan.refusal}")
        return None
    return await start(ctx, plan, snap, decision, release_hold=True)


async def start_switchover(ctx: Context, snap: PairSnapshot, plan: Plan,
                           item: ScheduledSwitchover) -> Journal | None:
    """A person's planned switchover, fallen due and checked again: the same journaled plan."""
    decision = Decision(True, False, "ARMED", (0, 0), evidence=(
        f"switchover scheduled by {item.by} for {_local(item.at)}"
        + (f" ({item.why})" if item.why else ""),))
    return await start(ctx, plan, snap, decision, data_loss=plan.data_loss or "")


def recover(ctx: Context, dry_run: bool, orphan_of: str = "an earlier watcher"
            ) -> Journal | None:
    """An unfinished plan (of an earlier watcher, or of a console or CLI that stopped):
    validated against the config, then resumed, or abandoned and said so."""
    journal, raw = load_journal(ctx.store, ctx.pair.name)
    if journal is None and raw is None:
        return None
    why = "this version cannot read it" if journal is None else journal_problem(journal, ctx.pair)
    if why is not None:
        if not dry_run:
            set_aside_journal(ctx.store, ctx.pair.name, ctx.clock(), why)
        ctx.say("error", "journal-unreadable", f"an unfinished plan in the state file is not "
                f"acted on ({why}); moved aside for a person: {raw or journal!r:.200}")
        ctx.notice("journal-unreadable", "critical", f"an unfinished plan could not be trusted "
                   f"({why}): nothing was sent; check the pair by hand")
        return None
    assert journal is not None
    if journal.current == 0 and journal.steps[0].status == "pending":
        if not dry_run:
            detail = (f"{orphan_of} stopped before anything was sent: abandoned, deciding "
                      "afresh")
            close_journal(ctx.store, journal, "cancelled", detail, ctx.clock())
            ctx.engine.record("after", journal, result="cancelled", detail=detail)
        ctx.say("warning", "plan-abandoned", f"found {journal.describe()} from pid "
                f"{journal.pid}, nothing sent yet: abandoned; deciding afresh")
        return None
    ctx.say("warning", "plan-found", f"found unfinished {journal.describe()} from pid "
            f"{journal.pid} ({journal.by}): re-polling, then completing or abandoning it")
    if not dry_run:
        ctx.engine.record("step", journal, step="resume", request="resume after a restart",
                          outcome="resumed", message=f"watcher pid {_pid()} found the plan of "
                          f"{orphan_of} at {journal.describe()}: {journal.sent_so_far()}")
        if journal.by != "watcher":
            ctx.notice("plan-resumed", "critical", f"an interrupted {journal.kind} of the "
                       f"{journal.by} (pid {journal.pid}) was found: {journal.sent_so_far()}; "
                       "the watcher completes it", plan_id=journal.plan_id)
    return journal


async def fence(ctx: Context, name: str, snap: PairSnapshot, action_id: str,
                why: str) -> bool:
    """Re-assert standby on an appliance that should be standby and answers again."""
    journal = new_journal(plan_id=action_id, kind="fence", pair=ctx.pair.name, source=None,
                          target=name, started_at=ctx.clock(), by="watcher", steps=(
                              JournalStep(StepKind.DEMOTE, name, f"POST appliance_mode=standby "
                                          f"to {name}"),))
    return await ctx.engine.fence(journal, picture_of(snap).describe(), why)


def _local(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _pid() -> int:
    import os

    return os.getpid()
