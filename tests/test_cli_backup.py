"""`d42tui backup`, and the pipeline in status/check and the failover plan (NFS: a local dir)."""

from __future__ import annotations

import json
import os
import time

import yaml

from .conftest import sim_config_dict
from .test_cli_status import d42tui


def config_with_backup(sim, tmp_path, backup_file, **extra) -> str:
    data = sim_config_dict(sim, tmp_path)
    data["pairs"][0]["backup"] = {"kind": "nfs", "path": str(backup_file), "max_age": "26h",
                                  **extra}
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump(data))
    path.chmod(0o600)
    return str(path)


def env(tmp_path):
    return {"D42TUI_STATE_DIR": str(tmp_path / "st")}


def test_backup_pipeline_fresh_file(sim, tmp_path):
    backup = tmp_path / "d42-backup.tgz"
    backup.write_bytes(b"x" * 4096)
    old = time.time() - 3600
    os.utime(backup, (old, old))
    cfg = config_with_backup(sim, tmp_path, backup)
    out = d42tui("backup", "--config", cfg, env=env(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "backup file: ready" in out.stdout and "4.0 KiB" in out.stdout
    assert "next restore: in" in out.stdout and "standby data (estimate)" in out.stdout
    data = json.loads(d42tui("backup", "--json", "--config", cfg, env=env(tmp_path)).stdout)
    pipe = data["pairs"][0]["pipeline"]
    assert pipe["file"]["state"] == "ready" and pipe["file"]["size"] == 4096
    assert pipe["standby_data"]["is_estimate"] is True


def test_missing_and_stale_backups_warn_in_status_and_check(sim, tmp_path):
    cfg = config_with_backup(sim, tmp_path, tmp_path / "nope.tgz")
    out = d42tui("backup", "--config", cfg, env=env(tmp_path))
    assert out.returncode == 1 and "WARNING" in out.stdout
    status = json.loads(d42tui("status", "--json", "--config", cfg, env=env(tmp_path)).stdout)
    pair = status["pairs"][0]
    codes = [w["code"] for w in pair["pipeline"]["warnings"]]
    assert "backup-missing" in codes and pair["verdict"] == "DEGRADED"
    check = d42tui("check", "--config", cfg, env=env(tmp_path))
    assert check.returncode in (1, 2) and "backup" in check.stdout.lower()

    stale = tmp_path / "stale.tgz"
    stale.write_bytes(b"x")
    old = time.time() - 3 * 86400
    os.utime(stale, (old, old))
    cfg = config_with_backup(sim, tmp_path, stale)
    status = json.loads(d42tui("status", "--json", "--config", cfg, env=env(tmp_path)).stdout)
    assert "backup-stale" in [w["code"] for w in status["pairs"][0]["pipeline"]["warnings"]]


def test_failover_plan_states_the_data_loss(sim, tmp_path):
    backup = tmp_path / "d42-backup.tgz"
    backup.write_bytes(b"x" * 10)
    cfg = config_with_backup(sim, tmp_path, backup)
    sim.set_fault("d42-a", "down")
    out = d42tui("failover", "--dry-run", "--config", cfg, env=env(tmp_path))
    assert out.returncode == 0, out.stdout
    assert "failing over now loses changes made on d42-a after ~" in out.stdout, out.stdout
