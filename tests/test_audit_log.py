"""The audit log as a process that died mid-write leaves it, and as `d42tui audit` shows it:
every record on a line of its own, damage said (never skipped in silence), times with
their zone, an empty log said to be empty and where."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from d42tui.engine.audit import JsonlLog

from .conftest import write_sim_config
from .test_cli_status import d42tui

GOOD = {"time": "2026-03-01T02:59:00.000+00:00", "phase": "before", "action_id": "old1",
        "pair": "main", "action": "promote", "target": "d42-b", "user": "ops", "host": "h"}
TORN = '{"time": "2026-03-01T03:00:00.000+00:00", "phase": "before", "action_id": "torn", "pa'


def damaged_log(tmp_path):
    path = tmp_path / "st" / "audit.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(GOOD) + "\n" + TORN)  # killed while writing line 2
    return path


def test_an_action_after_a_torn_line_is_recorded_whole_and_the_damage_is_said(sim, tmp_path):
    path = damaged_log(tmp_path)
    cfg = write_sim_config(sim, tmp_path)
    env = {"D42TUI_STATE_DIR": str(tmp_path / "st")}
    out = d42tui("demote", "d42-b", "--yes", "--config", str(cfg), env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = path.read_text().splitlines()
    assert lines[1] == TORN  # the torn line is left as it was: evidence, not rewritten
    read = JsonlLog(path).read()
    assert read.unreadable == (2,)
    [new] = {r["action_id"] for r in read.records} - {"old1"}
    phases = [r["phase"] for r in read.records if r["action_id"] == new]
    assert phases[0] == "before" and phases[-1] == "after"  # the first record survived

    listing = d42tui("audit", "--config", str(cfg), env=env)
    assert listing.returncode == 0
    assert (f"WARNING: 1 unreadable line in {path} (line 2): a process died mid-write?"
            in listing.stderr)
    assert "demote d42-b" in listing.stdout and "→ done" in listing.stdout
    as_json = d42tui("audit", "--json", "--config", str(cfg), env=env)
    assert [r["action_id"] for r in json.loads(as_json.stdout)] == ["old1", new]
    assert "1 unreadable line" in as_json.stderr
    export = d42tui("audit", "export", "--markdown", "--config", str(cfg), env=env)
    assert f"> **Warning:** 1 unreadable line in {path} (line 2)" in export.stdout
    assert "**demote d42-b**" in export.stdout


def test_events_log_records_start_on_a_fresh_line_too(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(TORN)
    log = JsonlLog(path)
    log.append({"pair": "main", "verdict": "PRIMARY DOWN", "text": "d42-a down"})
    log.append({"pair": "main", "verdict": "HEALTHY", "text": "d42-a back"})
    read = log.read()
    assert [r["verdict"] for r in read.records] == ["PRIMARY DOWN", "HEALTHY"]
    assert read.unreadable == (1,)
    assert path.read_text().count("\n") == 3  # no blank line from an intact tail


def test_many_unreadable_lines_are_counted_and_listed_with_a_mark(tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_text("".join(f"garbage {n}\n" for n in range(12)) + "[1, 2]\n\n")
    read = JsonlLog(path).read()
    assert read.note == (f"13 unreadable lines in {path} (line 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, "
                         "… and 3 more): a process died mid-write?")


def test_audit_times_are_printed_with_their_zone(sim, tmp_path):
    cfg = write_sim_config(sim, tmp_path)
    env = {"D42TUI_STATE_DIR": str(tmp_path / "st")}
    d42tui("promote", "d42-b", "--yes", "--config", str(cfg), env=env)  # refused: recorded
    [record] = [r for r in JsonlLog(tmp_path / "st" / "audit.jsonl").records()
                if r["phase"] == "before"]
    at = datetime.fromisoformat(record["time"])
    india = d42tui("audit", "--config", str(cfg), env={**env, "TZ": "Asia/Kolkata"})
    local = at.astimezone(ZoneInfo("Asia/Kolkata"))
    assert india.stdout.startswith(f"{local:%Y-%m-%d %H:%M:%S} +05:30  "), india.stdout
    utc = d42tui("audit", "--config", str(cfg), env={**env, "TZ": "UTC"})
    assert utc.stdout.startswith(f"{at:%Y-%m-%d %H:%M:%S} UTC  "), utc.stdout


def test_export_of_an_empty_log_says_so_and_where_it_looked(tmp_path):
    state = tmp_path / "st"
    env = {"D42TUI_STATE_DIR": str(state)}
    out = d42tui("audit", "export", "--markdown", env=env)
    assert out.returncode == 0, out.stderr
    assert "| time (UTC) |" not in out.stdout
    assert (f"No actions or verdict changes recorded in `{state / 'audit.jsonl'}` (no such "
            f"file) or `{state / 'events.jsonl'}` (no such file).") in out.stdout
    state.mkdir()
    (state / "audit.jsonl").write_text(json.dumps(GOOD) + "\n")
    recent = d42tui("audit", "export", "--markdown", "--since", "1h", env=env)
    assert "No actions or verdict changes recorded since " in recent.stdout
    assert f"in `{state / 'audit.jsonl'}` or" in recent.stdout
    listing = d42tui("audit", "--since", "1h", env=env)
    assert listing.stdout.strip() == f"no actions recorded in {state / 'audit.jsonl'}"
