"""A DR drill: a planned switchover to the standby, proof that the new production serves
and that DNS answers for it, then a switchover back — every leg the same journaled plan as
any other action, every step timed, and a Markdown report for the audit file.

Refused unless the pair is HEALTHY and no restore window opens on either appliance during
the drill. Any failure stops it: a leg that fails is compensated by the engine (the old
production re-promoted); a new production that does not serve is failed back at once. The
report says what happened either way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..config.models import PairConfig
from ..engine.audit import JsonlLog, new_action_id
from ..engine.pair import PairSnapshot
from ..engine.schedule import duration_words, next_fire, restore_window
from .kinds import ActionKind
from .planner import Plan, plan_action
from .runner import ActionResult, ActionRunner

DRILL_MARGIN = 600.0  # seconds: no restore window may open this soon (the drill's length)
Say = Callable[[str], None]


@dataclass
class DrillStep:
    name: str
    started: float  # epoch
    seconds: float
    outcome: str  # done, failed, refused, unknown, skipped
    detail: str = ""


@dataclass
class Drill:
    pair: str
    by: str
    started_at: float
    steps: list[DrillStep] = field(default_factory=list)
    result: str = "running"  # passed, failed, refused, rolled back
    detail: str = ""
    data_loss: str = ""
    downtime: list[float] = field(default_factory=list)  # seconds without a production, per leg
    dns: list[str] = field(default_factory=list)  # what the authoritative servers said
    production_before: str = ""
    production_after: str = ""
    ended_at: float | None = None

    @property
    def passed(self) -> bool:
        return self.result == "passed"


def drill_refusal(pair: PairConfig, snap: PairSnapshot, now: float) -> str | None:
    """Why a drill must not start now, or None."""
    plan = plan_action(ActionKind.SWITCHOVER, pair, snap)
    if plan.refused:
        return plan.refusal
    if pair.restore_cron:
        at = datetime.fromtimestamp(now, UTC)
        running = restore_window(pair.restore_cron, pair.timezone, pair.restore_duration, at)
        start = running[0] if running else next_fire(pair.restore_cron, pair.timezone, at)
        if (start - at).total_seconds() < DRILL_MARGIN:
            local = start.astimezone(pair.zone)
            verb = "is running since" if running else "opens at"
            return (f"a restore window {verb} {local:%H:%M} (restore_cron), within the "
                    f"{duration_words(DRILL_MARGIN)} a drill may take: pick another time")
    return None


class DrillRunner:
    """Runs one drill on one pair through the shared runner (journaled, audited, locked)."""

    def __init__(self, runner: ActionRunner, pair: PairConfig, audit: JsonlLog, by: str,
                 say: Say = lambda text: None, clock: Callable[[], float] = time.time):
        self.runner = runner
        self.pair = pair
        self.audit = audit
        self.by = by
        self.say = say
        self.clock = clock
        self.poller = runner.poller.pairs[pair.name]

    async def run(self) -> Drill:
        drill = Drill(self.pair.name, self.by, self.clock())
        action_id = new_action_id()
        base = {"action_id": action_id, "pair": self.pair.name, "action": "drill",
                "target": self.pair.name}
        snap = await self.poller.poll_fully()
        drill.production_before = snap.verdict.production or snap.desired_production
        self.audit.append({"phase": "before", **base,
                           "plan": ["switchover to the standby, check, switchover back"]})
        try:
            await self._drill(drill, snap)
        finally:
            drill.ended_at = self.clock()
            last = self.poller.latest
            drill.production_after = (last.verdict.production or last.desired_production) \
                if last is not None else "?"
            self.audit.append({"phase": "after", **base, "result": _audit_result(drill.result),
                               "detail": f"drill {drill.result}: {drill.detail}"})
        return drill

    async def _drill(self, drill: Drill, snap: PairSnapshot) -> None:
        why = drill_refusal(self.pair, snap, self.clock())
        if why is not None:
            drill.result, drill.detail = "refused", why
            drill.steps.append(DrillStep("checks before the drill", self.clock(), 0.0, "refused",
                                         why))
            return
        first = plan_action(ActionKind.SWITCHOVER, self.pair, snap)
        drill.data_loss = first.data_loss or ""
        there = first.target
        result = await self._leg(drill, f"switchover {drill.production_before} → {there}", first)
        if result.outcome != "done":
            now = await self.poller.poll_fully()  # where the engine left the pair
            back = (now.verdict.production == drill.production_before
                    and now.modes[there].mode == "standby")
            drill.result = "rolled back" if back else "failed"
            drill.detail = (f"the switchover to {there} {result.outcome}: {result.detail}; "
                            "the drill stopped" + (f", {drill.production_before} is production "
                                                   "as before" if back else ""))
            return
        problem = await self._check(drill, there)
        if problem is not None:
            back = plan_action(ActionKind.FAILBACK, self.pair, await self.poller.poll_fully())
            undo = await self._leg(drill, f"roll back to {back.target}", back)
            drill.result = "rolled back" if undo.outcome == "done" else "failed"
            drill.detail = (f"{problem}; rolled back: {undo.outcome}: {undo.detail}")
            return
        snap = await self.poller.poll_fully()
        home = plan_action(ActionKind.SWITCHOVER, self.pair, snap)
        if home.refused:
            # Right after a switchover the new production has not run its own backup yet,
            # which degrades the pair: the way back is then the same steps (demote first,
            # it answers) as a failover, whose checks are about reaching the appliances.
            self.say(f"a switchover back is refused ({home.refusal}); going back with the "
                     "same steps as a failover")
            drill.steps.append(DrillStep("switchover back refused: going back as a failover",
                                         self.clock(), 0.0, "note", home.refusal or ""))
            home = plan_action(ActionKind.FAILOVER, self.pair, snap)
        result = await self._leg(drill, f"{home.action.value} {there} → {home.target}", home)
        if result.outcome != "done":
            drill.result = "failed"
            drill.detail = (f"the switchover back to {home.target} {result.outcome}: "
                            f"{result.detail}")
            return
        problem = await self._check(drill, home.target)
        drill.result = "failed" if problem else "passed"
        drill.detail = problem or (f"{there} served as production and the pair is back on "
                                   f"{home.target}")

    async def _leg(self, drill: Drill, name: str, plan: Plan) -> ActionResult:
        """One journaled switchover, every step timed from the engine's progress."""
        self.say(f"{name}: {plan.summary}")
        marks: list[tuple[float, str]] = []

        def progress(text: str) -> None:
            marks.append((self.clock(), text))
            self.say(f"  … {text}")

        started = self.clock()
        result = await self.runner.run(plan, progress=progress)
        ended = self.clock()
        drill.steps.append(DrillStep(name, started, ended - started, result.outcome,
                                     result.detail))
        for i, (at, text) in enumerate(marks):
            until = marks[i + 1][0] if i + 1 < len(marks) else ended
            drill.steps.append(DrillStep(f"  {text}", at, until - at, "", ""))
        sent = [at for at, text in marks if text.startswith("sending appliance_mode=standby")]
        promoted = [at for at, text in marks if text.startswith(
            "sending appliance_mode=production")]
        if sent and promoted:  # from the demote's send to the promotion's answer
            after = next((at for at, _ in marks if at > promoted[-1]), ended)
            drill.downtime.append(after - sent[0])
        return result

    async def _check(self, drill: Drill, production: str) -> str | None:
        """The new production answers health as production, and DNS points at it."""
        started = self.clock()
        snap = await self.poller.poll_fully()
        view, mode = snap.views[production], snap.modes[production]
        problem = None
        if not view.answers or mode.mode != "production":
            problem = (f"{production} does not serve as production after the switchover "
                       f"({mode.mode}, {view.reachability.value}"
                       + (f": {view.last_failure}" if view.last_failure else "") + ")")
        if problem is None and self.pair.dns is not None:
            problem = await self._dns(drill, production)
        drill.steps.append(DrillStep(f"check {production} serves"
                                     + (" and DNS answers" if self.pair.dns else ""),
                                     started, self.clock() - started,
                                     "failed" if problem else "done", problem or ""))
        return problem

    async def _dns(self, drill: Drill, production: str) -> str | None:
        from ..dns.lookup import query, which_appliance

        cfg = self.pair.dns
        assert cfg is not None
        deadline = self.clock() + max(5.0, cfg.ttl / 10)
        while True:
            answer = await query(cfg)
            owners = {s.server: which_appliance(cfg, s.values) for s in answer.servers
                      if s.answered}
            if owners and all(o == production for o in owners.values()) \
                    and len(owners) == len(answer.servers):
                drill.dns.append(f"{datetime.now(UTC):%H:%M:%S} UTC: " + "; ".join(
                    s.describe() for s in answer.servers) + f" → {production}")
                return None
            if self.clock() > deadline:
                said = "; ".join(s.describe() for s in answer.servers)
                drill.dns.append(f"{datetime.now(UTC):%H:%M:%S} UTC: {said}")
                return f"DNS does not point at {production} at every server ({said})"
            await asyncio.sleep(0.5)


