"""The watcher's Prometheus metrics, read from the state it already holds at scrape time.

`WatcherMetrics` owns a registry of its own (never the process-global one) with a custom
collector: each scrape reads the pollers' latest snapshots, the watchers' last decisions and
the tally of actions this process recorded in the audit log; nothing is set ahead of time.
Only the poll-latency histogram is fed as polls happen (a histogram needs every sample).

Labels hold only names the config validated (pair, appliance), closed sets (verdict, state,
action kind and result) and a sanitized version string: no secret, no URL, no free text
from an appliance.
"""

from __future__ import annotations

import platform
import re
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from .. import __version__
from ..appliance.client import PollResult
from ..engine.pair import PairSnapshot, Verdict
from .status import StateKind

if TYPE_CHECKING:
    from .service import Watcher

PREFIX = "d42tui"
AUTOMATION_STATES: tuple[StateKind, ...] = ("ARMED", "PAUSED", "ACTING", "ISOLATED", "OFF")
# Poll latency buckets, seconds: appliances answer in tens of milliseconds to seconds.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MIB = 1024 * 1024
_WORD = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_VERSION = re.compile(r"[^A-Za-z0-9._+-]")


def label_word(value: Any) -> str:
    """An action kind or result as a label: a short lower-case word, else `other`."""
    text = str(value or "").strip().lower()
    return text if _WORD.match(text) else "other"


def version_label(version: str | None) -> str:
    """An appliance's version string as a label: letters, digits and `._+-` only, at most
    32 characters; `unknown` when nothing is left."""
    text = _VERSION.sub("", version or "")[:32]
    return text or "unknown"


