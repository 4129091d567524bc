"""ActionDesk: opens the guarded-action dialogs and runs confirmed plans through the runner.

The plan is made from the latest snapshot (pure); the runner re-polls, compares,
sends, verifies and audits, in a worker on the app's loop so the board stays live.
Progress and the result go to the dialog (if still open), the timeline and a notice.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING

from textual.screen import ModalScreen

from ..actions.kinds import BY_NAME, ActionKind
from ..actions.planner import Plan, plan_action
from ..engine.pair import effective_production
from ..engine.words import mode_text, reach_text
from .screens.action_dialog import ActionDialog
from .text.actiontext import (
    PlanContext,
    dns_switched,
    result_lines,
    step_name,
    timeline_text,
    timeline_tone,
)
from .text.boardtext import fencing_due
from .timeline_events import TimelineEvent

if TYPE_CHECKING:
    from ..actions.runner import ActionResult, ActionRunner
    from ..config.models import PairConfig
    from ..engine.pair import PairSnapshot
    from .app import ConsoleApp
    from .screens.automation_dialog import AutomationRequest



class ActionDesk:
    """One per app. `running` maps a pair to the action in flight on it."""

    def __init__(self, app: ConsoleApp, runner: ActionRunner | None) -> None:
        self.app = app
        self.runner = runner
        self.running: dict[str, str] = {}

    def busy(self, pair: str | None = None) -> bool:
        runner_busy = self.runner is not None and self.runner.busy(pair)
        return runner_busy or (bool(self.running) if pair is None else pair in self.running)

    def _say(self, text: str, severity: str = "warning") -> None:
        self.app.notify(text, severity=severity, timeout=6)  # type: ignore[arg-type]

    def _ready(self, what: str) -> PairConfig | None:
        """The pair an action is for, if one may be opened now; else says why not."""
        app = self.app
        if isinstance(app.screen, ModalScreen):
            return None  # a dialog is open: it owns the keyboard
        pair = app.current_pair()
        if pair is None:
            self._say(f"{what}: open a pair's board first (Enter on its row)")
            return None
        if self.busy(pair.name):
            self._say(f"{what}: an action on pair {pair.name} is in flight "
                      f"({self.running.get(pair.name, 'another console or the CLI')}); "
                      "nothing more is sent until it ends")
            return None
        if app.snapshots.get(pair.name) is None:
            self._say(f"{what}: no poll of pair {pair.name} yet; wait for the first poll")
            return None
        return pair

    # --- opening ----------------------------------------------------------------------

    def open(self, name: str, target: str | None = None) -> None:
        spec = BY_NAME[name]
        kind = spec.kind
        assert kind is not None, name
        pair = self._ready(name)
        if pair is None:
            return
        snap = self.app.snapshots[pair.name]
        if kind is ActionKind.SWITCHOVER and target is None:
            self._when_switchover(pair, snap)
            return
        if spec.per_appliance and target is None:
            target = self.app.focused_appliance()
            offered = [n for n in snap.order if fencing_due(snap, n)]
            if target is None and kind is ActionKind.REASSERT and len(offered) == 1:
                target = offered[0]
            if target is None:
                from .screens.choose_appliance import ChooseApplianceScreen

                choices = [(a.name, self._about(pair, a.name)) for a in pair.appliances]
                self.app.push_screen(ChooseApplianceScreen(spec.button.lower(), choices),
                                     lambda chosen: chosen and self.open(name, chosen))
                return
        self._open_plan(pair, kind, target)

    # --- the planned switchover: now, after the next restore, or cancel the planned one ----

    def _when_switchover(self, pair: PairConfig, snap: PairSnapshot) -> None:
        from datetime import UTC, datetime

        from ..engine.switchover import ScheduleRefused, after_next_restore
        from .screens.choose_appliance import ChooseApplianceScreen

        now = self.app.clock()
        choices = [("now", "switch over now (asks first)")]
        moment = None
        if snap.scheduled_switchover is not None:
            choices.append(("cancel", "cancel the planned one: "
                            + snap.scheduled_switchover.text(pair.zone, now)))
        else:
            try:
                moment = after_next_restore(pair, datetime.fromtimestamp(now, UTC))
                at = moment.at.astimezone(pair.zone)
                choices.append(("later", f"after the next restore, at {at:%H:%M}: "
                                         f"{moment.loss}"))
            except ScheduleRefused as exc:
                choices.append(("later", f"not possible: {exc}"))

        def chosen(choice: str | None) -> None:
            if choice is None or self._ready("switchover") is None:
                return  # closed, or the pair is not ready any more (said by _ready)
            if choice == "now":
                self._open_plan(pair, ActionKind.SWITCHOVER, None)
            elif choice == "cancel":
                self.app.run_worker(self._cancel_switchover(pair.name), group="automation",
                                    exit_on_error=False)
            elif choice == "later" and moment is not None:
                self._open_plan(pair, ActionKind.SWITCHOVER, None, moment)
            elif choice == "later":
                self._say(choices[-1][1])

        self.app.push_screen(ChooseApplianceScreen("switchover", choices, "when?"), chosen)

    def _open_plan(self, pair: PairConfig, kind: ActionKind, target: str | None,
                   moment=None) -> None:
        """The guarded dialog for a plan; the caller has checked `_ready`."""
        snap = self.app.snapshots[pair.name]
        scheduled = None
        plan = plan_action(kind, pair, snap, target)
        if moment is not None:
            from ..engine.audit import actor
            from ..engine.switchover import ScheduledSwitchover

            scheduled = ScheduledSwitchover(
                at=moment.at.timestamp(), source=snap.verdict.production
                or snap.desired_production, target=plan.target, by=actor(),
                created_at=self.app.clock(), why="after the next restore", loss=moment.loss)
        context = PlanContext(snap, pair.zone, self.app.clock(), scheduled)
        self.app.push_screen(ActionDialog(plan, context))

    async def _schedule(self, dialog: ActionDialog, plan: Plan, item) -> None:
        from ..engine.switchover import record, scheduled_switchover, store_switchover

        app = self.app
        store, audit = app.store, app.audit_log
        text = item.text(app.config.pair(plan.pair).zone, app.clock())

        def write() -> str | None:
            if store is None:
                return "no state store in this console: nothing is scheduled"
            if scheduled_switchover(store, plan.pair) is not None:
                return "a switchover is planned already: cancel it first"
            store_switchover(store, plan.pair, item)
            if audit is not None:
                record(audit, plan.pair, "switchover-schedule", plan.target, "done",
                       f"scheduled in the console: {text}")
            return None

        try:
            problem = await asyncio.to_thread(write)
        except (OSError, ValueError) as exc:
            problem = f"not written: {exc}"
        if problem is not None:
            dialog.show_result(((("✖ REFUSED", "critical"), (f"  {problem}", "")),))
            return
        app.add_events([TimelineEvent(app.clock(), plan.pair, "action",
                                      f"planned in the console: {text}", "strong")])
        dialog.show_result(((("✔ SCHEDULED", "ok"), (f"  {text}", "")),
                            (("  a watcher running for the pair takes it up when it falls due; "
                              "without one, run `d42tui switchover --after-next-restore` "
                              "instead (it waits in the foreground)", "dim"),)))

    async def _cancel_switchover(self, pair: str) -> None:
        from ..engine.switchover import ScheduledSwitchover, record, take_switchover

        app = self.app
        if (why := app.policy.refusal("switchover")) is not None or app.store is None:
            self._say(why or "no state store in this console: nothing to cancel")
            return
        store, audit = app.store, app.audit_log
        zone = app.config.pair(pair).zone

        def write() -> str:
            raw = take_switchover(store, pair)
            if raw is None:
                return "no switchover is planned: nothing to cancel"
            try:
                text = ScheduledSwitchover.from_json(raw).text(zone, app.clock())
            except ValueError:
                text = "an unreadable record"
            if audit is not None:
                record(audit, pair, "switchover-cancel", pair, "done",
                       f"cancelled in the console: {text}")
            return f"cancelled: {text}"

        text = await asyncio.to_thread(write)
        app.add_events([TimelineEvent(app.clock(), pair, "action", text, "strong")])
        app.notify(text, timeout=6)

    def _about(self, pair: PairConfig, name: str) -> str:
        snap = self.app.snapshots[pair.name]
        text = f"{mode_text(snap.modes[name])} · {reach_text(snap.views[name])}"
        return text + (" · came back" if fencing_due(snap, name) else "")

    def open_dns(self) -> None:
        pair = self._ready("dns")
        if pair is None:
            return
        if pair.dns is None:
            self._say(f"pair {pair.name} has no dns: section: there is no DNS name to edit")
            return
        from .screens.dns_dialog import DnsDialog

        snap = self.app.snapshots[pair.name]
        production = effective_production(snap.desired_production, snap.modes)
        watch = self.app.dns_watch
        self.app.push_screen(DnsDialog(pair, snap, watch.answers.get(pair.name), production))
        watch.refresh(pair.name)  # the dialog shows the answer as of now, not 10 s ago

    def open_automation(self) -> None:
        """Pause (reason, optional duration) or, when paused or held, resume automation."""
        pair = self._ready("automation")
        if pair is None:
            return
        app = self.app
        state = app.refresh_automation(pair.name, force=True)
        if app.store is None or state is None:
            self._say("automation: no state store in this console: nothing to pause")
            return
        from .screens.automation_dialog import AutomationDialog

        app.push_screen(AutomationDialog(pair.name, state, app.clock(), app.local_tz),
                        self.write_automation)

    def write_automation(self, request: AutomationRequest | None) -> None:
        """The dialog's answer, written through the engine (state file and audit log) in a
        worker thread: the fsyncs never hold up the screen."""
        app = self.app
        if request is None or app.store is None:
            return
        if (why := app.policy.refusal("automation")) is not None:
            self._say(why)
            return
        if self.busy(request.pair):
            self._say(f"automation: an action on pair {request.pair} is in flight; nothing "
                      "was written")
            return
        app.run_worker(self._write_automation(request), name=f"automation {request.pair}",
                       group="automation", exit_on_error=False)

    async def _write_automation(self, request: AutomationRequest) -> None:
        from ..watch.status import pause_automation, resume_automation

        app = self.app
        store = app.store
        assert store is not None
        now = app.clock()

        def write() -> str:
            if request.resume:
                cleared = resume_automation(store, request.pair, now=now, audit=app.audit_log)
                return "automation resumed in the console" + (
                    f" (was {'; '.join(p.text(now) for p in cleared)})" if cleared else "")
            pause = pause_automation(store, request.pair, reason=request.reason,
                                     duration=request.duration, now=now, audit=app.audit_log)
            return f"automation paused in the console: {pause.text(now)}"

        try:
            text = await asyncio.to_thread(write)
        except (OSError, ValueError) as exc:
            self._say(f"automation: not written: {exc}", "error")
            return
        app.refresh_automation(request.pair, force=True)
        app.add_events([TimelineEvent(now, request.pair, "action", text, "strong")])
        app.notify(text, timeout=6)

    # --- the dialog's answers -----------------------------------------------------------

    def ended(self, plan: Plan, outcome: str, detail: str, force: bool = False) -> None:
        """Closed without running: the audit log still gets it (before and after)."""
        self.app.add_events([TimelineEvent(self.app.clock(), plan.pair, "action",
                                           f"{plan.action.value} {plan.target}: {outcome} "
                                           f"— {detail}", "dim")])
        if self.runner is not None:
            self.app.run_worker(partial(self.runner.refuse, plan, outcome, detail, force),
                                thread=True, group="audit", exit_on_error=False)

    def ask_force(self, dialog: ActionDialog, plan: Plan) -> None:
        from .screens.force_dialog import ForceDialog

        def answered(force: bool | None) -> None:
            if force:
                dialog.forced()

        self.app.push_screen(ForceDialog(plan), answered)

    def start(self, dialog: ActionDialog, plan: Plan, force: bool) -> None:
        label = f"{plan.action.value} {plan.target}"
        scheduled = dialog.context.scheduled if dialog.context is not None else None
        if scheduled is not None:  # a planned switchover: stored, not run now
            self.app.run_worker(self._schedule(dialog, plan, scheduled), group="automation",
                                exit_on_error=False)
            return
        if self.runner is None:
            dialog.show_result(((("✖ REFUSED", "critical"),
                                 ("  no action runner in this console: nothing was sent", "")),))
            return
        if self.busy(plan.pair):  # a second confirmation while one runs: the runner would refuse
            dialog.show_result(((("✖ REFUSED", "critical"),
                                 (f"  an action on pair {plan.pair} is in flight", "")),))
            return
        self.running[plan.pair] = label
        self.app.in_flight.append(label)
        snap = self.app.snapshots.get(plan.pair)
        self.app.fold.begin(plan.pair, label, snap.verdict if snap else None)
        self.app.show_acting()
        self.app.add_events([TimelineEvent(
            self.app.clock(), plan.pair, "action",
            f"{label}: confirmed in the console" + (" — FORCED" if force else ""), "strong")])
        self.app.run_worker(self._run(dialog, plan, force, label), name=f"action {label}",
                            group="action", exit_on_error=False)

    async def _run(self, dialog: ActionDialog, plan: Plan, force: bool, label: str) -> None:
        app = self.app
        assert self.runner is not None

        def progress(text: str) -> None:
            app.add_events([TimelineEvent(app.clock(), plan.pair, "action", f"{label}: {text}",
                                          "dim")])
            if dialog in app.screen_stack:
                dialog.progress(text)

        try:
            result = await self.runner.run(plan, force=force, progress=progress,
                                           warn=lambda text: progress(f"WARNING: {text}"))
        except Exception as exc:  # never a success it did not see, never a dead console
            self._crashed(dialog, plan, label, f"{exc.__class__.__name__}: {exc}")
            return
        finally:
            self.running.pop(plan.pair, None)
            if label in app.in_flight:
                app.in_flight.remove(label)
            app.show_acting()
        self._finished(dialog, result, label)

    def _ttl(self, plan: Plan) -> int | None:
        if plan.dns_ttl is not None:
            return plan.dns_ttl
        dns = self.app.config.pair(plan.pair).dns
        return dns.ttl if dns is not None else None

    def _finished(self, dialog: ActionDialog, result: ActionResult, label: str) -> None:
        app = self.app
        plan = result.plan
        ttl = self._ttl(plan)
        now = app.clock()
        events = [TimelineEvent(now, plan.pair, "action",
                                f"{label}: {step_name(s.step)}: {s.outcome} {s.message}".rstrip(),
                                "dim") for s in result.steps]
        events.append(TimelineEvent(now, plan.pair, "action", timeline_text(result),
                                    timeline_tone(result)))
        app.add_events(events)
        if dialog in app.screen_stack:
            dialog.show_result(result_lines(result, ttl))
        else:  # the operator hid the dialog: the result still has to reach them
            severity = {"done": "information", "cancelled": "warning", "refused": "warning"}.get(
                result.outcome, "error")
            app.notify(result.detail, title=f"{label}: {result.outcome.upper()}",
                       severity=severity, timeout=10)  # type: ignore[arg-type]
        if any(s.kind == "dns" for s in plan.steps):
            if ttl is not None and dns_switched(result):
                app.dns_switched(plan.pair, ttl)
            app.dns_watch.refresh(plan.pair)

    def _crashed(self, dialog: ActionDialog, plan: Plan, label: str, error: str) -> None:
        text = (f"the console hit an error while acting ({error}): it may have applied; "
                "the console keeps checking")
        self.app.add_events([TimelineEvent(self.app.clock(), plan.pair, "action",
                                           f"{label}: ? UNKNOWN — {text}", "warning")])
        if dialog in self.app.screen_stack:
            dialog.show_result(((("? UNKNOWN", "warning"), (f"  {text}", "")),))
        else:
            self.app.notify(text, title=f"{label}: UNKNOWN", severity="error", timeout=10)
