"""Carry out a journaled plan step by step, and fence a returning old standby.

Every step is written to the journal before it runs and to the audit log after; a step
that cannot finish now (an unanswered promotion, DNS refused) waits and is retried.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..appliance import ApplianceClient, FailureKind, ModeChangeResult
from ..audit import JsonlLog, new_action_id
from ..config import PairConfig
from ..dns import switch
from ..pair import PairSnapshot
from ..state import StateStore, note_desired, update_pair
from ._schedule import data_loss_text
from .config import AutomationConfig
from .decision import Decision
from .journal import (
    Journal,
    close_journal,
    drop_unreadable_journal,
    load_journal,
    plan_failback,
    plan_failover,
    save_journal,
)
from .notify import Notice

RETRYABLE = frozenset({FailureKind.TIMEOUT, FailureKind.REFUSED, FailureKind.NETWORK,
                       FailureKind.SERVER_ERROR})
MAX_DNS_INTERVAL = 600.0
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

    def notice(self, event: str, severity: str, text: str, **details: Any) -> None:
        self.notify(Notice(event, severity, self.pair.name, text, self.clock(), details))  # type: ignore[arg-type]


def _answers(snap: PairSnapshot, name: str) -> bool:
    last = snap.views[name].last
    return last is not None and last.ok


def record(ctx: Context, phase: str, journal: Journal, **extra: Any) -> None:
    ctx.audit.append({"phase": phase, "action_id": journal.plan_id, "pair": journal.pair,
                      "action": f"auto-{journal.kind}", "target": journal.target,
                      "by": "watcher", "pid": os.getpid(), **extra})


async def post_mode(ctx: Context, journal: Journal, index: int, mode: str,
                    retries: int) -> tuple[Journal, ModeChangeResult]:
    """POST with bounded retries (idempotent); the journal is written before every attempt."""
    step = journal.steps[index]
    client = ctx.clients[step.appliance]
    delay = ctx.auto.retry_backoff
    for attempt in range(retries + 1):
        journal = journal.with_step(index, status="running", attempts=step.attempts + 1,
                                    detail="request sent; answer pending")
        step = journal.steps[index]
        save_journal(ctx.store, journal)
        answer = await client.set_mode(mode)
        record(ctx, "step", journal, step=step.text, attempt=step.attempts,
               request=f"POST {client.cfg.url}/api/1.0/appliancemode/ appliance_mode={mode}",
               outcome=answer.outcome, status=answer.status, message=answer.message)
        retryable = answer.outcome == "unknown" or (
            answer.failure is not None and answer.failure.kind in RETRYABLE)
        if answer.outcome == "done" or not retryable or attempt == retries:
            return journal, answer
        ctx.say("warning", "retry", f"{step.appliance}: {answer.message}; POST again in "
                                    f"{delay:g}s (attempt {attempt + 2} of {retries + 1})")
        await ctx.sleep(delay)
        delay *= 2
    raise AssertionError("unreachable")


def _roles(target: str, mode: str, at: float, hold: dict[str, Any] | None = None,
           fence: str | None = None, release_hold: bool = False):
    """The state change that goes into the same write as the step's `done`."""
    def also(entry: dict[str, Any], auto: dict[str, Any]) -> None:
        entry.setdefault("modes", {})[target] = {"mode": mode, "at": at}
        if mode == "production":
            note_desired(entry, target, at)
        if fence is not None:
            pending = set(auto.get("fence_pending", [])) | {fence}
            auto["fence_pending"] = sorted(pending)
        if hold is not None:
            auto["hold"] = hold
        if release_hold:
            auto.pop("hold", None)
    return also


async def finish(ctx: Context, journal: Journal, result: str, detail: str,
                 severity: str = "critical") -> None:
    close_journal(ctx.store, journal, result, detail, ctx.clock())
    record(ctx, "after", journal, result=result, detail=detail,
           responses=[{"step": s.text, "status": s.status, "attempts": s.attempts,
                       "detail": s.detail} for s in journal.steps])
    level = "info" if result == "done" else "error"
    ctx.say(level, f"{journal.kind}-{result}", detail, plan_id=journal.plan_id)
    ctx.notice(f"{journal.kind}-{result}", severity, detail, plan_id=journal.plan_id,
               steps=[f"{s.text}: {s.status}" for s in journal.steps],
               data_loss=journal.data_loss)


