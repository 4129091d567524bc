"""The intent journal: a failover or failback plan, written to the state file before each step.

A watcher killed mid-plan finds it on restart and completes or abandons it, never silently.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from ..config import PairConfig
from ..state import StateStore, automation_entry, update_pair

StepKind = Literal["demote", "promote", "confirm", "dns"]
StepStatus = Literal["pending", "running", "waiting", "done", "failed", "skipped"]
PlanKind = Literal["failover", "failback"]
Also = Callable[[dict[str, Any], dict[str, Any]], None]


@dataclass(frozen=True)
class JournalStep:
    kind: StepKind
    appliance: str
    text: str
    status: StepStatus = "pending"
    attempts: int = 0
    detail: str = ""
    next_try_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "skipped")


@dataclass(frozen=True)
class Journal:
    plan_id: str  # also the audit log's action_id
    kind: PlanKind
    pair: str
    source: str  # production before the plan
    target: str  # production after it
    started_at: float
    pid: int
    steps: tuple[JournalStep, ...]
    reasons: tuple[str, ...] = ()
    data_loss: str = ""

    @property
    def current(self) -> int | None:
        """Index of the first unfinished step; None when all are finished."""
        return next((i for i, s in enumerate(self.steps) if not s.finished), None)

    def position(self) -> tuple[int, int]:
        i = self.current
        return (len(self.steps) if i is None else i + 1), len(self.steps)

    def describe(self) -> str:
        k, n = self.position()
        step = self.steps[k - 1] if self.steps else None
        return (f"{self.kind} {self.source} → {self.target}, step {k} of {n}"
                + (f": {step.text}" if step else ""))

    def with_step(self, index: int, **changes: Any) -> Journal:
        steps = list(self.steps)
        steps[index] = replace(steps[index], **changes)
        return replace(self, steps=tuple(steps))

    def lines(self) -> list[str]:
        out = [f"{self.kind} on pair {self.pair}: make {self.target} production "
               f"({self.source} is the production now)"]
        out += [f"  {i}. {s.text}" for i, s in enumerate(self.steps, 1)]
        out += [f"because: {r}" for r in self.reasons]
        if self.data_loss:
            out.append(f"data: {self.data_loss}")
        return out

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["steps"] = [asdict(s) for s in self.steps]
        return data

    @classmethod
    def from_json(cls, data: Any) -> Journal | None:
        """None for a record this version cannot read (reported, never guessed at)."""
        try:
            steps = tuple(JournalStep(**s) for s in data["steps"])
            fields = {k: data[k] for k in ("plan_id", "kind", "pair", "source", "target",
                                           "started_at", "pid")}
            return cls(**fields, steps=steps, reasons=tuple(data.get("reasons", ())),
                       data_loss=str(data.get("data_loss", "")))
        except (KeyError, TypeError, ValueError):
            return None


def dns_step_text(pair: PairConfig, target: str) -> str:
    if pair.dns is None:
        return "switch DNS: no DNS target is configured (skipped)"
    value = pair.dns.targets.get(target, "?")
    return f"point {pair.dns.name} {pair.dns.type} at {value} and verify it"


def plan_failover(pair: PairConfig, source: str, target: str, plan_id: str, now: float,
                  reasons: tuple[str, ...] = (), data_loss: str = "",
                  demote_first: bool = False) -> Journal:
    """`demote_first` when the old primary still answers health (its main API failed under
    `api_probe_counts: any`): it is put in standby before anything is promoted."""
    demote = (JournalStep("demote", source, f"POST appliance_mode=standby to {source} (it still "
                                            "answers health: never two productions)"),)
    steps = (*(demote if demote_first else ()),
             JournalStep("promote", target, f"POST appliance_mode=production to {target} "
                                            "(roles swap in the same state write)"),
             JournalStep("confirm", target, f"confirm {target} answers health"),
             JournalStep("dns", target, dns_step_text(pair, target)))
    return Journal(plan_id, "failover", pair.name, source, target, now, os.getpid(), steps,
                   reasons, data_loss)


def plan_failback(pair: PairConfig, source: str, target: str, plan_id: str, now: float,
                  reasons: tuple[str, ...] = ()) -> Journal:
    """Demote first: a planned switchover never makes two productions."""
    steps = (JournalStep("demote", source, f"POST appliance_mode=standby to {source}"),
             JournalStep("promote", target, f"POST appliance_mode=production to {target}"),
             JournalStep("confirm", target, f"confirm {target} answers health"),
             JournalStep("dns", target, dns_step_text(pair, target)))
    return Journal(plan_id, "failback", pair.name, source, target, now, os.getpid(), steps,
                   reasons)


def load_journal(store: StateStore, pair: str) -> tuple[Journal | None, bool]:
    """(journal, unreadable): an unreadable record is reported, not silently dropped."""
    raw = automation_entry(store, pair).get("journal")
    if raw is None:
        return None, False
    journal = Journal.from_json(raw)
    return journal, journal is None


def save_journal(store: StateStore, journal: Journal, also: Also | None = None) -> None:
    """Write the plan (atomically, 0600); `also` changes roles in the same write."""
    def change(entry: dict[str, Any], auto: dict[str, Any]) -> None:
        auto["journal"] = journal.to_json()
        if also is not None:
            also(entry, auto)
    update_pair(store, journal.pair, change)


def close_journal(store: StateStore, journal: Journal, result: str, detail: str,
                  now: float, also: Also | None = None) -> None:
    """Remove the plan and keep a one-line summary of how it ended."""
    def change(entry: dict[str, Any], auto: dict[str, Any]) -> None:
        auto.pop("journal", None)
        auto["last_plan"] = {"plan_id": journal.plan_id, "kind": journal.kind,
                             "source": journal.source, "target": journal.target,
                             "result": result, "detail": detail, "at": now,
                             "promoted": any(s.kind == "promote" and s.status == "done"
                                             for s in journal.steps)}
        if also is not None:
            also(entry, auto)
    update_pair(store, journal.pair, change)


def drop_unreadable_journal(store: StateStore, pair: str, now: float) -> Any:
    """Move a journal this version cannot read aside (kept for a person to read)."""
    kept: dict[str, Any] = {}

    def change(entry: dict[str, Any], auto: dict[str, Any]) -> None:
        kept["raw"] = auto.pop("journal", None)
        auto["unreadable_journal"] = {"at": now, "raw": kept["raw"]}
    update_pair(store, pair, change)
    return kept.get("raw")
