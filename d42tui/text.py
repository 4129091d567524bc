"""Text from outside the program made safe to print: one helper for every front end.

An appliance's words, a config value echoed in an error, a typed reason: none may carry an
escape sequence to the operator's terminal, and none is cut without a mark.
"""

from __future__ import annotations

import re

MARK = "…"
# Whole escape sequences first (CSI `ESC [ … final`, OSC `ESC ] … BEL|ST`, two-byte `ESC x`,
# their 8-bit C1 forms), so no "[31m" remains; then any other C0/C1 control or DEL.
_CONTROL_RE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -~]?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACE_RE = re.compile(r"\s+")


def clean_text(text: str, limit: int = 300, *, one_line: bool = False,
               placeholder: str = "") -> str:
    """`text` without control characters, at most `limit` characters (the last one `…` when
    cut). `one_line` folds every run of white space (newlines, tabs) into one space;
    `placeholder` stands where something was removed (`?` shows that a value had more)."""
    text = str(text)[: limit * 4 + 64]  # bounded work on hostile input
    text = _CONTROL_RE.sub(placeholder, text)
    if one_line:
        text = _SPACE_RE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: max(0, limit - 1)] + MARK
    return text


def quoted(value: object, limit: int = 60) -> str:
    """A value as an error message echoes it: `'…'` for text, bare for numbers; cleaned and
    bounded, with `?` where a control character was."""
    if isinstance(value, str):
        return "'" + clean_text(value, limit, one_line=True, placeholder="?") + "'"
    return clean_text(repr(value), limit, one_line=True, placeholder="?")
