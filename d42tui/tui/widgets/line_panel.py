"""LinePanel: a few toned lines on the board (the DNS line, the backup pipeline).

It is handed the lines (pure data from paneltext.py) and repaints only the lines whose
text changed; with no lines it takes no room at all.
"""

from __future__ import annotations

from textual.content import Content
from textual.geometry import Region
from textual.reactive import reactive
from textual.widget import Widget

from ..text.boardtext import Line
from ._tones import lines_content


class LinePanel(Widget):
    """Lines of text with tones; hidden while it has none."""

    DEFAULT_CSS = """
    LinePanel {
        height: auto;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    LinePanel.-empty { display: none; }
    """

    lines: reactive[tuple[Line, ...]] = reactive((), repaint=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="-empty")

    def watch_lines(self, old: tuple[Line, ...], new: tuple[Line, ...]) -> None:
        if len(old) != len(new):
            self.set_class(not new, "-empty")
            self.refresh(layout=True)
            return
        width = self.size.width
        for y, (before, after) in enumerate(zip(old, new)):
            if before != after:
                self.refresh(Region(0, y, width, 1))

    def render(self) -> Content:
        return lines_content(self.lines)
