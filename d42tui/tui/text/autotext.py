"""What the board, the pair list and the pause/resume dialog say about watch-mode automation.

Pure functions of the engine's `AutomationState` (d42tui.watch.status), at minute
resolution, so the board repaints only when an operator would see a change. The state
is always a word (ARMED, PAUSED, ACTING, ISOLATED, OFF), never a colour alone.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

from ...config.durations import format_duration
from ...watch.status import AutomationState, Pause
from .boardtext import Line, Tone

KIND_TONE: dict[str, Tone] = {"ARMED": "ok", "PAUSED": "warning", "ACTING": "warning",
                              "ISOLATED": "critical", "LOST": "warning", "OFF": "dim"}
MAX_REASON_SHOWN = 48


def clock(ts: float, tz: tzinfo | None) -> str:
    return datetime.fromtimestamp(ts, tz).strftime("%H:%M")


def pause_words(pause: Pause, tz: tzinfo | None, *, reason_max: int = MAX_REASON_SHOWN) -> str:
    """`reason · until 14:30 · by alice@host` (a watcher's hold: `held after …`)."""
    reason = pause.reason if len(pause.reason) <= reason_max else \
        pause.reason[:reason_max - 1] + "…"
    until = "until resumed (A)" if pause.until is None else f"until {clock(pause.until, tz)}"
    who = "held by the watcher after a failover" if pause.kind == "hold" else f"by {pause.by}"
    return f"{reason} · {until} · {who}"


def automation_text(state: AutomationState, tz: tzinfo | None) -> str:
    """One line: `ARMED · primary d42-a failures 2/3`, `PAUSED · reason · until 14:30 · by …`,
    `ACTING · … step 2 of 3`, `ISOLATED · …`, `OFF · no watcher running`."""
    if state.kind == "PAUSED" and state.pause is not None:
        return f"PAUSED · {pause_words(state.pause, tz)}"
    text = state.text
    if state.kind == "OFF" and state.heartbeat_at is not None:
        # The engine says "3s ago": that would repaint every second; the clock does not.
        text = re.sub(r"\(last heartbeat [^)]*\)",
                      f"(last heartbeat {clock(state.heartbeat_at, tz)})", text)
    if state.kind == "OFF" and state.pause is not None and not state.dry_run:
        text = text.split(" · paused by ")[0].split(" · held by ")[0]
        text += f" · paused: {pause_words(state.pause, tz, reason_max=24)}"
    return text


def automation_line(state: AutomationState | None, tz: tzinfo | None) -> tuple[Line, ...]:
    """The board's automation line; nothing when the console has no state store."""
    if state is None:
        return ()
    text = automation_text(state, tz)
    rest = text[len(state.kind):] if text.startswith(state.kind) else f" · {text}"
    return ((("automation ", "strong"), (state.kind, KIND_TONE.get(state.kind, "")), (rest, "")),)


def automation_short(state: AutomationState | None) -> str:
    """The pair list's column: ARMED 2/3, PAUSED, ACTING 2/3, ISOLATED, OFF."""
    if state is None:
        return "-"
    if state.kind == "ARMED" and state.failures and state.failures[0]:
        return f"ARMED {state.failures[0]}/{state.failures[1]}"
    if state.kind == "ACTING" and state.step:
        return f"ACTING {state.step[0]}/{state.step[1]}"
    return state.kind


def pause_effect(pair: str, duration: float | None, now: float, tz: tzinfo | None) -> str:
    until = ("until someone resumes it (A, or `d42tui resume " + pair + "`)") \
        if duration is None else \
        f"for {format_duration(duration)}, until {clock(now + duration, tz)}; then it re-arms itself"
    return (f"The watcher will not fail over or fail back pair {pair} by itself {until}. "
            "Fencing a returning old primary goes on. The pause (who, why, until) is written "
            "to the state file and the audit log; nothing is sent to an appliance.")


def resume_effect(pair: str, state: AutomationState) -> str:
    watcher = "" if state.kind != "OFF" else \
        " (no watcher is running now: it takes effect when one starts)"
    return (f"Automatic failover for pair {pair} is armed again{watcher}: the pause and any "
            "hold after an automatic failover are cleared, and written to the audit log.")
