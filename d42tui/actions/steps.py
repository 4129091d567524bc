"""The one engine: carries out a journaled plan step by step, for the console, the CLI and
the watcher alike.

Every step is written to the journal before it runs and to the audit log after. A step
that cannot finish now (an unanswered POST, a new production that does not answer health
yet, DNS refused) waits and is retried; a promotion that fails after this plan demoted the
old primary re-promotes it. The mode POST and its audit record live here and nowhere else.
How long a driver waits is its own (`Policy`); what the steps do is the same for all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..appliance.client import ApplianceClient, FailureKind, ModeChangeResult
from ..config.models import PairConfig
from ..engine.audit import JsonlLog
from ..engine.journal import MOVES, Journal, StepKind, close_journal, save_journal
from ..engine.pair import PairSnapshot, Reachability
from ..engine.state import StateStore, note_desired, update_pair

RETRYABLE = frozenset({FailureKind.TIMEOUT, FailureKind.REFUSED, FailureKind.NETWORK,
                       FailureKind.SERVER_ERROR})
MAX_DNS_INTERVAL = 600.0
Say = Callable[..., None]  # say(level, event, text, **fields)
Notify = Callable[..., None]  # notify(event, severity, text, **details)


def _quiet(*args: Any, **kwargs: Any) -> None:
    return None


class NotPermitted(Exception):
    """The driver's `may_act` check said no right before an irreversible step: nothing was
    sent (a coordinated watcher that no longer holds its pair's lease)."""


async def _always(what: str) -> str | None:
    return None


@dataclass(frozen=True)
class Policy:
    """How patient a driver is. The console and the CLI try a DNS update once and say the
    command to retry; the watcher retries with backoff for as long as `dns_attempts`."""

    retries: int = 3  # extra POSTs on timeout / 5xx (the POST is idempotent)
    backoff: float = 1.0  # before the first retry; doubles
    dns_attempts: int = 1
    dns_interval: float = 30.0  # between DNS attempts; doubles, at most 10 minutes
    confirm_timeout: float = 15.0  # the new production answering health, before an alert
    dns_wait: float | None = None  # how long one call waits for the switch (None: to its end)

    @classmethod
    def of(cls, pair: PairConfig, watcher: bool) -> Policy:
        auto = pair.automation
        return cls(auto.promote_retries, auto.retry_backoff,
                   auto.dns_retries + 1 if watcher else 1, auto.dns_retry_interval,
                   auto.confirm_timeout, pair.poll.timeout if watcher else None)


@dataclass
class Closed:
    """How a plan ended, for the driver that is waiting on it."""

    journal: Journal
    result: str  # done / failed / cancelled / unknown
    detail: str
    warnings: list[str] = field(default_factory=list)


@dataclass
class Engine:
    pair: PairConfig
    store: StateStore
    audit: JsonlLog
    clients: dict[str, ApplianceClient]
    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    policy: Policy = field(default_factory=Policy)
    say: Say = _quiet
    notify: Notify = _quiet
    progress: Callable[[str], None] = _quiet
    changed: Callable[[], None] = _quiet  # the roles changed: re-draw whoever shows them
    # "may I still act?", asked right before every irreversible step (a mode POST, a DNS
    # switch): None goes on, a reason raises NotPermitted and nothing is sent. The watcher
    # wires it to its etcd lease (the fencing token); everyone else always may.
    may_act: Callable[[str], Awaitable[str | None]] = _always
    closed: dict[str, Closed] = field(default_factory=dict)
    warnings: dict[str, list[str]] = field(default_factory=dict)
    _dns: dict[str, asyncio.Task[Any]] = field(default_factory=dict)

    # --- the audit trail ----------------------------------------------------------------

    def record(self, phase: str, journal: Journal, **extra: Any) -> None:
        by = {"by": "watcher", "pid": journal.pid} if journal.by == "watcher" else {}
        self.audit.append({"phase": phase, "action_id": journal.plan_id, "pair": journal.pair,
                           "action": journal.action, "target": journal.target, **by, **extra})

    def begin(self, journal: Journal, **before: Any) -> Journal:
        """The `before` record, then the plan in the state file: from here it is found by
        every reader, finished or rolled back whatever happens to this process."""
        self.record("before", journal, plan=journal.lines(), steps=[s.text for s in journal.steps],
                    forced=journal.forced, **before)
        save_journal(self.store, journal)
        return journal

    def finish(self, journal: Journal, result: str, detail: str, severity: str = "critical",
               also: Any = None) -> None:
        close_journal(self.store, journal, result, detail, self.clock(), also)
        warnings = self.warnings.pop(journal.plan_id, [])
        self.record("after", journal, result=result, detail=detail, warnings=warnings,
                    responses=[{"step": s.text, "status": s.status, "attempts": s.attempts,
                                "detail": s.detail} for s in journal.steps])
        level = "info" if result == "done" else "error"
        self.say(level, f"{journal.kind}-{result}", detail, plan_id=journal.plan_id)
        self.notify(f"{journal.kind}-{result}", severity, detail, plan_id=journal.plan_id,
                    steps=[f"{s.text}: {s.status}" for s in journal.steps],
                    data_loss=journal.data_loss)
        self.closed[journal.plan_id] = Closed(journal, result, detail, warnings)

    def warn(self, journal: Journal, text: str) -> None:
        self.warnings.setdefault(journal.plan_id, []).append(text)

    async def permitted(self, what: str) -> None:
        """Raise NotPermitted (nothing sent) unless the driver still may act."""
        why = await self.may_act(what)
        if why is not None:
            self.say("error", "not-permitted", f"not sending {what}: {why}")
            raise NotPermitted(f"{what}: {why}")

    # --- the steps ------------------------------------------------------------------------

    async def advance(self, journal: Journal, snap: PairSnapshot) -> Journal | None:
        """Run the plan's unfinished steps in order; None once it is closed, else the plan
        as it waits (for an answer, a retry time, the new production's health, DNS)."""
        desired = self.store.roles(self.pair)[0]  # the file, not a snapshot that predates us
        if journal.new_production and journal.done(StepKind.PROMOTE, journal.new_production) \
                and desired != journal.new_production:
            self.finish(journal, "cancelled", f"the desired production changed to {desired} "
                        f"while {journal.describe()} was unfinished: abandoned", "warning")
            return None
        while (index := journal.current) is not None:
            step = journal.steps[index]
            if step.status == "waiting" and step.next_try_at and step.kind is StepKind.DNS \
                    and self.clock() < step.next_try_at:
                return journal  # a retry that is not due yet: nothing to do, nothing to say
            if step.status == "pending":  # a step that waits said so when it began to
                self.say("info", "step", journal.describe(), plan_id=journal.plan_id)
            if step.kind in (StepKind.PROMOTE, StepKind.DEMOTE):
                outcome = await self._mode_step(journal, index, snap)
            elif step.kind is StepKind.CONFIRM:
                outcome = await self._confirm_step(journal, index)
            elif step.kind is StepKind.FENCE:
                outcome = await self._fence_command_step(journal, index)
            else:
                outcome = await self._dns_step(journal, index)
            if outcome is None:
                return None
            journal, go_on = outcome
            if not go_on:
                return journal
        self._done(journal)
        return None

    def _done(self, journal: Journal) -> None:
        sent = ", ".join(self._sent(s) for s in journal.steps if s.status == "done") or "nothing"
        if journal.kind in MOVES:
            detail = (f"{journal.kind} done: {journal.target} is production"
                      + (f" ({journal.data_loss})" if journal.data_loss else "")
                      + f"; changed: {sent}")
        else:
            detail = f"changed: {sent}"
        self.finish(journal, "done", detail,
                    "critical" if journal.kind == "failover" else "warning")

    async def post(self, journal: Journal, index: int, retries: int, persist: bool = True
                   ) -> tuple[Journal, ModeChangeResult]:
        """The mode POST, with bounded retries (idempotent); the journal is written before
        every attempt (`persist`) and the audit log after it."""
        step = journal.steps[index]
        mode = step.kind.mode
        assert mode is not None
        client = self.clients[step.appliance]
        delay = self.policy.backoff
        for attempt in range(retries + 1):
            journal = journal.with_step(index, status="running", attempts=step.attempts + 1,
                                        detail="request sent; answer pending")
            step = journal.steps[index]
            if persist:
                save_journal(self.store, journal)
            await self.permitted(f"appliance_mode={mode} to {step.appliance}")
            self.progress(f"sending appliance_mode={mode} to {step.appliance}")
            answer = await client.set_mode(mode)
            self.record("step", journal, step=step.text, attempt=step.attempts,
                        request=f"POST {client.cfg.url}/api/1.0/appliancemode/ "
                                f"appliance_mode={mode}",
                        outcome=answer.outcome, status=answer.status, message=answer.message)
            retryable = answer.outcome == "unknown" or (
                answer.failure is not None and answer.failure.kind in RETRYABLE)
            if answer.outcome == "done" or not retryable or attempt == retries:
                return journal, answer
            why = answer.failure.kind.label if answer.failure else answer.outcome
            self.say("warning", "retry", f"{step.appliance}: {why}; POST again in {delay:g}s "
                                         f"(attempt {attempt + 2} of {retries + 1})")
            await self.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    async def _mode_step(self, journal: Journal, index: int,
                         snap: PairSnapshot) -> tuple[Journal, bool] | None:
        step = journal.steps[index]
        mode = step.kind.mode
        view = snap.views[step.appliance]
        in_doubt = step.status != "pending"
        if step.optional and not view.commandable:
            fence = step.kind is StepKind.DEMOTE
            detail = ("does not answer: not fenced; it is re-asserted standby when it answers "
                      "again" if fence else "does not answer: skipped")
            journal = journal.with_step(index, status="skipped", detail=detail)
            save_journal(self.store, journal, _fence_later(step.appliance) if fence else None)
            self.warn(journal, f"{step.appliance} was not put in standby (it does not answer): "
                               "it is re-asserted standby when it returns")
            return journal, True
        if in_doubt and step.kind is StepKind.DEMOTE and journal.kind in MOVES \
                and view.reachability is Reachability.DOWN and not view.answers:
            # A demote that may have applied, to an appliance now down: it runs nothing.
            # Go on as with a dead primary; it is fenced the moment it answers again.
            journal = journal.with_step(index, status="skipped", detail=(
                "sent, answer unknown; it is down now: it is re-asserted standby when it "
                "answers again"))
            save_journal(self.store, journal, _fence_later(step.appliance))
            self.warn(journal, f"{step.appliance}: the standby POST got no answer and it is "
                               "down now; it is fenced when it returns")
            return journal, True
        if in_doubt and step.kind is StepKind.PROMOTE and journal.kind in MOVES \
                and journal.source and not journal.done(StepKind.DEMOTE, journal.source) \
                and snap.views[journal.source].answers:
            # In doubt, and the old primary answers again: undo, idempotently.
            return await self._undo_promotion(journal)
        journal, answer = await self.post(journal, index, self.policy.retries)
        if answer.outcome == "failed" and not answer.sent and in_doubt:
            # an earlier attempt may have applied: "not sent now" does not mean "nothing changed"
            answer = replace(answer, outcome="unknown")
        if answer.outcome == "done":
            journal = journal.with_step(index, status="done", detail=answer.message,
                                        unconfirmed=not answer.confirmed)
            save_journal(self.store, journal, self._roles(journal, index))
            self.changed()
            if not answer.confirmed:
                self.warn(journal, f"{step.appliance} {answer.message}")
            return journal, True
        if answer.outcome == "unknown":
            journal = journal.with_step(index, status="waiting", detail=answer.message)
            save_journal(self.store, journal)
            if step.status != "waiting":  # once, when it starts waiting; retried every round
                self.notify("promotion-unanswered" if mode == "production" else
                            "demotion-unanswered", "critical",
                            f"{step.appliance} did not answer the {mode} POST after "
                            f"{journal.steps[index].attempts} attempt(s): it may have applied "
                            "it; the plan stays journaled and is retried",
                            plan_id=journal.plan_id)
            return journal, False
        journal = journal.with_step(index, status="failed", detail=answer.message)
        if step.optional:
            journal = journal.with_step(index, status="skipped")
            save_journal(self.store, journal, _fence_later(step.appliance))
            self.warn(journal, f"{step.appliance}: {answer.message}")
            return journal, True
        await self._failed(journal, step.appliance, mode or "", answer.message)
        return None

    def _roles(self, journal: Journal, index: int):
        """The state change that goes into the same write as the step's `done`: the mode,
        and with the promotion of the new production, the desired roles (a dead old primary
        is a fencing debt from here on, not a split brain) and the watcher's hold."""
        step, at = journal.steps[index], self.clock()
        mode = step.kind.mode

        def also(entry: dict[str, Any], auto: dict[str, Any]) -> None:
            entry.setdefault("modes", {})[step.appliance] = {"mode": mode, "at": at}
            pending = set(auto.get("fence_pending", []))
            if mode == "standby":
                pending.discard(step.appliance)
            elif step.appliance == journal.new_production:
                note_desired(entry, step.appliance, at)
                pending.discard(step.appliance)
                if journal.hold is not None:
                    auto["hold"] = {"by": "watcher", "since": at, "reason": journal.hold}
                if journal.release_hold:
                    auto.pop("hold", None)
            auto["fence_pending"] = sorted(pending)
        return also

    async def _failed(self, journal: Journal, appliance: str, mode: str, message: str) -> None:
        """A required step failed for good. If this plan demoted the old production, it is
        re-promoted (its own audited step): never no production by our own doing."""
        source = journal.source
        if journal.kind in MOVES and source \
                and journal.done(StepKind.DEMOTE, source):
            await self.permitted(f"appliance_mode=production to {source} (undo)")
            back = await self.clients[source].set_mode("production")
            self.record("step", journal, step=f"undo: POST appliance_mode=production to {source}",
                        request=f"POST {self.clients[source].cfg.url}/api/1.0/appliancemode/ "
                                "appliance_mode=production",
                        outcome=back.outcome, status=back.status, message=back.message)
            if back.outcome == "done":
                self.store.record_mode(journal.pair, source, "production", self.clock())
                self.finish(journal, "failed", f"{journal.kind}: {appliance} refused {mode} "
                            f"({message}); {source} was re-promoted: production is {source} "
                            "again, as before the plan")
                return
            self.notify("no-production", "critical", f"NO PRODUCTION: {source} was demoted and "
                        f"{appliance} refused production; re-promoting {source} failed too "
                        f"({back.message})", plan_id=journal.plan_id)
            self.finish(journal, "failed", f"NO PRODUCTION: {source} was demoted, {appliance} "
                        f"refused production ({message}), and re-promoting {source} "
                        f"{back.outcome} ({back.message}). Recover with: d42tui promote {source}")
            return
        done = [self._sent(s) for s in journal.steps if s.status == "done"]
        changed = f"already done: {', '.join(done)}" if done else "nothing changed"
        self.finish(journal, "failed", f"{journal.kind} failed: {appliance} refused {mode} "
                                       f"({message}); {changed}")

    async def _undo_promotion(self, journal: Journal) -> None:
        await self.permitted(f"appliance_mode=standby to {journal.target} (undo)")
        undo = await self.clients[journal.target].set_mode("standby")
        self.record("step", journal, step=f"undo: POST appliance_mode=standby to {journal.target}",
                    outcome=undo.outcome, status=undo.status, message=undo.message)
        if undo.outcome == "done":
            self.store.record_mode(journal.pair, journal.target, "standby", self.clock())
        self.finish(journal, "cancelled",
                    f"{journal.source} answers again before the promotion of {journal.target} "
                    f"was confirmed: abandoned; {journal.target} re-asserted standby: "
                    f"{undo.outcome} ({undo.message})", "warning")

    async def _fence_command_step(self, journal: Journal, index: int
                                  ) -> tuple[Journal, bool] | None:
        """Run automation.fence_command on the old primary that cannot be demoted (argv, no
        shell, bounded by fence_timeout). Its output is never recorded (it may hold what the
        command was given); its exit status is. Required: no promotion unless it exits 0."""
        step = journal.steps[index]
        auto = self.pair.automation
        argv = auto.fence_command
        name = step.appliance
        # as for a POST: the journal says "running" first, then the fencing check (which
        # carries it to a shared store), then the command: a successor runs it again
        journal = journal.with_step(index, status="running", attempts=step.attempts + 1)
        save_journal(self.store, journal)
        await self.permitted(f"the fence command for {name}")
        self.progress(f"fencing {name}: running {argv[0] if argv else '(none configured)'}")
        message = await self._run_fence(argv, name)
        ok = message == "exit 0"
        self.record("step", journal, step=step.text, request=f"run {argv[0] if argv else '?'}",
                    attempt=step.attempts + 1, outcome="done" if ok else "failed",
                    message=message)
        if ok:
            journal = journal.with_step(index, status="done", detail=f"fenced: {message}")
            save_journal(self.store, journal)
            self.notify("fence-command-done", "warning", f"{name} could not be demoted and was "
                        f"fenced by the fence_command ({message})", plan_id=journal.plan_id)
            return journal, True
        if step.optional:
            journal = journal.with_step(index, status="skipped",
                                        detail=f"the fence command failed ({message})")
            save_journal(self.store, journal)
            self.warn(journal, f"the fence command for {name} failed ({message}): going on "
                               "without it (require_fence is off)")
            self.notify("fence-command-failed", "critical", f"the fence command for {name} "
                        f"failed ({message}); the failover goes on (require_fence is off): "
                        f"make sure {name} runs no jobs", plan_id=journal.plan_id)
            return journal, True
        journal = journal.with_step(index, status="failed", detail=message)
        save_journal(self.store, journal)
        self.notify("fence-command-failed", "critical", f"NOT PROMOTED: the fence command for "
                    f"{name} failed ({message}) and require_fence is on: no promotion before "
                    f"{name} is known dead. Fence it by hand, then `d42tui failover`",
                    plan_id=journal.plan_id)
        self.finish(journal, "failed", f"{journal.kind} failed: the fence command for {name} "
                    f"failed ({message}); require_fence: nothing was promoted, nothing changed")
        return None

    async def _run_fence(self, argv: list[str] | None, name: str) -> str:
        """"exit 0", or what went wrong, in words (never the command's output)."""
        import os

        if not argv:
            return "no fence_command is configured"
        appliance = next((a for a in self.pair.appliances if a.name == name), None)
        env = {**os.environ, "D42TUI_PAIR": self.pair.name, "D42TUI_APPLIANCE": name,
               "D42TUI_APPLIANCE_URL": appliance.url if appliance else ""}
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL, env=env, start_new_session=True)
        except OSError as exc:
            return f"{argv[0]} cannot be run: {exc.strerror or exc.__class__.__name__}"
        try:
            code = await asyncio.wait_for(proc.wait(), self.pair.automation.fence_timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return f"{argv[0]} did not finish in {self.pair.automation.fence_timeout:g}s: killed"
        return f"exit {code}"

    async def _confirm_step(self, journal: Journal, index: int) -> tuple[Journal, bool]:
        step = journal.steps[index]
        self.progress(f"waiting for {step.appliance} to answer health")
        result = await self.clients[step.appliance].health()
        if result.ok or step.attempts == 0:  # the first miss and the answer, not every poll between
            self.record("step", journal, step=step.text, request=f"GET health of {step.appliance}",
                        outcome="done" if result.ok else "failed",
                        message=str(result.failure or "answers"))
        if result.ok:
            journal = journal.with_step(index, status="done", attempts=step.attempts + 1,
                                        detail="answers health")
            save_journal(self.store, journal)
            return journal, True
        first = step.next_try_at or self.clock()
        alerted = step.detail.startswith("[alerted] ")
        alert = not alerted and self.clock() - first >= self.policy.confirm_timeout
        journal = journal.with_step(index, status="waiting", attempts=step.attempts + 1,
                                    detail=("[alerted] " if alerted or alert else "")
                                    + str(result.failure), next_try_at=first)
        save_journal(self.store, journal)
        if step.attempts == 0:
            self.say("warning", "confirm-waiting", f"{step.appliance} does not answer health yet "
                                                   f"({result.failure}); DNS waits for it")
        if alert:
            self.notify("confirm-waiting", "critical",
                        f"{step.appliance} accepted production but has not answered health for "
                        f"{self.policy.confirm_timeout:g}s ({result.failure}): DNS is not "
                        "switched yet; it is as soon as it answers", plan_id=journal.plan_id)
        return journal, False

    def dns_running(self, journal: Journal) -> asyncio.Task[Any] | None:
        task = self._dns.get(journal.plan_id)
        return task if task is not None and not task.done() else None

    async def _dns_step(self, journal: Journal, index: int) -> tuple[Journal, bool] | None:
        """The switch runs in a task of its own: a slow DNS server never holds up the
        rounds that poll, fence and beat the heart. Each call looks whether it ended."""
        from ..dns import switch

        step = journal.steps[index]
        cfg = self.pair.dns
        assert cfg is not None
        if journal.dns_ttl is not None:  # the operator chose a TTL for this switch
            cfg = cfg.model_copy(update={"ttl": journal.dns_ttl})
        task = self._dns.get(journal.plan_id)
        if task is None:
            if step.next_try_at is not None and self.clock() < step.next_try_at:
                return journal, False
            await self.permitted(f"the DNS switch of {cfg.name} to {step.appliance}")
            journal = journal.with_step(index, status="running", attempts=step.attempts + 1)
            save_journal(self.store, journal)
            to = step.appliance if step.appliance in cfg.targets else (step.value or "")
            self.progress(f"switching DNS {cfg.name} to {step.appliance}")
            task = self._dns[journal.plan_id] = asyncio.ensure_future(
                switch(cfg, to, pair=self.pair.name, expected_old=journal.dns_expected))
        # A round waits about as long as one poll for it, then goes on polling and fencing.
        await asyncio.wait({task}, timeout=self.policy.dns_wait)
        if not task.done():
            return journal, False
        del self._dns[journal.plan_id]
        step = journal.steps[index]
        try:
            result = task.result()
        except ValueError as exc:
            journal = journal.with_step(index, status="failed", detail=str(exc))
            self.finish(journal, "failed", f"DNS step failed: {exc}")
            return None
        self.record("step", journal, step=step.text, attempt=step.attempts,
                    request=f"DNS {result.name} {result.type} "
                            f"{', '.join(result.old_values) or '(none)'} → {result.new_value} "
                            f"TTL {cfg.ttl}", backend=cfg.backend.kind,
                    outcome=result.outcome, message=result.text,
                    retry_command=result.retry_command if result.outcome != "done" else None)
        if result.outcome == "done":
            journal = journal.with_step(index, status="done", detail=result.text)
            save_journal(self.store, journal)
            return journal, True
        moved = [self._sent(s) for s in journal.steps if s.status == "done"]
        lead = f"{', '.join(moved)} done; " if moved else ""
        if step.attempts >= self.policy.dns_attempts:
            journal = journal.with_step(index, status="failed", detail=result.text)
            self.finish(journal, "unknown" if result.outcome == "unknown" else "failed",
                        f"{lead}DNS step {result.outcome}: {result.text} DNS was NOT switched"
                        f"{' after ' + str(step.attempts) + ' attempts' if step.attempts > 1 else ''}."
                        f" Switch it by hand:\n{result.retry_command}")
            return None
        wait = min(self.policy.dns_interval * 2 ** (step.attempts - 1), MAX_DNS_INTERVAL)
        journal = journal.with_step(index, status="waiting", detail=result.text,
                                    next_try_at=self.clock() + wait)
        save_journal(self.store, journal)
        self.say("error", "dns-failed", f"DNS step {result.outcome}: {result.text}; retry "
                 f"{step.attempts} of {self.policy.dns_attempts - 1} in {wait:g}s")
        if step.attempts == 1:
            self.notify("dns-failed", "critical",
                        f"{journal.target} is production but the DNS update {result.outcome}: "
                        f"{result.text}. It is retried; to do it by hand:\n"
                        f"{result.retry_command}", plan_id=journal.plan_id,
                        retry_command=result.retry_command)
        return journal, False

    def _sent(self, step) -> str:
        if step.kind is StepKind.DNS:
            return f"{self.pair.dns.name if self.pair.dns else 'DNS'} → {step.appliance}"
        if step.kind is StepKind.FENCE:
            return f"{step.appliance} fenced"
        return f"{step.appliance} → {step.kind.mode}" + (" (unconfirmed)" if step.unconfirmed
                                                          else "")

    async def fence(self, journal: Journal, snap_picture: str, why: str) -> bool:
        """Re-assert standby on an appliance that should be standby and answers again: one
        idempotent POST (not journaled: if it is lost, it is still pending and sent again)."""
        name = journal.target
        self.record("before", journal, reasons=[why], steps=[journal.steps[0].text],
                    picture=snap_picture, forced=False)
        journal, answer = await self.post(journal, 0, 0, persist=False)
        if answer.outcome == "done":
            update_pair(self.store, self.pair.name, fence_done(name, self.clock()))
            # an unconfirmed 200 says so in its message (ApplianceClient.set_mode reads it)
            detail = f"{name} re-asserted standby: {answer.message}"
            self.record("after", journal, result="done", detail=detail)
            self.say("warning", "fenced", detail)
            self.notify("fence-done", "warning", f"{name} {why}: re-asserted standby so it runs "
                        f"no jobs. {answer.message}", action_id=journal.plan_id)
            return True
        detail = f"{name}: standby POST {answer.outcome}: {answer.message}; retried next poll"
        self.record("after", journal, result=answer.outcome, detail=detail)
        self.say("error", "fence-failed", detail)
        self.notify("fence-failed", "critical", f"could not re-assert standby on {name}, which "
                    f"{why}: {answer.message}", action_id=journal.plan_id)
        return False

    async def aclose(self) -> None:
        for task in self._dns.values():
            task.cancel()
        await asyncio.gather(*self._dns.values(), return_exceptions=True)


def _fence_later(name: str):
    def also(entry: dict[str, Any], auto: dict[str, Any]) -> None:
        auto["fence_pending"] = sorted(set(auto.get("fence_pending", [])) | {name})
    return also


def fence_done(name: str, at: float):
    """The state change of a successful fence: standby asserted, no longer pending."""
    def also(entry: dict[str, Any], auto: dict[str, Any]) -> None:
        entry.setdefault("modes", {})[name] = {"mode": "standby", "at": at}
        auto["fence_pending"] = [n for n in auto.get("fence_pending", []) if n != name]
    return also

