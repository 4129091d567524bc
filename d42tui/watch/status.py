"""The automation state of a pair as everyone shows it, and pause/resume as everyone does it.

`automation_state` is pure (for the board, `status` and tests); `pause_automation` and
`resume_automation` are what the console's key and the `pause`/`resume` commands call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ..config.durations import MAX_DURATION
from ..config.models import Config, PairConfig, state_dir
from ..engine.audit import JsonlLog, actor, new_action_id
from ..engine.state import StateDamaged, StateStore, automation_entry, read_heartbeat, update_pair
from ..text import clean_text
from ._schedule import iso

StateKind = Literal["ARMED", "PAUSED", "ACTING", "ISOLATED", "LOST", "OFF"]
MAX_REASON = 200


@dataclass(frozen=True)
class Pause:
    """Automation stopped by a person (`pause`) or by the watcher after a failover (`hold`)."""

    kind: Literal["pause", "hold"]
    by: str
    reason: str
    since: float
    until: float | None = None  # None: until someone resumes

    def active(self, now: float) -> bool:
        return self.until is None or now < self.until

    def text(self, now: float) -> str:
        who = "held by the watcher" if self.kind == "hold" else f"paused by {self.by}"
        until = " until resumed" if self.until is None else \
            f" until {_clock(self.until)} (in {_span(self.until - now)})"
        return f"{who}: {self.reason};{until}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "by": self.by, "reason": self.reason, "since": iso(self.since),
                "until": iso(self.until)}


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M")


def _span(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def pause_of(record: Any, kind: Literal["pause", "hold"]) -> Pause | None:
    """A stored pause or hold record, or None when absent or unreadable."""
    if not isinstance(record, Mapping) or not isinstance(record.get("since"), (int, float)):
        return None
    until = record.get("until")
    if isinstance(until, (int, float)) and not record["since"] <= until <= \
            record["since"] + MAX_DURATION:
        until = None  # unreadable: read as until resumed, the safe side of a pause
    # Whoever wrote the state file, its words reach terminals and JSON only cleaned.
    return Pause(kind, clean_text(str(record.get("by", "?")), 80, one_line=True),
                 clean_text(str(record.get("reason", "")), MAX_REASON, one_line=True),
                 float(record["since"]), float(until) if isinstance(until, (int, float)) else None)


def active_pause(auto: Mapping[str, Any], now: float) -> Pause | None:
    """The pause in force: a person's pause first, else the watcher's hold."""
    for kind in ("pause", "hold"):
        pause = pause_of(auto.get(kind), kind)  # type: ignore[arg-type]
        if pause is not None and pause.active(now):
            return pause
    return None


@dataclass(frozen=True)
class AutomationState:
    kind: StateKind
    text: str  # one line for the board and the status table
    pause: Pause | None = None
    watcher_pid: int | None = None
    heartbeat_at: float | None = None
    dry_run: bool = False
    failures: tuple[int, int] | None = None  # primary failures k of N
    step: tuple[int, int] | None = None  # ACTING: step k of n

    coordination: Mapping[str, Any] | None = None  # with etcd: who leads, the observers

    def to_json(self) -> dict[str, Any]:
        return {"state": self.kind, "text": self.text, "coordination": self.coordination,
                "pause": self.pause.to_json() if self.pause else None,
                "watcher_pid": self.watcher_pid, "heartbeat_at": iso(self.heartbeat_at),
                "failures": list(self.failures) if self.failures else None,
                "step": list(self.step) if self.step else None}


def automation_state(auto: Mapping[str, Any], heartbeat: Mapping[str, Any] | None, now: float,
                     *, enabled: bool = True) -> AutomationState:
    """ARMED / PAUSED / ACTING / ISOLATED / OFF from the state record and the heartbeat (pure).

    A heartbeat older than its own `stale_after` means no watcher runs: OFF, never ARMED."""
    pause = active_pause(auto, now)
    journal = auto.get("journal") if isinstance(auto.get("journal"), Mapping) else None
    if not enabled:
        return AutomationState("OFF", "OFF · disabled in the config (automation.enabled: false)",
                               pause)
    fresh = (heartbeat is not None
             and now - float(heartbeat["at"]) <= float(heartbeat.get("stale_after", 15)))
    if not fresh or heartbeat is None:
        when = "" if heartbeat is None else f" (last heartbeat {_span(now - heartbeat['at'])} ago)"
        if heartbeat is not None and heartbeat.get("stopped"):
            when = f" (the watcher stopped at {_clock(float(heartbeat['at']))})"
        extra = f" · {pause.text(now)}" if pause else ""
        if journal:
            extra += f" · unfinished {journal.get('kind', 'plan')}: a watcher will finish it"
        return AutomationState("OFF", f"OFF · no watcher running{when}{extra}", pause,
                               heartbeat_at=heartbeat["at"] if heartbeat else None)
    pid, at = heartbeat.get("pid"), float(heartbeat["at"])
    coord = heartbeat.get("coordination") if isinstance(heartbeat.get("coordination"),
                                                          Mapping) else None
    common = {"pause": pause, "watcher_pid": pid if isinstance(pid, int) else None,
              "heartbeat_at": at, "coordination": coord}
    if coord is not None and coord.get("role") == "lost":
        problem = clean_text(str(coord.get("problem", "")), 160, one_line=True)
        return AutomationState("LOST", f"LOST · coordination lost ({problem}): no automatic "
                                       "action", **common)
    lead = _lead_text(coord)
    if heartbeat.get("dry_run"):
        return AutomationState("OFF", f"OFF · dry-run watcher (pid {pid}) decides and sends "
                                      "nothing", dry_run=True, **common)
    if journal:
        steps = journal.get("steps") or []
        k = next((i for i, s in enumerate(steps, 1) if s.get("status") not in ("done", "skipped")),
                 len(steps))
        what = steps[k - 1].get("text", "") if steps else ""
        return AutomationState("ACTING", f"ACTING · {journal.get('kind')} {journal.get('source')}"
                                         f" → {journal.get('target')} · step {k} of {len(steps)}: "
                                         f"{what}{lead}", step=(k, len(steps)), **common)
    if pause is not None:
        return AutomationState("PAUSED", f"PAUSED · {pause.text(now)}{lead}", **common)
    failures = heartbeat.get("failures")
    counts = tuple(failures) if isinstance(failures, list) and len(failures) == 2 else None
    if heartbeat.get("state") == "ISOLATED":
        return AutomationState("ISOLATED", f"ISOLATED · {heartbeat.get('why', '')}: "
                                           f"automation will not act{lead}", failures=counts,
                               **common)
    primary = heartbeat.get("primary", "primary")
    count = f" · primary {primary} failures {counts[0]}/{counts[1]}" if counts else ""
    if heartbeat.get("unreadable") is True:  # failing polls that show it running: not counted
        count = (f" · primary {primary} answers but cannot be read: not an outage"
                 + (f" ({counts[0]}/{counts[1]})" if counts else ""))
    return AutomationState("ARMED", f"ARMED{count}{lead}", failures=counts, **common)


def _lead_text(coord: Mapping[str, Any] | None) -> str:
    """` · leader w1 (this watcher)` or ` · w2 leads, w1 observes`."""
    if coord is None:
        return ""
    name = clean_text(str(coord.get("name", "?")), 63, one_line=True)
    leader = clean_text(str(coord.get("leader") or "nobody"), 63, one_line=True)
    if coord.get("role") == "leader":
        return f" · leader {name} (this watcher)"
    return f" · {leader} leads, {name} observes"


def read_automation(store: StateStore, pair: PairConfig, now: float) -> AutomationState:
    """The state the board and `status` show for `pair`, read from the state dir."""
    heartbeat = read_heartbeat(store.directory, pair.name)
    try:
        auto = automation_entry(store, pair.name)
    except StateDamaged:  # the pause, the hold and any plan are unknown: nothing acts
        return AutomationState("PAUSED", "PAUSED · the state file is damaged: automation does "
                               "nothing until a person confirms the roles",
                               heartbeat_at=heartbeat["at"] if heartbeat else None)
    return automation_state(auto, heartbeat, now, enabled=pair.automation.enabled)


def automation_for(config: Config, pair: PairConfig, now: float) -> AutomationState:
    """`read_automation` for a pair of a loaded config (its state dir)."""
    return read_automation(StateStore(state_dir(config)), pair, now)


def _audit(audit: JsonlLog | None, action: str, pair: str, detail: str, **extra: Any) -> None:
    if audit is None:
        return
    action_id = new_action_id()
    base = {"action_id": action_id, "pair": pair, "action": action, "target": pair}
    audit.append({"phase": "before", **base, **extra})
    audit.append({"phase": "after", **base, "result": "done", "detail": detail})


def pause_automation(store: StateStore, pair: str, *, reason: str, duration: float | None,
                     now: float, by: str | None = None, audit: JsonlLog | None = None) -> Pause:
    """Stop automatic failover and failback for `pair` (fencing continues). Raises ValueError."""
    reason = clean_text(reason, MAX_REASON, one_line=True)  # no escape reaches a terminal
    if not reason:
        raise ValueError("say why (--reason): the next person on call will read it")
    if duration is not None and not 0 < duration <= MAX_DURATION:  # also refuses nan
        raise ValueError("--for must be a positive duration such as 30m or 2h, at most 3650d")
    pause = Pause("pause", by or actor(), reason, now, None if duration is None else now + duration)

    def change(entry: dict[str, Any], auto: dict[str, Any]) -> None:
        auto["pause"] = {"by": pause.by, "reason": pause.reason, "since": pause.since,
                         "until": pause.until}
    update_pair(store, pair, change)
    _audit(audit, "pause-automation", pair, f"automation paused: {pause.text(now)}",
           reason=pause.reason, until=iso(pause.until), by=pause.by)
    return pause


def expire_pause(store: StateStore, pair: str, now: float,
                 audit: JsonlLog | None = None) -> Pause | None:
    """Clear a person's pause whose time is up (the hold never expires); returns it."""
    if (pause := pause_of(automation_entry(store, pair).get("pause"), "pause")) is None \
            or pause.active(now):
        return None
    expired: list[Pause] = []

    def change(entry: dict[str, Any], auto: dict[str, Any]) -> None:
        again = pause_of(auto.get("pause"), "pause")
        if again is not None and not again.active(now):
            expired.append(again)
            del auto["pause"]
    update_pair(store, pair, change)
    if expired:
        _audit(audit, "resume-automation", pair, f"automation resumed by itself: the pause by "
               f"{pause.by} ({pause.reason}) expired", by="watcher")
    return expired[0] if expired else None


def resume_automation(store: StateStore, pair: str, *, now: float, by: str | None = None,
                      audit: JsonlLog | None = None, why: str = "resumed") -> list[Pause]:
    """Clear a pause and the watcher's post-failover hold; returns what was in force."""
    cleared: list[Pause] = []

    def change(entry: dict[str, Any], auto: dict[str, Any]) -> None:
        for kind in ("pause", "hold"):
            record = pause_of(auto.pop(kind, None), kind)  # type: ignore[arg-type]
            if record is not None and record.active(now):
                cleared.append(record)
    update_pair(store, pair, change)
    text = "; ".join(p.text(now) for p in cleared) or "nothing was paused"
    _audit(audit, "resume-automation", pair, f"automation {why} by {by or actor()}: was {text}",
           by=by or actor())
    return cleared