class ActionTally:
    """Actions this process recorded in the audit log (`after` records), by kind and result.

    Fed by `JsonlLog.listeners`; counters start at zero with the process, as Prometheus
    counters do (`rate()` and `increase()` handle the reset)."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._lock = threading.Lock()

    def __call__(self, record: dict[str, Any]) -> None:
        if record.get("phase") != "after":
            return
        pair = str(record.get("pair") or "")
        kind = label_word(str(record.get("action") or "").removeprefix("auto-"))
        with self._lock:
            self._counts[(pair, kind, label_word(record.get("result")))] += 1

    def counts(self) -> dict[tuple[str, str, str], int]:
        with self._lock:
            return dict(self._counts)


class WatcherMetrics:
    """The registry `/metrics` serves for one watcher process."""

    def __init__(self, watcher: Watcher):
        self.watcher = watcher
        self.registry = CollectorRegistry(auto_describe=False)
        self.tally = ActionTally()
        watcher.audit.listeners.append(self.tally)
        self.latency = Histogram(f"{PREFIX}_appliance_poll_duration_seconds",
                                 "How long each health poll took to answer (answered polls)",
                                 ["pair", "appliance"], buckets=LATENCY_BUCKETS,
                                 registry=self.registry)
        for name, watch in watcher.pairs.items():
            watch.poller.result_listeners.append(
                lambda results, pair=name: self._observe(pair, results))
            for appliance in watch.names:  # every series from the first scrape on
                self.latency.labels(name, appliance)
        self.registry.register(_Collector(self))

    def _observe(self, pair: str, results: Sequence[PollResult]) -> None:
        for result in results:
            if result.latency is not None:
                self.latency.labels(pair, result.appliance).observe(result.latency)

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _Collector:
    """Reads the watcher at scrape time (in the event loop's thread, like everything else
    that touches the watcher)."""

    def __init__(self, metrics: WatcherMetrics):
        self.metrics = metrics

    def describe(self) -> list[Metric]:
        return []  # auto_describe is off: nothing is collected to register this collector

    def collect(self) -> Iterator[Metric]:
        watcher = self.metrics.watcher
        now = watcher.clock()
        build = InfoMetricFamily(f"{PREFIX}_build", "The d42tui build serving these metrics")
        build.add_metric([], {"version": version_label(__version__),
                              "python": version_label(platform.python_version())})
        yield build
        up = GaugeMetricFamily(f"{PREFIX}_watcher_up", "1 while the watcher process serves")
        up.add_metric([], 1)
        yield up
        yield _leader_metric(watcher)
        yield from _appliance_metrics(watcher)
        yield from _pair_metrics(watcher, now)
        yield from _action_metrics(watcher, self.metrics.tally.counts())


def _leader_metric(watcher: Watcher) -> Metric:
    """Per pair: 1 when this watcher is the one that acts (always, without `coordination:`),
    0 while it only observes or has lost coordination."""
    leader = _gauge("watcher_leader", "1 when this watcher is the one that acts for the pair",
                    ("pair",))
    for name, watch in watcher.pairs.items():
        coord = getattr(watch, "coord", None)
        leader.add_metric([name], 1 if coord is None or coord.latest.role == "leader" else 0)
    return leader


def _gauge(name: str, doc: str, labels: Sequence[str], unit: str = "") -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", doc, labels=list(labels), unit=unit)


def _snapshots(watcher: Watcher) -> Iterator[tuple[str, Any, PairSnapshot | None]]:
    for name, watch in watcher.pairs.items():
        yield name, watch, watch.poller.latest


def _appliance_metrics(watcher: Watcher) -> Iterator[Metric]:
    labels = ("pair", "appliance")
    up = _gauge("appliance_up", "1 when the latest health poll of the appliance succeeded",
                labels)
    desired = _gauge("appliance_desired_production",
                     "1 for the appliance that should be production (the state file's role)",
                     labels)
    asserted = _gauge("appliance_asserted_production",
                      "1 when production is the mode last asserted for the appliance", labels)
    failures = _gauge("appliance_consecutive_failures", "Failed health polls in a row", labels)
    cpu = _gauge("appliance_cpu_usage_ratio", "CPU in use (0-1), from the latest good poll",
                 labels)
    mem = _gauge("appliance_memory_free_ratio", "Memory available (0-1)", labels)
    swap = _gauge("appliance_swap_free_ratio", "Swap free (0-1)", labels)
    disk = _gauge("appliance_disk_usage_ratio", "Disk in use (0-1)", labels)
    db = _gauge("appliance_database_size_bytes", "Size of the appliance's database", labels)
    info = InfoMetricFamily(f"{PREFIX}_appliance", "The appliance's reported version",
                            labels=list(labels))
    for pair, watch, snap in _snapshots(watcher):
        for name in watch.names:
            view = snap.views[name] if snap is not None else None
            last = view.last if view is not None else None
            key = [pair, name]
            up.add_metric(key, 1 if last is not None and last.ok else 0)
            is_desired = snap is not None and snap.desired_production == name
            desired.add_metric(key, 1 if is_desired else 0)
            is_prod = snap is not None and snap.modes[name].mode == "production"
            asserted.add_metric(key, 1 if is_prod else 0)
            failures.add_metric(key, view.consecutive_failures if view is not None else 0)
            health = last.health if last is not None and last.ok else None
            if health is None:
                continue
            for family, value, scale in ((cpu, health.cpu_percent, 0.01),
                                         (mem, health.mem_free_percent, 0.01),
                                         (swap, health.swap_free_percent, 0.01),
                                         (disk, health.disk_percent, 0.01),
                                         (db, health.dbsize_mb, MIB)):
                if value is not None:
                    family.add_metric(key, value * scale)
            info.add_metric(key, {"version": version_label(health.version)})
    yield from (up, desired, asserted, failures, cpu, mem, swap, disk, db, info)


def _pair_metrics(watcher: Watcher, now: float) -> Iterator[Metric]:
    # State sets as one series per state (the text format's way; `verdict` is the label)
    verdict = _gauge("pair_verdict", "The pair's verdict: 1 for the current one, 0 for the "
                     "others", ["pair", "verdict"])
    split = _gauge("pair_split_brain", "1 while both appliances act as production", ["pair"])
    automation = _gauge("pair_automation_state", "The watcher's automation state: 1 for the "
                        "current one", ["pair", "state"])
    age = _gauge("pair_standby_data_age_seconds", "Estimated age of the standby's data (the "
                 "backup it restored last was taken this long ago)", ["pair"])
    backup = _gauge("pair_last_backup_timestamp_seconds", "When the newest backup seen was "
                    "taken (the backup file, else production's backup job)", ["pair"])
    restore = _gauge("pair_next_restore_timestamp_seconds", "When the standby's next restore "
                     "is due", ["pair"])
    window = _gauge("pair_restore_window_active", "1 while the standby's restore is estimated "
                    "to run", ["pair"])
    polled = _gauge("pair_last_poll_timestamp_seconds", "When the pair was last polled",
                    ["pair"])
    for pair, watch, snap in _snapshots(watcher):
        current = snap.verdict.verdict if snap is not None else Verdict.UNKNOWN
        for v in Verdict:
            verdict.add_metric([pair, v.value], 1 if v is current else 0)
        split.add_metric([pair], 1 if current is Verdict.SPLIT_BRAIN else 0)
        decision = watch.latest
        state = "OFF" if watcher.dry_run else (decision.state if decision else "ARMED")
        for kind in AUTOMATION_STATES:
            automation.add_metric([pair, kind], 1 if kind == state else 0)
        if snap is None:
            continue
        polled.add_metric([pair], snap.at)
        pipeline = snap.pipeline
        if pipeline is None:
            continue
        window.add_metric([pair], 1 if pipeline.restore_window is not None else 0)
        if pipeline.next_restore is not None:
            restore.add_metric([pair], pipeline.next_restore.timestamp())
        est = pipeline.estimate
        if est is not None and est.restored_backup_time is not None:
            age.add_metric([pair], max(0.0, now - est.restored_backup_time.timestamp()))
        elif est is not None and est.data_age is not None:
            age.add_metric([pair], est.data_age)
        if (taken := _last_backup(watch, snap)) is not None:
            backup.add_metric([pair], taken)
    yield from (verdict, split, automation, age, backup, restore, window, polled)


def _last_backup(watch: Any, snap: PairSnapshot) -> float | None:
    latest = snap.pipeline.latest if snap.pipeline is not None else None
    if latest is not None and latest.present and latest.mtime is not None:
        return latest.mtime.timestamp()
    production = snap.verdict.production
    health = snap.views[production].health if production else None
    if health is None:
        return None
    times = [job.at for job in health.backups if job.at is not None and job.level == "ok"]
    if not times:
        return None
    return max(times).replace(tzinfo=watch.pair.zone).timestamp()  # appliance time: its zone


def _action_metrics(watcher: Watcher, counts: dict[tuple[str, str, str], int]
                    ) -> Iterator[Metric]:
    failovers = CounterMetricFamily(f"{PREFIX}_failovers", "Failovers this watcher completed",
                                    labels=["pair"])
    fences = CounterMetricFamily(f"{PREFIX}_fences", "Returning appliances this watcher "
                                 "re-asserted standby on", labels=["pair"])
    actions = CounterMetricFamily(f"{PREFIX}_actions", "Actions this watcher recorded in the "
                                  "audit log, by kind and result",
                                  labels=["pair", "kind", "result"])
    for pair in watcher.pairs:
        failovers.add_metric([pair], counts.get((pair, "failover", "done"), 0))
        fences.add_metric([pair], counts.get((pair, "fence", "done"), 0))
    for (pair, kind, result), n in sorted(counts.items()):
        if pair in watcher.pairs:
            actions.add_metric([pair, kind, result], n)
    yield from (failovers, fences, actions)
