"""The failover and failback decisions: pure functions over what the watcher saw.

`decide` says whether to fail over now and, when not, every condition that does not hold,
each as a `Blocker` with a stable key, so the watcher can log a reason once per change.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from ..appliance.client import PollResult
from ..appliance.health import Health
from ..config.durations import format_duration
from ..config.models import PairConfig, PollConfig
from ..engine.pair import NETWORK_WORKS, ApplianceView, Level, Verdict
from .status import Pause


@dataclass(frozen=True)
class WitnessRound:
    """This round's witness checks: how many answered, and what the others said."""

    configured: int = 0
    answered: int = 0
    failures: tuple[str, ...] = ()

    @property
    def majority(self) -> bool:
        return self.answered * 2 > self.configured


@dataclass(frozen=True)
class Blocker:
    key: str  # stable across rounds: the watcher logs a blocker when the set of keys changes
    text: str
    level: Level = "warning"


@dataclass(frozen=True)
class Decision:
    act: bool
    wanted: bool  # the primary has failed enough polls in a row for a failover
    state: str  # ARMED / PAUSED / ACTING / ISOLATED
    failures: tuple[int, int]  # primary failures k of N
    blockers: tuple[Blocker, ...] = ()
    evidence: tuple[str, ...] = ()  # the conditions that hold, for the audit and the alert
    notes: tuple[str, ...] = ()
    defer_until: float | None = None
    during_restore: bool = False

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(b.key for b in self.blockers)

    @property
    def would_act(self) -> bool:
        """Everything says fail over, and only a pause or the post-failover hold stops it."""
        return self.wanted and bool(self.blockers) and self.keys <= {"paused", "held"}

    @property
    def isolated(self) -> bool:
        return "isolated" in self.keys


@dataclass(frozen=True)
class Situation:
    """Everything `decide` looks at; built by the watcher after each poll round."""

    primary: str  # desired production
    standby: str
    primary_view: ApplianceView  # with the automation's thresholds (see watcher.fold)
    standby_view: ApplianceView
    failure_threshold: int
    standby_threshold: int
    verdict: Verdict
    primary_mode: str  # asserted
    standby_mode: str
    witnesses: WitnessRound
    now: float
    pause: Pause | None = None
    busy: str | None = None  # another process holds the pair's action lock
    unfit: str | None = None  # the plan is refused, or cannot start (a secret, the state dir)
    acting: str | None = None  # an unfinished plan of this watcher
    restore: tuple[float, float] | None = None  # the standby's estimated restore window
    wanted_since: float | None = None
    max_defer: float = 900.0
    cooldown_until: float | None = None
    data_age: float | None = None  # the standby's estimated data age (seconds), if known
    max_data_age: float | None = None  # automation.max_data_age
    extra: tuple[Blocker, ...] = ()  # coordination's (observers disagree, not the leader)


def data_age_blocker(standby: str, age: float | None, limit: float | None) -> Blocker | None:
    """The data-age guard: a standby whose data is older than the limit is promoted by a
    person, never automatically."""
    if limit is None or age is None or age <= limit:
        return None
    return Blocker("data-too-old", f"would fail over, but {standby}'s data is "
                                   f"{format_duration(int(age // 60) * 60)} old (over "
                                   f"automation.max_data_age {format_duration(limit)}): a person "
                                   "must decide", "critical")


