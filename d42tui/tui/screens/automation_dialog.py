"""AutomationDialog: pause (reason required, optional duration) or resume watch-mode automation.

Cancel has the focus and Escape cancels (nothing is written). The dialog only asks: it
returns an `AutomationRequest` and the app writes it through the engine's
`pause_automation` / `resume_automation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ...config.durations import parse_duration
from ...watch.status import AutomationState
from ..text.autotext import automation_line, pause_effect, resume_effect
from ..widgets._tones import lines_content
from .action_dialog import type_into


@dataclass(frozen=True)
class AutomationRequest:
    pair: str
    resume: bool
    reason: str = ""
    duration: float | None = None


class AutomationDialog(ModalScreen["AutomationRequest | None"]):
    BINDINGS = [Binding("escape", "cancel", "cancel")]
    AUTO_FOCUS = "#cancel"

    DEFAULT_CSS = """
    AutomationDialog { align: center middle; }
    AutomationDialog > #box {
        width: 78; max-width: 100%; height: auto; max-height: 100%;
        border: heavy $warning; border-title-style: bold; background: $surface; padding: 0 1;
    }
    AutomationDialog Static { height: auto; }
    AutomationDialog #effect { margin-top: 1; }
    AutomationDialog #problem { color: $error; text-style: bold; }
    AutomationDialog .row { height: 1; margin-top: 1; }
    AutomationDialog .row Label { width: 9; }
    AutomationDialog .row Input { width: 1fr; background: $panel; }
    AutomationDialog #buttons { height: 1; margin-top: 1; align-horizontal: right; }
    AutomationDialog #buttons Button { margin-left: 2; min-width: 10; }
    """

    def __init__(self, pair: str, state: AutomationState, now: float,
                 tz: tzinfo | None) -> None:
        super().__init__()
        self.pair = pair
        self.state = state
        self.now = now
        self.tz = tz
        self.resume = state.pause is not None

    def compose(self) -> ComposeResult:
        verb = "Resume" if self.resume else "Pause"
        with Vertical(id="box") as box:
            box.border_title = f"{verb} automatic failover · pair {self.pair}"
            yield Static(lines_content(automation_line(self.state, self.tz)), id="now",
                         markup=False)
            if not self.resume:
                with Horizontal(classes="row"):
                    yield Label("Reason:")
                    yield Input(id="reason", compact=True, select_on_focus=False,
                                placeholder="required: the next person on call reads it")
                with Horizontal(classes="row"):
                    yield Label("For:")
                    yield Input(id="for", compact=True, select_on_focus=False,
                                placeholder="e.g. 30m or 2h; empty: until resumed")
            yield Static(id="effect", markup=False)
            yield Static(id="problem", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button(f"{verb} automation", id="confirm", variant="warning",
                             compact=True, disabled=not self.resume)

    def on_mount(self) -> None:
        self._check()

    def request(self) -> tuple[AutomationRequest | None, str]:
        """What confirming would write, or None and why not."""
        if self.resume:
            return AutomationRequest(self.pair, True), ""
        reason = " ".join(self.query_one("#reason", Input).value.split())
        typed = self.query_one("#for", Input).value.strip()
        duration: float | None = None
        if typed:
            try:
                duration = parse_duration(typed)
            except ValueError as exc:
                return None, f"For: {exc}"
            if duration <= 0:
                return None, "For: a positive duration such as 30m or 2h"
        if not reason:
            return None, "Type a reason to pause."
        return AutomationRequest(self.pair, False, reason, duration), ""

    def _check(self) -> None:
        request, problem = self.request()
        if self.resume:
            effect = resume_effect(self.pair, self.state)
        else:
            duration = request.duration if request else None
            effect = pause_effect(self.pair, duration, self.now, self.tz)
        self.query_one("#effect", Static).update(effect)
        self.query_one("#problem", Static).update(problem)
        self.query_one("#problem").display = bool(problem)
        self.query_one("#confirm", Button).disabled = request is None

    @on(Input.Changed)
    def _changed(self) -> None:
        self._check()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self._confirm()

    def on_key(self, event: Key) -> None:
        if not self.resume:
            type_into(self, event, self.query_one("#reason", Input))

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        request, _ = self.request()
        if request is not None:
            self.dismiss(request)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
