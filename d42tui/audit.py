"""The audit trail: an append-only JSON Lines file, one fsync'd record at a time.

Every action writes a record before it sends anything and one after; refused and
cancelled actions too. `export_markdown` turns it into an incident timeline.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import Config, state_dir


def audit_path(config: Config | None) -> Path:
    if config is not None and config.audit_log is not None:
        return config.audit_log.expanduser()
    return state_dir(config) / "audit.jsonl"


def events_path(config: Config | None) -> Path:
    """Verdict changes the console and the watcher saw, for the incident timeline."""
    return state_dir(config) / "events.jsonl"


def _who() -> dict[str, str]:
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = str(os.getuid())
    return {"user": user, "host": socket.gethostname()}


def new_action_id() -> str:
    return uuid.uuid4().hex[:12]


class JsonlLog:
    """Append-only JSON Lines, 0600, fsync per record; readers skip damaged lines."""

    def __init__(self, path: Path):
        self.path = path

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        record = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                  **_who(), **record}
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return record

    def records(self, since: float | None = None) -> Iterator[dict[str, Any]]:
        try:
            fh = open(self.path, encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return
        with fh:
            for line in fh:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a torn last line after a crash
                if not isinstance(record, dict):
                    continue
                if since is not None and _epoch(record.get("time")) < since:
                    continue
                yield record


def _epoch(stamp: Any) -> float:
    try:
        return datetime.fromisoformat(str(stamp)).timestamp()
    except ValueError:
        return 0.0


@dataclass(frozen=True)
class ActionOutcome:
    action_id: str
    time: str
    pair: str
    action: str
    target: str
    user: str
    host: str
    result: str  # done / refused / cancelled / failed / unknown / in-doubt (no closing record)
    detail: str
    forced: bool


def outcomes(records: list[dict[str, Any]]) -> list[ActionOutcome]:
    """One line per action; an action with no closing record is shown as in doubt."""
    opened: dict[str, dict[str, Any]] = {}
    closed: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for rec in records:
        aid = rec.get("action_id")
        if not aid:
            continue
        if rec.get("phase") == "before":
            opened[aid] = rec
            order.append(aid)
        elif rec.get("phase") == "after":
            closed[aid] = rec
            if aid not in opened:
                opened[aid] = rec
                order.append(aid)
    out = []
    for aid in order:
        first, last = opened[aid], closed.get(aid)
        result = last.get("result", "?") if last else "in-doubt"
        detail = (last.get("detail", "") if last else
                  "no closing record: the process stopped mid-action; the outcome is unknown — "
                  "check the appliances")
        out.append(ActionOutcome(aid, str(first.get("time", "")), str(first.get("pair", "")),
                                 str(first.get("action", "")), str(first.get("target", "")),
                                 str(first.get("user", "")), str(first.get("host", "")),
                                 str(result), str(detail), bool(first.get("forced"))))
    return out


def export_markdown(audit: JsonlLog, events: JsonlLog, since: float | None = None) -> str:
    """An incident timeline: actions merged with the verdict changes, oldest first."""
    rows: list[tuple[str, str]] = []
    records = list(audit.records(since))
    for o in outcomes(records):
        forced = " **(forced)**" if o.forced else ""
        rows.append((o.time, f"**{o.action} {o.target}** on `{o.pair}` by {o.user}@{o.host}"
                             f"{forced} → **{o.result}**: {o.detail}"))
    for rec in records:
        if rec.get("phase") == "step":
            rows.append((str(rec.get("time", "")),
                         f"&nbsp;&nbsp;step: {rec.get('request', '')} → {rec.get('outcome', '')}"
                         f" {rec.get('message', '')}".rstrip()))
    for ev in events.records(since):
        rows.append((str(ev.get("time", "")),
                     f"`{ev.get('pair', '')}` {ev.get('text', ev.get('verdict', ''))}"))
    rows.sort(key=lambda r: r[0])
    lines = ["# Device42 warm HA pair — incident timeline", "",
             f"Exported {datetime.now(UTC).isoformat(timespec='seconds')} by d42tui.",
             "", "| time (UTC) | what happened |", "|---|---|"]
    for stamp, text in rows:
        lines.append(f"| {stamp[:19].replace('T', ' ')} | {text.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def now() -> float:
    return time.time()
