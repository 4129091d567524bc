"""EventFold: what a pair's snapshots put into the timeline and events.jsonl, folded.

Two streams would drown the failover history: an appliance flapping HEALTHY ↔ DEGRADED
every second, and the transitions the console's own action passes through (a failback
is DEGRADED → NO PRODUCTION → DEGRADED → HEALTHY within a second). A flapping appliance
becomes one line, updated in place (`d42-a flapping: 12 changes in 60 s`), until it has
been still for the window; the verdicts it causes go into that line. While the console
acts on a pair, its verdict and mode changes are the action's, not alarms: one entry
says where the pair ended up once the action is over. Pure but for its own memory:
times come from the snapshots.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from ..engine.pair import PairSnapshot, PairVerdict, Reachability, Verdict
from .text.boardtext import verdict_tone
from .timeline_events import TimelineEvent, snapshot_events

WINDOW = 60.0  # seconds: changes counted together; still this long ends a flapping episode
FLAP_AFTER = 6  # changes within WINDOW that make it flapping (an outage and its end are 4)
# Verdicts a flapping appliance moves the pair between; anything else is still said.
FLAP_VERDICTS = frozenset({Verdict.HEALTHY, Verdict.DEGRADED})

Record = dict[str, Any]  # one line of events.jsonl


@dataclass
class _Flap:
    changes: deque[float] = field(default_factory=deque)  # times of state changes, in WINDOW
    since: float | None = None  # the episode's start (its line's key), None when still
    total: int = 0  # changes in the episode


@dataclass
class _Acting:
    label: str
    before: PairVerdict | None


class EventFold:
    """One per console; `take` for every snapshot, in order."""

    def __init__(self, tz: tzinfo | None = None) -> None:
        self.tz = tz
        self._flaps: dict[tuple[str, str], _Flap] = {}
        self._acting: dict[str, _Acting] = {}

    def take(self, prev: PairSnapshot | None, snap: PairSnapshot,
             acting: str | None = None) -> tuple[list[TimelineEvent], list[Record]]:
        """The timeline events and events.jsonl records for this snapshot; `acting`: the
        console's own action in flight on the pair, if any."""
        events, records = [], []
        flapping = False
        if acting is not None:
            self.begin(snap.pair, acting, prev.verdict if prev else None)
        # The first snapshot after the action is its end: it says where the pair ended up.
        in_action = snap.pair in self._acting
        events += self._still(snap, records)  # before this snapshot's changes are counted
        for event in snapshot_events(prev, snap):
            if event.kind == "appliance" and _seen_before(prev, event.appliance):
                folded = self._flap(snap, event.appliance, events, records)
                flapping = flapping or folded
                if folded:
                    continue
            if event.kind == "verdict":
                if in_action:
                    continue
                if (flapping or self._any_flapping(snap)) and _between_flap_verdicts(prev, snap):
                    continue
                records.append({"pair": snap.pair, "verdict": snap.verdict.verdict.value,
                                "text": event.text})
            if event.kind == "mode" and in_action:
                continue  # the action's own steps say it
            events.append(event)
        if acting is None and snap.pair in self._acting:
            events += self._action_over(snap, records)
        return events, records

    # --- flapping -------------------------------------------------------------------------

    def _flap(self, snap: PairSnapshot, name: str, events: list[TimelineEvent],
              records: list[Record]) -> bool:
        """Count a state change of `name`; True when it goes into a flapping line."""
        flap = self._flaps.setdefault((snap.pair, name), _Flap())
        flap.changes.append(snap.at)
        while flap.changes and snap.at - flap.changes[0] > WINDOW:
            flap.changes.popleft()
        if flap.since is None and len(flap.changes) < FLAP_AFTER:
            return False
        if flap.since is None:
            flap.since, flap.total = flap.changes[0], len(flap.changes)
            records.append({"pair": snap.pair, "flapping": name,
                            "text": self._flap_text(snap, name, flap)})
        else:
            flap.total += 1
        events.append(self._flap_event(snap, name, flap))
        return True

    def _flap_text(self, snap: PairSnapshot, name: str, flap: _Flap) -> str:
        state = snap.views[name].reachability.value
        return (f"{name} flapping: {len(flap.changes)} changes in {WINDOW:.0f} s, "
                f"{flap.total} since {self._clock(flap.since)} (now {state}; the pair "
                f"{snap.verdict.verdict.value})")

    def _flap_event(self, snap: PairSnapshot, name: str, flap: _Flap,
                    text: str | None = None) -> TimelineEvent:
        return TimelineEvent(snap.at, snap.pair, "flapping", text or self._flap_text(
            snap, name, flap), "warning", key=f"flapping:{snap.pair}:{name}:{flap.since}")

    def _any_flapping(self, snap: PairSnapshot) -> bool:
        return any(f.since is not None for (pair, _), f in self._flaps.items()
                   if pair == snap.pair)

    def _still(self, snap: PairSnapshot, records: list[Record]) -> list[TimelineEvent]:
        """Episodes that have been still for the window end, in their own line."""
        out = []
        for (pair, name), flap in self._flaps.items():
            if pair != snap.pair or flap.since is None or not flap.changes:
                continue
            if snap.at - flap.changes[-1] < WINDOW:
                continue
            view = snap.views.get(name)
            state = view.reachability.value if view is not None else Reachability.UNKNOWN.value
            text = (f"{name} stopped flapping: {flap.total} changes from "
                    f"{self._clock(flap.since)} to {self._clock(flap.changes[-1])} "
                    f"(now {state}; the pair {snap.verdict.verdict.value})")
            out.append(self._flap_event(snap, name, flap, text))
            records.append({"pair": pair, "flapping": name, "text": text})
            flap.since, flap.total = None, 0
            flap.changes.clear()
        return out

    # --- the console's own action ---------------------------------------------------------

    def begin(self, pair: str, label: str, verdict: PairVerdict | None) -> None:
        """An action was confirmed: the verdict it starts from."""
        self._acting.setdefault(pair, _Acting(label, verdict))

    def _action_over(self, snap: PairSnapshot, records: list[Record]) -> list[TimelineEvent]:
        acting = self._acting.pop(snap.pair)
        before = acting.before.verdict.value if acting.before else "start"
        after = snap.verdict.verdict.value
        if before == after:
            return []
        text = f"{snap.pair}: {before} → {after} after the console's {acting.label}"
        if snap.verdict.reasons:
            text += f" ({snap.verdict.reasons[0].text})"
        records.append({"pair": snap.pair, "verdict": after, "text": text})
        return [TimelineEvent(snap.at, snap.pair, "verdict", text, verdict_tone(snap.verdict))]

    def _clock(self, at: float | None) -> str:
        return datetime.fromtimestamp(at or 0, self.tz).strftime("%H:%M:%S")


def _seen_before(prev: PairSnapshot | None, name: str | None) -> bool:
    """A change from a known state (its first poll is no flap)."""
    return (prev is not None and name is not None and name in prev.views
            and prev.views[name].reachability is not Reachability.UNKNOWN)


def _between_flap_verdicts(prev: PairSnapshot | None, snap: PairSnapshot) -> bool:
    return (prev is not None and prev.verdict.verdict in FLAP_VERDICTS
            and snap.verdict.verdict in FLAP_VERDICTS)
