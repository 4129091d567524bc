"""The pure pair model: hysteresis per appliance and the pair verdict.

No I/O here: functions take poll results, the asserted modes and the config, and
return new immutable values, so every verdict can be tested without a network.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..appliance.client import Failure, FailureKind, PollResult
from ..appliance.health import Health
from ..config.models import PairConfig, PollConfig, Thresholds

Level = Literal["ok", "warning", "critical"]


class Reachability(str, enum.Enum):
    UNKNOWN = "UNKNOWN"  # not polled yet
    UP = "UP"
    SUSPECT = "SUSPECT"  # failing, or recovering, but not past a threshold
    DOWN = "DOWN"

    @property
    def glyph(self) -> str:
        return {"UNKNOWN": "?", "UP": "●", "SUSPECT": "◐", "DOWN": "✖"}[self.value]


# Failed polls that are no evidence of an outage: the appliance answered and refused the
# console (401, 403, or another status below 500: a redirect to a login page, a health
# URL an upgrade moved), the console could not tell who answered (a certificate it does
# not trust, a pin mismatch), or the console has no password to send. What stops the
# console reading an appliance is not what stops the appliance serving.
NOT_AN_OUTAGE = frozenset({FailureKind.UNAUTHORIZED, FailureKind.FORBIDDEN,
                           FailureKind.HTTP_ERROR, FailureKind.CERTIFICATE,
                           FailureKind.PIN_MISMATCH, FailureKind.NO_CREDENTIALS,
                           # its password source is configured but cannot be read (a
                           # command exits 1, a variable unset): the console is at fault
                           FailureKind.SECRET_UNREADABLE})


def shows_outage(failure: Failure | None) -> bool:
    return failure is not None and failure.kind not in NOT_AN_OUTAGE


# Failures that are an answer from the appliance's own HTTP server: whatever it said, it
# is running, so it may be running as production (a health body it cannot parse, a 500,
# a login page). A 502 or 504 is a proxy saying the appliance behind it does not answer.
HTTP_ANSWERS = frozenset({FailureKind.UNAUTHORIZED, FailureKind.FORBIDDEN,
                          FailureKind.HTTP_ERROR, FailureKind.SERVER_ERROR,
                          FailureKind.NOT_JSON, FailureKind.BAD_RESPONSE})
GATEWAY_STATUSES = frozenset({502, 504})
# Failures that prove the console's own network works: the appliance's host answered,
# if only to refuse the connection. Timeouts and other network errors prove nothing.
NETWORK_WORKS = HTTP_ANSWERS | {FailureKind.REFUSED, FailureKind.CERTIFICATE,
                                FailureKind.PIN_MISMATCH, FailureKind.TLS}


def responded(result: PollResult | None) -> bool:
    """The one definition of "the appliance answers": its latest poll got an HTTP answer
    from it, of any kind. What a failover's demote-first, the fencing of a returning
    appliance and an "only if it answers" step all go by."""
    if result is None:
        return False
    if result.ok:
        return True
    failure = result.failure
    return (failure is not None and failure.kind in HTTP_ANSWERS
            and failure.status not in GATEWAY_STATUSES)


@dataclass(frozen=True)
class ApplianceView:
    """What the console has observed of one appliance, with hysteresis applied."""

    name: str
    reachability: Reachability = Reachability.UNKNOWN
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    recovering: bool = False  # was DOWN, now answering, not yet trusted
    last: PollResult | None = None
    last_good: PollResult | None = None
    last_failure: Failure | None = None
    came_back_at: float | None = None  # when it went from DOWN to UP (fencing hint)
    # Failed polls in a row that show the appliance not serving (no answer, refused, 5xx,
    # not JSON); one that shows it running (NOT_AN_OUTAGE) starts the count again. What
    # automatic failover counts, and what a failover plan trusts to call a primary dead.
    outage_failures: int = 0

    @property
    def answers_unreadably(self) -> bool:
        """Failing, but its latest failure shows it running: it may still be production."""
        return (self.last is not None and not self.last.ok
                and not shows_outage(self.last.failure))

    @property
    def answers(self) -> bool:
        """Its latest poll got an HTTP answer (see `responded`): it is running."""
        return responded(self.last)

    @property
    def commandable(self) -> bool:
        """It answers, and not with a refusal of the console itself (a 401, a login page):
        a mode POST can reach it. What demote-first and fencing need."""
        return self.answers and not self.answers_unreadably

    @property
    def serving(self) -> bool:
        """False once it is DOWN with nothing that shows it running: such an appliance runs
        no jobs, so it is never half of a split brain (an old primary not yet fenced)."""
        return self.reachability is not Reachability.DOWN or self.answers_unreadably \
            or self.answers

    @property
    def health(self) -> Health | None:
        return self.last_good.health if self.last_good else None


def observe(view: ApplianceView, result: PollResult, poll: PollConfig) -> ApplianceView:
    """Fold one poll result into the view: N failures → DOWN, M successes → UP again."""
    if result.ok:
        successes = view.consecutive_successes + 1
        was_down = view.reachability is Reachability.DOWN or view.recovering
        if was_down and successes < poll.recovery_threshold:
            state, recovering, came_back = Reachability.SUSPECT, True, view.came_back_at
        else:
            state, recovering = Reachability.UP, False
            came_back = result.at if was_down else view.came_back_at
        return replace(view, reachability=state, consecutive_failures=0,
                       consecutive_successes=successes, recovering=recovering, last=result,
                       last_good=result, came_back_at=came_back, outage_failures=0)
    failures = view.consecutive_failures + 1
    outage = view.outage_failures + 1 if shows_outage(result.failure) else 0
    if failures >= poll.failure_threshold or view.reachability is Reachability.DOWN:
        state = Reachability.DOWN
    else:
        state = Reachability.SUSPECT
    return replace(view, reachability=state, consecutive_failures=failures,
                   consecutive_successes=0, recovering=view.recovering, last=result,
                   last_failure=result.failure, outage_failures=outage)


@dataclass(frozen=True)
class AssertedMode:
    """The mode last asserted for an appliance: declared in config, or set by the console."""

    mode: str  # "production" | "standby"
    source: Literal["declared", "console"] = "declared"
    at: float | None = None  # epoch seconds of the console's successful POST


class Verdict(str, enum.Enum):
    HEALTHY = "HEALTHY"
    DEGRADED = "DEGRADED"
    PRIMARY_DOWN = "PRIMARY DOWN"
    STANDBY_DOWN = "STANDBY DOWN"
    NO_PRODUCTION = "NO PRODUCTION"
    SPLIT_BRAIN = "SPLIT BRAIN"
    BOTH_DOWN = "BOTH DOWN"  # neither serves, and the console's network shows it works
    STATE_DAMAGED = "STATE DAMAGED"  # the state file cannot be read: roles unknown
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class Reason:
    level: Level
    text: str


@dataclass(frozen=True)
class PairVerdict:
    verdict: Verdict
    reasons: tuple[Reason, ...] = ()
    production: str | None = None  # the appliance asserted production (if exactly one)
    standby: str | None = None

    @property
    def level(self) -> Level:
        if self.verdict in (Verdict.PRIMARY_DOWN, Verdict.NO_PRODUCTION, Verdict.SPLIT_BRAIN,
                            Verdict.BOTH_DOWN, Verdict.STATE_DAMAGED):
            return "critical"
        if self.verdict is Verdict.HEALTHY:
            return "ok"
        if any(r.level == "critical" for r in self.reasons):
            return "critical"
        return "warning"

    @property
    def headline(self) -> str:
        if not self.reasons:
            return self.verdict.value
        return f"{self.verdict.value}: {'; '.join(r.text for r in self.reasons[:3])}"


def health_findings(name: str, health: Health, t: Thresholds) -> list[Reason]:
    """Figures past their thresholds, worded for the board and the check output."""
    out: list[Reason] = []

    def above(value: float | None, levels: tuple[float, float], label: str, unit: str) -> None:
        if value is None:
            return
        if value >= levels[1]:
            out.append(Reason("critical", f"{name} {label} {value:.0f}{unit} ≥ {levels[1]:g}{unit}"))
        elif value >= levels[0]:
            out.append(Reason("warning", f"{name} {label} {value:.0f}{unit} ≥ {levels[0]:g}{unit}"))

    def below(value: float | None, levels: tuple[float, float], label: str) -> None:
        if value is None:
            return
        if value <= levels[1]:
            out.append(Reason("critical", f"{name} {label} {value:.0f}% ≤ {levels[1]:g}%"))
        elif value <= levels[0]:
            out.append(Reason("warning", f"{name} {label} {value:.0f}% ≤ {levels[0]:g}%"))

    above(health.cpu_percent, t.cpu_percent, "CPU", "%")
    above(health.disk_percent, t.disk_percent, "disk", "%")
    above(health.dbsize_mb, t.dbsize_mb, "DB size", " MB")
    below(health.mem_free_percent, t.memory_free_percent, "memory free")
    below(health.swap_free_percent, t.swap_free_percent, "swap free")
    return out


def backup_findings(name: str, health: Health) -> list[Reason]:
    if not health.backups:
        return [Reason("warning", f"{name} has no backup jobs")]
    out = []
    for job in health.backups:
        if job.level != "ok":
            out.append(Reason(job.level, f"{name} backup '{job.job_name}': {job.text[:80]}"))
    return out


def reported_versions(views: Mapping[str, ApplianceView]) -> dict[str, str | None]:
    """The version each appliance's last health answer reported (None: not known)."""
    return {n: (v.health.version if v.health is not None else None) for n, v in views.items()}


