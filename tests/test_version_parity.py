"""Version parity: Device42 restores only between identical versions. Two appliances that
report different versions warn on every surface, the standby-data estimate stops counting
the restores since they diverged, and a failover plan says so."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import yaml

from d42tui.actions.planner import ActionKind
from d42tui.engine import schedule

from .conftest import write_sim_config
from .test_actions import Harness
from .test_cli_status import d42tui

NEW = "19.01.00.1700000000"
OLD = "18.10.00.1690226275"  # what the simulator reports by default


def sim_yaml(sim, tmp_path):
    """The simulated pair's config, with the simulator's control API (for `simulate`)."""
    path = write_sim_config(sim, tmp_path)
    data = yaml.safe_load(path.read_text())
    data["simulator"] = {"control_url": sim.control_url}
    path.write_text(yaml.safe_dump(data))
    return path


def test_different_versions_warn_in_status_json_and_check(sim, tmp_path):
    cfg = sim_yaml(sim, tmp_path)
    assert d42tui("check", "--config", str(cfg)).returncode == 0
    out = d42tui("simulate", "version", "d42-a", NEW, "--config", str(cfg))
    assert out.returncode == 0, out.stderr

    data = json.loads(d42tui("status", "--json", "--config", str(cfg)).stdout)
    (pair,) = data["pairs"]
    assert pair["verdict"] == "DEGRADED" and pair["versions"]["match"] is False
    assert pair["versions"]["diverged_at"] is not None
    texts = [r["text"] for r in pair["reasons"]]
    assert any(t.startswith("the ") and f"restore on d42-b will fail: d42-a runs {NEW}, "
               f"d42-b {OLD}" in t for t in texts), texts
    assert [a["health"]["version"] for a in pair["appliances"]] == [NEW, OLD]

    check = d42tui("check", "--config", str(cfg))
    assert check.returncode == 1 and "restore on d42-b will fail" in check.stdout

    d42tui("simulate", "version", "d42-b", NEW, "--config", str(cfg))  # both upgraded
    data = json.loads(d42tui("status", "--json", "--config", str(cfg)).stdout)
    assert data["pairs"][0]["versions"] == {"match": True, "diverged_at": None}
    assert d42tui("check", "--config", str(cfg)).returncode == 0


def test_simulate_version_refuses_bad_input(sim, tmp_path):
    cfg = sim_yaml(sim, tmp_path)
    out = d42tui("simulate", "version", "d42-x", NEW, "--config", str(cfg))
    assert out.returncode != 0 and "unknown appliance" in out.stderr
    out = d42tui("simulate", "version", "d42-a", "x" * 65, "--config", str(cfg))
    assert out.returncode != 0 and "1 to 64 printable characters" in out.stderr


def test_the_estimate_stops_counting_restores_since_the_versions_diverged():
    tz = "UTC"
    diverged = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    now = diverged + timedelta(hours=10)  # two restores since, at 12:30 and 16:30
    args = ("0 */4 * * *", "30 */4 * * *", tz)
    today = schedule.estimate_standby_data(*args, now)
    before = schedule.estimate_standby_data(*args, diverged)
    assert today.restored_backup_time == datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
    assert before.restored_backup_time == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    est = schedule.since_versions_diverged(today, before, diverged, now, tz)
    assert est.restored_backup_time == before.restored_backup_time
    assert est.data_age == (now - before.restored_backup_time).total_seconds()  # 11 h, not 3
    assert est.reason.startswith("estimated: the versions differ since 09:00, so the "
                                 "restores since then failed; before that: ")
    # no restore since the versions diverged: nothing to discount
    soon = diverged + timedelta(minutes=20)
    same = schedule.estimate_standby_data(*args, soon)
    assert schedule.since_versions_diverged(same, before, diverged, soon, tz) is same


async def test_a_failover_plan_states_it(sim, tmp_path):
    h = Harness(sim, tmp_path)
    try:
        sim.set_version("d42-b", NEW)
        plan = await h.plan(ActionKind.FAILOVER)
        assert any(w.startswith(f"the versions differ (d42-a runs {OLD}, d42-b {NEW}): d42-b "
                                "has not been able to restore d42-a's backups since")
                   for w in plan.warnings), plan.warnings
        assert h.poller.pairs["main"].latest.versions_diverged_at is not None
    finally:
        await h.poller.aclose()