async def advance(ctx: Context, journal: Journal, snap: PairSnapshot) -> Journal | None:
    """Run the plan's unfinished steps in order; None once it is closed (done or abandoned)."""
    while (index := journal.current) is not None:
        step = journal.steps[index]
        if step.status == "waiting" and step.next_try_at and step.kind == "dns" \
                and ctx.clock() < step.next_try_at:
            return journal  # a retry that is not due yet: nothing to do, nothing to say
        if step.status != "waiting":  # a step that waits said so when it began to
            ctx.say("info", "step", f"{journal.describe()}", plan_id=journal.plan_id)
        if step.kind in ("promote", "demote"):
            outcome = await _mode_step(ctx, journal, index, snap)
        elif step.kind == "confirm":
            outcome = await _confirm_step(ctx, journal, index, snap)
        else:
            outcome = await _dns_step(ctx, journal, index)
        if outcome is None:
            return None
        journal, go_on = outcome
        if not go_on:
            return journal
    text = (f"{journal.target} is production" + (
        f" ({journal.data_loss})" if journal.data_loss else "")
            + "; " + "; ".join(f"{s.text}: {s.status}" for s in journal.steps))
    await finish(ctx, journal, "done", f"{journal.kind} done: {text}",
                 "critical" if journal.kind == "failover" else "warning")
    return None


async def _mode_step(ctx: Context, journal: Journal, index: int,
                     snap: PairSnapshot) -> tuple[Journal, bool] | None:
    step = journal.steps[index]
    mode = "production" if step.kind == "promote" else "standby"
    demoted = any(s.kind == "demote" and s.status == "done" for s in journal.steps)
    if journal.kind == "failover" and step.kind == "promote" and step.status != "pending" \
            and not demoted and _answers(snap, journal.source):
        # In doubt (restart, or no answer) and the old primary answers again: undo, idempotently.
        undo = await ctx.clients[journal.target].set_mode("standby")
        record(ctx, "step", journal, step=f"undo: POST appliance_mode=standby to {journal.target}",
               outcome=undo.outcome, status=undo.status, message=undo.message)
        if undo.outcome == "done":
            ctx.store.record_mode(journal.pair, journal.target, "standby", ctx.clock())
        await finish(ctx, journal, "cancelled",
                     f"{journal.source} answers again before the promotion of {journal.target} "
                     f"was confirmed: abandoned; {journal.target} re-asserted standby: "
                     f"{undo.outcome} ({undo.message})", "warning")
        return None
    in_doubt = step.status != "pending"
    journal, answer = await post_mode(ctx, journal, index, mode, ctx.auto.promote_retries)
    now = ctx.clock()
    if answer.outcome == "failed" and not answer.sent and in_doubt:
        # an earlier attempt may have applied: "not sent now" does not mean "nothing changed"
        answer = replace(answer, outcome="unknown")
    if answer.outcome == "done":
        if step.kind == "demote":
            also = _roles(step.appliance, mode, now)
        elif journal.kind == "failover":
            hold = {"by": "watcher", "since": now, "reason": (
                f"automatic failover {journal.source} → {journal.target} at "
                f"{_local(now)}: no second automatic failover until a person checks the pair "
                f"and runs `d42tui resume {journal.pair}`")}
            also = _roles(step.appliance, mode, now, hold=hold,
                          fence=None if demoted else journal.source)
        else:
            also = _roles(step.appliance, mode, now, release_hold=True)
        journal = journal.with_step(index, status="done", detail=answer.message)
        save_journal(ctx.store, journal, also)
        return journal, True
    if answer.outcome == "unknown":
        journal = journal.with_step(index, status="waiting", detail=answer.message)
        save_journal(ctx.store, journal)
        if step.status != "waiting":  # once, when it starts waiting; retried every poll
            ctx.notice("promotion-unanswered" if mode == "production" else "demotion-unanswered",
                       "critical", f"{step.appliance} did not answer the {mode} POST after "
                       f"{journal.steps[index].attempts} attempt(s): it may have applied it; "
                       "the watcher retries every poll", plan_id=journal.plan_id)
        return journal, False
    journal = journal.with_step(index, status="failed", detail=answer.message)
    if journal.kind == "failback" and step.kind == "promote":
        back = await ctx.clients[journal.source].set_mode("production")
        record(ctx, "step", journal, step=f"compensate: POST appliance_mode=production to "
                                          f"{journal.source}", outcome=back.outcome,
               status=back.status, message=back.message)
        if back.outcome == "done":
            ctx.store.record_mode(journal.pair, journal.source, "production", ctx.clock())
        await finish(ctx, journal, "failed",
                     f"failback: {step.appliance} refused production ({answer.message}); "
                     f"{journal.source} re-promoted: {back.outcome}")
        return None
    await finish(ctx, journal, "failed", f"{journal.kind} failed: {step.appliance} refused "
                                         f"{mode} ({answer.message}); nothing changed")
    return None