def versions_differ(views: Mapping[str, ApplianceView]) -> bool | None:
    """True when both report a version and they differ, False when both report the same,
    None when one is not known (down, or it does not say)."""
    found = reported_versions(views)
    if not all(found.values()):
        return None
    return len(set(found.values())) > 1


def version_reason(views: Mapping[str, ApplianceView], production: str | None,
                   next_restore: str | None) -> Reason | None:
    """Device42 restores only between identical versions: a pair whose appliances report
    different ones has a standby that stopped taking the production's data."""
    if not versions_differ(views) or production not in views:
        return None
    found = reported_versions(views)
    standby = next(n for n in views if n != production)
    when = f"the {next_restore} restore on {standby}" if next_restore \
        else f"a restore on {standby}"
    return Reason("warning", f"{when} will fail: {production} runs {found[production]}, "
                             f"{standby} {found[standby]} (Device42 restores only between "
                             "identical versions)")


def pair_verdict(pair: PairConfig, views: Mapping[str, ApplianceView],
                 modes: Mapping[str, AssertedMode],
                 desired_production: str | None = None,
                 extra: Sequence[Reason] = (), state_damage: str | None = None,
                 alerts: Sequence[Reason] = ()) -> PairVerdict:
    """`extra`: findings from outside the polls (the backup pipeline) that degrade a pair
    that is otherwise up. `alerts`: what must be said whatever the verdict (an interrupted
    action, a password that cannot be read); a healthy pair with one is DEGRADED.
    `state_damage`: why the state file cannot be read; the roles are then unknown and
    nothing else can be judged."""
    verdict = _verdict(pair, views, modes, desired_production, extra, state_damage)
    if not alerts or verdict.verdict is Verdict.STATE_DAMAGED:
        return verdict
    kind = Verdict.DEGRADED if verdict.verdict is Verdict.HEALTHY else verdict.verdict
    return replace(verdict, verdict=kind, reasons=(*alerts, *verdict.reasons))


