"""A planned switchover, stored until it falls due: when, by whom, and what it will lose.

It lives in the pair's record of the state file (`automation.scheduled_switchover`), so
every reader (the board, `status --json`, `check`) shows it and whoever runs it — the
watcher, or `d42tui switchover` waiting in the foreground — finds the same one. Removed the
moment it is taken up, so it can never run twice. The moment for `--after-next-restore` is
cron maths (DST-correct, `engine.schedule`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..config.models import PairConfig
from .audit import JsonlLog, new_action_id
from .schedule import DEFAULT_BACKUP_DURATION, countdown_text, duration_words, next_fire
from .state import StateStore, automation_entry, update_pair

KEY = "scheduled_switchover"


class ScheduleRefused(ValueError):
    """A switchover that cannot be scheduled as asked (said in the operator's words)."""


@dataclass(frozen=True)
class ScheduledSwitchover:
    at: float  # when it falls due (epoch seconds)
    source: str  # the production when it was scheduled: it must still be, when due
    target: str
    by: str  # user@host
    created_at: float
    why: str = ""  # "after the next restore: ..." or "at a time chosen by the operator"
    loss: str = ""  # the expected data loss, said when it was scheduled

    def text(self, zone: Any, now: float) -> str:
        local = datetime.fromtimestamp(self.at, zone).strftime("%Y-%m-%d %H:%M %Z")
        left = f"in {countdown_text(self.at - now)}" if self.at > now else "due now"
        return (f"switchover {self.source} → {self.target} at {local} ({left}), by {self.by}"
                + (f"; {self.why}" if self.why else "") + (f"; {self.loss}" if self.loss else ""))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Any) -> ScheduledSwitchover:
        """Raises ValueError for a record this version did not write (never guessed at)."""
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        try:
            item = cls(at=float(raw["at"]), source=str(raw["source"]),
                       target=str(raw["target"]), by=str(raw["by"]),
                       created_at=float(raw["created_at"]), why=str(raw.get("why", "")),
                       loss=str(raw.get("loss", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"unreadable: {exc.__class__.__name__}: {exc}") from None
        return item


def scheduled_switchover(store: StateStore, pair: str,
                         auto: dict[str, Any] | None = None) -> ScheduledSwitchover | None:
    """The pair's planned switchover; a damaged record raises ValueError naming the key.
    `auto`: the pair's automation record when the caller has read it already."""
    raw = (automation_entry(store, pair) if auto is None else auto).get(KEY)
    if raw is None:
        return None
    try:
        return ScheduledSwitchover.from_json(raw)
    except ValueError as exc:
        raise ValueError(f"{store.path}: pairs.{pair}.automation.{KEY}: {exc}") from None


def store_switchover(store: StateStore, pair: str, item: ScheduledSwitchover) -> None:
    def change(entry: dict[str, Any], auto: dict[str, Any]) -> None:
        auto[KEY] = item.to_json()
    update_pair(store, pair, change)


def take_switchover(store: StateStore, pair: str) -> Any:
    """Remove the planned switchover in one locked write and return what it was (the raw
    record, or None): whoever takes it runs it, nobody else can."""
    taken: dict[str, Any] = {}

    def change(entry: dict[str, Any], auto: dict[str, Any]) -> None:
        taken["raw"] = auto.pop(KEY, None)
    update_pair(store, pair, change)
    return taken.get("raw")


def record(audit: JsonlLog, pair: str, action: str, target: str, result: str,
           detail: str) -> None:
    """A before/after pair in the audit log, as every action has: `switchover-schedule`,
    `switchover-cancel`, `switchover-skipped` (the console's and the CLI's alike)."""
    base = {"action_id": new_action_id(), "pair": pair, "action": action, "target": target}
    audit.append({"phase": "before", **base})
    audit.append({"phase": "after", **base, "result": result, "detail": detail})


@dataclass(frozen=True)
class RestoreMoment:
    at: datetime  # the end of the restore window that follows the next backup
    backup: datetime  # that backup's run
    restore: datetime  # that restore's start
    loss: str  # the changes a switchover at `at` loses


def after_next_restore(pair: PairConfig, now: datetime) -> RestoreMoment:
    """The end of the standby's restore window that follows the production's next backup:
    a switchover then loses only what was changed since that backup."""
    if not pair.backup_cron or not pair.restore_cron:
        missing = " and ".join(k for k, v in (("backup_cron", pair.backup_cron),
                                               ("restore_cron", pair.restore_cron)) if not v)
        raise ScheduleRefused(f"--after-next-restore needs the pair's {missing} (set it in the "
                              f"config of pair {pair.name})")
    zone = pair.zone
    backup = next_fire(pair.backup_cron, pair.timezone, now)
    duration = pair.backup.backup_duration if pair.backup is not None else DEFAULT_BACKUP_DURATION
    landed = backup + timedelta(seconds=duration)
    restore = next_fire(pair.restore_cron, pair.timezone, landed - timedelta(seconds=1))
    end = restore + timedelta(seconds=pair.restore_duration)
    lost = duration_words((end - backup).total_seconds())
    loss = (f"≈ {lost} of changes (made after the {backup.astimezone(zone):%H:%M} backup, "
            f"restored at {restore.astimezone(zone):%H:%M})")
    return RestoreMoment(end.astimezone(UTC), backup, restore, loss)