async def _confirm_step(ctx: Context, journal: Journal, index: int,
                        snap: PairSnapshot) -> tuple[Journal, bool]:
    step = journal.steps[index]
    result = await ctx.clients[step.appliance].health()
    if result.ok or step.attempts == 0:  # the first miss and the answer, not every poll between
        record(ctx, "step", journal, step=step.text, request=f"GET health of {step.appliance}",
               outcome="done" if result.ok else "failed",
               message=str(result.failure or "answers"))
    if result.ok:
        journal = journal.with_step(index, status="done", attempts=step.attempts + 1,
                                    detail="answers health")
        save_journal(ctx.store, journal)
        return journal, True
    first = step.next_try_at or ctx.clock()
    alerted = step.detail.startswith("[alerted] ")
    alert = not alerted and ctx.clock() - first >= ctx.auto.confirm_timeout
    journal = journal.with_step(index, status="waiting", attempts=step.attempts + 1,
                                detail=("[alerted] " if alerted or alert else "")
                                + str(result.failure), next_try_at=first)
    save_journal(ctx.store, journal)
    if step.attempts == 0:
        ctx.say("warning", "confirm-waiting", f"{step.appliance} does not answer health yet "
                                              f"({result.failure}); DNS waits for it")
    if alert:
        ctx.notice("confirm-waiting", "critical",
                   f"{step.appliance} accepted production but has not answered health for "
                   f"{ctx.auto.confirm_timeout:g}s ({result.failure}): DNS is not switched yet; "
                   "the watcher continues as soon as it answers", plan_id=journal.plan_id)
    return journal, False


async def _dns_step(ctx: Context, journal: Journal, index: int) -> tuple[Journal, bool] | None:
    step = journal.steps[index]
    cfg = ctx.pair.dns
    if cfg is None:
        ctx.say("info", "dns-skipped", "no DNS target is configured: DNS step skipped")
        journal = journal.with_step(index, status="skipped", detail="no DNS target configured")
        save_journal(ctx.store, journal)
        return journal, True
    now = ctx.clock()
    if step.next_try_at is not None and now < step.next_try_at:
        return journal, False
    journal = journal.with_step(index, status="running", attempts=step.attempts + 1)
    save_journal(ctx.store, journal)
    result = await switch(cfg, step.appliance, pair=ctx.pair.name)
    record(ctx, "step", journal, step=step.text, attempt=step.attempts + 1,
           request=f"DNS {cfg.name} {cfg.type} → {result.new_value} via {cfg.backend.kind}",
           outcome=result.outcome, message=result.text, retry_command=result.retry_command)
    if result.outcome == "done":
        journal = journal.with_step(index, status="done", detail=result.text)
        save_journal(ctx.store, journal)
        return journal, True
    attempts = step.attempts + 1
    if attempts > ctx.auto.dns_retries:
        journal = journal.with_step(index, status="failed", detail=result.text)
        await finish(ctx, journal, "failed",
                     f"{journal.target} is production, but DNS was NOT switched after "
                     f"{attempts} attempts: {result.text}. Switch it by hand:\n"
                     f"{result.retry_command}")
        return None
    wait = min(ctx.auto.dns_retry_interval * 2 ** (attempts - 1), MAX_DNS_INTERVAL)
    journal = journal.with_step(index, status="waiting", detail=result.text,
                                next_try_at=now + wait)
    save_journal(ctx.store, journal)
    ctx.say("error", "dns-failed", f"DNS step {result.outcome}: {result.text}; retry "
                                   f"{attempts} of {ctx.auto.dns_retries} in {wait:g}s")
    if attempts == 1:
        ctx.notice("dns-failed", "critical",
                   f"{journal.target} is production but the DNS update {result.outcome}: "
                   f"{result.text}. The watcher retries; to do it by hand:\n"
                   f"{result.retry_command}", plan_id=journal.plan_id,
                   retry_command=result.retry_command)
    return journal, False