def _verdict(pair: PairConfig, views: Mapping[str, ApplianceView],
             modes: Mapping[str, AssertedMode], desired_production: str | None,
             extra: Sequence[Reason], state_damage: str | None) -> PairVerdict:
    if state_damage is not None:
        return PairVerdict(Verdict.STATE_DAMAGED, (
            Reason("critical", state_damage),
            Reason("critical", "the modes shown are the config's declaration, not what the "
                               "console last set")))
    names = [a.name for a in pair.appliances]
    prods = [n for n in names if modes[n].mode == "production"]
    states = {n: views[n].reachability for n in names}
    probed, probe_reasons = _probe_findings(names, views, modes)
    # Two productions need two appliances that run: one that does not serve is an old
    # primary not yet fenced, whatever the probe (which does not ask the appliance) says.
    if len(probed) == 2 and all(m == "production" for m in probed.values()) \
            and all(views[n].serving for n in names):
        return PairVerdict(Verdict.SPLIT_BRAIN, (Reason(
            "critical", "both appliances are production by the site's mode probes"),
            *probe_reasons))
    unfenced = None
    if len(prods) == 2 and desired_production in prods:
        # An old primary that was down during a failover is still asserted production; while it
        # stays down it runs nothing, so it is a fencing debt, not yet a split brain.
        other = next(n for n in prods if n != desired_production)
        # ...unless it answers and cannot be read (a 401, a certificate the console does not
        # trust): then it is running, and may be running as production.
        if states[other] is Reachability.DOWN and not views[other].answers_unreadably:
            prods, unfenced = [desired_production], other
    if len(prods) == 2:
        why = ", ".join(f"{n} ({_source(modes[n])})" for n in prods)
        reasons = [Reason("critical", f"both asserted production: {why}")]
        reasons += [Reason("critical", f"{n} answers but cannot be read "
                                       f"({views[n].last_failure.kind.label}): it may be "
                                       "running as production; fix the console's access and "
                                       "re-assert standby on it")
                    for n in prods if views[n].answers_unreadably and views[n].last_failure]
        return PairVerdict(Verdict.SPLIT_BRAIN, tuple(reasons))
    if all(s is Reachability.UNKNOWN for s in states.values()):
        return PairVerdict(Verdict.UNKNOWN, (Reason("warning", "waiting for the first poll"),))
    if all(s is Reachability.DOWN for s in states.values()) \
            and not any(views[n].answers_unreadably for n in names):
        if not any(_network_works(views[n]) for n in names):
            return PairVerdict(Verdict.UNKNOWN, (Reason(
                "critical", "the console reaches neither appliance (no answer at all): "
                            "probably the console's own network, not the pair"),))
        # A refusal or an error page proves the path works: the pair itself is down.
        return PairVerdict(Verdict.BOTH_DOWN, tuple(
            Reason("critical", f"{n} ({modes[n].mode}) {_down_words(views[n])}")
            for n in names) + (Reason("critical", "nothing serves: the console's network "
                                                  "works (the appliances refuse or answer "
                                                  "with errors)"),))
    if not prods:
        return PairVerdict(Verdict.NO_PRODUCTION, (Reason(
            "critical", "no appliance is asserted production: discovery, reports and backups "
                        "are off everywhere"),))
    primary = prods[0]
    standby = next(n for n in names if n != primary)
    if states[primary] is Reachability.DOWN:
        return PairVerdict(Verdict.PRIMARY_DOWN, (Reason(
            "critical", f"{primary} (production) {_down_words(views[primary])}"),
            *probe_reasons), primary, standby)
    if states[standby] is Reachability.DOWN:
        reasons = [Reason("warning", f"{standby} (standby) {_down_words(views[standby])}: "
                                     "no failover possible")]
        if unfenced:
            reasons.append(Reason("warning", f"{unfenced} is down and still production: not "
                                             "fenced; re-assert standby on it when it returns"))
        return PairVerdict(Verdict.STANDBY_DOWN, (*reasons, *probe_reasons), primary, standby)
    reasons: list[Reason] = list(probe_reasons)
    for n in names:
        view = views[n]
        if view.reachability is Reachability.SUSPECT:
            if view.recovering:
                reasons.append(Reason("warning", f"{n} answering again "
                                      f"({view.consecutive_successes}/{pair.poll.recovery_threshold})"))
            else:
                reasons.append(Reason("warning", f"{n} suspect: {view.consecutive_failures}/"
                                      f"{pair.poll.failure_threshold} failures: {view.last_failure}"))
        if view.health is not None:
            reasons.extend(health_findings(n, view.health, pair.thresholds))
        if view.last is not None and view.last.api_ok is False:
            reasons.append(Reason("critical" if n == primary else "warning",
                                  f"{n} main API: {view.last.api_failure}"))
    primary_health = views[primary].health
    if primary_health is not None:
        reasons.extend(backup_findings(primary, primary_health))
    for appliance in pair.appliances:
        if appliance.insecure:
            reasons.append(Reason("warning", f"{appliance.name}: TLS verification is OFF"))
    reasons.extend(extra)
    if reasons:
        return PairVerdict(Verdict.DEGRADED, tuple(reasons), primary, standby)
    return PairVerdict(Verdict.HEALTHY, (), primary, standby)


