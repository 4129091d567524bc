"""What the guarded-action dialogs say, as plain data: the plan, the progress, the result.

Pure functions of an engine `Plan` or `ActionResult`, so the wording can be tested
without a terminal, and the dialog only lays the lines out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from ...actions.kinds import BY_KIND, ActionKind
from ...actions.planner import Plan, Step
from ...engine.pair import PairSnapshot
from .boardtext import Line, Tone

if TYPE_CHECKING:
    from ...actions.runner import ActionResult


@dataclass(frozen=True)
class PlanContext:
    """What the dialog knows beside the plan: the snapshot it was made from, the pair's
    time zone and the time, to word the data age for this action."""

    snap: PairSnapshot
    zone: tzinfo
    now: float
    scheduled: Any = None  # engine.switchover.ScheduledSwitchover: confirming stores it

# The confirm button's verb per kind, from the one table of actions.
VERB = {kind: spec.button for kind, spec in BY_KIND.items()}

# outcome -> (glyph and word, tone); never a success the runner did not see.
OUTCOME: dict[str, tuple[str, Tone]] = {
    "done": ("✔ DONE", "ok"),
    "refused": ("✖ REFUSED", "critical"),
    "cancelled": ("■ CANCELLED", "warning"),
    "failed": ("✖ FAILED", "critical"),
    "unknown": ("? UNKNOWN", "warning"),
}
UNKNOWN_NOTE = "it may have applied; the console keeps checking — look at the board before retrying"


def title(plan: Plan) -> str:
    if plan.action is ActionKind.DNS_SET:
        return f"DNS · pair {plan.pair}"
    return f"{plan.action.value} · pair {plan.pair}"


def confirm_label(plan: Plan) -> str:
    if plan.action in (ActionKind.FAILOVER, ActionKind.FAILBACK, ActionKind.SWITCHOVER,
                       ActionKind.DNS_SET):
        return VERB[plan.action]
    return f"{VERB[plan.action]} {plan.target}"


def confirm_text(plan: Plan, ready: bool, scheduled: bool = False) -> str:
    """The confirm button in words: what it does, or what it still needs."""
    label = f"Schedule: {confirm_label(plan)}" if scheduled else confirm_label(plan)
    return label if ready else f"{label} (type {plan.target} first)"


def force_text(plan: Plan, ready: bool) -> str:
    return "Force…" if ready else f"Force… (type {plan.target} first)"


def name_prompt(plan: Plan) -> str:
    return f"Type {plan.target} to confirm:"


def wrong_name_prompt(plan: Plan) -> str:
    return f"✖ type {plan.target} exactly to confirm:"


def about(seconds: float) -> str:
    """`under a minute`, `12 min`, `3 h 12 min`: a minute is never rounded to 0."""
    if seconds < 60:
        return "under a minute"
    minutes = int(seconds // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{minutes} min" if not hours else f"{hours} h {minutes:02d} min"


def probe_lines(context: PlanContext) -> tuple[str, ...]:
    """A mode probe that contradicts the asserted mode: the reason to act, said in full."""
    out = []
    for name, view in context.snap.views.items():
        probed = view.last.probed_mode if view.last is not None else None
        asserted = context.snap.modes[name].mode
        if probed is not None and probed != asserted:
            out.append(f"{name}'s mode probe says {probed} (the console asserts {asserted})")
    return tuple(out)


def plan_lines(plan: Plan, context: PlanContext | None = None) -> tuple[Line, ...]:
    """The pair as it is now, exactly what is sent to whom in order, warnings, refusal."""
    out: list[Line] = [((plan.summary, "strong"),)]
    if plan.refusal:  # first: at 80x24 the end of a long plan may be below the fold
        out.append(((f"✖ REFUSED: {plan.refusal}", "critical"),))
    out.append((("Now:", "dim"),))
    for line in plan.situation:
        out.append(((f"  {line}", "warning" if line == plan.data_loss else ""),))
    if context is not None:
        out += [((f"  {line}", "critical"),) for line in probe_lines(context)]
    if context is not None and context.scheduled is not None:
        item = context.scheduled
        out.append(((f"Planned: {item.text(context.zone, context.now)}", "strong"),))
        out.append((("Checked again when due (HEALTHY, not paused, versions equal, no "
                     "restore window) and skipped unless the pair is fit for it.", "dim"),))
    if plan.steps:
        out.append((("Will send, in order:" if context is None or context.scheduled is None
                     else "Will send then, in order:", "dim"),))
        out += [((f"  {i}. {step.text}", ""),) for i, step in enumerate(plan.steps, 1)]
    else:
        out.append((("Will send nothing.", "dim"),))
    out += [((f"▲ {w}", "warning"),) for w in plan.warnings]
    if plan.refusal and plan.forceable:
        out.append(((f"Force… overrides the refusal after a second confirmation; risk: "
                     f"{plan.force_risk}", "dim"),))
    return tuple(out)


def needs_name(plan: Plan) -> bool:
    """Whether the operator types the target's name: every step that sends something."""
    return bool(plan.steps)


def progress_line(text: str, done: bool = False) -> Line:
    return ((("✓ " if done else "… ") + text, "dim" if done else "strong"),)


def result_lines(result: ActionResult, ttl: int | None = None) -> tuple[Line, ...]:
    """The outcome word, what happened step by step, and what to do about an unknown."""
    word, tone = OUTCOME.get(result.outcome, ("? " + result.outcome.upper(), "warning"))
    out: list[Line] = [((word, tone), (f"  {result_detail(result)}", ""))]
    for step in result.steps:
        step_tone: Tone = {"done": "ok", "failed": "critical", "unknown": "warning"}.get(
            step.outcome, "dim")
        status = f" ({step.status})" if step.status is not None else ""
        out.append(((f"  {step_name(step.step)}: ", ""), (f"{step.outcome}{status}", step_tone),
                    (f" {step.message}".rstrip(), "dim")))
    out += [((f"▲ {w}", "warning"),) for w in result.warnings]
    if result.outcome == "unknown":
        out.append(((UNKNOWN_NOTE, "warning"),))
    if ttl is not None and dns_switched(result):
        out.append(((f"DNS switched: clients follow within ≤ {ttl} s", "strong"),))
    return tuple(out)


def step_name(step: Step) -> str:
    """A step in a few words, once the plan has said it in full: `d42-a → standby`."""
    if step.kind == "dns":
        return f"DNS {step.url} → {step.appliance}"
    if step.kind == "fence":
        return f"fence {step.appliance}"
    return f"{step.appliance} → {step.mode}"


def dns_switched(result: ActionResult) -> bool:
    return any(s.step.kind == "dns" and s.outcome == "done" for s in result.steps)


def result_detail(result: ActionResult) -> str:
    """The engine's detail, but a re-assert that was done re-asserted a role: it may have
    changed nothing ("changed: d42-b → standby" read as if d42-b had been production)."""
    if result.outcome != "done" or result.plan.action is not ActionKind.REASSERT:
        return result.detail
    sent = ", ".join(f"{s.step.appliance} {s.step.mode}" for s in result.steps
                     if s.outcome == "done")
    return f"re-asserted: {sent} (its desired role, sent again; the appliance accepted it)"


def timeline_text(result: ActionResult) -> str:
    word = OUTCOME.get(result.outcome, (result.outcome.upper(), ""))[0]
    return f"{result.plan.action.value} {result.plan.target}: {word} — {result_detail(result)}"


def timeline_tone(result: ActionResult) -> Tone:
    return OUTCOME.get(result.outcome, ("", "warning"))[1]
