"""Headless renderings of pair snapshots: the status table, `--json`, and the check line.

The JSON layout is a stable contract (`schema_version`); see docs/status-json.md.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..appliance.client import Failure
from ..config.models import ApplianceConfig, Config, PairConfig
from ..engine.pair import (
    ApplianceView,
    AssertedMode,
    PairSnapshot,
    Reachability,
    versions_differ,
)
from ..engine.words import (
    LEVEL_ORDER,
    backup_text,
    iso,
    latency_text,
    mode_text,
    reach_text,
)

if TYPE_CHECKING:
    from ..dns import DnsAnswer, DnsProblem  # noqa: F401
    from ..watch.status import AutomationState

SCHEMA_VERSION = 1
NAGIOS = {"ok": (0, "OK"), "warning": (1, "WARNING"), "critical": (2, "CRITICAL"),
          "unknown": (3, "UNKNOWN")}


def tls_mode(cfg: ApplianceConfig) -> str:
    if cfg.url.startswith("http://"):
        return "plain-http"
    if cfg.tls.fingerprint_sha256:
        return "pinned"
    if not cfg.tls.verify:
        return "insecure"
    return "ca_file" if cfg.tls.ca_file else "system"


def _failure_json(failure: Failure | None) -> dict[str, Any] | None:
    if failure is None:
        return None
    return {"kind": failure.kind.value, "label": failure.kind.label, "detail": failure.detail,
            "status": failure.status}


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def appliance_json(cfg: ApplianceConfig, view: ApplianceView, mode: AssertedMode,
                   desired_production: str) -> dict[str, Any]:
    last = view.last
    health = view.health
    return {
        "name": cfg.name,
        "url": cfg.url,
        "desired_role": "production" if cfg.name == desired_production else "standby",
        "asserted_mode": {"mode": mode.mode, "source": mode.source, "at": iso(mode.at)},
        "reachability": view.reachability.value,
        "ok": bool(last and last.ok),
        "latency_ms": _round(last.latency * 1000) if last and last.latency is not None else None,
        "consecutive_failures": view.consecutive_failures,
        "outage_failures": view.outage_failures,  # those that show it not serving
        "last_good_poll": iso(view.last_good.at) if view.last_good else None,
        "failure": _failure_json(last.failure if last else None),
        "mode_probe": None if cfg.mode_probe is None else {
            "mode": last.probed_mode if last else None,
            "failure": _failure_json(last.probe_failure if last else None)},
        "tls": tls_mode(cfg),
        "health": None if health is None else {
            "cpu_percent": _round(health.cpu_percent),
            "disk_percent": _round(health.disk_percent),
            "dbsize_mb": _round(health.dbsize_mb),
            "mem_free_percent": _round(health.mem_free_percent),
            "swap_free_percent": _round(health.swap_free_percent),
            "version": health.version,
            "backup_level": health.backup_level,
            "backups": [{"job_name": b.job_name, "text": b.text,
                         "at": b.at.isoformat(sep=" ") if b.at else None, "level": b.level}
                        for b in health.backups],
        },
        "api": None if last is None or last.api_ok is None else {
            "ok": last.api_ok, "failure": _failure_json(last.api_failure)},
    }


def pair_json(pair: PairConfig, snap: PairSnapshot,
              automation: dict[str, Any] | None = None) -> dict[str, Any]:
    v = snap.verdict
    return {
        "name": pair.name,
        "verdict": v.verdict.value,
        "level": v.level,
        "reasons": [{"level": r.level, "text": r.text} for r in v.reasons],
        "desired_production": snap.desired_production,
        "asserted_production": v.production,
        "polled_at": iso(snap.at),
        "pipeline": snap.pipeline.to_dict() if snap.pipeline is not None else None,
        "appliances": [appliance_json(a, snap.views[a.name], snap.modes[a.name],
                                      snap.desired_production) for a in pair.appliances],
        "automation": automation,
        "scheduled_switchover": None if (item := snap.scheduled_switchover) is None else {
            "at": iso(item.at), "source": item.source, "target": item.target, "by": item.by,
            "scheduled_at": iso(item.created_at), "why": item.why, "loss": item.loss},
        "versions": {"match": None if (differ := versions_differ(snap.views)) is None
                     else not differ,
                     "diverged_at": iso(snap.versions_diverged_at)
                     if snap.versions_diverged_at is not None else None},
    }


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def pipeline_lines(pair: PairConfig, snap: PairSnapshot, now: float) -> list[str]:
    """The backup pipeline in words: last backup, next backup, next restore, data age."""
    from ..engine.schedule import countdown_text

    view = snap.pipeline
    if view is None:
        return ["no backup schedule or location configured"]
    zone = pair.zone
    lines = []
    latest = view.latest
    if latest is None:
        lines.append("backup file: not configured (add a backup: section to watch it)")
    elif latest.present and latest.mtime is not None:
        stamp = latest.mtime.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
        lines.append(f"backup file: {latest.state} · {stamp} · {_size(latest.size)} · "
                     f"{latest.location}")
    else:
        lines.append(f"backup file: {latest.state}: {latest.error or 'not there'} · {latest.location}")
    prod = snap.verdict.production
    health = snap.views[prod].health if prod else None
    if health is not None and health.backups:
        job = health.backups[0]
        when = job.at.strftime("%Y-%m-%d %H:%M") if job.at else "no time"
        lines.append(f"production backup status: {job.text} ({when}, appliance time)")
    for label, moment in (("next backup", view.next_backup), ("next restore", view.next_restore)):
        if moment is not None:
            local = moment.astimezone(zone).strftime("%H:%M %Z")
            lines.append(f"{label}: in {countdown_text(max(0.0, moment.timestamp() - now))} "
                         f"(at {local})")
    if view.restore_window is not None:
        lines.append("RESTORE RUNNING on the standby (estimated window until "
                     f"{view.restore_window[1].astimezone(zone):%H:%M %Z})")
    if view.loss_text:
        lines.append(f"standby data (estimate): {view.loss_text}")
    lines.extend(f"! {w.severity.upper()}: {w.text}" for w in view.warnings)
    return lines


def automation_of(config: Config, pair: PairConfig, now: float):
    """The pair's watch-mode state (ARMED, PAUSED, ACTING, ISOLATED, OFF) from the state dir."""
    from ..watch.status import automation_for

    return automation_for(config, pair, now)