def _audit_result(result: str) -> str:
    return {"passed": "done", "refused": "refused", "rolled back": "failed"}.get(result, "failed")


def report_markdown(drill: Drill, zone) -> str:
    """The drill for the audit file: when, who, each step with its time, the downtime, the
    data loss estimate, DNS at the authoritative servers, the result."""
    def when(ts: float) -> str:
        return datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M:%S %Z")

    total = (drill.ended_at or drill.started_at) - drill.started_at
    lines = [f"# DR drill — pair `{drill.pair}`", "",
             f"- **Result: {drill.result.upper()}** — {drill.detail}",
             f"- When: {when(drill.started_at)}, "
             + (f"{total:.1f} s" if total < 60 else str(timedelta(seconds=round(total))))
             + " in all",
             f"- Who: {drill.by}",
             f"- Production before: {drill.production_before}; after: "
             f"{drill.production_after}"]
    if drill.downtime:
        lines.append("- Downtime seen by the console (demote sent → promotion answered): "
                     + ", ".join(f"{d:.2f} s" for d in drill.downtime))
    if drill.data_loss:
        lines.append(f"- Data loss estimate for the switchover: {drill.data_loss}")
    lines += ["", "## Steps", "", "| started | step | took | outcome | detail |",
              "|---|---|---|---|---|"]
    for step in drill.steps:
        name = step.name.replace("|", "/")
        lines.append(f"| {datetime.fromtimestamp(step.started, zone):%H:%M:%S} | "
                     f"{name.strip() if not name.startswith('  ') else '↳ ' + name.strip()} | "
                     f"{step.seconds:.2f} s | {step.outcome} | "
                     f"{step.detail.replace('|', '/')} |")
    if drill.dns:
        lines += ["", "## DNS at the authoritative servers", ""]
        lines += [f"- {line}" for line in drill.dns]
    return "\n".join(lines) + "\n"
