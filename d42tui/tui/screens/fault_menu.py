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
    """Digits choose (1–5 the first appliance, 6–0 the second), c clears all, Esc closes."""

    BINDINGS = [
        *(Binding(key, f"pick({index}, '{kind}')", show=False)
          for key, (index, kind, _) in FAULT_KEYS.items()),
        Binding("c", "pick(-1, 'none')", "clear all"),
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

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "demo: inject a fault"
            yield Static(Content("\n".join(fault_menu_lines(self.appliances))))

    def action_pick(self, index: int, kind: str) -> None:
        self.dismiss(FaultChoice(None if index < 0 else self.appliances[index], kind))

    def action_close(self) -> None:
        self.dismiss(None)