def _hhmm(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S")


def _answers(view: ApplianceView) -> bool:
    """A valid health answer: what the standby must give to be promoted."""
    return view.last is not None and view.last.ok


def reaches(view: ApplianceView) -> bool:
    """This host got through to the appliance's host, if only to be refused: its own network
    works (a refusal of both appliances is an outage of both, not an isolated host)."""
    last = view.last
    return last is not None and (last.ok or (last.failure is not None
                                             and last.failure.kind in NETWORK_WORKS))


def isolation(s: Situation) -> tuple[Blocker | None, str | None]:
    """Whether this host may be cut off (condition 3), or the note that it cannot tell."""
    w = s.witnesses
    if w.configured:
        if w.majority:
            return None, None
        said = f" ({'; '.join(w.failures)})" if w.failures else ""
        return Blocker("isolated", f"only {w.answered} of {w.configured} witnesses answer{said}: "
                                   "this host may be cut off"), None
    if not any(reaches(v) for v in (s.standby_view, s.primary_view)):
        return Blocker("isolated", "this host reaches neither appliance and has no witnesses to "
                                   "tell its own network from the pair's"), None
    return None, ("no witnesses are configured: the standby answering is the only evidence "
                  "that this host is not cut off")


def decide(s: Situation) -> Decision:
    """Fail over only when all five conditions hold; otherwise say which do not."""
    # Only failed polls that show the primary not serving count: a primary that answers
    # 401 or a certificate the console does not trust is running, unreadable, not down.
    fails, need = s.primary_view.outage_failures, s.failure_threshold
    wanted = fails >= need
    blockers: list[Blocker] = []
    notes: list[str] = []
    evidence = [f"{s.primary} (desired production) failed {fails}/{need} polls in a row"
                + (f" ({s.primary_view.last_failure})" if s.primary_view.last_failure else "")]
    if s.primary_view.answers_unreadably and s.primary_view.consecutive_failures >= need:
        blockers.append(Blocker(
            "primary-answers", f"{s.primary} fails its polls but answers "
                               f"({s.primary_view.last_failure}): it is probably still running "
                               "production, so this is no outage; fix the console's access "
                               "(credentials, certificate)"))
    isolated, note = isolation(s)
    if isolated:
        blockers.append(isolated)
    else:
        if note:
            notes.append(note)
        if s.witnesses.configured:
            evidence.append(f"{s.witnesses.answered} of {s.witnesses.configured} witnesses answer")
        ok = s.standby_view.consecutive_successes
        if not _answers(s.standby_view):
            blockers.append(Blocker(
                "standby-down", f"the standby {s.standby} does not answer "
                                f"({s.standby_view.last_failure}): no failover possible",
                "critical" if wanted else "warning"))
        elif ok < s.standby_threshold:
            blockers.append(Blocker("standby-unsteady", f"the standby {s.standby} answered only "
                                    f"{ok} of the last {s.standby_threshold} polls in a row"))
        else:
            evidence.append(f"{s.standby} (standby) answered its last {ok} polls")
    if s.verdict is Verdict.SPLIT_BRAIN:
        blockers.append(Blocker("split-brain", "SPLIT BRAIN: both appliances are asserted "
                                "production; a person must decide which one keeps the data",
                                "critical"))
    elif s.primary_mode != "production":
        blockers.append(Blocker("no-production", f"{s.primary} is asserted {s.primary_mode}: "
                                "automation fails over only from an asserted production"))
    if s.pause is not None:
        key = "held" if s.pause.kind == "hold" else "paused"
        blockers.append(Blocker(key, s.pause.text(s.now)))
    if s.busy:
        blockers.append(Blocker("busy", s.busy))
    if s.unfit:
        blockers.append(Blocker("cannot-start", s.unfit, "critical"))
    if s.acting:
        blockers.append(Blocker("acting", s.acting))
    if (old := data_age_blocker(s.standby, s.data_age, s.max_data_age)) is not None:
        blockers.append(old)
    if s.cooldown_until is not None and s.now < s.cooldown_until:
        blockers.append(Blocker("cooldown", "the last failover attempt failed; the next one "
                                            f"may start at {_hhmm(s.cooldown_until)}"))
    blockers.extend(s.extra)
    defer_until, during_restore = None, False
    if s.restore is not None and s.now < s.restore[1]:
        start, end = s.restore
        limit = (s.wanted_since if s.wanted_since is not None else s.now) + s.max_defer
        window = f"{_hhmm(start)}–{_hhmm(end)}"
        if s.now < limit:
            defer_until = min(end, limit)
            blockers.append(Blocker(
                "restore-window", f"the standby {s.standby} is inside its estimated restore "
                                  f"window ({window}): promoting it mid-restore risks a "
                                  f"half-restored database; waiting until {_hhmm(defer_until)}"))
        else:
            during_restore = True
            notes.append(f"acting during a possible restore of {s.standby} (window {window}): "
                         f"waited the maximum {format_duration(s.max_defer)} (max_defer)")
    if s.acting:
        state = "ACTING"
    elif s.pause is not None:
        state = "PAUSED"
    elif isolated:
        state = "ISOLATED"
    else:
        state = "ARMED"
    return Decision(act=wanted and not blockers, wanted=wanted, state=state,
                    failures=(fails, need), blockers=tuple(blockers), evidence=tuple(evidence),
                    notes=tuple(notes), defer_until=defer_until, during_restore=during_restore)


@dataclass(frozen=True)
class FailbackSituation:
    """For `failback: automatic`: the preferred primary is back, fenced, and caught up?"""

    preferred: str  # the config's `production`
    current: str  # the desired production now
    preferred_view: ApplianceView
    current_view: ApplianceView
    preferred_mode: str  # asserted
    verdict: Verdict
    witnesses: WitnessRound
    now: float
    up_since: float | None  # the preferred primary has answered every poll since
    failback_after: float
    restore_done_at: float | None  # a restore cycle on it that ended after up_since
    pause: Pause | None = None  # a person's pause; the post-failover hold does not stop this
    busy: str | None = None
    acting: str | None = None


def decide_failback(f: FailbackSituation) -> Decision:
    """A planned switchover back to the preferred primary, only when everything is settled."""
    blockers: list[Blocker] = []
    if f.current == f.preferred:
        return Decision(False, False, "ARMED", (0, 0))
    if f.up_since is None or not _answers(f.preferred_view):
        blockers.append(Blocker("failback-not-up", f"{f.preferred} does not answer"))
    elif f.now - f.up_since < f.failback_after:
        blockers.append(Blocker("failback-too-soon", f"{f.preferred} has answered for "
                                f"{format_duration(int(f.now - f.up_since))} of the "
                                f"{format_duration(f.failback_after)} required (failback_after)"))
    elif f.restore_done_at is None:
        blockers.append(Blocker("failback-no-restore", f"no restore cycle has completed on "
                                f"{f.preferred} since it came back: its data is not current"))
    if f.preferred_mode != "standby":
        blockers.append(Blocker("failback-unfenced", f"{f.preferred} is not asserted standby yet"))
    if not _answers(f.current_view):
        blockers.append(Blocker("failback-current-down", f"{f.current} does not answer: that is "
                                                         "a failover, not a failback"))
    if f.verdict is Verdict.SPLIT_BRAIN:
        blockers.append(Blocker("split-brain", "SPLIT BRAIN", "critical"))
    if f.witnesses.configured and not f.witnesses.majority:
        blockers.append(Blocker("isolated", "witnesses do not answer"))
    if f.pause is not None and f.pause.kind == "pause":
        blockers.append(Blocker("paused", f.pause.text(f.now)))
    if f.busy:
        blockers.append(Blocker("busy", f.busy))
    if f.acting:
        blockers.append(Blocker("acting", f.acting))
    evidence = (f"{f.preferred} answered every poll since {_hhmm(f.up_since or f.now)}",
                f"a restore cycle on it ended at {_hhmm(f.restore_done_at or f.now)}")
    return Decision(not blockers, True, "ARMED", (0, 0), tuple(blockers), evidence)


def thresholds(pair: PairConfig) -> PollConfig:
    """The pair's poll settings with the automation's own thresholds, for `observe`."""
    auto = pair.automation
    return pair.poll.model_copy(update={
        "failure_threshold": auto.failure_threshold or pair.poll.failure_threshold,
        "recovery_threshold": auto.standby_threshold or pair.poll.recovery_threshold})


def counted(result: PollResult, rule: str) -> PollResult:
    """A poll as the automation counts it: with a main-API probe, `any` or `all` must fail."""
    if result.api_ok is None:
        return result
    if rule == "any" and result.ok and not result.api_ok:
        return replace(result, failure=result.api_failure)
    if rule == "all" and not result.ok and result.api_ok:
        return replace(result, failure=None, health=result.health or Health())
    return result
