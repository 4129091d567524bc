"""ApplianceCard: one appliance of the pair — mode, reachability, health, backup or restore.

It is handed a `CardModel` (boardtext.py) and repaints only the lines whose text
changed, so a poll that changes nothing an operator can see costs no output and a
new CPU figure costs one line.
"""

from __future__ import annotations

from textual.content import Content
from textual.geometry import Region
from textual.reactive import reactive
from textual.widget import Widget

from ..text.boardtext import CARD_LINES, CardModel
from ._tones import TONE_CLASSES, lines_content


class ApplianceCard(Widget, can_focus=True):
    """One appliance's card; its border says the name and the asserted mode. Focus (Tab)
    chooses the appliance that promote, demote and re-assert act on."""

    DEFAULT_CSS = """
    ApplianceCard {
        width: 1fr;
        height: auto;
        min-height: 9;
        padding: 0 0 0 1;
        border: round $foreground 40%;
        border-title-style: bold;
        border-subtitle-style: bold;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    ApplianceCard.-ok { border: round $success; }
    ApplianceCard.-warning { border: heavy $warning; }
    ApplianceCard.-critical { border: heavy $error; }
    ApplianceCard:focus { border-title-style: bold reverse; background: $boost; }
    """

    model: reactive[CardModel | None] = reactive(None, repaint=False)

    def __init__(self, appliance: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.appliance = appliance
        self.border_title = appliance

    def watch_model(self, old: CardModel | None, model: CardModel | None) -> None:
        if model is None:
            return
        if (old is None or old.title != model.title or old.subtitle != model.subtitle
                or old.tone != model.tone or len(old.lines) != len(model.lines)):
            self.border_title = model.title
            self.border_subtitle = model.subtitle
            self.remove_class(*TONE_CLASSES)
            self.add_class(f"-{model.tone}")
            # A line more or less (the re-assert offer) changes the card's height.
            self.refresh(layout=old is None or len(old.lines) != len(model.lines))
            return
        width = self.size.width
        for y, (before, after) in enumerate(zip(old.lines, model.lines)):
            if before != after:
                self.refresh(Region(0, y, width, 1))

    def render(self) -> Content:
        if self.model is None:
            return Content("\n" * (CARD_LINES - 1))
        return lines_content(self.model.lines)
