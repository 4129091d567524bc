"""The intent journal: every action's plan, written to the state file before each of its steps.

Whoever starts an action (the console, the CLI, the watcher) journals it the same way, so a
process killed mid-way leaves a record every reader finds (board, `status`, `check`, the
watcher) and that `d42tui resume-plan` or the watcher completes or rolls back. A record is
checked against the config before anything acts on it.

The record is state, so it lives here with the state file: every reader (the poller, `status`,
the watcher) reads it without depending on the actions layer, which alone writes it
(`actions.journal.journal_of` turns a confirmed plan into one).
"""

from __future__ import annotations

import enum
import os
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from ..config.models import PairConfig
from .state import StateStore, automation_entry, update_pair

StepStatus = Literal["pending", "running", "waiting", "done", "failed", "skipped"]
Also = Callable[[dict[str, Any], dict[str, Any]], None]
Driver = Literal["console", "cli", "watcher"]


class StepKind(str, enum.Enum):
    PROMOTE = "promote"  # POST appliance_mode=production
    DEMOTE = "demote"  # POST appliance_mode=standby
    CONFIRM = "confirm"  # the new production answers health (DNS waits for it)
    DNS = "dns"  # switch the service name, verify at the authoritative servers
    FENCE = "fence"  # run automation.fence_command on an old primary that cannot be demoted

    @property
    def mode(self) -> str | None:
        return {StepKind.PROMOTE: "production", StepKind.DEMOTE: "standby"}.get(self)


# The kinds of plan, and the step kinds each may hold: a record that says otherwise was not
# written by this engine and is never acted on.
PLAN_STEPS: dict[str, frozenset[StepKind]] = {
    "failover": frozenset(StepKind), "failback": frozenset(StepKind),
    "switchover": frozenset(StepKind),
    "promote": frozenset({StepKind.PROMOTE}), "demote": frozenset({StepKind.DEMOTE}),
    "reassert": frozenset({StepKind.PROMOTE, StepKind.DEMOTE}),
    "fence": frozenset({StepKind.DEMOTE}), "dns-set": frozenset({StepKind.DNS}),
}
# plans that move production from `source` to `target`
MOVES = ("failover", "failback", "switchover")


@dataclass(frozen=True)
class JournalStep:
    kind: StepKind
    appliance: str
    text: str
    status: StepStatus = "pending"
    attempts: int = 0
    detail: str = ""
    next_try_at: float | None = None
    optional: bool = False  # only if the appliance answers (a dead old primary: fenced later)
    value: str | None = None  # a DNS step's record value (an address the operator typed)
    ref: int | None = None  # the step's index in the plan the operator confirmed
    unconfirmed: bool = False  # a 200 whose message did not say the mode was set

    @property
    def finished(self) -> bool:
        return self.status in ("done", "skipped")


@dataclass(frozen=True)
class Journal:
    plan_id: str  # also the audit log's action_id
    kind: str  # failover, failback, promote, demote, reassert, fence, dns-set
    pair: str
    source: str | None  # the production before the plan (moves), else None
    target: str  # the appliance the plan is about (the new production of a move)
    started_at: float
    pid: int
    steps: tuple[JournalStep, ...]
    reasons: tuple[str, ...] = ()
    data_loss: str = ""
    by: Driver = "watcher"
    host: str = ""
    new_production: str | None = None
    forced: bool = False
    hold: str | None = None  # an automatic failover holds automation once it promoted
    release_hold: bool = False  # an automatic failback re-arms it
    dns_ttl: int | None = None
    dns_expected: tuple[str, ...] | None = None

    @property
    def current(self) -> int | None:
        """Index of the first unfinished step; None when all are finished."""
        return next((i for i, s in enumerate(self.steps) if not s.finished), None)

    def position(self) -> tuple[int, int]:
        i = self.current
        return (len(self.steps) if i is None else i + 1), len(self.steps)

    @property
    def action(self) -> str:
        """The audit log's name for it: the watcher's own actions are `auto-…`."""
        return f"auto-{self.kind}" if self.by == "watcher" else self.kind

    def done(self, kind: StepKind, appliance: str | None = None) -> bool:
        return any(s.kind is kind and s.status == "done"
                   and (appliance is None or s.appliance == appliance) for s in self.steps)

    def describe(self) -> str:
        k, n = self.position()
        step = self.steps[k - 1] if self.steps else None
        move = (f"{self.kind} {self.source} → {self.target}" if self.kind in MOVES
                else f"{self.kind} {self.target}")
        return f"{move}, step {k} of {n}" + (f": {step.text}" if step else "")

    def sent_so_far(self) -> str:
        """What was sent and what is in doubt, for a person reading an interrupted plan."""
        parts = []
        for s in self.steps:
            if s.status == "done":
                parts.append(f"{_short(s)}: done")
            elif s.status in ("running", "waiting") and s.attempts:
                parts.append(f"{_short(s)}: sent, answer unknown")
        return "; ".join(parts) or "nothing was sent yet"

    def with_step(self, index: int, **changes: Any) -> Journal:
        steps = list(self.steps)
        steps[index] = replace(steps[index], **changes)
        return replace(self, steps=tuple(steps))

    def lines(self) -> list[str]:
        if self.kind in MOVES:
            head = (f"{self.kind} on pair {self.pair}: make {self.target} production "
                    f"({self.source} is the production now)")
        else:
            head = f"{self.kind} {self.target} on pair {self.pair}"
        out = [head] + [f"  {i}. {s.text}" for i, s in enumerate(self.steps, 1)]
        out += [f"because: {r}" for r in self.reasons]
        if self.data_loss:
            out.append(f"data: {self.data_loss}")
        return out

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["steps"] = [{**asdict(s), "kind": s.kind.value} for s in self.steps]
        return data

    @classmethod
    def from_json(cls, data: Any) -> Journal | None:
        """None for a record this version cannot read (reported, never guessed at)."""
        try:
            steps = tuple(JournalStep(**{**s, "kind": StepKind(s["kind"])})
                          for s in data["steps"])
            known = {k: data[k] for k in ("plan_id", "kind", "pair", "source", "target",
                                          "started_at", "pid")}
            extra = {k: data[k] for k in ("by", "host", "new_production", "forced", "hold",
                                          "release_hold", "dns_ttl", "data_loss")
                     if k in data}
            if data.get("dns_expected") is not None:
                extra["dns_expected"] = tuple(data["dns_expected"])
            return cls(**known, **extra, steps=steps, reasons=tuple(data.get("reasons", ())))
        except (KeyError, TypeError, ValueError):
            return None


