"""NameField: a typed confirmation — `Type d42-b to confirm: [d42-b▏        ]`.

The field is boxed in glyphs and its cursor is drawn reversed, so that it shows with
no colour at all (NO_COLOR, a monochrome terminal); the prompt says in words what is
wrong when Enter is pressed on a name that does not match.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Input, Label

from ._tones import TONE_STYLE


class NameField(Horizontal):
    """A prompt and a one-line field; the dialog owning it decides what matches."""

    DEFAULT_CSS = """
    NameField { height: 1; margin-top: 1; }
    NameField > Label { width: auto; }
    NameField > .prompt { margin-right: 1; }
    NameField > Input { width: 1fr; background: $panel; }
    NameField > Input > .input--cursor { text-style: reverse; }
    """

    def __init__(self, prompt: str, *, id: str, field_id: str, label_id: str) -> None:
        super().__init__(id=id)
        self._prompt = prompt
        self.field_id = field_id
        self.label_id = label_id

    def compose(self) -> ComposeResult:
        yield Label(self._prompt, id=self.label_id, classes="prompt")
        yield Label("[")
        yield Input(id=self.field_id, compact=True, select_on_focus=False)
        yield Label("]")

    @property
    def field(self) -> Input:
        return self.query_one(f"#{self.field_id}", Input)

    def prompt(self, text: str, tone: str = "") -> None:
        self.query_one(f"#{self.label_id}", Label).update(
            Content.styled(text, TONE_STYLE.get(tone, "")))
