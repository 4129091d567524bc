"""An appliance's answer is read for what it says: a 200 is not "done" whatever its message,
and one invalid byte does not make a serving appliance "down".

The lying appliance is `tests/hostile_appliance.py` (real HTTP on loopback); the other one
of the pair is the simulator. The CLI runs in a subprocess, the watcher in-process.
"""

from __future__ import annotations

import json

import pytest

from d42tui.appliance.client import ApplianceClient, FailureKind, ModeAnswer
from d42tui.config.models import ApplianceConfig
from d42tui.engine.audit import JsonlLog, outcomes
from d42tui.engine.state import automation_entry

from .hostile_appliance import (
    HEALTH,
    HEALTH_PATH,
    MODE_PATH,
    mode_message,
    with_hostile,
    write_hostile_config,
)
from .test_cli_status import d42tui
from .watch_harness import Harness

STANDBY_SET = "Appliance Manager standby mode set to True. Background jobs disabled"
PRODUCTION_SET = "Appliance Manager standby mode set to False. Background jobs enabled"


def demote(sim, hostile, tmp_path):
    """`d42tui demote d42-a --yes` with d42-a (production) the hostile appliance."""
    cfg = write_hostile_config(sim, hostile, tmp_path, "d42-a")
    env = {"D42TUI_STATE_DIR": str(tmp_path / "st")}
    out = d42tui("demote", "d42-a", "--yes", "--config", str(cfg), env=env)
    records = list(JsonlLog(tmp_path / "st" / "audit.jsonl").records())
    status = json.loads(d42tui("status", "--json", "--config", str(cfg), env=env).stdout)
    asserted = status["pairs"][0]["appliances"][0]["asserted_mode"]
    return out, records, asserted


@pytest.mark.parametrize("body,said", [
    (mode_message("Error: could not change appliance mode"),
     "could not change appliance mode"),
    (mode_message(PRODUCTION_SET), "that is production"),  # the other mode's wording
    (json.dumps({"errors": [{"code": 500, "title": "Internal Server Error",
                             "detail": "mode change failed"}]}).encode(), "mode change failed"),
], ids=["error message", "other mode", "errors body"])
def test_a_200_that_says_it_did_not_set_the_mode_is_failed(sim, hostile, tmp_path, body, said):
    hostile.answer("POST", MODE_PATH, 200, body)
    out, records, asserted = demote(sim, hostile, tmp_path)
    assert out.returncode == 3, out.stdout + out.stderr
    assert "FAILED: demote failed: d42-a refused standby" in out.stdout and said in out.stdout
    assert "DONE" not in out.stdout
    assert hostile.posts() == [b"appliance_mode=standby"]
    [step] = [r for r in records if r["phase"] == "step"]
    assert step["outcome"] == "failed" and step["status"] == 200 and said in step["message"]
    [after] = [r for r in records if r["phase"] == "after"]
    assert after["result"] == "failed"
    # the console does not pretend the mode changed
    assert asserted["mode"] == "production" and asserted["source"] == "declared"


