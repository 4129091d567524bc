"""FaultMenuScreen (demo only): pick a fault to inject into a simulated appliance."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from ..demo import FAULT_KEYS, FaultChoice, fault_menu_lines


class FaultMenuScreen(ModalScreen[FaultChoice | None]):
    """Tab (or an arrow) picks the appliance, a digit the fault; c clears all, Esc closes."""

    BINDINGS = [
        *(Binding(key, f"pick('{kind}')", show=False) for key, (kind, _) in FAULT_KEYS.items()),
        Binding("tab,left,right", "other", "other appliance", show=False),
        Binding("c", "clear", "clear all"),
        Binding("escape,x", "close", "close"),
    ]

    DEFAULT_CSS = """
    FaultMenuScreen { align: center middle; }
    FaultMenuScreen > Vertical {
        width: 64; height: auto; padding: 0 2; border: round $accent; background: $surface;
    }
    """

    def __init__(self, appliances: list[str]) -> None:
        super().__init__()
        self.appliances = appliances
        self.target = 0
        self.menu = Static(self._text())

    def _text(self) -> Content:
        return Content("\n".join(fault_menu_lines(self.appliances, self.target)))

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "demo: inject a fault"
            yield self.menu

    def action_other(self) -> None:
        self.target = (self.target + 1) % min(2, len(self.appliances))
        self.menu.update(self._text())

    def action_pick(self, kind: str) -> None:
        self.dismiss(FaultChoice(self.appliances[self.target], kind))

    def action_clear(self) -> None:
        self.dismiss(FaultChoice(None, "none"))

    def action_close(self) -> None:
        self.dismiss(None)