def _probe_findings(names: Sequence[str], views: Mapping[str, ApplianceView],
                    modes: Mapping[str, AssertedMode]) -> tuple[dict[str, str], list[Reason]]:
    """The modes the site's probes report (appliance -> mode), and what is wrong with them:
    a probe that contradicts the asserted mode (changed outside the console?), or fails."""
    probed: dict[str, str] = {}
    reasons: list[Reason] = []
    for n in names:
        last = views[n].last
        if last is None:
            continue
        asserted_at = modes[n].at
        if last.probed_mode is not None and asserted_at is not None and last.at < asserted_at:
            continue  # read before the console's own POST: it says what was, not what is
        if last.probed_mode is not None:
            probed[n] = last.probed_mode
            if not views[n].serving:
                if last.probed_mode == "production" and modes[n].mode != "production":
                    reasons.append(Reason("warning", (
                        f"{n} is down and still production by its mode probe: not fenced; "
                        "re-assert standby on it when it returns")))
                continue
            if last.probed_mode != modes[n].mode:
                reasons.append(Reason("critical", (
                    f"{n} is asserted {modes[n].mode} but its mode probe says "
                    f"{last.probed_mode}: changed outside the console? Re-assert its role "
                    "or check the probe")))
        elif last.probe_failure is not None and last.ok:  # (a dead appliance says enough)
            reasons.append(Reason("warning", f"{n} mode probe: {last.probe_failure}"))
    return probed, reasons


