"""Countdown: the only widget that changes every second (the schedule countdowns).

Kept narrow and separate from its labels so a 1 Hz tick repaints a few cells, not
the board.
"""

from __future__ import annotations

from textual.content import Content
from textual.geometry import Region
from textual.reactive import reactive
from textual.widget import Widget


class Countdown(Widget):
    """Right-aligned countdown lines (`1:23:45`), one per schedule row."""

    DEFAULT_CSS = """
    Countdown {
        width: auto;
        height: auto;
        text-style: bold;
    }
    """

    lines: reactive[tuple[str, ...]] = reactive((), repaint=False)

    def watch_lines(self, old: tuple[str, ...], new: tuple[str, ...]) -> None:
        # Each tick repaints only the line that changed (the soonest countdown).
        if len(old) != len(new) or any(len(a) != len(b) for a, b in zip(old, new)):
            self.refresh(layout=True)
            return
        for y, (a, b) in enumerate(zip(old, new)):
            if a != b:
                self.refresh(Region(0, y, self.size.width, 1))

    def render(self) -> Content:
        return Content("\n".join(self.lines))
