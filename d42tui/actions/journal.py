"""A confirmed plan as the journaled engine carries it out (the record itself, its checks
and its reads and writes are in `engine.journal`: readers below the actions need them)."""

from __future__ import annotations

from typing import Any

from ..config.models import PairConfig
from ..engine.journal import MOVES, Driver, Journal, JournalStep, StepKind, new_journal
from .planner import Plan


def journal_of(plan: Plan, pair: PairConfig, plan_id: str, by: Driver, now: float,
               **extra: Any) -> Journal:
    """The plan a person (or the watcher's decision) confirmed, as the engine carries it
    out: the same steps in the same order, and before a DNS switch a check that the new
    production answers health (DNS waits for it)."""
    steps: list[JournalStep] = []
    for i, step in enumerate(plan.steps):
        if step.kind == "dns":
            if plan.new_production:
                steps.append(JournalStep(StepKind.CONFIRM, plan.new_production,
                                         f"confirm {plan.new_production} answers health"))
            steps.append(JournalStep(StepKind.DNS, step.appliance, step.text, value=step.mode,
                                     ref=i))
        elif step.kind == "fence":
            steps.append(JournalStep(StepKind.FENCE, step.appliance, step.text,
                                     optional=not step.required, ref=i))
        else:
            kind = StepKind.PROMOTE if step.mode == "production" else StepKind.DEMOTE
            steps.append(JournalStep(kind, step.appliance, step.text,
                                     optional=step.only_if_answering, ref=i))
    move = plan.action.value in MOVES
    source = next((a.name for a in pair.appliances if a.name != plan.target), None) \
        if move else None
    return new_journal(plan_id=plan_id, kind=plan.action.value, pair=plan.pair, source=source,
                       target=plan.target, started_at=now, steps=tuple(steps), by=by,
                       new_production=plan.new_production, dns_ttl=plan.dns_ttl,
                       dns_expected=plan.dns_expected, **extra)