def watched_automation(config: Config, now: float) -> dict[str, AutomationState]:
    """The watch-mode state of each pair that watch mode is used for on this host: enabled
    in the config, and a watcher has run here (a heartbeat) or someone paused it. A site
    that never runs `d42tui watch` gets no automation warnings from `check`."""
    out = {}
    for pair in config.pairs:
        if pair.automation.enabled:
            state = automation_of(config, pair, now)
            if state.kind != "OFF" or state.heartbeat_at is not None or state.pause is not None:
                out[pair.name] = state
    return out


def status_json(config: Config, snaps: dict[str, PairSnapshot], now: float) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "generated_at": iso(now),
            "pairs": [pair_json(p, snaps[p.name], automation_of(config, p, now).to_json())
                      for p in config.pairs if p.name in snaps]}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def status_table(config: Config, snaps: dict[str, PairSnapshot]) -> str:
    lines: list[str] = []
    for pair in config.pairs:
        snap = snaps.get(pair.name)
        if snap is None:
            continue
        lines.append(f"PAIR {pair.name}: {snap.verdict.verdict.value}")
        lines.append(f"  automation: {automation_of(config, pair, time.time()).text}")
        for reason in snap.verdict.reasons:
            lines.append(f"  ! {reason.level.upper()}: {reason.text}")
        header = ("APPLIANCE", "MODE", "STATE", "LATENCY", "CPU", "MEM FREE", "DISK", "DB",
                  "BACKUP")
        rows = [header]
        for a in pair.appliances:
            view = snap.views[a.name]
            h = view.health
            rows.append((a.name, mode_text(snap.modes[a.name]), reach_text(view),
                         latency_text(view), _pct(h.cpu_percent if h else None),
                         _pct(h.mem_free_percent if h else None),
                         _pct(h.disk_percent if h else None),
                         "-" if not h or h.dbsize_mb is None else f"{h.dbsize_mb:.0f} MB",
                         backup_text(view, limit=None)))
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        for row in rows:
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _perf_label(name: str) -> str:
    return "'" + name.replace("'", "") + "'"


