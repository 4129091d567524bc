"""What the board says, as plain data: card lines, the verdict banner, pair-list rows.

Pure functions of a snapshot and the time, so widgets can compare the new text with
the old and repaint only on a change; the coarse latency buckets and minute-resolution
ages are what keep a 1 s poll from repainting the board every second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING

from ...config.models import ApplianceConfig, PairConfig
from ...engine import schedule
from ...engine.pair import (
    ApplianceView,
    AssertedMode,
    PairSnapshot,
    PairVerdict,
    Reachability,
    Verdict,
)
from ...engine.words import LEVEL_ORDER, backup_text, mode_text, reach_text

Tone = str  # "", "ok", "warning", "critical", "dim", "strong"
Span = tuple[str, Tone]
Line = tuple[Span, ...]

VERDICT_GLYPH = {"ok": "✔", "warning": "▲", "critical": "✖", "unknown": "?"}
REACH_TONE = {Reachability.UP: "ok", Reachability.SUSPECT: "warning",
              Reachability.DOWN: "critical", Reachability.UNKNOWN: "unknown"}

# Latency buckets (upper bounds in ms); a value near a boundary keeps its old bucket.
# Coarse on purpose: an operator needs "fast / slow / very slow", and a jittery link
# must not repaint the card every poll.
_BUCKETS = (50, 200, 1000)
_HYSTERESIS = 0.3
# Health figures wander on every poll; between threshold crossings the card shows them
# at most this often (a crossing, which changes a figure's tone, shows at once).
FIGURES_EVERY = 60.0

if TYPE_CHECKING:
    from ...dns import DnsProblem


def latency_bucket(seconds: float | None, previous: str | None = None) -> str:
    """A coarse latency label (`<30 ms`) that does not flip on every small change."""
    if seconds is None:
        return "-"
    ms = seconds * 1000

    def label(i: int) -> str:
        if i >= len(_BUCKETS):
            return "≥1 s"
        bound = _BUCKETS[i]
        return "<1 s" if bound == 1000 else f"<{bound} ms"

    index = next((i for i, b in enumerate(_BUCKETS) if ms < b), len(_BUCKETS))
    labels = [label(i) for i in range(len(_BUCKETS) + 1)]
    if previous in labels:
        prev = labels.index(previous)
        if abs(prev - index) == 1:
            boundary = _BUCKETS[min(prev, index)]
            if abs(ms - boundary) <= boundary * _HYSTERESIS:
                return previous
    return labels[index]


# The engine's clock gives epoch seconds; schedule.py takes and returns aware datetimes.
def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def next_fire(cron: str, tz: tzinfo, now: float) -> float:
    return schedule.next_fire(cron, tz, _at(now)).timestamp()


def restore_window(pair: PairConfig, now: float) -> tuple[float, float] | None:
    """(start, end) of the restore running at `now` on the pair's standby, else None."""
    if pair.restore_cron is None:
        return None
    window = schedule.restore_window(pair.restore_cron, pair.zone, pair.restore_duration,
                                     _at(now))
    return None if window is None else (window[0].timestamp(), window[1].timestamp())


def age_text(seconds: float) -> str:
    """Minute resolution beyond a minute: `<1 min`, `12 min`, `3 h 04 min`, `2 d 3 h`."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return "<1 min"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def clock_text(ts: float, tz: tzinfo, now: float | None = None) -> str:
    """`04:30 UTC`, with the weekday when it is not within the next day."""
    moment = datetime.fromtimestamp(ts, tz)
    text = f"{moment:%H:%M} {moment.tzname()}"
    if now is not None and abs(ts - now) >= 86400:
        text = f"{moment:%a} {text}"
    return text


def _above(value: float | None, levels: tuple[float, float]) -> Tone:
    if value is None:
        return "dim"
    return "critical" if value >= levels[1] else "warning" if value >= levels[0] else ""


def _below(value: float | None, levels: tuple[float, float]) -> Tone:
    if value is None:
        return "dim"
    return "critical" if value <= levels[1] else "warning" if value <= levels[0] else ""


_TONE_WORD = {"warning": " WARN", "critical": " CRIT"}


def _figure(label: str, value: float | None, unit: str, tone: Tone) -> Span:
    text = f"{label} -" if value is None else f"{label} {value:.0f}{unit}"
    return text + _TONE_WORD.get(tone, ""), tone


@dataclass(frozen=True)
class CardModel:
    """One appliance card: border title/subtitle, the card's tone and its text lines."""

    title: str
    subtitle: str
    tone: Tone
    lines: tuple[Line, ...]
    latency: str = "-"  # the bucket shown, fed back for hysteresis
    figures_at: float = 0.0  # when the health figures shown were taken

    def plain(self) -> str:
        return "\n".join("".join(text for text, _ in line) for line in self.lines)


CARD_LINES = 7


