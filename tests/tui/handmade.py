"""Hand-made pair snapshots for the console tests: the pair model is pure, so a test
can say exactly which state the board must show (stable text for snapshots)."""

from __future__ import annotations

from datetime import UTC, datetime

from d42tui.appliance.client import Failure, FailureKind, PollResult
from d42tui.appliance.health import BackupJobStatus, Health
from d42tui.config.models import Config
from d42tui.engine.pair import ApplianceView, AssertedMode, PairSnapshot, Reachability, pair_verdict

# 2024-05-14 02:17:30 UTC: 1 h 42 min 30 s before the 04:00 backup, 2 h 12 min 30 s before
# the 04:30 restore.
NOW = datetime(2024, 5, 14, 2, 17, 30, tzinfo=UTC).timestamp()


def fixed_clock() -> float:
    return NOW


def config_dict(pairs: int = 1) -> dict:
    out = []
    for i in range(pairs):
        suffix = "" if i == 0 else f"-{i + 1}"
        region = ("main", "emea", "apac", "us-west")[i % 4] if pairs > 1 else "main"
        out.append({
            "name": region, "production": f"d42-a{suffix}", "timezone": "UTC",
            "backup_cron": "0 */4 * * *", "restore_cron": "30 */4 * * *",
            "poll": {"interval": "1s", "timeout": "1s", "failure_threshold": 3,
                     "recovery_threshold": 2},
            "appliances": [
                {"name": f"d42-a{suffix}", "url": f"https://d42-a{suffix}.example.com:4343",
                 "password_env": "D42_A_PASSWORD"},
                {"name": f"d42-b{suffix}", "url": f"https://d42-b{suffix}.example.com:4343",
                 "password_env": "D42_B_PASSWORD"},
            ]})
    return {"pairs": out}


def make_config(pairs: int = 1, dns: bool = False) -> Config:
    data = config_dict(pairs)
    if dns:  # a command backend: nothing here ever runs it
        data["pairs"][0]["dns"] = {
            "name": "d42.example.com", "ttl": 60, "servers": ["ns1.example.com"],
            "targets": {"d42-a": "10.0.0.1", "d42-b": "10.0.0.2"},
            "backend": {"kind": "command", "argv": ["/usr/local/bin/set-dns"]}}
    return Config.model_validate(data)


def dns_answer(*values: str, ttl: int = 60):
    """What the authoritative server answered for d42.example.com (every server agrees)."""
    from d42tui.dns import DnsAnswer, ServerAnswer

    return DnsAnswer("d42.example.com", "A", values, ttl,
                     (ServerAnswer("ns1.example.com", values, ttl),))


def health(cpu: float = 12.0, disk: float = 41.0, backup: str = "Backup was good",
           level: str = "ok") -> Health:
    return Health(cpu_percent=cpu, disk_percent=disk, dbsize_mb=84.0, mem_total_mb=16000,
                  mem_available_mb=10240, swap_total_mb=0, swap_free_mb=0, version="18.01.00",
                  backups=(BackupJobStatus("nightly", backup, datetime(2024, 5, 14, 0, 0, 5),
                                           level),))


def up(name: str, latency: float = 0.004, **kw) -> ApplianceView:
    result = PollResult(name, NOW - 0.5, latency, health(**kw), None)
    return ApplianceView(name, Reachability.UP, 0, 40, False, result, result, None)


def failing(name: str, failures: int, kind: FailureKind = FailureKind.REFUSED,
            threshold: int = 3, last_good_age: float = 185.0) -> ApplianceView:
    failure = Failure(kind, "[Errno 111] Connection refused" if kind is FailureKind.REFUSED else "")
    good = PollResult(name, NOW - last_good_age, 0.004, health(), None)
    last = PollResult(name, NOW - 0.5, None, None, failure)
    state = Reachability.DOWN if failures >= threshold else Reachability.SUSPECT
    return ApplianceView(name, state, failures, 0, False, last, good, failure)


def snapshot(config: Config, views: dict[str, ApplianceView], *, pair: int = 0,
             production: tuple[str, ...] | None = None, round: int = 7) -> PairSnapshot:
    pc = config.pairs[pair]
    names = [a.name for a in pc.appliances]
    prods = production if production is not None else (pc.production,)
    modes = {n: AssertedMode("production" if n in prods else "standby") for n in names}
    full = {n: views.get(n, ApplianceView(n)) for n in names}
    return PairSnapshot(pc.name, round, NOW, full, modes, pc.production,
                        pair_verdict(pc, full, modes), tuple(names))


def healthy(config: Config, pair: int = 0) -> PairSnapshot:
    a, b = (x.name for x in config.pairs[pair].appliances)
    return snapshot(config, {a: up(a), b: up(b, latency=0.006)}, pair=pair)


def primary_down(config: Config, pair: int = 0) -> PairSnapshot:
    a, b = (x.name for x in config.pairs[pair].appliances)
    return snapshot(config, {a: failing(a, 5), b: up(b)}, pair=pair)


def split_brain(config: Config, pair: int = 0) -> PairSnapshot:
    a, b = (x.name for x in config.pairs[pair].appliances)
    return snapshot(config, {a: up(a), b: up(b)}, pair=pair, production=(a, b))


def no_production(config: Config, pair: int = 0) -> PairSnapshot:
    a, b = (x.name for x in config.pairs[pair].appliances)
    return snapshot(config, {a: up(a), b: up(b)}, pair=pair, production=())


def pipeline(*warnings: str, stale: bool = False):
    """A backup pipeline as the engine's monitor would report it at NOW: the 00:00 backup
    landed (1.2 GiB), the 00:30 restore took it, so the standby's data is ~2 h 17 min old."""
    from d42tui.backup.monitor import PipelineView
    from d42tui.backup.pipeline import Code, PipelineWarning, Severity
    from d42tui.backup.status import BackupFileStatus, BackupState
    from d42tui.engine import schedule

    now = datetime.fromtimestamp(NOW, UTC)
    taken = datetime(2024, 5, 13 if stale else 14, 0, 0, tzinfo=UTC)
    latest = BackupFileStatus("sftp://backup.example.com/d42/d42-backup.zip", BackupState.READY,
                              now, present=True, size=1_288_490_188,
                              mtime=datetime(2024, 5, 13 if stale else 14, 0, 4, 12, tzinfo=UTC))
    estimate = schedule.DataAgeEstimate(
        restored_backup_time=taken, last_restore_time=datetime(2024, 5, 14, 0, 30, tzinfo=UTC),
        data_age=(now - taken).total_seconds(), reason="estimated: the 00:30 restore took it")
    return PipelineView(
        latest=latest,
        warnings=tuple(PipelineWarning(Code.BACKUP_STALE, Severity.WARNING, w) for w in warnings),
        estimate=estimate, next_backup=datetime(2024, 5, 14, 4, 0, tzinfo=UTC),
        next_restore=datetime(2024, 5, 14, 4, 30, tzinfo=UTC), restore_window=None,
        loss_text=schedule.loss_text(estimate, now, "UTC"))


def with_pipeline(snap: PairSnapshot, *warnings: str, stale: bool = False) -> PairSnapshot:
    from dataclasses import replace

    return replace(snap, pipeline=pipeline(*warnings, stale=stale))