def _short(step: JournalStep) -> str:
    if step.kind is StepKind.DNS:
        return f"DNS → {step.appliance}"
    if step.kind is StepKind.CONFIRM:
        return f"confirm {step.appliance}"
    if step.kind is StepKind.FENCE:
        return f"fence command for {step.appliance}"
    return f"{step.kind.mode} to {step.appliance}"


def journal_problem(journal: Journal, pair: PairConfig) -> str | None:
    """Why this record must not be acted on for this pair (it is not what this engine
    writes), or None. A plan that would demote its own target, name an appliance the pair
    does not have or run no step at all is a damaged or forged record, never obeyed."""
    names = {a.name for a in pair.appliances}
    allowed = PLAN_STEPS.get(journal.kind)
    if allowed is None:
        return f"unknown plan kind {journal.kind!r}"
    if journal.pair != pair.name:
        return f"it is for pair {journal.pair!r}, found under pair {pair.name}"
    if journal.kind == "dns-set":
        if pair.dns is None or not all(s.kind is StepKind.DNS for s in journal.steps) \
                or not journal.steps:
            return "a DNS switch for a pair without a dns: section, or with other steps"
        return None
    if journal.target not in names:
        return f"its target {journal.target!r} is not an appliance of pair {pair.name}"
    if not journal.steps:
        return "it has no steps"
    for step in journal.steps:
        if step.kind not in allowed:
            return f"a {journal.kind} has no {step.kind.value} step"
        if step.appliance not in names:
            return f"a step names {step.appliance!r}, not an appliance of pair {pair.name}"
    if journal.kind in MOVES:
        if journal.source not in names or journal.source == journal.target:
            return f"it moves production from {journal.source!r} to {journal.target!r}"
        promotes = [s for s in journal.steps if s.kind is StepKind.PROMOTE]
        if [s.appliance for s in promotes] != [journal.target]:
            return f"a {journal.kind} must promote {journal.target} once"
        if any(s.kind in (StepKind.DEMOTE, StepKind.FENCE) and s.appliance == journal.target
               for s in journal.steps):
            return f"it would demote or fence its own new production {journal.target}"
    elif any(s.appliance != journal.target and s.kind is not StepKind.DNS
             for s in journal.steps):
        return f"a {journal.kind} of {journal.target} sends to another appliance"
    return None


def new_journal(**fields: Any) -> Journal:
    return Journal(pid=os.getpid(), host=socket.gethostname(), **fields)


def load_journal(store: StateStore, pair: str) -> tuple[Journal | None, Any]:
    """(journal, raw): `raw` is set (and the journal None) for a record this version cannot
    read; it is reported, never silently dropped."""
    raw = automation_entry(store, pair).get("journal")
    if raw is None:
        return None, None
    journal = Journal.from_json(raw)
    return journal, (raw if journal is None else None)


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
                             "by": journal.by, "source": journal.source,
                             "target": journal.target, "result": result, "detail": detail,
                             "at": now, "promoted": journal.done(StepKind.PROMOTE)}
        if also is not None:
            also(entry, auto)
    update_pair(store, journal.pair, change)


def set_aside_journal(store: StateStore, pair: str, now: float, why: str) -> Any:
    """Move a record that must not be acted on aside (kept for a person to read)."""
    kept: dict[str, Any] = {}

    def change(entry: dict[str, Any], auto: dict[str, Any]) -> None:
        kept["raw"] = auto.pop("journal", None)
        auto["unreadable_journal"] = {"at": now, "raw": kept["raw"], "why": why}
    update_pair(store, pair, change)
    return kept.get("raw")