def waiting_card(cfg: ApplianceConfig, mode: AssertedMode) -> CardModel:
    lines: tuple[Line, ...] = (((cfg.url, "dim"),), ((mode_text(mode), ""),),
                               (("? waiting for the first poll", "dim"),))
    return CardModel(cfg.name, mode.mode.upper(), "unknown",
                     lines + ((("", ""),),) * (CARD_LINES - len(lines)))


def fencing_due(snap: PairSnapshot, name: str) -> bool:
    """It came back (DOWN → UP) while desired standby and was not re-asserted since: the
    vendor's advice is to put it in standby again so that it runs no jobs."""
    view = snap.views[name]
    if (view.came_back_at is None or name == snap.desired_production
            or view.reachability is not Reachability.UP):
        return False
    mode = snap.modes[name]
    return not (mode.source == "console" and mode.mode == "standby" and mode.at is not None
                and mode.at >= view.came_back_at)


FENCING_LINE: Line = (("▲ came back: R re-asserts standby", "warning"),)


def card_model(pair: PairConfig, cfg: ApplianceConfig, view: ApplianceView, mode: AssertedMode,
               now: float, previous: CardModel | None = None,
               fencing: bool = False, pad: bool = False) -> CardModel:
    """The card of one appliance at time `now` (ages are relative to it); `fencing` adds
    the re-assert offer (see `fencing_due`), `pad` a blank line so that both cards stay
    the same height while the peer's card has the offer."""
    url: Line = ((cfg.url, "dim"),)
    if cfg.insecure:
        url += ((" TLS OFF", "warning"),)
    mode_line: Line = ((mode_text(mode), "strong" if mode.mode == "production" else ""),)

    tone = REACH_TONE[view.reachability]
    latency = latency_bucket(view.last.latency if view.last and view.last.ok else None,
                             previous.latency if previous else None)
    reach: Line = ((_reach_words(view, pair.poll.recovery_threshold), tone),)
    if latency != "-":
        reach += ((f" · {latency}", ""),)
    if cfg.mode_probe is not None and view.last is not None:
        probed = view.last.probed_mode
        if probed == mode.mode:
            reach += ((" · probe ✔", "ok"),)
        elif probed is not None:
            reach += ((f" · probe: {probed} ✖", "critical"),)
        elif view.last.ok:
            reach += ((" · probe ?", "warning"),)

    failures = view.consecutive_failures
    if view.last_good is None:
        last_good = "never answered"
    else:
        last_good = f"last good {age_text(now - view.last_good.at)} ago"
    fail_line: Line = ((f"failures {failures}", "critical" if failures else ""),
                       (f" · {last_good}", ""))

    health = view.health
    t = pair.thresholds
    if health is None:
        figures: Line = (("no health figures yet", "dim"),)
        db_line: Line = (("", ""),)
    else:
        figures = (_figure("CPU", health.cpu_percent, "%", _above(health.cpu_percent, t.cpu_percent)),
                   (" · ", ""),
                   _figure("mem free", health.mem_free_percent, "%",
                           _below(health.mem_free_percent, t.memory_free_percent)),
                   (" · ", ""),
                   _figure("disk", health.disk_percent, "%",
                           _above(health.disk_percent, t.disk_percent)))
        db_line = (_figure("DB", health.dbsize_mb, " MB", _above(health.dbsize_mb, t.dbsize_mb)),
                   (f" · v{health.version or '-'}", ""))
    stale = health is not None and view.last is not None and not view.last.ok

    if mode.mode == "production":
        level = health.backup_level if health is not None else "dim"
        # The state first: the vendor's text may not fit the card (the banner has it whole).
        role_line: Line = (("backup ", ""), *(((_BACKUP_WORD[level], level),)
                                              if level in _BACKUP_WORD else ()),
                           (backup_text(view), "" if level == "ok" else level))
    else:
        role_line = _restore_line(pair, now)
    if stale:
        # The latest poll failed: the figures (and production's backup status) are the last
        # good poll's. Said in words, not only dimmed.
        figures = tuple((text, "dim") for text, _ in figures)
        if mode.mode == "production":
            role_line = tuple((text, "dim") for text, _ in role_line)
            db_line = (("↑ ↓ as of the last good poll", "dim"),)
        else:
            db_line = (("↑ as of the last good poll", "dim"),)

    figures_at = now
    if previous is not None and len(previous.lines) >= CARD_LINES and health is not None:
        old_figures, old_db = previous.lines[4], previous.lines[5]
        same_tones = ([t for _, t in old_figures] == [t for _, t in figures]
                      and [t for _, t in old_db] == [t for _, t in db_line])
        if same_tones and now - previous.figures_at < FIGURES_EVERY:
            figures, db_line, figures_at = old_figures, old_db, previous.figures_at

    lines = (url, mode_line, reach, fail_line, figures, db_line, role_line)
    if fencing:
        lines += (FENCING_LINE,)
    elif pad:
        lines += ((("", ""),),)
    return CardModel(cfg.name, mode.mode.upper(), tone, lines, latency, figures_at)


