"""Whether the passwords an action would use can be read now: said by source, never by value.

The poller asks now and then (an unreadable one is a critical reason on the board, in
`status` and `check`, long before a failover needs it) and every plan's preflight asks
before its first byte.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..appliance.client import unreadable_text  # one wording, never a command's stderr
from ..config.models import PairConfig
from ..config.secrets import Secret, SecretError


def secret_text(name: str, secret: Secret | None, what: str = "password") -> str | None:
    """Why the secret cannot be read (the source, never the value), or None."""
    if secret is None:
        return f"{name}: no {what} is configured (password_env, password_file or " \
               "password_command)"
    try:
        secret.value()
    except SecretError as exc:
        return f"{name}: its {what} cannot be read ({unreadable_text(secret, exc)})"
    return None


def appliance_secret_problems(pair: PairConfig, names: Iterable[str] | None = None) -> list[str]:
    """The Appliance Manager passwords of `names` (default: both appliances)."""
    wanted = set(names) if names is not None else {a.name for a in pair.appliances}
    return [text for a in pair.appliances if a.name in wanted
            if (text := secret_text(a.name, a.secret())) is not None]