def perfdata(pair: PairConfig, snap: PairSnapshot) -> list[str]:
    out: list[str] = []
    t = pair.thresholds
    for a in pair.appliances:
        view = snap.views[a.name]
        last = view.last
        if last is not None and last.latency is not None:
            out.append(f"{_perf_label(a.name + '_latency')}={last.latency:.3f}s;;;0")
        out.append(f"{_perf_label(a.name + '_up')}={1 if last and last.ok else 0};;;0;1")
        h = view.health if last and last.ok else None
        if h is None:
            continue
        if h.cpu_percent is not None:
            out.append(f"{_perf_label(a.name + '_cpu')}={h.cpu_percent:.1f}%;"
                       f"{t.cpu_percent[0]:g};{t.cpu_percent[1]:g};0;100")
        if h.disk_percent is not None:
            out.append(f"{_perf_label(a.name + '_disk')}={h.disk_percent:.1f}%;"
                       f"{t.disk_percent[0]:g};{t.disk_percent[1]:g};0;100")
        if h.dbsize_mb is not None:
            out.append(f"{_perf_label(a.name + '_dbsize')}={h.dbsize_mb:.0f}MB;"
                       f"{t.dbsize_mb[0]:g};{t.dbsize_mb[1]:g};0")
        if h.mem_free_percent is not None:
            out.append(f"{_perf_label(a.name + '_mem_free')}={h.mem_free_percent:.1f}%;"
                       f"{t.memory_free_percent[0]:g}:;{t.memory_free_percent[1]:g}:;0;100")
    return out


def check_line(config: Config, snaps: dict[str, PairSnapshot],
               automation: Mapping[str, AutomationState] | None = None,
               dns: Mapping[str, DnsProblem] | None = None) -> tuple[int, str]:
    """One monitoring-plugin status line and its exit code, worst pair first.

    `automation` holds the watch-mode state of the pairs watch mode is used for
    (`watched_automation`): anything but ARMED there (the watcher stopped or died, paused,
    isolated, acting) is at least a WARNING: the automatic failover the team counts on
    is not standing by. `dns` holds the DNS warning of pairs whose service name is wrong:
    pointing at a standby, at nothing or at no appliance of the pair is CRITICAL (clients
    do not reach production), not being able to tell is a WARNING."""
    order = LEVEL_ORDER
    parts, perf, worst = [], [], "ok"
    for pair in config.pairs:
        snap = snaps.get(pair.name)
        if snap is None:
            continue
        level = "unknown" if snap.verdict.verdict.value == "UNKNOWN" else snap.verdict.level
        state = (automation or {}).get(pair.name)
        unarmed = state is not None and state.kind != "ARMED"
        if unarmed and order[level] < order["warning"]:
            level = "warning"
        dns_problem = (dns or {}).get(pair.name)
        if dns_problem and order[dns_problem.level] > order[level]:
            level = dns_problem.level
        if order[level] > order[worst]:
            worst = level
        summary = ", ".join(f"{a.name} {snap.modes[a.name].mode} "
                            f"{snap.views[a.name].reachability.value}"
                            + (f" {latency_text(snap.views[a.name])}".replace(" ms", "ms")
                               if snap.views[a.name].reachability is Reachability.UP else "")
                            for a in pair.appliances)
        text = snap.verdict.headline if snap.verdict.reasons else snap.verdict.verdict.value
        parts.append(f"{pair.name} {text} ({summary})"
                     + (f" · {dns_problem}" if dns_problem else "")
                     + (f" · automation {state.text}" if unarmed and state else "")
                     + (f" · {snap.scheduled_switchover.text(pair.zone, snap.at)}"
                        if snap.scheduled_switchover is not None else ""))
        perf.extend(perfdata(pair, snap))
    code, word = NAGIOS[worst]
    line = f"D42 PAIR {word} - {'; '.join(parts)}"
    line = " ".join(line.replace("|", "/").split())
    return code, f"{line} | {' '.join(perf)}" if perf else line
