"""The config error every command catches, kept apart from the config models.

`d42tui` imports this at start-up; the models (and pydantic under them) load only
when a command actually reads a config, so `d42tui --help` or the demo's early steps
do not pay for them.
"""

from __future__ import annotations


class ConfigError(Exception):
    """One or more config problems, each already formatted as one line."""

    def __init__(self, lines: list[str]):
        lines = [one_line(line) for line in lines]
        super().__init__("\n".join(lines))
        self.lines = lines


def one_line(text: str) -> str:
    """Control characters from the file are shown escaped: an error stays one line."""
    return "".join(c if c >= " " else repr(c)[1:-1] for c in text)
