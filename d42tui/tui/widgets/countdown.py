"""Countdown: the only widget that changes every second (the schedule countdowns).

Kept narrow and separate from its labels so a 1 Hz tick repaints a few cells, not
the board.
"""

from __future__ import annotations

from textual.content import Content
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

    lines: reactive[tuple[str, ...]] = reactive((), layout=True)

    def render(self) -> Content:
        return Content("\n".join(self.lines))
