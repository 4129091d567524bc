"""Fencing an old primary that cannot be demoted: `automation.fence_command` runs before the
promotion (argv, no shell, bounded), and with `require_fence` nothing is promoted unless it
exits 0 — Pacemaker's rule: no promotion before the old one is known dead."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from d42tui.actions.planner import ActionKind
from d42tui.config.models import ConfigError, parse_config

from .test_actions import Harness as ActionHarness
from .test_watch_chaos import notify
from .watch_harness import Harness, Receiver

SCRIPT = """import json, os, sys, time
with open(sys.argv[1], "a") as fh:
    fh.write(json.dumps({"at": time.time(), "pair": os.environ.get("D42TUI_PAIR"),
                         "appliance": os.environ.get("D42TUI_APPLIANCE")}) + "\\n")
print("password=hunter2 (never recorded)")
sys.exit(int(sys.argv[2]))
"""


def fencer(tmp_path: Path, code: int) -> tuple[list[str], Path]:
    script, calls = tmp_path / "fence.py", tmp_path / "fenced.jsonl"
    script.write_text(SCRIPT)
    return [sys.executable, str(script), str(calls), str(code)], calls


def calls(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def promotions(sim) -> list:
    return [r for r in sim.requests("d42-b") if r.method == "POST"
            and r.form.get("appliance_mode") == "production"]


async def failover(sim, tmp_path, code: int, required: bool):
    argv, log = fencer(tmp_path, code)
    h = ActionHarness(sim, tmp_path, automation={"fence_command": argv,
                                                 "require_fence": required})
    sim.set_fault("d42-a", "down")
    plan = await h.plan(ActionKind.FAILOVER, polls=3)
    return h, plan, log


async def test_required_fence_runs_before_the_promotion(sim, tmp_path):
    h, plan, log = await failover(sim, tmp_path, 0, True)
    try:
        assert [s.kind for s in plan.steps] == ["fence", "mode", "mode"]
        assert plan.steps[0].text.startswith("fence d42-a: run ") and \
            "promoted only if it exits 0" in plan.steps[0].text
        result = await h.runner.run(plan)
        assert result.outcome == "done", result.detail
        (call,) = calls(log)
        assert call["appliance"] == "d42-a" and call["pair"] == "main"
        (promotion,) = promotions(sim)
        assert call["at"] < promotion.at  # fenced first
        records = json.dumps(h.records())
        assert "exit 0" in records and "hunter2" not in records  # its output is never kept
    finally:
        await h.poller.aclose()


async def test_a_required_fence_that_fails_promotes_nothing(sim, tmp_path):
    h, plan, log = await failover(sim, tmp_path, 3, True)
    try:
        result = await h.runner.run(plan)
        assert result.outcome == "failed"
        assert "the fence command for d42-a failed (exit 3)" in result.detail
        assert "nothing was promoted" in result.detail
        assert len(calls(log)) == 1 and promotions(sim) == []
        assert h.modes()["d42-b"] == "standby"
        desired, _ = h.store.roles(h.pair)
        assert desired == "d42-a"
    finally:
        await h.poller.aclose()


async def test_a_best_effort_fence_that_fails_lets_the_failover_go_on(sim, tmp_path):
    h, plan, log = await failover(sim, tmp_path, 1, False)
    try:
        result = await h.runner.run(plan)
        assert result.outcome == "done", result.detail
        assert any("the fence command for d42-a failed (exit 1)" in w for w in result.warnings)
        assert len(promotions(sim)) == 1
    finally:
        await h.poller.aclose()


async def test_a_missing_required_fence_program_refuses_before_anything(sim, tmp_path):
    h = ActionHarness(sim, tmp_path, automation={"fence_command": ["/nonexistent/fence"],
                                                 "require_fence": True})
    try:
        sim.set_fault("d42-a", "down")
        plan = await h.plan(ActionKind.FAILOVER, polls=3)
        result = await h.runner.run(plan)
        assert result.outcome == "refused"
        assert "/nonexistent/fence is not found or not executable" in result.detail
        assert h.posts() == []
    finally:
        await h.poller.aclose()


async def test_a_slow_fence_is_killed_at_its_timeout(sim, tmp_path):
    h = ActionHarness(sim, tmp_path, automation={
        "fence_command": [sys.executable, "-c", "import time; time.sleep(60)"],
        "fence_timeout": "1s", "require_fence": True})
    try:
        sim.set_fault("d42-a", "down")
        result = await h.runner.run(await h.plan(ActionKind.FAILOVER, polls=3))
        assert result.outcome == "failed" and "did not finish in 1s: killed" in result.detail
        assert promotions(sim) == []
    finally:
        await h.poller.aclose()


async def test_the_watcher_fences_then_promotes(sim, tmp_path):
    argv, log = fencer(tmp_path, 0)
    rx = Receiver()
    h = Harness(sim, tmp_path, automation={**notify(rx), "fence_command": argv,
                                           "require_fence": True})
    h.watcher.start()
    try:
        await h.rounds(2)
        sim.set_fault("d42-a", "down")
        await h.until(lambda: h.modes()["d42-b"] == "production")
        (call,) = calls(log)
        assert call["at"] < promotions(sim)[0].at
        await h.settle()
        assert "fence-command-done" in rx.events()
    finally:
        await h.watcher.aclose()
        rx.close()


@pytest.mark.parametrize("auto, words", [
    ({"require_fence": True}, "require_fence: needs a fence_command to run"),
    ({"fence_command": []}, "fence_command"),
    ({"fence_command": ["x"], "fence_timeout": "0s"}, "fence_timeout"),
])
def test_bad_fence_settings_name_the_key(auto, words):
    data = {"pairs": [{"name": "main", "production": "a", "automation": auto,
                       "appliances": [{"name": "a", "url": "https://a.example"},
                                      {"name": "b", "url": "https://b.example"}]}]}
    with pytest.raises(ConfigError) as err:
        parse_config(yaml.safe_dump(data), Path("f.yaml"))
    text = "\n".join(err.value.lines)
    assert "pairs[0].automation" in text and words in text, text
