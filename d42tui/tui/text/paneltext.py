"""What the board's DNS line and backup-pipeline panel say, as plain data.

Pure functions of the config, the latest DNS answer or snapshot and the time, at
minute resolution, so the widgets repaint only when an operator would see a change.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ...config.models import PairConfig
from ...engine.pair import PairSnapshot
from ...engine.schedule import duration_words
from .boardtext import Line, Tone

if TYPE_CHECKING:
    from ...dns import DnsAnswer, DnsConfig

# The engine's default when no backup section names a max_age (as in actions.plan_action).
DEFAULT_MAX_AGE = 26 * 3600


def dns_lines(cfg: DnsConfig, answer: DnsAnswer | None, production: str | None
              ) -> tuple[Line, ...]:
    """The service name, its answer now, TTL, whose it is; a loud line when it is wrong."""
    if answer is None:
        return ((("DNS ", "strong"),
                 (f"{cfg.name} {cfg.type}: asking the authoritative servers…", "dim")),)
    from ...dns import DnsProblemKind, dns_mismatch, dns_summary

    mismatch = dns_mismatch(cfg, answer, production)
    first: Line = (("DNS ", "strong"), (dns_summary(cfg, answer), "warning" if mismatch else "ok"))
    if mismatch is None:
        return (first,)
    loud = mismatch.kind in (DnsProblemKind.MISMATCH, DnsProblemKind.UNKNOWN)
    return first, ((f"▲ {mismatch}", "critical" if loud else "warning"),)


def _size(n: int | None) -> str:
    if n is None:
        return "size ?"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _clock(moment: datetime, pair: PairConfig, now: float) -> str:
    local = moment.astimezone(pair.zone)
    text = f"{local:%H:%M} {local.tzname()}"
    return f"{local:%a} {text}" if abs(moment.timestamp() - now) >= 86400 else text


_FILE_TONE: dict[str, Tone] = {"ready": "ok", "in-progress": "warning", "missing": "critical",
                               "error": "critical"}


def pipeline_lines(pair: PairConfig, snap: PairSnapshot | None, now: float,
                   skip: tuple[str, ...] = ()) -> tuple[Line, ...]:
    """Last backup (file and production's own status), the standby's estimated data age,
    and the pipeline warnings but those in `skip` (codes shown elsewhere on the board).
    Empty when the pair has no pipeline to show."""
    planned: list[Line] = []
    if snap is not None and (item := snap.scheduled_switchover) is not None:
        planned.append((("⏲ planned ", "strong"), (item.text(pair.zone, now), "")))
    view = snap.pipeline if snap is not None else None
    if view is None or snap is None:
        return tuple(planned)
    lines: list[Line] = planned
    prod = snap.verdict.production
    health = snap.views[prod].health if prod else None
    own: Line = ()
    if health is not None and health.backups:
        job = health.backups[0]
        level: Tone = "" if job.level == "ok" else job.level
        own = ((" · production says: ", "dim"), (job.text[:32], level))
    latest = view.latest
    if latest is None:
        if own:
            lines.append((("last backup", ""), (" (file not watched)", "dim"), *own))
    elif latest.present and latest.mtime is not None:
        lines.append((("last backup ", ""),
                      (f"{_clock(latest.mtime, pair, now)} · {_size(latest.size)} · "
                       f"{latest.state}", _FILE_TONE.get(str(latest.state), "")), *own))
    else:
        lines.append((("last backup ", ""),
                      (f"{latest.state}: {latest.error or 'no file'}"[:60], "critical"), *own))
    est = view.estimate
    if est is not None:
        if est.restored_backup_time is not None:
            age = now - est.restored_backup_time.timestamp()
            limit = pair.backup.max_age if pair.backup is not None else DEFAULT_MAX_AGE
            tone: Tone = "warning" if age > limit else "strong"
            source = (f"its own, production until {_clock(est.left_production_at, pair, now)}"
                      if est.left_production_at is not None else
                      f"restored the {_clock(est.restored_backup_time, pair, now)} backup")
            lines.append((("standby data ", ""), (f"≈ {duration_words(age)} old", tone),
                          (f" (estimate: {source})", "dim")))
        else:
            lines.append((("standby data age unknown ", ""), (f"(estimate: {est.reason})", "dim")))
    for warning in view.warnings:
        if warning.code not in skip:
            lines.append(((f"▲ {warning.text}", str(warning.severity)),))
    return tuple(lines)
