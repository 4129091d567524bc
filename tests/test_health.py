"""Parsing /healthstats/ defensively: strings for numbers, sizes, stamps, missing fields."""

from datetime import datetime

from d42tui.appliance.health import backup_level, parse_health, to_megabytes

DOC_EXAMPLE = {
    "backup_status": [{"id": 1, "job_name": "Demo Backup",
                       "status": "Backup not run since last reboot. Please check."}],
    "cpu_used_percent": "2.51904", "dbsize": "84 MB", "disk_used_percent": "8",
    "memory_in_MB": {"buffers": 92, "cached": 254, "memfree": 1728, "memtotal": 3948,
                     "swapfree": 8187, "swaptotal": 8187},
    "version": "18.10.00.1690226275",
}


def test_documented_example():
    h = parse_health(DOC_EXAMPLE)
    assert h.cpu_percent == 2.51904 and h.disk_percent == 8.0 and h.dbsize_mb == 84.0
    assert round(h.mem_free_percent) == round(100 * (1728 + 92 + 254) / 3948)
    assert h.swap_free_percent == 100.0
    assert h.version == "18.10.00.1690226275"
    assert h.backups[0].level == "warning" and h.backups[0].at is None
    assert h.unparsed == ()


def test_backup_status_strings():
    h = parse_health({**DOC_EXAMPLE, "backup_status": [
        {"id": 1, "job_name": "nightly", "status": "good\n @ 2016-03-24 20:25:08"},
        {"id": 2, "job_name": "sftp",
         "status": "File send failed :[Errno 2] No such file\n\n @ 2016-03-24 20:20:03"}]})
    good, bad = h.backups
    assert good.text == "good" and good.at == datetime(2016, 3, 24, 20, 25, 8)
    assert good.level == "ok"
    assert bad.level == "critical" and bad.text.startswith("File send failed")
    assert h.backup_level == "critical"
    assert h.last_good_backup == datetime(2016, 3, 24, 20, 25, 8)
    assert backup_level("") == "critical"
    assert parse_health({**DOC_EXAMPLE, "backup_status": []}).backup_level == "warning"


def test_odd_values_are_tolerated():
    h = parse_health({"cpu_used_percent": "n/a", "dbsize": "1.5 GB", "disk_used_percent": 9.5,
                      "memory_in_MB": "lots", "backup_status": "x", "version": 18})
    assert h.cpu_percent is None and h.dbsize_mb == 1536.0 and h.disk_percent == 9.5
    assert set(h.unparsed) >= {"cpu_used_percent", "memory_in_MB", "backup_status", "version"}
    assert to_megabytes("512 kB") == 0.5 and to_megabytes(True) is None
    assert to_megabytes("NaN") is None


def test_not_health_at_all():
    assert parse_health(["a"]) is None
    assert parse_health({"detail": "Not found"}) is None
    assert parse_health("good") is None


def test_numbers_that_are_not_figures():
    from d42tui.appliance.health import to_number

    assert to_number(float("inf")) is None and to_number(float("nan")) is None
    assert to_number(10 ** 400) is None and to_number("1e999") is None
    assert parse_health({"cpu_used_percent": 10 ** 400, "version": "x"}).cpu_percent is None


def test_the_card_backup_text_is_short_and_never_says_at_question_mark():
    from datetime import datetime

    from d42tui.appliance.client import PollResult
    from d42tui.appliance.health import BackupJobStatus, Health
    from d42tui.engine.pair import ApplianceView
    from d42tui.engine.words import backup_text

    def text(status: str, at) -> str:
        job = BackupJobStatus(job_name="nightly", text=status, at=at, level="warning")
        good = PollResult("d42-a", 0.0, 0.01, Health(backups=(job,)), None)
        return backup_text(ApplianceView(name="d42-a", last=good, last_good=good))

    long = "Backup not run since last reboot. Please check."
    assert text(long, None) == "Backup not run since la…"
    assert text("good", datetime(2026, 11, 26, 12, 0)) == "good @ 11-26 12:00"
