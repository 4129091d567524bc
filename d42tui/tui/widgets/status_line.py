"""StatusLine: one quiet line about the console itself — polling, pause, read-only, demo."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from ..text.boardtext import Line
from ._tones import line_content


class StatusLine(Widget):
    """Changes only when the console's own state changes (never per poll)."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        padding: 0 1;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    line: reactive[Line] = reactive(())

    def on_mount(self) -> None:
        # The app owns the console's state; every screen's status line mirrors it.
        self.watch(self.app, "status_line", self._mirror, init=True)

    def _mirror(self, line: Line) -> None:
        self.line = line

    def render(self) -> Content:
        return line_content(self.line)
