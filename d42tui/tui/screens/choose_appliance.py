"""ChooseApplianceScreen: which appliance a promote, demote or re-assert is for.

Asked only when no card has the focus; digits pick, ↑ ↓ and Enter too, Esc closes.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option


class ChooseApplianceScreen(ModalScreen[str | None]):
    """Answers the chosen appliance's name, or None."""

    BINDINGS = [Binding("escape", "close", "close"),
                *(Binding(str(i), f"pick({i - 1})", show=False) for i in range(1, 10))]

    DEFAULT_CSS = """
    ChooseApplianceScreen { align: center middle; }
    ChooseApplianceScreen > Vertical {
        width: 74; max-width: 100%; height: auto; border: round $accent; background: $surface;
        padding: 0 1;
    }
    ChooseApplianceScreen OptionList, ChooseApplianceScreen OptionList:focus {
        height: auto; border: none; padding: 0;
    }
    """

    def __init__(self, action: str, choices: list[tuple[str, str]],
                 question: str = "which appliance?") -> None:
        """`choices`: (appliance, what the card says of it in a few words); or any short
        names and what each means, with another `question` (the switchover's when)."""
        super().__init__()
        self.action = action
        self.choices = choices
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"{self.action}: {self.question} · Esc closes"
            yield OptionList(*(Option(Content(f"{i}  {name:<14} {about}"), id=name)
                               for i, (name, about) in enumerate(self.choices, 1)))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_pick(self, index: int) -> None:
        if 0 <= index < len(self.choices):
            self.dismiss(self.choices[index][0])

    def action_close(self) -> None:
        self.dismiss(None)
