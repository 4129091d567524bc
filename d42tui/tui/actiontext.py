"""What the guarded-action dialogs say, as plain data: the plan, the progress, the result.

Pure functions of an engine `Plan` or `ActionResult`, so the wording can be tested
without a terminal, and the dialog only lays the lines out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..actions import ActionKind, Plan, Step
from .boardtext import Line, Tone

if TYPE_CHECKING:
    from ..runner import ActionResult

VERB = {ActionKind.PROMOTE: "Promote", ActionKind.DEMOTE: "Demote",
        ActionKind.FAILOVER: "Fail over", ActionKind.FAILBACK: "Fail back",
        ActionKind.REASSERT: "Re-assert", ActionKind.DNS_SET: "Switch DNS"}

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
    if plan.action in (ActionKind.FAILOVER, ActionKind.FAILBACK, ActionKind.DNS_SET):
        return VERB[plan.action]
    return f"{VERB[plan.action]} {plan.target}"


def confirm_text(plan: Plan, ready: bool) -> str:
    """The confirm button in words: what it does, or what it still needs."""
    return confirm_label(plan) if ready else f"{confirm_label(plan)} (type {plan.target} first)"


def force_text(plan: Plan, ready: bool) -> str:
    return "Force…" if ready else f"Force… (type {plan.target} first)"


def name_prompt(plan: Plan) -> str:
    return f"Type {plan.target} to confirm:"


def wrong_name_prompt(plan: Plan) -> str:
    return f"✖ type {plan.target} exactly to confirm:"


def plan_lines(plan: Plan) -> tuple[Line, ...]:
    """The pair as it is now, exactly what is sent to whom in order, warnings, refusal."""
    out: list[Line] = [((plan.summary, "strong"),)]
    if plan.refusal:  # first: at 80x24 the end of a long plan may be below the fold
        out.append(((f"✖ REFUSED: {plan.refusal}", "critical"),))
    out.append((("Now:", "dim"),))
    for line in plan.situation:
        tone: Tone = "warning" if line.startswith("failing over now") else ""
        out.append(((f"  {line}", tone),))
    if plan.steps:
        out.append((("Will send, in order:", "dim"),))
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
    out: list[Line] = [((word, tone), (f"  {result.detail}", ""))]
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
    return f"{step.appliance} → {step.mode}"


def dns_switched(result: ActionResult) -> bool:
    return any(s.step.kind == "dns" and s.outcome == "done" for s in result.steps)


def timeline_text(result: ActionResult) -> str:
    word = OUTCOME.get(result.outcome, (result.outcome.upper(), ""))[0]
    return f"{result.plan.action.value} {result.plan.target}: {word} — {result.detail}"


def timeline_tone(result: ActionResult) -> Tone:
    return OUTCOME.get(result.outcome, ("", "warning"))[1]
