"""PairsScreen: several pairs, one row each; Enter opens that pair's board."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from ...pair import PairSnapshot
from ..boardtext import pair_row
from ..timeline_events import TimelineEvent
from ..widgets.pair_table import PairTable
from ..widgets.status_line import StatusLine
from ..widgets.timeline import Timeline

if TYPE_CHECKING:
    from ..app import ConsoleApp


class PairsScreen(Screen):
    """The compact list of pairs, with the timeline of all of them below."""

    DEFAULT_CSS = """
    PairsScreen { layout: vertical; }
    PairsScreen PairTable { margin: 0 0 1 0; }
    """

    @property
    def console(self) -> "ConsoleApp":
        return cast("ConsoleApp", self.app)

    def compose(self) -> ComposeResult:
        yield PairTable([p.name for p in self.console.config.pairs], id="pairs")
        yield Timeline(local_tz=self.console.local_tz, id="timeline")
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        app = self.console
        self.query_one(Timeline).add(app.events)
        for pair in app.config.pairs:
            self.show_snapshot(app.snapshots.get(pair.name), pair.name)

    def show_snapshot(self, snap: PairSnapshot | None, name: str | None = None) -> None:
        name = snap.pair if snap is not None else name
        if name is None:
            return
        self.query_one(PairTable).show_row(pair_row(self.console.config.pair(name), snap))

    def add_events(self, events: list[TimelineEvent]) -> None:
        self.query_one(Timeline).add(events)

    def on_pair_table_pair_chosen(self, message: PairTable.PairChosen) -> None:
        self.console.open_pair(message.pair)
