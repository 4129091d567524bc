"""Timeline: state changes and actions, newest first, in a pane that scrolls by itself.

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

from ..timeline_events import TimelineEvent

MAX_EVENTS = 1000


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
        self.border_title = "Timeline · newest first"

    def wants(self, event: TimelineEvent) -> bool:
        return self.pair is None or event.pair in (None, self.pair)

    def replace(self, events: Iterable[TimelineEvent]) -> None:
        """Show exactly these events (oldest first): what a screen does when it mounts."""
        self.events = []
        self.add(events)
        self.refresh()

    def add(self, events: Iterable[TimelineEvent]) -> None:
        """Add events (oldest first, as they happened)."""
        new = [e for e in events if self.wants(e)]
        if not new:
            return
        self.events[:0] = reversed(new)
        del self.events[MAX_EVENTS:]
        self.virtual_size = Size(self.size.width, len(self.events))
        self.refresh()

    def _style(self, tone: str) -> Style:
        if not tone or tone == "unknown":
            return self.rich_style
        return self.rich_style + self.get_component_rich_style(f"timeline--{tone}",
                                                              partial=True)

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.size.width
        base = self.rich_style
        if index >= len(self.events):
            return Strip.blank(width, base)
        event = self.events[index]
        stamp = base + self.get_component_rich_style("timeline--stamp", partial=True)
        segments = [Segment(event.stamp(self.local_tz) + " ", stamp),
                    Segment(event.text, self._style(event.tone))]
        return Strip(segments).crop_extend(0, width, base)
