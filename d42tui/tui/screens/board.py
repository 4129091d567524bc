"""BoardScreen: one pair — verdict banner, two appliance cards, schedules, watch-mode
automation, the backup pipeline, the DNS name, timeline."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer

from ...config.models import PairConfig
from ...engine.pair import PairSnapshot, effective_production
from ..pairview import PairView
from ..text.autotext import automation_line
from ..text.boardtext import banner_model, card_model, fencing_due, waiting_card
from ..text.nextstep import next_step
from ..text.paneltext import dns_lines, pipeline_lines
from ..timeline_events import TimelineEvent
from ..widgets.appliance_card import ApplianceCard
from ..widgets.line_panel import LinePanel
from ..widgets.schedule_panel import SchedulePanel
from ..widgets.status_line import StatusLine
from ..widgets.timeline import Timeline
from ..widgets.verdict_banner import VerdictBanner

CLASH = "restore-before-backup"  # shown beside the schedules, not in the pipeline panel

if TYPE_CHECKING:
    from ...dns import DnsAnswer
    from ...watch.status import AutomationState
    from ..app import ConsoleApp

AGES_EVERY = 15.0  # seconds: re-derive ages and windows when no poll arrives (paused)


class BoardScreen(Screen, PairView):
    """The board of one pair. The app hands it snapshots and timeline events."""

    BINDINGS = [
        Binding("l", "toggle_timeline", "timeline", tooltip="maximize / restore the timeline"),
        Binding("escape", "back", "pairs", tooltip="back to the list of pairs"),
    ]

    # The timeline, not the first card: P, D and R act on a card only when it was chosen.
    AUTO_FOCUS = "#timeline"

    DEFAULT_CSS = """
    BoardScreen { layout: vertical; }
    BoardScreen #cards { height: auto; }
    """

    def __init__(self, pair: PairConfig) -> None:
        super().__init__(name=f"board-{pair.name}")
        self.pair = pair
        self.snapshot: PairSnapshot | None = None
        # Kept from compose: a snapshot may arrive before every grandchild is mounted.
        self.banner = VerdictBanner(id="banner")
        self.cards = {a.name: ApplianceCard(a.name, id=f"card-{a.name}") for a in pair.appliances}
        self.timeline = Timeline(pair=pair.name, id="timeline")
        self.schedule: SchedulePanel | None = None
        self.automation = LinePanel(id="automation")
        self.pipeline = LinePanel(id="pipeline")
        self.dns = LinePanel(id="dns") if pair.dns is not None else None
        self.dns_answer: DnsAnswer | None = None

    @property
    def console(self) -> ConsoleApp:
        return cast("ConsoleApp", self.app)

    def compose(self) -> ComposeResult:
        app = self.console
        self.timeline.local_tz = app.local_tz
        self.schedule = SchedulePanel(self.pair, clock=app.clock, local_tz=app.local_tz,
                                      id="schedule")
        yield self.banner
        with Horizontal(id="cards"):
            yield from self.cards.values()
        yield self.schedule
        yield self.automation
        yield self.pipeline
        if self.dns is not None:
            yield self.dns
        yield self.timeline
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        app = self.console
        self.timeline.replace(app.events)
        self.dns_answer = app.dns_watch.answers.get(self.pair.name)
        self.show_snapshot(app.snapshots.get(self.pair.name))
        state = app.automation.get(self.pair.name)
        if state is not None:
            self.show_automation(self.pair.name, state)
        follow = app.dns_follow.get(self.pair.name)
        if follow is not None and self.schedule is not None:
            self.schedule.show_follow(*follow)
        self.set_interval(AGES_EVERY, self.refresh_ages)

    def show_snapshot(self, snap: PairSnapshot | None) -> None:
        """Render a snapshot; only widgets whose text changed repaint."""
        if snap is not None and snap.pair != self.pair.name:
            return
        self.snapshot = snap
        now = self.console.clock()
        self._show_banner()
        offers = ({a.name: fencing_due(snap, a.name) for a in self.pair.appliances}
                  if snap is not None else {})
        for appliance in self.pair.appliances:
            card = self.cards[appliance.name]
            if snap is None:
                card.model = waiting_card(appliance, self.console.declared_mode(
                    self.pair, appliance.name))
            else:
                card.model = card_model(self.pair, appliance, snap.views[appliance.name],
                                        snap.modes[appliance.name], now, card.model,
                                        fencing=offers[appliance.name], pad=any(offers.values()))
        self.pipeline.lines = pipeline_lines(self.pair, snap, now, skip=(CLASH,))
        self._show_dns()
        if self.schedule is None:
            return
        if snap is not None and snap.pipeline is not None:
            self.schedule.show_clash(next((w.text for w in snap.pipeline.warnings
                                           if w.code == CLASH), ""))
        if snap is not None:
            prods = [n for n in snap.order or snap.modes if snap.modes[n].mode == "production"]
            stands = [n for n in snap.order or snap.modes if snap.modes[n].mode == "standby"]
            self.schedule.roles = (", ".join(prods) or None, ", ".join(stands) or None)
        else:
            self.schedule.roles = (self.pair.production,
                                   self.pair.peer_of(self.pair.production).name)

    def add_events(self, events: list[TimelineEvent]) -> None:
        self.timeline.add(events)

    def show_dns(self, pair: str, answer: DnsAnswer) -> None:
        if pair == self.pair.name:
            self.dns_answer = answer
            self._show_dns()
            self._show_banner()

    def refresh_banner(self) -> None:
        self._show_banner()

    def _show_banner(self) -> None:
        app = self.console
        step = next_step(self.pair, self.snapshot, read_only=app.policy.read_only,
                         acting=app.desk.running.get(self.pair.name))
        self.banner.model = banner_model(self.pair, self.snapshot,
                                         app.dns_problems.get(self.pair.name), step)

    def _show_dns(self) -> None:
        if self.dns is None or self.pair.dns is None:
            return
        snap = self.snapshot
        if snap is None and self.dns_answer is not None:
            return  # whether it matches production waits for the first poll
        production = effective_production(snap.desired_production, snap.modes) if snap else None
        self.dns.lines = dns_lines(self.pair.dns, self.dns_answer, production)

    def show_automation(self, pair: str, state: AutomationState) -> None:
        if pair == self.pair.name:
            self.automation.lines = automation_line(state, self.console.local_tz)

    def show_follow(self, pair: str, text: str, until: float) -> None:
        if pair == self.pair.name and self.schedule is not None:
            self.schedule.show_follow(text, until)

    def refresh_ages(self) -> None:
        self.show_snapshot(self.snapshot)

    def focused_appliance(self) -> str | None:
        focused = self.focused
        return focused.appliance if isinstance(focused, ApplianceCard) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return len(self.console.config.pairs) > 1
        return True

    def action_back(self) -> None:
        self.dismiss()

    def action_toggle_timeline(self) -> None:
        if self.maximized is not None:
            self.minimize()
        else:
            self.maximize(self.timeline, container=False)