def _network_works(view: ApplianceView) -> bool:
    failure = view.last_failure
    return failure is not None and failure.kind in NETWORK_WORKS


def _down_words(view: ApplianceView) -> str:
    if view.answers_unreadably:
        # a vendor message ends its sentence ("… are invalid."): ours goes on after it
        failure = str(view.last_failure).rstrip(".")
        return f"cannot be read: {failure}: it answers, so it may still be running"
    return f"is down: {view.last_failure}"


def effective_production(desired: str, modes: Mapping[str, AssertedMode]) -> str | None:
    """The appliance that should be serving: the desired one if asserted production, else
    the only asserted production (an unfenced old primary does not count over the desired)."""
    prods = [n for n, m in modes.items() if m.mode == "production"]
    if desired in prods:
        return desired
    return prods[0] if len(prods) == 1 else None


def _source(mode: AssertedMode) -> str:
    return "declared" if mode.source == "declared" else "set by console"


@dataclass(frozen=True)
class PairSnapshot:
    """Everything known about one pair after a poll round. Immutable; shared by all views."""

    pair: str
    round: int
    at: float
    views: Mapping[str, ApplianceView]
    modes: Mapping[str, AssertedMode]
    desired_production: str
    verdict: PairVerdict
    order: tuple[str, ...] = field(default=())  # appliance names in config order
    pipeline: Any = None  # backup.monitor.PipelineView, when schedules or a location are set
    interrupted: str | None = None  # an open plan whose owner died: what it had sent
    versions_diverged_at: float | None = None  # the versions differ since (as seen here)
    scheduled_switchover: Any = None  # engine.switchover.ScheduledSwitchover, when one is
