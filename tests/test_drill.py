"""The DR drill: a journaled switchover to the standby, checks, a switchover back, a report
with every step timed — refused unless HEALTHY, rolled back when the standby fails."""

from __future__ import annotations

import yaml

from d42tui.actions.drill import DrillRunner, report_markdown
from d42tui.actions.runner import ActionRunner
from d42tui.config.models import load_config, state_dir
from d42tui.engine.audit import JsonlLog
from d42tui.engine.poller import Poller
from d42tui.engine.state import StateStore

from .test_cli_status import d42tui
from .watch_harness import TARGETS, watch_config_dict


def drill_config(sim, tmp_path, named=None):
    """The simulated pair with its restore 12 hours away (a drill refuses to run near one)."""
    data = watch_config_dict(sim, tmp_path, named=named)
    data["pairs"][0].pop("automation", None)
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump(data))
    path.chmod(0o600)
    return path


def posts(sim):
    return [(r.appliance, r.form["appliance_mode"]) for r in sim.requests() if r.method == "POST"]


def test_a_drill_goes_there_and_back_with_a_timed_report(sim, named, tmp_path):
    cfg = drill_config(sim, tmp_path, named)
    report = tmp_path / "drill.md"
    out = d42tui("drill", "--yes", "--report", str(report), "--config", str(cfg),
                 env={"D42TUI_STATE_DIR": str(tmp_path / "st")})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "DRILL PASSED" in out.stdout
    assert posts(sim) == [("d42-a", "standby"), ("d42-b", "production"),
                          ("d42-b", "standby"), ("d42-a", "production")]
    assert {n: a["mode"] for n, a in sim.truth()["appliances"].items()} == {
        "d42-a": "production", "d42-b": "standby"}
    assert named.record()[0] == (TARGETS["d42-a"],)  # DNS back where it started
    text = report.read_text()
    assert text.startswith("# DR drill — pair `main`")
    assert "**Result: PASSED**" in text and "Production before: d42-a; after: d42-a" in text
    assert "| switchover d42-a → d42-b |" in text and " d42-b → d42-a | " in text
    assert "check d42-b serves and DNS answers" in text and " s | done |" in text
    assert "Downtime seen by the console" in text
    assert "## DNS at the authoritative servers" in text and f"{TARGETS['d42-b']}" in text
    export = d42tui("audit", "export", "--config", str(cfg),
                    env={"D42TUI_STATE_DIR": str(tmp_path / "st")})
    assert "**drill main**" in export.stdout and "drill passed" in export.stdout


def test_a_drill_is_refused_unless_healthy(sim, tmp_path):
    cfg = drill_config(sim, tmp_path)
    sim.set_fault("d42-b", "down")
    out = d42tui("drill", "--yes", "--config", str(cfg))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "**Result: REFUSED**" in out.stdout and "HEALTHY" in out.stdout
    assert posts(sim) == []


async def test_a_standby_that_fails_mid_way_is_rolled_back_and_reported(sim, tmp_path):
    config = load_config(drill_config(sim, tmp_path)).config
    store = StateStore(state_dir(config))
    poller = Poller(config, store)
    audit = JsonlLog(tmp_path / "audit.jsonl")
    runner = ActionRunner(config, poller, store, audit, by="cli")

    def say(text: str) -> None:  # d42-b breaks the moment its promotion is sent
        if "sending appliance_mode=production to d42-b" in text:
            sim.set_fault("d42-b", "error500")

    try:
        drill = await DrillRunner(runner, config.pairs[0], audit, "tester@host", say).run()
    finally:
        await poller.aclose()
    assert drill.result == "rolled back", drill.detail
    assert "d42-a is production as before" in drill.detail
    assert {n: a["mode"] for n, a in sim.truth()["appliances"].items()} == {
        "d42-a": "production", "d42-b": "standby"}
    text = report_markdown(drill, config.pairs[0].zone)
    assert "**Result: ROLLED BACK**" in text and "| failed |" in text
    after = [r for r in audit.records() if r.get("action") == "drill" and r["phase"] == "after"]
    assert after and after[0]["result"] == "failed" and "rolled back" in after[0]["detail"]
