"""Timeline: state changes and actions, newest first, in a pane that scrolls by itself.

Each event is wrapped to the pane's width (its continuation indented under the text),
never cut; an event with a key replaces the one with the same key where it stands.
Lines are drawn on demand (line API), so a new event repaints this pane only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..text.boardtext import Line
from ..text.wrap import wrap_line
from ..timeline_events import TimelineEvent

MAX_EVENTS = 1000
STAMP = len("00:00:00 ")


class Timeline(ScrollView, can_focus=True):
    """Every verdict change, appliance state change and console event, newest first."""

    DEFAULT_CSS = """
    Timeline {
        height: 1fr;
        min-height: 3;
        border-top: solid $foreground 30%;
        border-title-align: left;
        border-title-color: $foreground 70%;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    Timeline:focus { border-top: solid $primary; }
    Timeline > .timeline--stamp { color: $foreground 60%; }
    Timeline > .timeline--ok { color: $success; }
    Timeline > .timeline--warning { color: $warning; text-style: bold; }
    Timeline > .timeline--critical { color: $error; text-style: bold; }
    Timeline > .timeline--dim { color: $foreground 60%; }
    Timeline > .timeline--strong { text-style: bold; }
    """

    COMPONENT_CLASSES = {"timeline--stamp", "timeline--ok", "timeline--warning",
                         "timeline--critical", "timeline--dim", "timeline--strong"}

    def __init__(self, *, pair: str | None = None, local_tz: tzinfo | None = None,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.pair = pair  # show only this pair's events (and the console's own)
        self.local_tz = local_tz
        self.events: list[TimelineEvent] = []  # newest first
        self._wrapped: list[tuple[Line, ...]] = []  # each event's rows, as `events`
        self._rows: list[Line] = []  # all of them, newest first
        self._width = 0
        self.border_title = "Timeline · newest first"

    def wants(self, event: TimelineEvent) -> bool:
        return self.pair is None or event.pair in (None, self.pair)

    def replace(self, events: Iterable[TimelineEvent]) -> None:
        """Show exactly these events (oldest first): what a screen does when it mounts."""
        self.events, self._wrapped = [], []
        self.add(events)
        self._lay_out()

    def add(self, events: Iterable[TimelineEvent]) -> None:
        """Add events (oldest first, as they happened); one whose key is shown already
        takes that line's place."""
        changed = False
        if self._width != self._content_width():
            self._width = self._content_width()
            self._wrapped = [self._wrap(e) for e in self.events]
        for event in events:
            if not self.wants(event):
                continue
            changed = True
            index = self._index_of(event.key)
            if index is None:
                self.events.insert(0, event)
                self._wrapped.insert(0, self._wrap(event))
            else:
                self.events[index] = event
                self._wrapped[index] = self._wrap(event)
        if not changed:
            return
        del self.events[MAX_EVENTS:]
        del self._wrapped[MAX_EVENTS:]
        self._lay_out()

    def _index_of(self, key: str | None) -> int | None:
        if key is None:
            return None
        return next((i for i, e in enumerate(self.events) if e.key == key), None)

    def texts(self) -> list[str]:
        """The rows as shown (for tests and the snapshot of what is on screen)."""
        return ["".join(text for text, _ in row) for row in self._rows]

    def _content_width(self) -> int:
        width = self.scrollable_content_region.width
        return width if width > 0 else max(20, self.app.size.width - 3)

    def _wrap(self, event: TimelineEvent) -> tuple[Line, ...]:
        return wrap_line(((event.stamp(self.local_tz) + " ", "stamp"),
                          (event.text, event.tone)), self._width, STAMP)

    def _lay_out(self) -> None:
        self._rows = [row for rows in self._wrapped for row in rows]
        self.virtual_size = Size(self._width, len(self._rows))
        self.refresh()

    def on_resize(self) -> None:
        if self._content_width() != self._width:
            self._width = self._content_width()
            self._wrapped = [self._wrap(e) for e in self.events]
            self._lay_out()

    def _style(self, tone: str) -> Style:
        if not tone or tone == "unknown":
            return self.rich_style
        return self.rich_style + self.get_component_rich_style(f"timeline--{tone}",
                                                              partial=True)

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.size.width
        base = self.rich_style
        if index >= len(self._rows):
            return Strip.blank(width, base)
        segments = [Segment(text, self._style(tone)) for text, tone in self._rows[index]]
        return Strip(segments).crop_extend(0, width, base)
