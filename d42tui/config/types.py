"""Building blocks shared by every config section: strict models, durations, secrets.

Kept apart from `config.py` so that the DNS and backup sections can define their
own models without importing the top-level config (no import cycle).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, SecretStr

from .durations import format_duration, parse_duration
from .secrets import Secret

__all__ = ["format_duration", "parse_duration"]  # re-exported: older imports use them here


class StrictModel(BaseModel):
    """Unknown keys are errors (a typo must not silently fall back to a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


Duration = Annotated[float, BeforeValidator(parse_duration)]


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
