"""Durations as the config writes them ("500ms", "5s", "2m", "1h30m", "2d") and back.

Plain functions with no model machinery: the simulator, the watch CLI and the
console format durations without loading the config layer.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..text import quoted

MAX_DURATION = 3650 * 86400.0  # ten years: past that a value is a typo, and dates overflow

_DURATION_RE = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*d)?\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m(?!s))?\s*"
                          r"(?:(\d+(?:\.\d+)?)\s*s)?\s*(?:(\d+(?:\.\d+)?)\s*ms)?\s*$")


class DurationRangeError(ValueError):
    """A well-formed duration too long to mean anything (`99999999999d`)."""


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string such as "500ms", "5s", "2m", "1h30m".

    ValueError names the value and what is wrong; DurationRangeError when it is longer than
    MAX_DURATION (every caller can then store it, add it to a clock or sleep on it)."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 5s, 2m or 1h")
    if isinstance(value, (int, float)):
        seconds = float(value)
        if not math.isfinite(seconds):
            raise ValueError(f"{quoted(value)} is not a duration (examples: 500ms, 5s, 2m, 1h)")
    elif isinstance(value, str):
        match = _DURATION_RE.match(value)
        if not value.strip() or not match or not any(match.groups()):
            raise ValueError(f"{quoted(value)} is not a duration "
                             "(examples: 500ms, 5s, 2m, 1h30m, 2d)")
        d, h, m, s, ms = (float(g) if g else 0.0 for g in match.groups())
        seconds = d * 86400 + h * 3600 + m * 60 + s + ms / 1000
    else:
        raise ValueError("expected a duration such as 5s, 2m or 1h")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if seconds > MAX_DURATION:
        raise DurationRangeError(f"{quoted(value)} is out of range: at most "
                                 f"{MAX_DURATION / 86400:.0f}d")
    return seconds


def duration_argument(text: str) -> float:
    """`parse_duration` as an argparse `type=`: the message says what is wrong with it."""
    import argparse

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{int(seconds * 1000)}ms"
    if seconds < 60 or seconds != int(seconds):
        return f"{seconds:g}s"
    if seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{int(seconds)}s"
