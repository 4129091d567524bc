"""Pipeline warnings from file histories, schedules and production's backup status (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from d42tui.backup import (
    BackupFileStatus,
    BackupState,
    Code,
    ErrorKind,
    NfsBackup,
    Severity,
    assess_pair,
    assess_pipeline,
    classify_backup_status,
    estimate_pair,
    landed_times,
)
from d42tui.config.models import parse_config

NOW = datetime(2024, 6, 10, 12, tzinfo=UTC)
CFG = NfsBackup(kind="nfs", path=Path("/mnt/d42/d42.bak"), max_age=26 * 3600)
LOC = "nfs:/mnt/d42/d42.bak"


def seen(at: datetime, size: int | None = 1000, mtime: datetime | None = None,
         state: BackupState = BackupState.READY) -> BackupFileStatus:
    present = state in (BackupState.READY, BackupState.IN_PROGRESS)
    return BackupFileStatus(LOC, state, at, present, size if present else None,
                            (mtime or at - timedelta(hours=1)) if present else None)


@pytest.mark.parametrize("status,level,text,at", [
    ("good\n @ 2016-03-24 20:25:08", "ok", "good", "2016-03-24 20:25:08"),
    ("File send failed :[Errno 2] No such file\n\n @ 2016-03-24 20:20:03", "critical",
     "File send failed :[Errno 2] No such file", "2016-03-24 20:20:03"),
    ("Backup not run since last reboot. Please check.", "warning",
     "Backup not run since last reboot. Please check.", None),
    ("Backup not run", "critical", "Backup not run", None),
    ("not good @ 2016-03-24 20:25:08", "critical", "not good", "2016-03-24 20:25:08"),
])
def test_classify_production_backup_status(status: str, level: str, text: str, at: str | None) -> None:
    job = classify_backup_status(status, "nightly")
    assert (job.level, job.text, job.at, job.job_name) == (level, text, at, "nightly")


def test_production_status_warnings() -> None:
    raw = [{"id": 1, "job_name": "nightly", "status": "File send failed :[Errno 2] No such file\n\n @ 2016-03-24 20:20:03"},
           {"id": 2, "job_name": "weekly", "status": "good\n @ 2016-03-24 20:25:08"},
           {"id": 3, "job_name": "Demo Backup", "status": "Backup not run since last reboot. Please check."},
           {"id": 4}]
    warnings = assess_pipeline([], now=NOW, production_backup_status=raw)
    assert [(w.code, w.severity) for w in warnings] == [
        (Code.PRODUCTION_BACKUP_FAILING, Severity.CRITICAL),
        (Code.PRODUCTION_BACKUP_WARNING, Severity.WARNING),
        (Code.PRODUCTION_BACKUP_WARNING, Severity.WARNING)]
    assert warnings[0].text == ("production backup job 'nightly': File send failed :[Errno 2] "
                                "No such file (at 2016-03-24 20:20:03)")
    assert "job 4" in warnings[2].text
    assert [w.code for w in assess_pipeline([], now=NOW, production_backup_status=[])] == \
        [Code.PRODUCTION_BACKUP_NO_JOBS]
    assert assess_pipeline([], now=NOW, production_backup_status=None) == []


def test_fresh_history_has_no_warnings() -> None:
    history = [seen(NOW - timedelta(minutes=m)) for m in (20, 10, 0)]
    assert assess_pipeline(history, now=NOW, backup=CFG) == []


def test_stale_then_critical() -> None:
    one = assess_pipeline([seen(NOW, mtime=NOW - timedelta(hours=30))], now=NOW, backup=CFG)
    assert [(w.code, w.severity) for w in one] == [(Code.BACKUP_STALE, Severity.WARNING)]
    assert one[0].text == f"the backup file {LOC} is 1 d 6 h old (expected under 1 d 2 h)"
    two = assess_pipeline([seen(NOW, mtime=NOW - timedelta(hours=60))], now=NOW, backup=CFG)
    assert [(w.code, w.severity) for w in two] == [(Code.BACKUP_STALE, Severity.CRITICAL)]


def test_failed_look_is_reported_not_guessed() -> None:
    failed = BackupFileStatus(LOC, BackupState.ERROR, NOW, error_kind=ErrorKind.TIMEOUT,
                              error="no answer")
    warnings = assess_pipeline([seen(NOW - timedelta(days=5)), failed], now=NOW, backup=CFG)
    assert [w.code for w in warnings] == [Code.BACKUP_CHECK_FAILED]
    assert warnings[0].text == f"cannot check the backup file {LOC}: no answer"


@pytest.mark.parametrize("new_size,shrunk", [(600, False), (500, False), (499, True), (2000, False)])
def test_shrink_against_the_previous_backup(new_size: int, shrunk: bool) -> None:
    yesterday, today = NOW - timedelta(days=1, hours=2), NOW - timedelta(hours=2)
    history = [seen(NOW - timedelta(hours=20), 1000, yesterday),
               seen(NOW - timedelta(hours=19), 1000, yesterday),
               seen(NOW - timedelta(hours=1), new_size, today, BackupState.IN_PROGRESS),
               seen(NOW, new_size, today)]
    codes = [w.code for w in assess_pipeline(history, now=NOW, backup=CFG)]
    assert codes == ([Code.BACKUP_SHRUNK] if shrunk else [])


def test_partial_size_while_growing_is_not_a_shrink() -> None:
    yesterday, today = NOW - timedelta(days=1), NOW - timedelta(minutes=1)
    history = [seen(NOW - timedelta(hours=2), 1000, yesterday),
               seen(NOW, 10, today, BackupState.IN_PROGRESS)]
    assert assess_pipeline(history, now=NOW, backup=CFG) == []


def test_growing_when_the_restore_began() -> None:
    # restore at 03:00 UTC; the first look after it saw the file still changing
    history = [seen(datetime(2024, 6, 10, 2, 55, tzinfo=UTC), 500),
               seen(datetime(2024, 6, 10, 3, 0, 30, tzinfo=UTC), 800, state=BackupState.IN_PROGRESS),
               seen(datetime(2024, 6, 10, 3, 1, tzinfo=UTC), 800)]
    warnings = assess_pipeline(history, now=datetime(2024, 6, 10, 3, 5, tzinfo=UTC), backup=CFG,
                               restore_cron="0 3 * * *")
    assert [w.code for w in warnings] == [Code.BACKUP_GROWING_AT_RESTORE]
    assert "restore at 03:00 began" in warnings[0].text
    settled = [history[0], seen(datetime(2024, 6, 10, 3, 0, 30, tzinfo=UTC), 500)]
    assert assess_pipeline(settled, now=datetime(2024, 6, 10, 3, 5, tzinfo=UTC), backup=CFG,
                           restore_cron="0 3 * * *") == []


def test_schedule_warnings_need_no_file_history() -> None:
    warnings = assess_pipeline([], now=NOW, backup=CFG, tz="Europe/Berlin",
                               backup_cron="0 2 * * *", restore_cron="*/10 2 * * *",
                               restore_duration=1800)
    assert [w.code for w in warnings] == [Code.RESTORE_BEFORE_BACKUP, Code.RESTORE_OVERLAP]
    assert all(w.severity is Severity.WARNING for w in warnings)


def test_critical_first_and_json_ready() -> None:
    warnings = assess_pipeline([seen(NOW, mtime=NOW - timedelta(hours=30))], now=NOW, backup=CFG,
                               production_backup_status=[{"job_name": "n", "status": "failed"}])
    assert [w.severity for w in warnings] == [Severity.CRITICAL, Severity.WARNING]
    assert json.loads(json.dumps([w.to_dict() for w in warnings]))[0] == {
        "code": "production-backup-failing", "severity": "critical",
        "text": "production backup job 'n': failed"}
    assert json.dumps(seen(NOW).to_dict())


PAIR_YAML = """
pairs:
- name: hq
  production: d42-a
  timezone: Europe/Berlin
  backup_cron: "0 1 * * *"
  restore_cron: "0 3 * * *"
  restore_duration: 30m
  appliances: [{name: d42-a, url: "https://a.example"}, {name: d42-b, url: "https://b.example"}]
  backup: {kind: nfs, path: /mnt/d42/d42.bak, max_age: 26h, backup_duration: 20m}
"""


def test_pair_helpers_use_the_configured_schedules() -> None:
    pair = parse_config(PAIR_YAML, Path("c.yaml")).pairs[0]
    landed = datetime(2024, 6, 9, 23, 12, tzinfo=UTC)  # 01:12 in Berlin
    history = [seen(NOW - timedelta(hours=2), 1000, landed), seen(NOW, 1000, landed)]
    assert landed_times(history) == (landed,)
    estimate = estimate_pair(pair, history, NOW)
    assert estimate.last_restore_time == datetime(2024, 6, 10, 1, tzinfo=UTC)  # 03:00 Berlin
    assert estimate.restored_backup_time == datetime(2024, 6, 9, 23, tzinfo=UTC)  # the 01:00 run
    assert assess_pair(pair, history, now=NOW) == []
