"""The audit trail: an append-only JSON Lines file, one fsync'd record at a time.

Every action writes a record before it sends anything and one after; refused and
cancelled actions too. `export_markdown` turns it into an incident timeline.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config.models import Config, state_dir


def audit_path(config: Config | None) -> Path:
    if config is not None and config.audit_log is not None:
        return config.audit_log.expanduser()
    return state_dir(config) / "audit.jsonl"


def events_path(config: Config | None) -> Path:
    """Verdict changes the console and the watcher saw, for the incident timeline."""
    return state_dir(config) / "events.jsonl"


def user_name() -> str:
    """Who runs this process, as every record names them."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return str(os.getuid())


def actor() -> str:
    """user@host: whoever acts, for a pause, a planned switchover, a drill report."""
    return f"{user_name()}@{socket.gethostname()}"


def _who() -> dict[str, str]:
    return {"user": user_name(), "host": socket.gethostname()}


def new_action_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class LogRead:
    """What one read of a JSONL log found: its records, and the lines it could not read."""

    path: Path
    records: list[dict[str, Any]]
    unreadable: tuple[int, ...] = ()  # 1-based line numbers
    missing: bool = False  # no such file (nothing was ever written there)

    @property
    def note(self) -> str | None:
        """One line saying which lines were skipped, or None when none were."""
        if not self.unreadable:
            return None
        n = len(self.unreadable)
        shown = ", ".join(map(str, self.unreadable[:10]))
        more = f", … and {n - 10} more" if n > 10 else ""
        return (f"{n} unreadable line{'s' if n > 1 else ''} in {self.path} (line {shown}{more}): "
                "a process died mid-write?")


class JsonlLog:
    """Append-only JSON Lines, 0600, fsync per record. A record always starts on a line of
    its own; readers skip damaged lines and say which (`read`)."""

    def __init__(self, path: Path):
        self.path = path
        # Told of every record this process appended (the watcher's metrics count actions
        # here); a listener must be quick and never raise.
        self.listeners: list[Callable[[dict[str, Any]], None]] = []

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        record = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                  **_who(), **record}
        data = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            # Checking the last byte and appending must be one step for every writer (the
            # console, the CLI and the watcher share the file): a lock held until close.
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                # a process died mid-record: the torn line stays as it is (evidence), and
                # this record starts on a fresh line instead of being glued to it
                data = b"\n" + data
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        for listener in self.listeners:
            listener(record)
        return record

    def read(self, since: float | None = None) -> LogRead:
        records: list[dict[str, Any]] = []
        unreadable: list[int] = []
        try:
            fh = open(self.path, encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return LogRead(self.path, records, missing=True)
        with fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                if not isinstance(record, dict):
                    unreadable.append(number)
                    continue
                if since is not None and _epoch(record.get("time")) < since:
                    continue
                records.append(record)
        return LogRead(self.path, records, tuple(unreadable))

    def records(self, since: float | None = None) -> Iterator[dict[str, Any]]:
        yield from self.read(since).records


def _stamp(stamp: Any) -> datetime | None:
    try:
        at = datetime.fromisoformat(str(stamp))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)  # every writer here writes UTC


def _epoch(stamp: Any) -> float:
    at = _stamp(stamp)
    return at.timestamp() if at else 0.0


def local_time(stamp: Any) -> str:
    """A record's time in this host's zone, and the zone said: "2026-12-03 04:12:09 +01:00",
    or "… UTC" where that is the local zone."""
    at = _stamp(stamp)
    if at is None:
        return str(stamp) or "(no time)"
    local = at.astimezone()
    zone = local.isoformat(timespec="seconds")[19:] if local.utcoffset() else "UTC"
    return f"{local:%Y-%m-%d %H:%M:%S} {zone}"


def utc_time(stamp: Any) -> str:
    at = _stamp(stamp)
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S}" if at else str(stamp)


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
        if str(first.get("coordination", "")).startswith("uncoordinated"):
            detail = f"{detail} [ran uncoordinated: etcd did not answer]"
        out.append(ActionOutcome(aid, str(first.get("time", "")), str(first.get("pair", "")),
                                 str(first.get("action", "")), str(first.get("target", "")),
                                 str(first.get("user", "")), str(first.get("host", "")),
                                 str(result), str(detail), bool(first.get("forced"))))
    return out


def export_markdown(audit: JsonlLog, events: JsonlLog, since: float | None = None) -> str:
    """An incident timeline: actions merged with the verdict changes, oldest first."""
    return timeline_markdown(audit.read(since), events.read(since), since)


def timeline_markdown(audit: LogRead, events: LogRead, since: float | None = None) -> str:
    rows: list[tuple[float, str, str]] = []
    for o in outcomes(audit.records):
        forced = " **(forced)**" if o.forced else ""
        rows.append((_epoch(o.time), o.time, f"**{o.action} {o.target}** on `{o.pair}` by "
                     f"{o.user}@{o.host}{forced} → **{o.result}**: {o.detail}"))
    for rec in audit.records:
        if rec.get("phase") == "step":
            rows.append((_epoch(rec.get("time")), str(rec.get("time", "")),
                         f"&nbsp;&nbsp;step: {rec.get('request', '')} → {rec.get('outcome', '')}"
                         f" {rec.get('message', '')}".rstrip()))
    for ev in events.records:
        rows.append((_epoch(ev.get("time")), str(ev.get("time", "")),
                     f"`{ev.get('pair', '')}` {ev.get('text', ev.get('verdict', ''))}"))
    rows.sort(key=lambda r: r[0])
    window = (f" since {datetime.fromtimestamp(since, UTC):%Y-%m-%d %H:%M:%S} UTC"
              if since is not None else "")
    lines = ["# Device42 warm HA pair — incident timeline", "",
             f"Exported {datetime.now(UTC).isoformat(timespec='seconds')} by d42tui from "
             f"`{audit.path}` and `{events.path}`{window}.", ""]
    for note in (audit.note, events.note):
        if note:
            lines += [f"> **Warning:** {note}", ""]
    if not rows:
        where = " or ".join(f"`{log.path}`" + (" (no such file)" if log.missing else "")
                            for log in (audit, events))
        return "\n".join(lines + [f"No actions or verdict changes recorded{window} in {where}."]
                         ) + "\n"
    lines += ["| time (UTC) | what happened |", "|---|---|"]
    for _, stamp, text in rows:
        lines.append(f"| {utc_time(stamp)} | {text.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def now() -> float:
    return time.time()
