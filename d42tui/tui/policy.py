"""Which console actions may run: the one place that decides read-only refusals.

`App.check_action` (dims the key) and `App.run_action` (refuses it with a notice)
both ask `ActionPolicy`, so no screen keeps its own read-only flag.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..actions.kinds import ACTIONS

# Every action that could change an appliance, DNS or what the watcher may do (the one table
# in actions/kinds.py): each opens a guarded dialog, and read-only mode refuses each before
# any request or write.
MUTATING: dict[str, str] = {spec.name: spec.what for spec in ACTIONS}

# How the palette names each of them (a key name capitalised reads "Dns", "Failover").
TITLES: dict[str, str] = {spec.name: spec.title for spec in ACTIONS}


@dataclass(frozen=True)
class ActionPolicy:
    read_only: bool = False

    def is_mutating(self, action: str) -> bool:
        return action in MUTATING

    def state(self, action: str) -> bool | None:
        """Textual's convention: True enabled, None shown dimmed and refused."""
        if self.read_only and action in MUTATING:
            return None
        return True

    def refusal(self, action: str) -> str | None:
        """Why the action is refused, worded for the operator; None when it may run."""
        if self.read_only and action in MUTATING:
            return f"read-only console: {action} refused ({MUTATING[action]})"
        return None
