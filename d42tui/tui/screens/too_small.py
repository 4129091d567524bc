"""TooSmallScreen: shown instead of a clipped board while the terminal is below the minimum."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Middle
from textual.screen import ModalScreen
from textual.widgets import Static


class TooSmallScreen(ModalScreen[None]):
    """Covers everything; the app removes it as soon as the terminal is large enough."""

    BINDINGS = [Binding("q", "app.request_quit", "quit")]

    DEFAULT_CSS = """
    TooSmallScreen { background: $background; align: center middle; }
    TooSmallScreen Static { width: auto; text-style: bold; }
    """

    def __init__(self, need: tuple[int, int], have: tuple[int, int]) -> None:
        super().__init__()
        self.need = need
        self.have = have

    def message(self) -> str:
        (nw, nh), (hw, hh) = self.need, self.have
        return f"terminal too small: need {nw}×{nh}, have {hw}×{hh}\nenlarge it, or q to quit"

    def compose(self) -> ComposeResult:
        with Middle():
            with Center():
                yield Static(self.message(), id="too-small", markup=False)

    def update_size(self, have: tuple[int, int]) -> None:
        self.have = have
        if self.is_mounted:
            self.query_one("#too-small", Static).update(self.message())
