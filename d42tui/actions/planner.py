"""Guarded action plans: what promote, demote, failover, failback and reassert would send.

Pure functions over a pair snapshot: a `Plan` lists the requests in order, the
warnings that apply, and whether the move is refused (and if a force may override).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..config.models import PairConfig
from ..engine.pair import PairSnapshot, Reachability, Verdict, reported_versions, versions_differ
from .kinds import ActionKind

MUTATING_ACTIONS = frozenset(ActionKind)


@dataclass(frozen=True)
class Step:
    """One `POST appliancemode`, or the DNS switch, in a plan."""

    appliance: str
    mode: str  # "production" / "standby"; for a DNS step the record's new value
    url: str  # the appliance URL; for a DNS step the service name
    required: bool = True  # a best-effort step (demote a dead old primary) may be skipped
    only_if_answering: bool = False
    kind: str = "mode"  # "mode" | "dns" | "fence" (url: the fence command's program)

    @property
    def text(self) -> str:
        if self.kind == "fence":
            then = ("the standby is promoted only if it exits 0" if self.required
                    else "best effort: the promotion goes on if it fails")
            return f"fence {self.appliance}: run {self.url} ({then})"
        if self.kind == "dns":
            return (f"DNS: point {self.url} at {self.appliance} ({self.mode}), then verify at the "
                    "authoritative servers")
        cond = " (if it answers)" if self.only_if_answering else ""
        return f"POST appliance_mode={self.mode} to {self.appliance} ({self.url}){cond}"


def dns_step(pair: PairConfig, appliance: str) -> Step | None:
    """The DNS step towards `appliance`, when the pair has a DNS target for it."""
    if pair.dns is None or appliance not in pair.dns.targets:
        return None
    return Step(appliance, pair.dns.targets[appliance], pair.dns.name, kind="dns")


@dataclass(frozen=True)
class Picture:
    """The facts a plan was made on; if they change before confirming, nothing is sent."""

    verdict: str
    appliances: tuple[tuple[str, str, str], ...]  # (name, reachability, asserted mode)

    def describe(self) -> str:
        return f"{self.verdict}: " + ", ".join(f"{n} {m} {r}" for n, r, m in self.appliances)


def picture_of(snap: PairSnapshot) -> Picture:
    return Picture(snap.verdict.verdict.value,
                   tuple((n, _now(snap, n), snap.modes[n].mode) for n in snap.order))


def _now(snap: PairSnapshot, name: str) -> str:
    """Whether the latest poll got an answer: a single miss right before acting counts."""
    last = snap.views[name].last
    if last is None:
        return "not polled"
    return "answering" if last.ok else f"not answering ({last.failure.kind.label})"


def picture_changes(before: Picture, after: Picture) -> list[str]:
    changes = []
    if before.verdict != after.verdict:
        changes.append(f"pair verdict {before.verdict} → {after.verdict}")
    for (n, r1, m1), (_, r2, m2) in zip(before.appliances, after.appliances):
        if r1 != r2:
            changes.append(f"{n} {r1} → {r2}")
        if m1 != m2:
            changes.append(f"{n} asserted {m1} → {m2}")
    return changes


@dataclass(frozen=True)
class Plan:
    action: ActionKind
    pair: str
    target: str  # the appliance whose name the operator types to confirm
    steps: tuple[Step, ...]
    picture: Picture
    warnings: tuple[str, ...] = ()
    refusal: str | None = None  # why the move is unsafe
    forceable: bool = False  # whether an explicit force may override the refusal
    force_risk: str = ""  # what forcing risks, said in the second step
    new_production: str | None = None  # desired production after success
    summary: str = ""
    situation: tuple[str, ...] = field(default=())  # the pair as it is now, one line each
    dns_expected: tuple[str, ...] | None = None  # the record as the operator saw it
    dns_ttl: int | None = None  # a TTL for this switch instead of the configured dns.ttl
    data_loss: str | None = None  # what the new production lacks, worded for this action

    @property
    def refused(self) -> bool:
        return self.refusal is not None

    def lines(self) -> list[str]:
        out = [f"{self.action.value} on pair {self.pair}: {self.summary}", "Now:"]
        out += [f"  {line}" for line in self.situation]
        out.append("Will send, in order:" if self.steps else "Will send nothing.")
        out += [f"  {i}. {s.text}" for i, s in enumerate(self.steps, 1)]
        out += [f"WARNING: {w}" for w in self.warnings]
        if self.refusal:
            out.append(f"REFUSED: {self.refusal}")
            if self.forceable:
                out.append(f"  (--force overrides: {self.force_risk})")
        return out


def _answers(snap: PairSnapshot, name: str) -> bool:
    """The one definition (`pair.responded`): its latest poll got an HTTP answer."""
    return snap.views[name].answers


def _unreadable_refusal(snap: PairSnapshot, name: str) -> str:
    failure = snap.views[name].last_failure
    label = failure.kind.label if failure is not None else "unreadable"
    return (f"{name} answers but cannot be read ({label}): it is "
            f"probably still running as production, and a promotion now makes two "
            f"productions. Fix the console's access to {name} (credentials, certificate) so "
            "that it can be demoted first")


def _situation(pair: PairConfig, snap: PairSnapshot, data_age: str | None) -> tuple[str, ...]:
    from ..engine.words import mode_text, reach_text

    lines = [f"verdict {snap.verdict.verdict.value}"]
    for a in pair.appliances:
        view = snap.views[a.name]
        lines.append(f"{a.name}: {mode_text(snap.modes[a.name])}, {reach_text(view)}")
    if data_age:
        lines.append(data_age)
    return tuple(lines)


def loss_sentence(kind: ActionKind, target: str, pair: PairConfig,
                  snap: PairSnapshot) -> str | None:
    """What the appliance made production lacks, said for this action; None when it means
    nothing (not a promotion; promoting an appliance that is production already, or the
    desired production while none is: its data is its own)."""
    from datetime import datetime

    from ..engine.schedule import duration_words

    pipeline = snap.pipeline
    if pipeline is None or kind not in (ActionKind.FAILOVER, ActionKind.FAILBACK,
                                        ActionKind.PROMOTE, ActionKind.SWITCHOVER):
        return None
    estimate = pipeline.estimate
    if estimate is None or estimate.restored_backup_time is None:
        return pipeline.loss_text
    peer = next((n for n in snap.modes if n != target), None)
    mode = snap.modes[target].mode if target in snap.modes else None
    peer_mode = snap.modes[peer].mode if peer in snap.modes else None
    if kind is ActionKind.PROMOTE and (mode == "production" or (
            peer_mode != "production" and target == snap.desired_production)):
        return None
    taken = estimate.restored_backup_time
    since = datetime.fromtimestamp(taken.timestamp(), pair.zone).strftime("%H:%M")
    where = f" on {peer}" if peer is not None and peer_mode == "production" else ""
    verb = {ActionKind.FAILOVER: "failing over", ActionKind.FAILBACK: "failing back",
            ActionKind.SWITCHOVER: "switching over"}.get(
        kind, f"promoting {target}")
    held = (f"{target} has its own data up to then" if estimate.left_production_at
            else f"{target} restored the backup taken then (estimate)")
    ago = duration_words(60 * ((snap.at - taken.timestamp()) // 60))  # never rounded up
    return f"{verb} now loses changes made{where} after ~{since} ({ago} ago): {held}"


def plan_action(kind: ActionKind, pair: PairConfig, snap: PairSnapshot,
                target: str | None = None) -> Plan:
    """The plan for `kind` on this pair as the snapshot shows it. Never does I/O."""
    plan = _plan_action(kind, pair, snap, target)
    if snap.verdict.verdict is Verdict.STATE_DAMAGED:
        return plan
    loss = loss_sentence(kind, plan.target, pair, snap)
    return replace(plan, situation=_situation(pair, snap, loss), data_loss=loss)


def _plan_action(kind: ActionKind, pair: PairConfig, snap: PairSnapshot,
                 target: str | None = None) -> Plan:
    pipeline = snap.pipeline
    data_age = pipeline.loss_text if pipeline is not None else None
    age = pipeline.estimate.data_age if pipeline is not None and pipeline.estimate else None
    max_age = pair.backup.max_age if pair.backup is not None else 26 * 3600
    names = [a.name for a in pair.appliances]
    url = {a.name: a.url for a in pair.appliances}
    modes = {n: snap.modes[n].mode for n in names}
    prods = [n for n in names if modes[n] == "production"]
    split = snap.verdict.verdict is Verdict.SPLIT_BRAIN
    base = dict(pair=pair.name, picture=picture_of(snap),
                situation=_situation(pair, snap, None))  # the data loss: plan_action says it
    warnings: list[str] = []
    if snap.verdict.verdict is Verdict.STATE_DAMAGED:  # the roles are unknown: no plan holds
        return Plan(kind, target=target or pair.name, steps=(), refusal=(
            f"{snap.verdict.reasons[0].text}. Nothing is sent"), summary=kind.value, **base)

    if kind in (ActionKind.PROMOTE, ActionKind.DEMOTE, ActionKind.REASSERT):
        if target not in names:
            raise ValueError(f"{target!r} is not an appliance of pair {pair.name}")
        peer = next(n for n in names if n != target)

    if kind is ActionKind.DEMOTE:
        if modes[target] == "production" and len(prods) == 1:
            warnings.append(f"{target} is the only production appliance: after this the pair "
                            "has NO PRODUCTION (discovery, reports and backups stop)")
        if not _answers(snap, target):
            warnings.append(f"{target} does not answer now: the request will probably fail")
        return Plan(ActionKind.DEMOTE, target=target, warnings=tuple(warnings),
                    steps=(Step(target, "standby", url[target]),),
                    summary=f"put {target} in standby", **base)

    if kind is ActionKind.REASSERT:
        # The desired role, not the last asserted mode: fencing a returning old primary
        # means sending it standby even though it was last asserted production.
        mode = "production" if target == snap.desired_production else "standby"
        if mode == "standby" and snap.views[target].came_back_at is not None:
            warnings.append(f"{target} came back after being down: re-asserting standby fences it "
                            "(the vendor's advice), so it runs no jobs")
        refusal = None
        if split:
            refusal = "SPLIT BRAIN: re-asserting production on one side keeps two productions"
            if mode == "standby":
                refusal = None
        return Plan(ActionKind.REASSERT, target=target, warnings=tuple(warnings),
                    steps=(Step(target, mode, url[target]),), refusal=refusal,
                    forceable=refusal is not None, force_risk="two productions stay",
                    summary=f"assert {target}'s desired role, {mode}, again (idempotent)",
                    **base)

    if kind is ActionKind.PROMOTE:
        refusal, forceable, risk = None, False, ""
        if split:
            refusal, forceable = "SPLIT BRAIN: only demote is allowed until one side is standby", True
            risk = "two productions stay"
        elif not _answers(snap, target):
            refusal = f"{target} does not answer ({snap.views[target].reachability.value}): " \
                      "a promotion cannot reach it"
        elif modes[peer] == "production" and snap.views[peer].answers_unreadably:
            refusal, forceable = _unreadable_refusal(snap, peer), True
            risk = f"two productions unless {peer} is fenced by other means"
        elif modes[peer] == "production" and _answers(snap, peer):
            refusal = (f"the peer {peer} still answers as production: promoting now makes two "
                       f"productions; demote {peer} first (or fail over)")
            forceable, risk = True, f"two productions unless {peer} is fenced by other means"
        if modes[peer] == "production" and not _answers(snap, peer) \
                and not snap.views[peer].answers_unreadably:
            warnings.append(f"{peer} is asserted production and does not answer: when it returns "
                            "it must be put in standby (the console offers re-assert)")
        if modes[target] == "production":
            warnings.append(f"{target} is already asserted production: this re-sends it")
        return Plan(ActionKind.PROMOTE, target=target, warnings=tuple(warnings),
                    steps=(Step(target, "production", url[target]),), refusal=refusal,
                    forceable=forceable, force_risk=risk, new_production=target,
                    summary=f"make {target} production", **base)

    if kind is ActionKind.SWITCHOVER:
        return _plan_switchover(pair, snap, base)

    # failover / failback: move production to the other appliance
    if kind is ActionKind.FAILBACK:
        new = pair.production
        if modes[new] == "production" and len(prods) == 1:
            return Plan(ActionKind.FAILBACK, target=new, steps=(), refusal=(
                f"{new} (the preferred primary) is already production: nothing to fail back"),
                summary=f"make {new} production again", **base)
    elif len(prods) == 1:
        new = next(n for n in names if n != prods[0])
    else:  # no production (or split): promote the one desired standby... the standby side
        new = next(n for n in names if n != snap.desired_production)
    old = next(n for n in names if n != new)
    refusal, forceable, risk = None, False, ""
    if split:
        refusal, forceable = "SPLIT BRAIN: demote one side first", True
        risk = "the result depends on which production the clients reach"
    elif not _answers(snap, new):
        refusal = f"{new} does not answer ({snap.views[new].reachability.value}): nothing to fail over to"
    elif modes[old] == "production" and snap.views[old].answers_unreadably:
        refusal, forceable = _unreadable_refusal(snap, old), True
        risk = f"two productions unless {old} is fenced by other means"
    elif modes[old] == "production" and not _answers(snap, old) \
            and snap.views[old].reachability is not Reachability.DOWN:
        view = snap.views[old]
        refusal, forceable = (f"{old} missed its last poll ({view.last_failure}) but is not "
                              f"down yet ({view.consecutive_failures}/"
                              f"{pair.poll.failure_threshold} failures): it may still be running "
                              "as production, and cannot be demoted first now; wait for the "
                              "next polls"), True
        risk = f"two productions if {old} is still running"
    guard = pair.automation.max_data_age
    if refusal is None and kind is ActionKind.FAILOVER and guard is not None \
            and age is not None and age > guard:
        from ..config.durations import format_duration

        refusal, forceable = (f"{new}'s data is {format_duration(int(age // 60) * 60)} old "
                              f"(estimate), over automation.max_data_age "
                              f"{format_duration(guard)}: a person must decide"), True
        risk = f"{new} becomes production with data {format_duration(int(age // 60) * 60)} old"
    if age is not None and age > max_age and kind is ActionKind.FAILOVER:
        warnings.append(f"the standby's data is about {age / 3600:.0f} h old (estimate): "
                        f"{data_age}")
    if versions_differ(snap.views):
        found = reported_versions(snap.views)
        warnings.append(f"the versions differ ({old} runs {found[old]}, {new} {found[new]}): "
                        f"{new} has not been able to restore {old}'s backups since, so its "
                        "data is older than the restore schedule says")
    # Demoted first when it answers and the console can command it; one that answers but
    # cannot be read (401, a certificate) is refused above, and forced it is left as it is.
    old_answers = snap.views[old].commandable
    dns = dns_step(pair, new)
    dns_steps = (dns,) if dns else ()
    if old_answers:
        # Demote first: never two productions by the console's doing.
        steps = (Step(old, "standby", url[old]), Step(new, "production", url[new]), *dns_steps)
        if kind is ActionKind.FAILOVER and modes[old] == "production":
            warnings.append(f"{old} (production) still answers: this is a planned switchover; "
                            f"{old} is demoted first, then {new} promoted")
    else:
        auto = pair.automation
        fence = (Step(old, "fence", auto.fence_command[0], required=auto.require_fence,
                      kind="fence"),) if auto.fence_command else ()
        steps = (*fence, Step(new, "production", url[new]),
                 Step(old, "standby", url[old], required=False, only_if_answering=True),
                 *dns_steps)
        if fence:
            warnings.append(f"{old} cannot be demoted: it is fenced first by the fence_command "
                            + ("(required: no promotion unless it exits 0)" if
                               auto.require_fence else "(best effort)"))
        elif snap.views[old].answers_unreadably:
            warnings.append(f"{old} answers but cannot be read: it is not put in standby, "
                            f"and stays production unless it is fenced by other means")
        else:
            warnings.append(f"{old} does not answer: it is not fenced; when it returns the "
                            "console offers to re-assert standby on it")
    return Plan(kind, target=new, steps=steps, warnings=tuple(warnings), refusal=refusal,
                forceable=forceable, force_risk=risk, new_production=new,
                summary=f"make {new} production, {old} standby", **base)


def switchover_refusal(pair: PairConfig, snap: PairSnapshot) -> str | None:
    """Why a planned switchover must not start now (never forceable: it is planned, so it
    can wait for a pair that is fit for it), or None."""
    verdict = snap.verdict
    if versions_differ(snap.views):  # the most specific reason first (it also degrades)
        found = reported_versions(snap.views)
        return ("the versions differ (" + ", ".join(f"{n} runs {v}" for n, v in found.items())
                + "): the standby cannot have restored the production's data")
    if verdict.verdict is not Verdict.HEALTHY:
        why = verdict.reasons[0].text if verdict.reasons else verdict.verdict.value
        return (f"the pair is {verdict.verdict.value} ({why}): a planned switchover needs a "
                "HEALTHY pair (for an outage, fail over)")
    window = snap.pipeline.restore_window if snap.pipeline is not None else None
    if window is not None:
        standby = verdict.standby or "the standby"
        end = window[1].astimezone(pair.zone).strftime("%H:%M")
        return (f"{standby} is inside its estimated restore window (until {end}): switching "
                "now promotes a half-restored database")
    return None


def _plan_switchover(pair: PairConfig, snap: PairSnapshot, base: dict) -> Plan:
    """Demote the production, promote the standby, move DNS: the same steps as a failover
    from a production that answers, on a pair that is fit for it."""
    refusal = switchover_refusal(pair, snap)
    names = [a.name for a in pair.appliances]
    url = {a.name: a.url for a in pair.appliances}
    old = snap.verdict.production or snap.desired_production
    new = next(n for n in names if n != old)
    dns = dns_step(pair, new)
    steps = (Step(old, "standby", url[old]), Step(new, "production", url[new]),
             *((dns,) if dns else ()))
    return Plan(ActionKind.SWITCHOVER, target=new, steps=steps, refusal=refusal,
                new_production=new, summary=f"make {new} production, {old} standby "
                                            f"(planned: {old} is demoted first)", **base)


def plan_dns(pair: PairConfig, snap: PairSnapshot, to: str, current: tuple[str, ...],
             current_text: str = "", ttl: int | None = None) -> Plan:
    """Point the pair's service name at an appliance (or a typed value); `ttl` replaces
    the configured dns.ttl for this one switch."""
    from ..dns import resolve_target, which_appliance
    from ..dns.config import MAX_TTL

    assert pair.dns is not None
    if snap.verdict.verdict is Verdict.STATE_DAMAGED:
        return Plan(ActionKind.DNS_SET, pair.name, target=pair.dns.name, steps=(),
                    picture=picture_of(snap), summary=f"point {pair.dns.name} at {to}",
                    refusal=f"{snap.verdict.reasons[0].text}. Nothing is sent")
    if ttl is not None and not 1 <= ttl <= MAX_TTL:
        raise ValueError(f"TTL {ttl}: must be between 1 and {MAX_TTL} seconds")
    value = resolve_target(pair.dns, to)  # ValueError with an operator message
    target = which_appliance(pair.dns, (value,)) or value
    warnings = []
    production = snap.verdict.production
    if target != production:
        warnings.append(f"{target} is not the asserted production appliance "
                        f"({production or 'none'}): clients will reach a standby")
    if current == (value,):
        warnings.append(f"{pair.dns.name} already answers {value}: this re-sends it")
    effective = pair.dns.ttl if ttl is None else ttl
    if ttl is not None and ttl > 300:
        warnings.append(f"TTL {ttl}s: at the next switch, clients may keep this address "
                        "that long")
    situation = (*_situation(pair, snap, None), f"DNS now: {current_text or ', '.join(current) or 'no record'}")
    note = "" if ttl is None or ttl == pair.dns.ttl else f" (dns.ttl is {pair.dns.ttl}s)"
    return Plan(ActionKind.DNS_SET, pair.name, target=pair.dns.name,
                steps=(Step(target, value, pair.dns.name, kind="dns"),),
                picture=picture_of(snap), warnings=tuple(warnings),
                summary=f"point {pair.dns.name} {pair.dns.type} at {target} ({value}), "
                        f"TTL {effective}s{note}", situation=situation,
                dns_expected=current, dns_ttl=None if ttl == pair.dns.ttl else ttl)