_BACKUP_WORD = {"warning": "▲ CHECK ", "critical": "✖ FAILING "}


def _reach_words(view: ApplianceView, recovery_threshold: int) -> str:
    """`✖ DOWN (connection refused)`; an appliance answering again after an outage says
    so, not the reason it no longer has."""
    if view.recovering:
        return (f"{view.reachability.glyph} {view.reachability.value} · answering again "
                f"{view.consecutive_successes}/{recovery_threshold}")
    return reach_text(view)


def _restore_line(pair: PairConfig, now: float) -> Line:
    if pair.restore_cron is None:
        return (("no restore schedule configured", "dim"),)
    window = restore_window(pair, now)
    if window is not None:
        return (("RESTORE WINDOW ON", "warning"),
                (f" until {clock_text(window[1], pair.zone)}", ""))
    nxt = next_fire(pair.restore_cron, pair.zone, now)
    return ((f"restore window off · next {clock_text(nxt, pair.zone, now)}", ""),)


@dataclass(frozen=True)
class BannerModel:
    tone: Tone  # ok, warning, critical, unknown
    headline: str
    detail: str
    reasons: tuple[Span, ...] = ()
    next_step: str | None = None  # nextstep.next_step: what the operator can do, with its key

    def plain(self) -> str:
        step = [f"▶ next: {self.next_step}"] if self.next_step else []
        return "\n".join([f"{self.headline}  {self.detail}", *step]
                         + [t for t, _ in self.reasons])


def verdict_tone(verdict: PairVerdict) -> Tone:
    return "unknown" if verdict.verdict is Verdict.UNKNOWN else verdict.level


def headline(verdict: PairVerdict, dns_problem: DnsProblem | None = None) -> tuple[Tone, str]:
    """The pair's tone and headline: the verdict, and a wrong service name with it (the
    appliances can be fine while clients go to the standby). A healthy pair whose name is
    wrong is headed by the DNS problem alone: "✔ HEALTHY" must never sit above it."""
    tone = verdict_tone(verdict)
    words = verdict.verdict.value
    if dns_problem:
        level = dns_problem.level
        if LEVEL_ORDER[level] > LEVEL_ORDER[tone]:
            tone = level
        words = dns_problem.label if verdict.verdict is Verdict.HEALTHY else \
            f"{words} · {dns_problem.label}"
    return tone, f"{VERDICT_GLYPH[tone]} {words}"


def banner_model(pair: PairConfig, snap: PairSnapshot | None,
                 dns_problem: DnsProblem | None = None, next_step: str | None = None) -> BannerModel:
    if snap is None:
        return BannerModel("unknown", "? UNKNOWN", f"pair {pair.name}",
                           (("waiting for the first poll", "dim"),))
    verdict = snap.verdict
    tone, head = headline(verdict, dns_problem)
    roles = [f"pair {pair.name}"]
    if dns_problem and verdict.verdict is Verdict.HEALTHY:
        roles.insert(0, "appliances HEALTHY")
    prods = [n for n in snap.order or snap.modes if snap.modes[n].mode == "production"]
    if len(prods) == 1:
        roles.append(f"production {prods[0]}")
        roles += [f"standby {n}" for n in snap.modes if n != prods[0]]
    # all of them: the banner shows what fits at its width and counts the rest
    reasons = tuple((f"· {r.text}", r.level) for r in verdict.reasons)
    return BannerModel(tone, head, " · ".join(roles), reasons, next_step)


@dataclass(frozen=True)
class PairRow:
    """One row of the many-pairs list."""

    pair: str
    verdict: str
    tone: Tone
    production: str
    standby: str
    summary: str
    automation: str = "-"  # watch mode, short: ARMED 2/3, PAUSED, ACTING 1/3, ISOLATED, OFF


def pair_row(pair: PairConfig, snap: PairSnapshot | None, automation: str = "-",
             dns_problem: DnsProblem | None = None) -> PairRow:
    if snap is None:
        return PairRow(pair.name, "? UNKNOWN", "unknown", "-", "-", "waiting for the first poll",
                       automation)
    tone, head = headline(snap.verdict, dns_problem)
    names = [a.name for a in pair.appliances]

    def who(role: str) -> str:
        out = [f"{n} {snap.views[n].reachability.glyph}" for n in names
               if snap.modes[n].mode == role]
        return ", ".join(out) or "-"

    summary = snap.verdict.reasons[0].text if snap.verdict.reasons else ""
    if dns_problem and (not summary or LEVEL_ORDER[dns_problem.level] >= LEVEL_ORDER[
            snap.verdict.reasons[0].level]):
        summary = str(dns_problem)
    return PairRow(pair.name, head, tone, who("production"), who("standby"), summary, automation)
