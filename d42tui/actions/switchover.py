"""A planned switchover when it falls due: checked again from scratch, then the same
journaled plan as every other action — or skipped with the reason, never half-done."""

from __future__ import annotations

from ..config.models import PairConfig
from ..engine.pair import PairSnapshot
from ..engine.switchover import ScheduledSwitchover
from .kinds import ActionKind
from .planner import Plan, plan_action


def due_plan(pair: PairConfig, snap: PairSnapshot, item: ScheduledSwitchover,
             pause_text: str | None) -> tuple[Plan | None, str | None]:
    """(plan, None) when it may run now, else (None, why it is skipped). The pair must be
    HEALTHY, not paused, its versions equal, the standby outside its restore window (the
    planner's switchover refusals), and production where it was when it was scheduled."""
    if pause_text:
        return None, f"automation is paused ({pause_text})"
    production = snap.verdict.production
    if production is not None and production != item.source:
        return None, (f"production moved since it was scheduled ({item.source} then, "
                      f"{production} now)")
    plan = plan_action(ActionKind.SWITCHOVER, pair, snap)
    if plan.refused:
        return None, plan.refusal
    return plan, None
