"""The next step the board offers for the pair as it is, in words with its key.

Pure, keyed by verdict (a new verdict gets its own row in `BY_VERDICT`); a mode probe
that contradicts the asserted mode asks for a re-assert whatever the verdict. The
step is what an operator should consider, never done by itself: each key still opens
its guarded dialog.
"""

from __future__ import annotations

from collections.abc import Callable

from ...config.models import PairConfig
from ...engine.pair import PairSnapshot, Reachability, Verdict

Step = str  # "F fails over to d42-b: …", shown after "▶ next: "


def _answers(snap: PairSnapshot, name: str) -> bool:
    return snap.views[name].reachability in (Reachability.UP, Reachability.SUSPECT)


def _peer(snap: PairSnapshot, name: str) -> str:
    return next(n for n in snap.order or tuple(snap.views) if n != name)


def _primary_down(pair: PairConfig, snap: PairSnapshot) -> Step | None:
    primary = snap.verdict.production or snap.desired_production
    standby = snap.verdict.standby or _peer(snap, primary)
    if not _answers(snap, standby):
        return f"no failover: {standby} does not answer either; check the console's network"
    view = snap.views[primary]
    if view.answers_unreadably:
        label = view.last_failure.kind.label if view.last_failure else "unreadable"
        return (f"{primary} answers, so it may still be running ({label}): fix the console's "
                f"access to it; F fails over to {standby} only if forced")
    return (f"F fails over to {standby} (promotes it; R fences {primary} when it "
            "returns)")


def _split_brain(pair: PairConfig, snap: PairSnapshot) -> Step | None:
    desired = snap.desired_production
    other = _peer(snap, desired)
    view = snap.views[other]
    if view.answers_unreadably:
        label = view.last_failure.kind.label if view.last_failure else "unreadable"
        return (f"fix the console's access to {other} ({label}), then R re-asserts standby "
                f"on it: {desired} is the desired production")
    probed = view.last.probed_mode if view.last is not None else None
    why = "its mode probe says production" if probed == "production" else \
        "it is asserted production too"
    return (f"R re-asserts standby on {other} ({why}); {desired} is the desired "
            "production, and stays")


def _no_production(pair: PairConfig, snap: PairSnapshot) -> Step | None:
    desired = snap.desired_production
    if _answers(snap, desired):
        return f"P promotes {desired}, the desired production (choose it with Tab or 1/2)"
    other = _peer(snap, desired)
    return (f"{desired}, the desired production, does not answer: F fails over to {other}")


def _both_down(pair: PairConfig, snap: PairSnapshot) -> Step | None:
    desired = snap.desired_production
    return (f"nothing to fail over to: bring {desired} (the desired production) back on the "
            "appliance itself; R re-asserts its role once it answers")


def _state_damaged(pair: PairConfig, snap: PairSnapshot) -> Step | None:
    return (f"say which appliance is production: d42tui confirm-roles {pair.name} "
            "--production NAME (nothing acts until then)")


# Verdicts with a next step of their own. Rows return None when they have nothing to say.
BY_VERDICT: dict[Verdict, Callable[[PairConfig, PairSnapshot], Step | None]] = {
    Verdict.PRIMARY_DOWN: _primary_down,
    Verdict.SPLIT_BRAIN: _split_brain,
    Verdict.NO_PRODUCTION: _no_production,
    Verdict.BOTH_DOWN: _both_down,
    Verdict.STATE_DAMAGED: _state_damaged,
}


def _probe_contradiction(snap: PairSnapshot) -> Step | None:
    for name in snap.order or tuple(snap.views):
        last = snap.views[name].last
        probed = last.probed_mode if last is not None else None
        if probed is not None and probed != snap.modes[name].mode:
            role = "production" if name == snap.desired_production else "standby"
            return (f"R re-asserts {role} on {name}: its mode probe says {probed}, the "
                    f"console asserts {snap.modes[name].mode}")
    return None


def next_step(pair: PairConfig, snap: PairSnapshot | None, *, read_only: bool = False,
              acting: str | None = None) -> Step | None:
    """What to do next, or None when the pair needs nothing; `acting`: the console's own
    action in flight on the pair (its dialog and the timeline follow it)."""
    if snap is None:
        return None
    if acting is not None:
        return f"{acting} in flight: the dialog and the timeline follow it"
    row = BY_VERDICT.get(snap.verdict.verdict)
    if snap.interrupted is not None and snap.verdict.verdict is not Verdict.STATE_DAMAGED:
        step: Step | None = (f"an action was interrupted: d42tui resume-plan {pair.name} "
                             "finishes it (--rollback undoes it); a running watcher finishes "
                             "it by itself")
    else:
        step = row(pair, snap) if row is not None else None
    if step is None:
        step = _probe_contradiction(snap)
    if step is not None and read_only:
        step += " (not from this read-only console)"
    return step
