"""ForceDialog: the second, explicit step before overriding a refusal (typing FORCE).

It states what forcing risks, and the button stays disabled until FORCE is typed; it
never sends anything itself — it answers the action dialog underneath.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ...actions.planner import Plan
from ..widgets._tones import lines_content
from .action_dialog import type_into

WORD = "FORCE"


class ForceDialog(ModalScreen[bool]):
    """Answers True only after FORCE was typed and the button pressed."""

    BINDINGS = [Binding("escape", "back", "back")]
    AUTO_FOCUS = "#back"

    DEFAULT_CSS = """
    ForceDialog { align: center middle; }
    ForceDialog > Vertical {
        width: 70; max-width: 100%; height: auto; max-height: 100%;
        border: heavy $error; border-title-style: bold; background: $surface; padding: 0 1;
    }
    ForceDialog Static { height: auto; }
    ForceDialog .row { height: 1; margin-top: 1; }
    ForceDialog .row Label { width: auto; margin-right: 1; }
    ForceDialog .row Input { width: 1fr; background: $panel; }
    ForceDialog #buttons { height: 1; margin-top: 1; align-horizontal: right; }
    ForceDialog #buttons Button { margin-left: 2; min-width: 10; }
    """

    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        plan = self.plan
        with Vertical() as box:
            box.border_title = f"force {plan.action.value} {plan.target}?"
            yield Static(lines_content((
                ((f"Refused: {plan.refusal}", "critical"),),
                (("", ""),),
                (("Forcing risks: ", "strong"), (plan.force_risk or "unknown", "warning")),
                (("Force only if you know why the check is wrong (for example: the peer "
                  "is fenced by other means). It is recorded as forced in the audit log.",
                  ""),),
            )), markup=False)
            with Horizontal(classes="row"):
                yield Label(f"Type {WORD} to override:")
                yield Input(id="word", compact=True, select_on_focus=False)
            with Horizontal(id="buttons"):
                yield Button("Back", id="back", compact=True)
                yield Button(f"Force {plan.action.value}", id="go", variant="error",
                             compact=True, disabled=True)

    def on_key(self, event: Key) -> None:
        type_into(self, event, self.query_one("#word", Input))

    @on(Input.Changed, "#word")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#go", Button).disabled = event.value.strip() != WORD

    @on(Input.Submitted, "#word")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == WORD:
            self.dismiss(True)

    @on(Button.Pressed, "#go")
    def _go(self) -> None:
        if self.query_one("#word", Input).value.strip() == WORD:
            self.dismiss(True)

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.dismiss(False)

    def action_back(self) -> None:
        self.dismiss(False)
