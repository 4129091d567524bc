"""Tone names (from boardtext) to Textual content styles, resolved against the theme."""

from __future__ import annotations

from textual.content import Content

from ..text.boardtext import Line

TONE_STYLE = {
    "": "",
    "ok": "$success",
    "warning": "$warning bold",
    "critical": "$error bold",
    "unknown": "dim",
    "dim": "dim",
    "strong": "bold",
}

TONE_CLASSES = ("-ok", "-warning", "-critical", "-unknown")


def line_content(line: Line) -> Content:
    return Content.assemble(*((text, TONE_STYLE.get(tone, "")) for text, tone in line))


def lines_content(lines: tuple[Line, ...]) -> Content:
    return Content("\n").join(line_content(line) for line in lines)
