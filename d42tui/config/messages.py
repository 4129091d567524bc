"""Config errors in our words: a key path as the user wrote it, the problem, the bad value.

pydantic's own wording ("Input should be a valid integer…") names neither the key the way
the file does nor the value; this module turns each of its errors into one line. A value is
echoed only when it is a scalar outside every secret key, cleaned and bounded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..text import quoted
from .errors import one_line

_PLAIN_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_UNION_TAGS = {"backup": {"sftp", "nfs", "s3"}, "backend": {"rfc2136", "command"}}
# Keys whose value is the secret itself (`password_env`, `_file`, `_command` only say where
# it is): their values are never repeated in an error.
SECRET_KEYS = frozenset({"password", "secret", "key_passphrase", "secret_access_key"})


def format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    previous: int | str | None = None
    for part in loc:
        tag_of, previous = previous, part
        if isinstance(tag_of, str) and part in _UNION_TAGS.get(tag_of, ()):
            continue  # pydantic's discriminator tag is not a key the user wrote
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY_RE.match(str(part)):
            out += ("." if out else "") + str(part)
        else:
            out += f"[{quoted(str(part), 40)}]"
    return out or "(top level)"


def split_keypath(key: str) -> list[int | str]:
    parts: list[int | str] = []
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", key):
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    return parts


def is_secret_key(loc: tuple[int | str, ...]) -> bool:
    """Whether `loc` is (or is inside) a key holding a secret value."""
    names = [p for p in loc if isinstance(p, str)]
    return any(p in SECRET_KEYS for p in names) or any(
        a == "webhook" and b == "url" for a, b in zip(names, names[1:], strict=False))


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "nothing (null)"
    return {dict: "a mapping", list: "a list", str: "text", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


def _items(n: Any) -> str:
    return f"{n} item{'' if n == 1 else 's'}"


# type -> (the problem with the value shown, the problem without it); `{v}` is the value
_WORDING: dict[str, tuple[str, str]] = {
    "int_parsing": ("{v} is not a whole number", "expected a whole number, found {kind}"),
    "int_type": ("{v} is not a whole number", "expected a whole number, found {kind}"),
    "int_from_float": ("{v} is not a whole number", "expected a whole number"),
    "float_parsing": ("{v} is not a number", "expected a number, found {kind}"),
    "float_type": ("{v} is not a number", "expected a number, found {kind}"),
    "finite_number": ("{v} is not a finite number", "expected a finite number"),
    "bool_parsing": ("{v} is not true or false", "expected true or false, found {kind}"),
    "bool_type": ("{v} is not true or false", "expected true or false, found {kind}"),
    "greater_than_equal": ("{v} is too small: at least {ge}", "must be at least {ge}"),
    "greater_than": ("{v} is too small: must be more than {gt}", "must be more than {gt}"),
    "less_than_equal": ("{v} is too large: at most {le}", "must be at most {le}"),
    "less_than": ("{v} is too large: must be less than {lt}", "must be less than {lt}"),
    "literal_error": ("{v} is not one of {expected}", "expected one of {expected}"),
    "string_too_short": ("must not be empty", "must not be empty"),
    "string_too_long": ("{v} is longer than {max_length} characters",
                        "is longer than {max_length} characters"),
}
_SHAPES: dict[str, str] = {
    "extra_forbidden": "unknown key (a typo?)",
    "missing": "required key is missing",
    "string_type": "expected text, found {kind}",
    "list_type": "expected a list, found {kind}",
    "tuple_type": "expected a list, found {kind}",
    "dict_type": "expected a mapping (key: value), found {kind}",
    "model_type": "expected a mapping (key: value), found {kind}",
    "model_attributes_type": "expected a mapping (key: value), found {kind}",
    "path_type": "expected a file path, found {kind}",
    "too_short": "expected at least {min}, found {actual}",
    "too_long": "expected at most {max}, found {actual}",
}


def may_echo(err: dict[str, Any], loc: tuple[int | str, ...] | None = None) -> bool:
    """Whether an error's input may be shown: a scalar given to a known key that holds no
    secret (an unknown key's value may be a misspelled `password:`)."""
    return (err["type"] in _WORDING and isinstance(err.get("input"), (str, int, float, bool))
            and not is_secret_key(tuple(err["loc"]) if loc is None else loc))


def _wording(err: dict[str, Any], loc: tuple[int | str, ...]) -> str:
    kind, value, ctx = err["type"], err.get("input"), dict(err.get("ctx") or {})
    fields = {**{k: v for k, v in ctx.items() if isinstance(v, (int, float, str))},
              "kind": _kind_of(value)}
    if kind in _WORDING:
        echo = may_echo(err, loc)
        shown, hidden = _WORDING[kind]
        return (shown if echo else hidden).format(v=quoted(value) if echo else "", **fields)
    if kind in _SHAPES:
        return _SHAPES[kind].format(min=_items(ctx.get("min_length")),
                                    max=_items(ctx.get("max_length")),
                                    actual=ctx.get("actual_length", "more"), **fields)
    return str(err["msg"]).removeprefix("Value error, ")


def format_error(path: Path, err: dict[str, Any]) -> str:
    """One pydantic error as `FILE: key.path: problem`. A validator's own message may start
    with `@sub.key: ` to point below the key it validates."""
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    msg = _wording(err, loc)
    if msg.startswith("@"):
        key, _, msg = msg[1:].partition(": ")
        loc = loc + tuple(split_keypath(key))
    return one_line(f"{path}: {format_loc(loc)}: {msg}")
