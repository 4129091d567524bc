"""Timeline entries from two successive snapshots of a pair: verdict and state changes.

Pure: the console feeds each new snapshot with the previous one; guarded actions add
their steps and results (kind "action"), console events (pause, demo faults) come
from `console_event`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from ..engine.pair import PairSnapshot, Reachability
from .text.boardtext import REACH_TONE, Tone, verdict_tone


@dataclass(frozen=True)
class TimelineEvent:
    at: float
    pair: str | None  # None: about the console itself
    kind: str  # "verdict", "appliance", "mode", "console", "action", "flapping"
    text: str
    tone: Tone = ""
    # Events with the same key are one line, updated in place (a flapping appliance).
    key: str | None = None
    appliance: str | None = None  # the appliance an "appliance" or "mode" event is about

    def stamp(self, tz: tzinfo | None = None) -> str:
        return datetime.fromtimestamp(self.at, tz).strftime("%H:%M:%S")


def snapshot_events(prev: PairSnapshot | None, snap: PairSnapshot) -> list[TimelineEvent]:
    """What changed between two snapshots of one pair, oldest first."""
    out: list[TimelineEvent] = []
    names = snap.order or tuple(snap.views)
    for name in names:
        view = snap.views[name]
        before = prev.views[name].reachability if prev else Reachability.UNKNOWN
        if view.reachability is not before and view.reachability is not Reachability.UNKNOWN:
            why = ""
            if view.recovering:
                why = ": answering again"
            elif view.reachability is not Reachability.UP and view.last_failure is not None:
                why = f": {view.last_failure}"
            out.append(TimelineEvent(snap.at, snap.pair, "appliance",
                                     f"{name} {before.value} → {view.reachability.value}{why}",
                                     REACH_TONE[view.reachability], appliance=name))
        if prev is not None and prev.modes[name] != snap.modes[name]:
            mode = snap.modes[name]
            how = "by the console" if mode.source == "console" else "declared"
            out.append(TimelineEvent(snap.at, snap.pair, "mode",
                                     f"{name} asserted {mode.mode} ({how})", "strong",
                                     appliance=name))
    verdict = snap.verdict
    if prev is None or prev.verdict.verdict is not verdict.verdict:
        was = prev.verdict.verdict.value if prev else "start"
        text = f"{snap.pair}: {was} → {verdict.verdict.value}"
        if verdict.reasons:
            text += f" ({verdict.reasons[0].text})"
        out.append(TimelineEvent(snap.at, snap.pair, "verdict", text, verdict_tone(verdict)))
    return out


def console_event(at: float, text: str, tone: Tone = "dim",
                  pair: str | None = None) -> TimelineEvent:
    return TimelineEvent(at, pair, "console", text, tone)
