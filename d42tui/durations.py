"""Durations as the config writes them ("500ms", "5s", "2m", "1h30m", "2d") and back.

Plain functions with no model machinery: the simulator, the watch CLI and the
console format durations without loading the config layer.
"""

from __future__ import annotations

import re
from typing import Any

_DURATION_RE = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*d)?\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m(?!s))?\s*"
                          r"(?:(\d+(?:\.\d+)?)\s*s)?\s*(?:(\d+(?:\.\d+)?)\s*ms)?\s*$")


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string such as "500ms", "5s", "2m", "1h30m"."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 5s, 2m or 1h")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION_RE.match(value)
        if not value.strip() or not match or not any(match.groups()):
            raise ValueError(f"'{value}' is not a duration (examples: 500ms, 5s, 2m, 1h30m, 2d)")
        d, h, m, s, ms = (float(g) if g else 0.0 for g in match.groups())
        seconds = d * 86400 + h * 3600 + m * 60 + s + ms / 1000
    else:
        raise ValueError("expected a duration such as 5s, 2m or 1h")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


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
