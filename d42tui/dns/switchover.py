"""Point the service name at a new value: read it, update with a prerequisite, verify.

The decisions are pure functions; `switch` does the I/O around them and returns a result.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from .backend import DnsBackend, DnsUpdateResult
from .config import DnsConfig, Rfc2136Backend, normalize_value
from .lookup import DnsAnswer, query, which_appliance

log = logging.getLogger("d42tui.dns")

SwitchOutcome = Literal["done", "failed", "unknown", "refused"]
Start = Literal["update", "already", "stop"]


@dataclass(frozen=True)
class DnsSwitchResult:
    """The whole story of one DNS switch, for the board, the CLI and the audit log."""

    outcome: SwitchOutcome
    text: str  # one human sentence (or two); never holds a secret
    name: str
    type: str
    old_values: tuple[str, ...]  # what the record held before (as read by the console)
    new_value: str
    target: str | None  # the appliance `new_value` belongs to, if any
    update: DnsUpdateResult | None  # None when nothing was sent
    verification: DnsAnswer | None  # the last poll of the authoritative servers
    retry_command: str  # lines an operator can paste; no secret
    elapsed: float  # seconds, from the injected clock


def resolve_target(cfg: DnsConfig, to: str) -> str:
    """An appliance name (a key of `targets`) or a value of the record's type, normalised.
    Raises ValueError with an operator-facing message when it is neither."""
    if to in cfg.targets:
        return cfg.targets[to]
    try:
        return normalize_value(cfg.type, to)
    except ValueError as exc:
        names = ", ".join(cfg.targets)
        raise ValueError(f"'{to}' is neither an appliance ({names}) nor a usable {cfg.type} "
                         f"value: {exc}") from None


def decide_start(current: DnsAnswer, new_value: str, expected_old: tuple[str, ...] | None
                 ) -> tuple[Start, SwitchOutcome | None, str]:
    """Whether to send an update, given what the primary answers now (pure)."""
    if not current.answered:
        return "stop", "failed", (f"cannot read the current record ({current.error_text}); "
                                  "nothing was sent")
    if expected_old is not None and tuple(sorted(expected_old)) != current.values:
        now = ", ".join(current.values) or "no record"
        saw = ", ".join(expected_old) or "no record"
        return "stop", "refused", (f"the record changed since it was shown: now {now}, "
                                   f"you saw {saw}; nothing was sent")
    if current.values == (new_value,):
        return "already", None, f"the record already holds {new_value}"
    return "update", None, ""


def after_update(update: DnsUpdateResult) -> SwitchOutcome | None:
    """The final outcome when the update settles it; None when verification must decide."""
    if update.outcome in ("done", "unknown"):
        return None  # accepted, or maybe applied: the servers will tell
    if update.outcome == "refused":
        return "refused"
    return "failed"  # prerequisite-failed or failed: nothing changed


def judge_verification(answer: DnsAnswer, new_value: str, sent_outcome: str, waited: float
                       ) -> tuple[SwitchOutcome, str]:
    """How the switch ends once the servers answer the new value or time runs out (pure).

    `sent_outcome` is the update's outcome ("done" / "unknown"), or "already"."""
    want = (new_value,)
    if answer.all_answer(want):
        count = len(answer.servers)
        if sent_outcome == "unknown":
            return "done", (f"the update's reply was lost, but all {count} server(s) now "
                            f"answer {new_value}")
        return "done", f"all {count} authoritative server(s) answer {new_value}"
    after = f"after {waited:.0f}s"
    if not answer.answered:
        return "unknown", (f"the change was sent but no authoritative server answered {after} "
                           f"({answer.error_text}): cannot confirm it")
    right = [s for s in answer.servers if s.answered and s.values == want]
    wrong = [s.describe() for s in answer.servers if not (s.answered and s.values == want)]
    if right:
        return "unknown", (f"{len(right)} of {len(answer.servers)} server(s) answer {new_value} "
                           f"{after}; still behind: {'; '.join(wrong)}")
    if sent_outcome == "unknown":
        return "unknown", (f"no reply to the update, and the servers still do not answer "
                           f"{new_value} {after} ({'; '.join(wrong)}): most likely not applied")
    return "failed", (f"the change was accepted but no server answers {new_value} {after} "
                      f"({'; '.join(wrong)})")


def retry_command(cfg: DnsConfig, pair: str | None, to: str, recipe: str) -> str:
    """The console command first, then the same change by hand."""
    line = f"d42tui dns set --pair {pair or 'PAIR'} --to {to} --ttl {cfg.ttl} --yes"
    return f"{line}\n# or by hand (bash):\n{recipe}"


async def _verify(cfg: DnsConfig, new_value: str, clock: Callable[[], float],
                  sleep: Callable[[float], Awaitable[object]]) -> tuple[DnsAnswer, float]:
    started = clock()
    deadline = started + cfg.verify_timeout
    while True:
        answer = await query(cfg)
        if answer.all_answer((new_value,)) or clock() >= deadline:
            return answer, clock() - started
        await sleep(max(0.0, min(cfg.verify_interval, deadline - clock())))


async def switch(cfg: DnsConfig, to_value: str, *, pair: str | None = None,
                 expected_old: tuple[str, ...] | None = None,
                 backend: DnsBackend | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> DnsSwitchResult:
    """Point `cfg.name` at `to_value` (an appliance name or a value) and verify it.

    `expected_old`: what the operator saw when confirming; if the record holds something
    else now, nothing is sent. Raises ValueError only for a `to_value` that fits nothing."""
    started = clock()
    new_value = resolve_target(cfg, to_value)
    target = which_appliance(cfg, (new_value,))
    if backend is None:
        from .backends import make_backend  # the backends' libraries load when one is used

        backend = make_backend(cfg)
    # the prerequisite must reflect the primary, not a secondary that may lag behind it
    primary = (cfg.update_endpoint,) if isinstance(cfg.backend, Rfc2136Backend) else None
    current = await query(cfg, endpoints=primary)

    def finish(outcome: SwitchOutcome, text: str, update: DnsUpdateResult | None = None,
               verification: DnsAnswer | None = None, old: tuple[str, ...] | None = None
               ) -> DnsSwitchResult:
        old_values = current.values if old is None else old
        recipe = backend.recipe(old_values, new_value)
        log.info("dns switch %s %s -> %s: %s: %s", cfg.name,
                 ", ".join(old_values) or "(none)", new_value, outcome, text)
        return DnsSwitchResult(outcome, text, cfg.name, cfg.type, current.values, new_value,
                               target, update, verification,
                               retry_command(cfg, pair, target or new_value, recipe),
                               clock() - started)

    start, stop_outcome, text = decide_start(current, new_value, expected_old)
    if start == "stop":
        assert stop_outcome is not None
        return finish(stop_outcome, text)
    update: DnsUpdateResult | None = None
    sent_outcome = "already"
    if start == "update":
        update = await backend.update(current.values, new_value)
        settled = after_update(update)
        if settled is not None:
            return finish(settled, update.text, update, old=update.current)
        sent_outcome = update.outcome
    answer, waited = await _verify(cfg, new_value, clock, sleep)
    outcome, text = judge_verification(answer, new_value, sent_outcome, waited)
    if start == "already":
        text = f"the record already held {new_value}; {text}"
    return finish(outcome, text, update, answer)
