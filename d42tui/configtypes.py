"""Building blocks shared by every config section: strict models, durations, secrets.

Kept apart from `config.py` so that the DNS and backup sections can define their
own models without importing the top-level config (no import cycle).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, SecretStr

from .secrets import Secret


class StrictModel(BaseModel):
    """Unknown keys are errors (a typo must not silently fall back to a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


_DURATION_RE = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m(?!s))?\s*"
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
            raise ValueError(f"'{value}' is not a duration (examples: 500ms, 5s, 2m, 1h30m)")
        h, m, s, ms = (float(g) if g else 0.0 for g in match.groups())
        seconds = h * 3600 + m * 60 + s + ms / 1000
    else:
        raise ValueError("expected a duration such as 5s, 2m or 1h")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


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


def check_one_secret(model: BaseModel, prefix: str) -> None:
    """At most one of `<prefix>`, `<prefix>_env`, `<prefix>_file`, `<prefix>_command`."""
    given = [k for k in (prefix, f"{prefix}_env", f"{prefix}_file", f"{prefix}_command")
             if getattr(model, k, None) is not None]
    if len(given) > 1:
        raise ValueError(f"@{given[1]}: give only one of {', '.join(given)}")
    cmd = getattr(model, f"{prefix}_command", None)
    if cmd is not None and (not cmd or not all(isinstance(a, str) and a for a in cmd)):
        raise ValueError(f"@{prefix}_command: must be a non-empty list of strings "
                         "(an argv list; no shell is used)")


def pick_secret(model: BaseModel, prefix: str) -> Secret | None:
    """The `Secret` the model's `<prefix>*` fields describe, or None."""
    literal: SecretStr | None = getattr(model, prefix, None)
    if literal is not None:
        return Secret.literal(literal.get_secret_value())
    if (env := getattr(model, f"{prefix}_env", None)) is not None:
        return Secret.env(env)
    if (path := getattr(model, f"{prefix}_file", None)) is not None:
        return Secret.file(Path(path).expanduser())
    if (cmd := getattr(model, f"{prefix}_command", None)) is not None:
        return Secret.command(cmd)
    return None
