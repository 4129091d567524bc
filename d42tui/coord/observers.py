"""What each watcher publishes about the appliances it polls, and how the leader counts it.

Every watcher, leader or not, puts its own view of each appliance of a pair under
`<prefix>pairs/<pair>/observers/<name>` on its own lease: the key goes when the watcher
does. The leader fails over only when a majority of the live observers (those whose key is
there) see the primary not serving by their own hysteresis, so a path broken from one host
never triggers a failover (Orchestrator's holistic detection).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..engine.pair import ApplianceView


def view_record(name: str, views: Mapping[str, ApplianceView], threshold: int,
                at: float) -> dict[str, Any]:
    """This watcher's view, as it is published (no secret, no address: names and counts)."""
    appliances = {}
    for appliance, view in views.items():
        last = view.last
        appliances[appliance] = {
            "answers": bool(last is not None and last.ok),
            "failure": last.failure.kind.value if last is not None and last.failure else None,
            "outage_failures": view.outage_failures,
            "consecutive_failures": view.consecutive_failures,
            "down": view.outage_failures >= threshold,
            "at": last.at if last is not None else None}
    return {"name": name, "at": at, "threshold": threshold, "appliances": appliances}


@dataclass(frozen=True)
class Agreement:
    appliance: str
    live: int  # observers with a live key
    down: tuple[str, ...]  # the names of those that see it not serving
    up: tuple[str, ...]

    @property
    def majority(self) -> bool:
        return len(self.down) * 2 > self.live

    def text(self) -> str:
        who = f" ({', '.join(self.down)})" if self.down else ""
        return f"observers {len(self.down)}/{self.live} see {self.appliance} DOWN{who}"

    def to_json(self) -> dict[str, Any]:
        return {"appliance": self.appliance, "live": self.live, "down": list(self.down),
                "up": list(self.up), "majority": self.majority}


def agreement(records: Mapping[str, Mapping[str, Any]], appliance: str) -> Agreement:
    """How many live observers see `appliance` down by their own hysteresis. A record that
    cannot be read counts as live and not seeing it down (the safe side)."""
    down, up = [], []
    for name, record in sorted(records.items()):
        seen = record.get("appliances", {}).get(appliance) if isinstance(record, Mapping) \
            else None
        (down if isinstance(seen, Mapping) and seen.get("down") is True else up).append(name)
    return Agreement(appliance, len(records), tuple(down), tuple(up))
