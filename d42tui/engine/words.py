"""The words every front end shares for the engine's values: modes, reachability,
latency, backup status, times, and how levels rank (the CLI's table and the board)."""

from __future__ import annotations

from datetime import UTC, datetime

from .pair import ApplianceView, AssertedMode, Reachability

# Worst last: how check and the board rank a pair's levels against each other.
LEVEL_ORDER = {"ok": 0, "warning": 1, "unknown": 2, "critical": 3}


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def hhmm(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M")


def mode_text(mode: AssertedMode) -> str:
    if mode.source == "console" and mode.at is not None:
        return f"{mode.mode} · set by console {hhmm(mode.at)}"
    return f"{mode.mode} · declared"


def reach_text(view: ApplianceView) -> str:
    text = f"{view.reachability.glyph} {view.reachability.value}"
    if view.reachability in (Reachability.DOWN, Reachability.SUSPECT) and view.last_failure:
        text += f" ({view.last_failure.kind.label})"
    return text


def latency_text(view: ApplianceView) -> str:
    last = view.last
    return "-" if last is None or last.latency is None else f"{last.latency * 1000:.0f} ms"


def backup_text(view: ApplianceView, limit: int | None = 24) -> str:
    """The first backup job's status; cut at `limit` (marked) for the console's card, whose
    banner has it whole — never for output that may be piped (`limit=None`)."""
    health = view.health
    if health is None:
        return "-"
    if not health.backups:
        return "no backup jobs"
    job = health.backups[0]
    text = job.text if limit is None or len(job.text) <= limit else job.text[:limit - 1] + "…"
    return f"{text} @ {job.at:%m-%d %H:%M}" if job.at else text