def _local(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


async def start_failover(ctx: Context, snap: PairSnapshot, primary: str, standby: str,
                         decision: Decision) -> Journal | None:
    """Audit and journal a new failover plan, tell people, then run it (under the pair lock)."""
    from ..actions import picture_of

    p, now, d = ctx.pair, ctx.clock(), decision
    loss = data_loss_text(p.backup_cron, p.restore_cron, p.timezone, p.restore_duration, now)
    last = snap.views[primary].last
    journal = plan_failover(p, primary, standby, new_action_id(), now, d.evidence + d.notes, loss,
                            demote_first=bool(last and last.ok))
    record(ctx, "before", journal, plan=journal.lines(), steps=[s.text for s in journal.steps],
           picture=picture_of(snap).describe(), forced=False, reasons=list(d.evidence),
           notes=list(d.notes), data_loss=loss, during_restore=d.during_restore)
    text = f"failing over {primary} → {standby}: " + "; ".join(d.evidence + d.notes) + f". {loss}"
    ctx.say("critical", "failover", text, plan_id=journal.plan_id)
    ctx.notice("failover-started", "critical", text, plan_id=journal.plan_id, data_loss=loss,
               during_restore=d.during_restore)
    save_journal(ctx.store, journal)
    return await advance(ctx, journal, snap)


async def start_failback(ctx: Context, snap: PairSnapshot, current: str, preferred: str,
                         decision: Decision) -> Journal | None:
    journal = plan_failback(ctx.pair, current, preferred, new_action_id(), ctx.clock(),
                            decision.evidence)
    record(ctx, "before", journal, plan=journal.lines(), steps=[s.text for s in journal.steps],
           forced=False, reasons=list(decision.evidence))
    ctx.say("warning", "failback", " | ".join(journal.lines()), plan_id=journal.plan_id)
    ctx.notice("failback-started", "warning", "; ".join(journal.lines()), plan_id=journal.plan_id)
    save_journal(ctx.store, journal)
    return await advance(ctx, journal, snap)


def recover(ctx: Context, dry_run: bool) -> Journal | None:
    """An unfinished plan from an earlier watcher: resumed, or abandoned and said so."""
    journal, unreadable = load_journal(ctx.store, ctx.pair.name)
    if unreadable:
        raw = None if dry_run else drop_unreadable_journal(ctx.store, ctx.pair.name, ctx.clock())
        ctx.say("error", "journal-unreadable", "an unfinished plan in the state file cannot be "
                f"read by this version; moved aside for a person: {raw!r:.200}")
        ctx.notice("journal-unreadable", "critical", "an unfinished automation plan could not "
                   "be read: check the pair by hand")
        return None
    if journal is None:
        return None
    if journal.current == 0 and journal.steps[0].status == "pending":
        if not dry_run:
            detail = "the watcher stopped before anything was sent: abandoned, deciding afresh"
            close_journal(ctx.store, journal, "cancelled", detail, ctx.clock())
            record(ctx, "after", journal, result="cancelled", detail=detail)
        ctx.say("warning", "plan-abandoned", f"found {journal.describe()} from pid "
                f"{journal.pid}, nothing sent yet: abandoned; deciding afresh")
        return None
    ctx.say("warning", "plan-found", f"found unfinished {journal.describe()} from pid "
            f"{journal.pid}: re-polling, then completing or abandoning it")
    if not dry_run:
        record(ctx, "step", journal, step="resume", request="resume after a restart",
               outcome="resumed",
               message=f"watcher pid {os.getpid()} restarted and found the plan at "
                       f"{journal.describe()}")
    return journal


async def fence(ctx: Context, name: str, snap: PairSnapshot, action_id: str,
                why: str) -> bool:
    """Re-assert standby on an appliance that should be standby and answers again."""
    from ..actions import picture_of

    client = ctx.clients[name]
    base = {"action_id": action_id, "pair": ctx.pair.name, "action": "auto-fence",
            "target": name, "by": "watcher", "pid": os.getpid()}
    request = f"POST {client.cfg.url}/api/1.0/appliancemode/ appliance_mode=standby"
    ctx.audit.append({"phase": "before", **base, "reasons": [why], "steps": [request],
                      "picture": picture_of(snap).describe(), "forced": False})
    answer = await client.set_mode("standby")
    ctx.audit.append({"phase": "step", **base, "request": request, "outcome": answer.outcome,
                      "status": answer.status, "message": answer.message})
    if answer.outcome == "done":
        at = ctx.clock()

        def also(entry: dict[str, Any], auto: dict[str, Any]) -> None:
            entry.setdefault("modes", {})[name] = {"mode": "standby", "at": at}
            auto["fence_pending"] = [n for n in auto.get("fence_pending", []) if n != name]
        update_pair(ctx.store, ctx.pair.name, also)
        # an unconfirmed 200 says so in its message (ApplianceClient.set_mode reads it)
        detail = f"{name} re-asserted standby: {answer.message}"
        ctx.audit.append({"phase": "after", **base, "result": "done", "detail": detail})
        ctx.say("warning", "fenced", detail)
        ctx.notice("fence-done", "warning", f"{name} {why}: re-asserted standby so it runs no "
                                            f"jobs. {answer.message}", action_id=action_id)
        return True
    detail = f"{name}: standby POST {answer.outcome}: {answer.message}; retried next poll"
    ctx.audit.append({"phase": "after", **base, "result": answer.outcome, "detail": detail})
    ctx.say("error", "fence-failed", detail)
    ctx.notice("fence-failed", "critical", f"could not re-assert standby on {name}, which "
                                           f"{why}: {answer.message}", action_id=action_id)
    return False
