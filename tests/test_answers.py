"""An appliance's answer is read for what it says: one invalid byte does not make a
serving appliance "down".

The lying appliance is `tests/hostile_appliance.py` (real HTTP on loopback); the other one
of the pair is the simulator. The CLI runs in a subprocess, the watcher in-process.
"""

from __future__ import annotations

import json

from d42tui.appliance import ApplianceClient, FailureKind
from d42tui.config import ApplianceConfig

from .hostile_appliance import HEALTH, HEALTH_PATH, with_hostile, write_hostile_config
from .test_cli_status import d42tui
from .watch_harness import Harness

# --- a stray byte ---------------------------------------------------------------------------

STRAY = HEALTH.replace(b"Demo Backup", b"Demo\xffBackup")


def test_a_stray_byte_in_health_keeps_a_serving_primary_up(sim, hostile, tmp_path):
    hostile.answer("GET", HEALTH_PATH, 200, STRAY)
    cfg = write_hostile_config(sim, hostile, tmp_path, "d42-a")
    out = d42tui("status", "--json", "--config", str(cfg))
    assert out.returncode == 0, out.stderr
    pair = json.loads(out.stdout)["pairs"][0]
    a = pair["appliances"][0]
    assert a["name"] == "d42-a" and a["reachability"] == "UP", a
    assert a["failure"] is None
    health = a["health"]
    assert health["cpu_percent"] == 2.5 and health["dbsize_mb"] == 84
    assert health["version"] == "18.10.00.1690226275" and health["backup_level"] == "ok"
    assert health["backups"][0]["job_name"] == "Demo\ufffdBackup"  # the stray byte, shown
    assert pair["verdict"] == "HEALTHY"


async def test_an_error_body_with_a_stray_byte_keeps_its_words(hostile):
    hostile.answer("GET", HEALTH_PATH, 503, json.dumps(
        {"errors": [{"code": 503, "title": "Service Unavailable",
                     "detail": "restore running"}]}).encode().replace(b"running", b"runn\xffing"))
    async with ApplianceClient(ApplianceConfig(name="x", url=hostile.url), 2.0) as client:
        result = await client.health()
    assert result.failure.kind is FailureKind.SERVER_ERROR
    assert "Service Unavailable — restore runn\ufffding" in result.failure.detail


async def test_the_watcher_does_not_fail_over_a_primary_that_sends_a_stray_byte(sim, hostile,
                                                                                tmp_path):
    hostile.answer("GET", HEALTH_PATH, 200, STRAY)
    h = Harness(sim, tmp_path, edit=lambda data: with_hostile(data, "d42-a", hostile))
    h.watcher.start()
    try:
        await h.rounds(8)  # far past the failure threshold (3)
        assert [r for r in h.records() if r.get("action") == "auto-failover"] == []
        assert h.modes()["d42-b"] == "standby"
        assert [r for r in sim.requests("d42-b") if r.method == "POST"] == []
        view = h.watcher.poller.pairs["main"].snapshot().views["d42-a"]
        assert view.last.ok and view.consecutive_failures == 0
    finally:
        await h.watcher.aclose()
