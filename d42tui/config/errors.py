"""The config error every command catches, kept apart from the config models.

`d42tui` imports this at start-up; the models (and pydantic under them) load only
when a command actually reads a config, so `d42tui --help` or the demo's early steps
do not pay for them.
"""

from __future__ import annotations

from ..text import clean_text

MAX_LINE = 1000


class ConfigError(Exception):
    """One or more config problems, each already formatted as one line."""

    def __init__(self, lines: list[str]):
        lines = [one_line(line) for line in lines]
        super().__init__("\n".join(lines))
        self.lines = lines


def one_line(text: str) -> str:
    """An error stays one line, and a control character from the file (or an argument)
    never reaches the terminal: `?` stands where one was."""
    return clean_text(text, MAX_LINE, one_line=True, placeholder="?")
