"""PairsScreen: several pairs, one row each; Enter opens that pair's board."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer

from ...engine.pair import PairSnapshot
from ..pairview import PairView
from ..text.autotext import automation_short
from ..text.boardtext import pair_row
from ..timeline_events import TimelineEvent
from ..widgets.pair_table import PairTable
from ..widgets.status_line import StatusLine
from ..widgets.timeline import Timeline

if TYPE_CHECKING:
    from ...dns import DnsAnswer
    from ...watch.status import AutomationState
    from ..app import ConsoleApp


class PairsScreen(Screen, PairView):
    """The compact list of pairs, with the timeline of all of them below."""

    class OpenPair(Message):
        """The person asked for this pair's board (the app opens it)."""

        def __init__(self, pair: str) -> None:
            super().__init__()
            self.pair = pair

    BINDINGS = [Binding("enter", "open_selected", "open pair",
                        tooltip="open the board of the pair under the cursor")]

    DEFAULT_CSS = """
    PairsScreen { layout: vertical; }
    PairsScreen PairTable { margin: 0 0 1 0; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.table: PairTable | None = None
        self.timeline = Timeline(id="timeline")

    @property
    def console(self) -> ConsoleApp:
        return cast("ConsoleApp", self.app)

    def compose(self) -> ComposeResult:
        self.table = PairTable([p.name for p in self.console.config.pairs], id="pairs")
        self.timeline.local_tz = self.console.local_tz
        yield self.table
        yield self.timeline
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        app = self.console
        self.timeline.replace(app.events)
        for pair in app.config.pairs:
            self.show_snapshot(app.snapshots.get(pair.name), pair.name)

    def show_snapshot(self, snap: PairSnapshot | None, name: str | None = None) -> None:
        name = snap.pair if snap is not None else name
        if name is None or self.table is None:
            return
        app = self.console
        self.table.show_row(pair_row(app.config.pair(name), snap,
                                     automation_short(app.automation.get(name)),
                                     app.dns_problems.get(name)))

    def show_dns(self, pair: str, answer: DnsAnswer) -> None:
        self.show_snapshot(self.console.snapshots.get(pair), pair)

    def show_automation(self, pair: str, state: AutomationState) -> None:
        self.show_snapshot(self.console.snapshots.get(pair), pair)

    def add_events(self, events: list[TimelineEvent]) -> None:
        self.timeline.add(events)

    def selected_pair(self) -> str | None:
        """The pair under the cursor: the one the action keys act on from this list."""
        table = self.table
        if table is None or not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def action_open_selected(self) -> None:
        if (name := self.selected_pair()) is not None:
            self.post_message(self.OpenPair(name))

    def on_pair_table_pair_chosen(self, message: PairTable.PairChosen) -> None:
        message.stop()
        self.post_message(self.OpenPair(message.pair))
