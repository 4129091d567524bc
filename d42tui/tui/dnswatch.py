"""DnsWatch: asks the authoritative servers what each pair's service name points at.

A query runs in a worker at most every `every` seconds (polls trigger it, so a paused
console stops asking too), or at once after a DNS switch; widgets never do I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..config.models import PairConfig

if TYPE_CHECKING:
    from textual.app import App

    from ..dns import DnsAnswer

DNS_EVERY = 10.0  # seconds between two looks at a pair's record


class DnsWatch:
    """The latest answer per pair (`answers`); `show(pair, answer)` runs on the app's loop."""

    def __init__(self, app: App, pairs: list[PairConfig], show: Callable[[str, DnsAnswer], None],
                 every: float = DNS_EVERY) -> None:
        self.app = app
        self.pairs = {p.name: p for p in pairs if p.dns is not None}
        self.show = show
        self.every = every
        self.answers: dict[str, DnsAnswer] = {}
        self._asked: dict[str, float] = {}  # monotonic time of the last query started
        self._busy: set[str] = set()
        self._again: set[str] = set()  # a refresh asked while a query was running

    def tick(self, pair: str) -> None:
        """After a poll of `pair`: a query if the last one is old enough."""
        if pair in self.pairs and time.monotonic() - self._asked.get(pair, -1e9) >= self.every:
            self.refresh(pair)

    def refresh(self, pair: str) -> None:
        if pair not in self.pairs:
            return
        if pair in self._busy:
            self._again.add(pair)
            return
        self._busy.add(pair)
        self._asked[pair] = time.monotonic()
        self.app.run_worker(self._ask(pair), group="dns", exit_on_error=False)

    async def _ask(self, pair: str) -> None:
        from ..dns import DnsAnswer, query

        cfg = self.pairs[pair].dns
        assert cfg is not None
        try:
            answer = await query(cfg)
        except Exception as exc:  # the board says it; the console goes on
            answer = DnsAnswer(cfg.name, cfg.type, (), None, (), "network",
                               f"query failed: {exc.__class__.__name__}: {exc}")
        finally:
            self._busy.discard(pair)
        self.show(pair, answer)  # the app keeps it in `answers` and hands it to the screens
        if pair in self._again:
            self._again.discard(pair)
            self.refresh(pair)