def test_a_200_with_a_message_nobody_documented_is_done_but_says_unconfirmed(sim, hostile,
                                                                               tmp_path):
    hostile.answer("POST", MODE_PATH, 200, mode_message("OK"))
    out, records, asserted = demote(sim, hostile, tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    unconfirmed = "answered 200 but its message does not confirm standby: 'OK'"
    assert f"WARNING: d42-a {unconfirmed}" in out.stdout
    assert "d42-a → standby (unconfirmed)" in out.stdout
    [step] = [r for r in records if r["phase"] == "step"]
    assert step["outcome"] == "done" and step["message"] == unconfirmed
    assert asserted["mode"] == "standby" and asserted["source"] == "console"


def test_the_documented_answer_is_done_and_confirmed(sim, hostile, tmp_path):
    hostile.answer("POST", MODE_PATH, 200, mode_message(STANDBY_SET))
    out, records, asserted = demote(sim, hostile, tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "DONE: changed: d42-a → standby" in out.stdout
    assert "does not confirm" not in out.stdout and "unconfirmed" not in out.stdout
    [step] = [r for r in records if r["phase"] == "step"]
    assert step["outcome"] == "done" and step["message"] == STANDBY_SET


@pytest.mark.parametrize("mode,text,answer", [
    ("standby", STANDBY_SET, ModeAnswer.CONFIRMS),
    ("production", PRODUCTION_SET, ModeAnswer.CONFIRMS),
    ("production", STANDBY_SET, ModeAnswer.CONTRADICTS),
    ("standby", "appliance mode set to standby mode set to False", ModeAnswer.CONTRADICTS),
    ("standby", "Appliance Manager standby mode set to True. Background jobs enabled",
     ModeAnswer.CONTRADICTS),  # its two halves disagree: not a confirmation
    ("standby", "Appliance is now in production", ModeAnswer.CONTRADICTS),
    ("production", "Failed to set production mode", ModeAnswer.ERROR),
    ("standby", "Appliance Manager standby mode set to True. Error: jobs still running",
     ModeAnswer.ERROR),
    ("standby", "unable to reach the scheduler", ModeAnswer.ERROR),
    ("standby", "", ModeAnswer.UNRECOGNISED),
    ("standby", "done", ModeAnswer.UNRECOGNISED),
    ("standby", "Appliance mode is standby", ModeAnswer.UNRECOGNISED),  # not the vendor's words
])
async def test_each_mode_message_is_read_for_what_it_says(hostile, mode, text, answer):
    hostile.answer("POST", MODE_PATH, 200, mode_message(text))
    cfg = ApplianceConfig(name="x", url=hostile.url, password="pw")
    async with ApplianceClient(cfg, 2.0) as client:
        result = await client.set_mode(mode)
    assert result.answer is answer, result
    assert result.sent and result.status == 200
    assert result.confirmed is (answer is ModeAnswer.CONFIRMS)
    if answer in (ModeAnswer.CONTRADICTS, ModeAnswer.ERROR):
        assert result.outcome == "failed" and result.failure.kind is FailureKind.MODE_NOT_SET
    else:
        assert result.outcome == "done" and result.failure is None


async def test_a_stray_byte_in_a_mode_answer_does_not_hide_its_meaning(hostile):
    hostile.answer("POST", MODE_PATH, 200, mode_message(STANDBY_SET)[:-2] + b"\xff\"}")
    cfg = ApplianceConfig(name="x", url=hostile.url, password="pw")
    async with ApplianceClient(cfg, 2.0) as client:
        result = await client.set_mode("standby")
    assert result.outcome == "done" and result.confirmed, result


# --- (6) a stray byte ----------------------------------------------------------------------

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


# --- the watcher's fencing reads the same answer -------------------------------------------

async def test_a_fence_the_appliance_contradicts_is_not_done(sim, hostile, tmp_path):
    """The old primary comes back and answers the standby POST with production's wording:
    the fence failed, stays pending, and is retried."""
    hostile.hang_up("GET", HEALTH_PATH)  # d42-a (production) is dead: the watcher fails over
    hostile.answer("POST", MODE_PATH, 200, mode_message(PRODUCTION_SET))
    h = Harness(sim, tmp_path, edit=lambda data: with_hostile(data, "d42-a", hostile))
    h.watcher.start()
    try:
        await h.until(lambda: h.modes()["d42-b"] == "production")
        hostile.answer("GET", HEALTH_PATH, 200, HEALTH)  # it returns, still production
        await h.until(lambda: len(hostile.posts()) >= 2)
        fences = [o for o in outcomes(h.records()) if o.action == "auto-fence"]
        assert fences and all(f.result == "failed" for f in fences), fences
        assert "that is production" in fences[0].detail
        assert automation_entry(h.store, "main").get("fence_pending") == ["d42-a"]
        assert any(e.startswith("fence-failed:") for e in h.events())
        assert not any(e.startswith("fenced:") for e in h.events())
    finally:
        await h.watcher.aclose()
