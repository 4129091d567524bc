"""What every DNS backend promises: one `update` call, one classified result, one recipe.

The RFC 2136 and command backends live in their own modules; `backends.make_backend`
picks one (a module of its own: the backends import this one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

UpdateOutcome = Literal["done", "refused", "prerequisite-failed", "failed", "unknown"]


@dataclass(frozen=True)
class DnsUpdateResult:
    """What one update attempt did. `unknown` when it may have applied without a reply."""

    outcome: UpdateOutcome
    text: str  # for the operator; never holds a secret
    sent: bool  # whether the change may have reached the server (or the command ran)
    rcode: str | None = None  # rfc2136: the server's answer, e.g. NOERROR, NXRRSET, BADSIG
    current: tuple[str, ...] | None = None  # after a failed prerequisite: the record now
    exit_code: int | None = None  # command: the exit status (negative: killed by that signal)
    stdout_tail: tuple[str, ...] = ()
    stderr_tail: tuple[str, ...] = ()
    elapsed: float | None = None  # seconds


class DnsBackend(Protocol):
    """Changes the record set of the service name to one value."""

    kind: str

    async def update(self, old_values: tuple[str, ...], new_value: str) -> DnsUpdateResult:
        """Replace `old_values` (() = no record) with `new_value`; never raises for I/O."""
        ...

    def recipe(self, old_values: tuple[str, ...], new_value: str) -> str:
        """Shell lines an operator can paste to make the same change by hand (no secret)."""
        ...
