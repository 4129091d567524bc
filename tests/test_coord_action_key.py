"""The per-pair action key on a real 3-member etcd: a person's CLI action and the leading
watcher (another process, standing in for another host) never run a plan at once; with
etcd gone a person's action still runs, and says it ran uncoordinated."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time

import yaml

from d42tui.engine.audit import JsonlLog

from .conftest import sim_config_dict
from .test_cli_status import ROOT, d42tui
from .test_coord_scenarios import LEASE_TTL, mode_posts, promotions, site, wait_until  # noqa: F401

KEY = "/site/pairs/main/action"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def coordinated_config(sim, etcd_cluster, tmp_path):
    data = sim_config_dict(sim, tmp_path)
    data["coordination"] = {"etcd": {"endpoints": etcd_cluster.endpoints, "prefix": "/site/",
                                     "lease_ttl": f"{LEASE_TTL:g}s"}}
    path = tmp_path / "d42tui.yaml"
    path.write_text(yaml.safe_dump(data))
    path.chmod(0o600)
    return path


def env(tmp_path) -> dict:
    return {"D42TUI_STATE_DIR": str(tmp_path / "st")}


def hold_key(etcd_cluster, **holder) -> int:
    """Put the action key as another holder would: on a lease of its own. The lease id."""
    lease = int(etcd_cluster.call("lease/grant", {"TTL": 60})["ID"])
    value = {"action": "failover", "pid": 4242, "since": time.time(), "plan_id": "p1",
             **holder}
    answer = etcd_cluster.call("kv/txn", {
        "compare": [{"key": b64(KEY), "target": "CREATE", "result": "EQUAL",
                     "create_revision": "0"}],
        "success": [{"request_put": {"key": b64(KEY), "value": b64(json.dumps(value)),
                                     "lease": str(lease)}}]})
    assert answer.get("succeeded"), answer
    return lease


def read_key(etcd_cluster) -> dict | None:
    kvs = etcd_cluster.call("kv/range", {"key": b64(KEY)}).get("kvs", [])
    if not kvs:
        return None
    return {**json.loads(base64.b64decode(kvs[0]["value"])), "lease": kvs[0].get("lease")}


def records(tmp_path, phase: str) -> list[dict]:
    return [r for r in JsonlLog(tmp_path / "st" / "audit.jsonl").records()
            if r.get("phase") == phase]


def test_cli_failover_refused_while_a_watcher_holds_the_action_key(sim, etcd_cluster,
                                                                    tmp_path):
    cfg = coordinated_config(sim, etcd_cluster, tmp_path)
    hold_key(etcd_cluster, by="watcher", name="w1", host="host-b")
    sim.clear_requests()
    out = d42tui("failover", "--yes", "--config", str(cfg), env=env(tmp_path))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "REFUSED: an action on pair main is in progress: failover by watcher w1 on " \
           "host-b since " in out.stdout, out.stdout
    assert [r for r in sim.requests() if r.method == "POST"] == []
    assert sim.truth()["appliances"]["d42-b"]["mode"] == "standby"
    after = records(tmp_path, "after")
    assert [r["result"] for r in after] == ["refused"]
    assert "failover by watcher w1 on host-b" in after[0]["detail"]
    assert read_key(etcd_cluster)["name"] == "w1"  # the holder's key is left alone


def test_cli_holds_the_action_key_for_its_plan_and_lets_it_go(sim, etcd_cluster, tmp_path):
    cfg = coordinated_config(sim, etcd_cluster, tmp_path)
    sim.set_fault("d42-b", "slow", ms=700)  # each step takes a while: the key can be seen
    proc = subprocess.Popen(
        [sys.executable, "-m", "d42tui", "failover", "--yes", "--config", str(cfg)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env(tmp_path)})
    seen: list[dict] = []
    try:
        def held() -> bool:
            value = read_key(etcd_cluster)
            if value is not None:
                seen.append(value)
            return bool(seen) or proc.poll() is not None
        wait_until(held, what="the CLI's action key")
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stdout + stderr
    assert seen, "the action key was never seen while the CLI ran"
    assert seen[0]["by"] == "cli" and seen[0]["action"] == "failover"
    assert seen[0]["pid"] == proc.pid and int(seen[0]["lease"]) != 0
    assert "uncoordinated" not in stdout
    assert sim.truth()["appliances"]["d42-b"]["mode"] == "production"
    assert read_key(etcd_cluster) is None  # let go when the plan closed
    lease = etcd_cluster.call("lease/timetolive", {"ID": seen[0]["lease"]})
    assert int(lease.get("TTL", -1)) == -1  # revoked, not left to expire
    before = records(tmp_path, "before")
    assert before[0]["coordination"] == f"coordinated: holds {KEY}"
    # the plan it closed is marked in etcd before the key went: a leader that takes the
    # key next never resumes it from a shared state that has not caught up yet
    kvs = etcd_cluster.call("kv/range", {"key": b64("/site/pairs/main/closed")}).get("kvs", [])
    assert kvs and json.loads(base64.b64decode(kvs[0]["value"]))["plan_id"] == \
        before[0]["action_id"]


def test_with_etcd_down_the_cli_action_runs_uncoordinated_and_says_so(sim, etcd_cluster,
                                                                      tmp_path):
    cfg = coordinated_config(sim, etcd_cluster, tmp_path)
    etcd_cluster.stop()  # every member killed
    out = d42tui("failover", "--yes", "--config", str(cfg), env=env(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    warning = next(i for i, line in enumerate(lines)
                   if line.startswith("WARNING: ran uncoordinated: etcd did not answer ("))
    first_step = next(i for i, line in enumerate(lines) if line.startswith("… "))
    assert warning < first_step, out.stdout  # said before the plan runs
    assert "DONE" in out.stdout
    assert sim.truth()["appliances"]["d42-b"]["mode"] == "production"
    before, after = records(tmp_path, "before"), records(tmp_path, "after")
    assert before[0]["coordination"].startswith("uncoordinated: etcd did not answer (")
    assert after[-1]["result"] == "done"
    assert any(w.startswith("ran uncoordinated: etcd did not answer")
               for w in after[-1]["warnings"])
    listing = d42tui("audit", "--config", str(cfg), env=env(tmp_path)).stdout
    assert "→ done: failover done" in listing and "[ran uncoordinated" in listing, listing


def test_the_leading_watcher_waits_for_a_persons_action_key(sim, site, etcd_cluster):  # noqa: F811
    w1 = site("w1")
    w1.wait_for("leader", "now leads main")
    lease = hold_key(etcd_cluster, by="cli", name="alice", host="host-a")
    sim.set_fault("d42-a", "down")
    w1.wait_for("not-failing-over", "a person's action on pair main is in progress "
                "(failover by alice (cli) on host-a since ")
    assert mode_posts(sim) == []
    assert sim.truth()["appliances"]["d42-b"]["mode"] == "standby"
    etcd_cluster.call("lease/revoke", {"ID": str(lease)})  # the person's plan closed
    w1.wait_for("failover-done")
    assert len(promotions(sim)) == 1
    assert read_key(etcd_cluster) is None  # the watcher let its own key go after its plan


def test_etcd_lost_mid_plan_the_cli_keeps_going_and_says_so(sim, etcd_cluster, tmp_path):
    data_poll = {"interval": "6s", "timeout": "6s", "failure_threshold": 3,
                 "recovery_threshold": 2}
    data = sim_config_dict(sim, tmp_path, poll=data_poll)
    data["coordination"] = {"etcd": {"endpoints": etcd_cluster.endpoints, "prefix": "/site/",
                                     "lease_ttl": "2s"}}
    cfg = tmp_path / "d42tui.yaml"
    cfg.write_text(yaml.safe_dump(data))
    cfg.chmod(0o600)
    sim.set_fault("d42-b", "slow", ms=2500)  # the plan outlives the key's 2s lease
    proc = subprocess.Popen(
        [sys.executable, "-m", "d42tui", "failover", "--yes", "--config", str(cfg)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env(tmp_path)})
    try:
        wait_until(lambda: read_key(etcd_cluster) is not None or proc.poll() is not None,
                   what="the CLI's action key")
        assert proc.poll() is None, proc.communicate()
        etcd_cluster.stop()  # mid-plan: no keep-alive reaches etcd any more
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stdout + stderr
    assert "WARNING: coordination lost mid-plan: etcd did not answer the action key's " \
           "keep-alive" in stdout, stdout
    assert "DONE" in stdout
    truth = sim.truth()["appliances"]
    assert truth["d42-a"]["mode"] == "standby" and truth["d42-b"]["mode"] == "production"
    after = records(tmp_path, "after")[-1]
    assert after["result"] == "done"
    assert any(w.startswith("coordination lost mid-plan") for w in after["warnings"])
