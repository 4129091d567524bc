"""SchedulePanel: next backup on production and next restore on the standby, counting down.

It reads the clock once a second, but only the narrow `Countdown` repaints, and
only when its text changes (schedule.countdown_text has seconds only in the last
hour); the labels change when a schedule fires or a restore window opens or closes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, tzinfo

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from ...config.models import PairConfig
from ...engine import schedule
from ..text.boardtext import clock_text, next_fire, restore_window
from .countdown import Countdown


class SchedulePanel(Widget):
    """Countdowns to the next backup and restore, the restore window, and cron warnings."""

    DEFAULT_CSS = """
    SchedulePanel {
        height: auto;
        padding: 0 1;
    }
    SchedulePanel > Horizontal { height: auto; }
    SchedulePanel #schedule-labels { width: auto; height: auto; text-wrap: nowrap; }
    SchedulePanel Countdown { margin-left: 1; }
    SchedulePanel #schedule-warning { height: auto; color: $warning; text-style: bold; }
    SchedulePanel #schedule-warning.-hidden { display: none; }
    """

    # (production, standby) as asserted; set by the board from each snapshot.
    roles: reactive[tuple[str | None, str | None]] = reactive((None, None), init=False)

    def __init__(self, pair: PairConfig, *, clock: Callable[[], float] = time.time,
                 local_tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pair = pair
        self.clock = clock
        self.local_tz = local_tz
        self._next: dict[str, float] = {}
        self._restore: tuple[str, float] | None = None  # ("window", end) or ("next", fire)
        self._labels = ""
        self._clash = ""
        # After a DNS switch: (what to say, until when), shown with its own countdown.
        self.follow: tuple[str, float] | None = None
        self.labels = Static(id="schedule-labels", markup=False)
        self.countdown = Countdown()
        self.warning_box = Static(id="schedule-warning", classes="-hidden", markup=False)

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield self.labels
            yield self.countdown
        yield self.warning_box

    def on_mount(self) -> None:
        self.tick()
        now = self.clock()
        # Tick on the clock's second boundary so the countdown never skips or stalls.
        self.set_timer(max(0.05, 1.0 - (now % 1.0)), self._start_ticking)

    def _start_ticking(self) -> None:
        self.tick()
        self.set_interval(1.0, self.tick)

    def watch_roles(self) -> None:
        self.tick()

    def _fire(self, key: str, cron: str, now: float) -> float:
        nxt = self._next.get(key)
        if nxt is None or nxt <= now:
            nxt = next_fire(cron, self.pair.zone, now)
            self._next[key] = nxt
        return nxt

    def _restore_state(self, cron: str, now: float) -> tuple[str, float]:
        """The restore window or the next restore; cron maths only when one of them passes."""
        state = self._restore
        if state is None or now >= state[1]:
            window = restore_window(self.pair, now)
            state = ("window", window[1]) if window else (
                "next", next_fire(cron, self.pair.zone, now))
            self._restore = state
        return state

    def _when(self, ts: float, now: float) -> str:
        text = clock_text(ts, self.pair.zone, now)
        local = datetime.fromtimestamp(ts, self.local_tz).astimezone(self.local_tz)
        there = datetime.fromtimestamp(ts, self.pair.zone)
        if local.utcoffset() != there.utcoffset():
            text += f" ({local:%H:%M} local)"
        return text

    def rows(self, now: float) -> list[tuple[str, str]]:
        """(label, countdown) for each configured schedule. The labels of the rows that count
        down are padded to one width before their last word ("in", "ends in"), so the word
        stays next to its figure in the countdown column."""
        raw = self._rows(now)
        width = max((len(label) + 2 + len(word) for label, word, left in raw
                     if left is not None), default=0)
        return [(label if left is None else
                 f"{label}{' ' * (width - len(label) - len(word))}{word}".rstrip(),
                 "" if left is None else schedule.countdown_text(left))
                for label, word, left in raw]

    def _rows(self, now: float) -> list[tuple[str, str, float | None]]:
        """(label, the word before the countdown, seconds left or None) per row."""
        production, standby = self.roles
        out: list[tuple[str, str, float | None]] = []
        pair = self.pair
        if pair.backup_cron:
            nxt = self._fire("backup", pair.backup_cron, now)
            out.append((f"next backup  on {production or '(no production asserted)'}  "
                        f"{self._when(nxt, now)}", "in", nxt - now))
        else:
            out.append(("no backup schedule configured (backup_cron)", "", None))
        if pair.restore_cron:
            kind, until = self._restore_state(pair.restore_cron, now)
            if kind == "window":
                out.append((f"RESTORE WINDOW ON {standby or '?'}  until "
                            f"{self._when(until, now)}", "ends in", until - now))
            else:
                nxt = until
                who = standby or "(no standby asserted)"
                out.append((f"next restore on {who}  {self._when(nxt, now)}", "in", nxt - now))
        else:
            out.append(("no restore schedule configured (restore_cron)", "", None))
        if self.follow is not None:
            text, until = self.follow
            if now < until:
                out.append((text, "", until - now))
            else:
                self.follow = None
        return out

    def show_follow(self, text: str, until: float) -> None:
        """A row counting down to when every client has the new DNS answer."""
        self.follow = (text, until)
        self.tick()

    def show_clash(self, text: str) -> None:
        """The engine's "restore before its backup lands" warning, from the snapshot's pipeline
        (found once, off the UI loop: it scans a year of cron fires)."""
        text = f"▲ {text}" if text else ""
        if text != self._clash:
            self._clash = text
            self.warning_box.set_class(not text, "-hidden")
            self.warning_box.update(text)

    def tick(self) -> None:
        now = self.clock()
        rows = self.rows(now)
        labels = "\n".join(label for label, _ in rows)
        if labels != self._labels:
            self._labels = labels
            self.labels.update(Content(labels))
        self.countdown.lines = tuple(count for _, count in rows)
