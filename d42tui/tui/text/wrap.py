"""Toned lines wrapped to a width, words kept whole: text on the board is wrapped, never cut.

Pure: a line of (text, tone) spans becomes several, the later ones indented so they
read as the continuation; a word longer than the width is split (with no mark needed:
its rest is on the next row).
"""

from __future__ import annotations

import re

from rich.cells import cell_len

from .boardtext import Line, Span

_TOKENS = re.compile(r"\S+|\s+")


def _pieces(line: Line) -> list[Span]:
    """The line as words and runs of spaces, each with its span's tone."""
    out: list[Span] = []
    for text, tone in line:
        out += [(token, tone) for token in _TOKENS.findall(text)]
    return out


def _merge(spans: list[Span]) -> Line:
    merged: list[Span] = []
    for text, tone in spans:
        if merged and merged[-1][1] == tone:
            merged[-1] = (merged[-1][0] + text, tone)
        else:
            merged.append((text, tone))
    return tuple(merged)


def wrap_line(line: Line, width: int, indent: int = 2,
              tail: Span | None = None) -> tuple[Line, ...]:
    """`line` in rows of at most `width` cells; rows after the first start with `indent`
    spaces. Spaces at a break are dropped. `tail` (a tag such as "  [asks first]") is
    kept whole: on the last row if it fits, else on a row of its own, indented."""
    rows = _wrap(line, width, indent)
    if tail is None:
        return rows
    last = rows[-1]
    if sum(cell_len(text) for text, _ in last) + cell_len(tail[0]) <= max(width, indent + 8):
        return (*rows[:-1], _merge([*last, tail]))
    return (*rows, _merge([(" " * indent, ""), (tail[0].lstrip(), tail[1])]))


def _wrap(line: Line, width: int, indent: int) -> tuple[Line, ...]:
    width = max(width, indent + 8)
    rows: list[list[Span]] = [[]]
    used = 0

    def new_row() -> None:
        nonlocal used
        while rows[-1] and rows[-1][-1][0].isspace():
            used -= cell_len(rows[-1].pop()[0])
        rows.append([(" " * indent, "")] if indent else [])
        used = indent

    for piece, tone in _pieces(line):
        if piece.isspace():
            if used + cell_len(piece) < width:
                rows[-1].append((piece, tone))
                used += cell_len(piece)
            continue
        text = piece
        while text:
            room = width - used
            if cell_len(text) <= room:
                rows[-1].append((text, tone))
                used += cell_len(text)
                break
            fresh = used <= (indent if len(rows) > 1 else 0)
            if fresh:  # a word wider than a whole row: split it
                rows[-1].append((text[:room], tone))
                text = text[room:]
            new_row()
    while rows[-1] and rows[-1][-1][0].isspace():
        rows[-1].pop()
    return tuple(_merge(row) for row in rows)


def wrap_lines(lines: tuple[Line, ...], width: int, indent: int = 2) -> tuple[Line, ...]:
    return tuple(row for line in lines for row in wrap_line(line, width, indent))
