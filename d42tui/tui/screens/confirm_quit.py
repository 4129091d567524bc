"""ConfirmQuitScreen: asked only when an action is in flight (quitting could strand it)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmQuitScreen(ModalScreen[bool]):
    """`y` quits anyway, `n` or Escape goes back."""

    BINDINGS = [Binding("y", "answer(True)", "quit anyway"),
                Binding("n,escape", "answer(False)", "stay")]

    DEFAULT_CSS = """
    ConfirmQuitScreen { align: center middle; }
    ConfirmQuitScreen > Vertical {
        width: 60; height: auto; padding: 1 2; border: heavy $warning; background: $surface;
    }
    """

    def __init__(self, in_flight: list[str]) -> None:
        super().__init__()
        self.in_flight = in_flight

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"An action is in flight: {', '.join(self.in_flight)}.\n"
                         "Quitting now leaves its result unknown.\n\n"
                         "y  quit anyway      n  stay", markup=False)

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
