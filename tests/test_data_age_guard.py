"""The data-age guard (`automation.max_data_age`): the watcher never promotes automatically a
standby whose estimated data is older; it alerts, and a person decides (a forced failover
from the console or the CLI)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from d42tui.actions.planner import ActionKind
from d42tui.watch.decision import decide

from .test_actions import Harness as ActionHarness
from .test_watch_chaos import notify
from .test_watch_decision import situation
from .watch_harness import Harness, Receiver

HOUR = 3600.0


def test_a_standby_with_old_data_is_not_promoted_automatically():
    d = decide(situation(data_age=26 * HOUR, max_data_age=12 * HOUR))
    assert d.wanted and not d.act
    blocker = next(b for b in d.blockers if b.key == "data-too-old")
    assert blocker.level == "critical"
    assert blocker.text == ("would fail over, but d42-b's data is 26h old (over "
                            "automation.max_data_age 12h): a person must decide")
    assert not d.would_act  # not "only paused": no "would have failed over but paused"


def test_fresh_data_or_no_guard_or_no_estimate_lets_it_act():
    assert decide(situation(data_age=HOUR, max_data_age=12 * HOUR)).act
    assert decide(situation(data_age=26 * HOUR, max_data_age=None)).act
    assert decide(situation(data_age=None, max_data_age=12 * HOUR)).act
    exact = situation(data_age=12 * HOUR, max_data_age=12 * HOUR)
    assert decide(exact).act and not decide(replace(exact, data_age=12 * HOUR + 1)).act


@pytest.fixture
def receiver():
    rx = Receiver()
    yield rx
    rx.close()


async def test_the_watcher_alerts_and_sends_nothing(sim, tmp_path, receiver):
    # the simulated pair restores daily, 12 hours away: its data is hours old, over 1 minute
    h = Harness(sim, tmp_path, automation={**notify(receiver), "max_data_age": "1m"})
    h.watcher.start()
    try:
        await h.rounds(2)  # a calm start: both answer, the standby is trusted
        h.sim.clear_requests()
        h.sim.set_fault("d42-a", "down")
        await h.until(lambda: "data-too-old" in receiver.events())  # the alert, then:
        note = next(b for b in receiver.bodies if b["event"] == "data-too-old")
        assert "would fail over, but d42-b's data is" in note["text"]
        assert "a person must decide" in note["text"] and "d42-a is down" in note["text"]
        assert h.posts() == [] and h.modes()["d42-b"] == "standby"
        assert h.watcher.pairs["main"].latest.wanted
    finally:
        await h.watcher.aclose()


async def test_a_person_may_fail_over_with_force(sim, tmp_path):
    h = ActionHarness(sim, tmp_path, automation={"max_data_age": "1m"})
    try:
        h.sim.set_fault("d42-a", "down")
        plan = await h.plan(ActionKind.FAILOVER, polls=3)
        assert plan.refused and plan.forceable
        assert "d42-b's data is" in plan.refusal and "over automation.max_data_age 1m" \
            in plan.refusal and "a person must decide" in plan.refusal
        refused = await h.runner.run(plan)
        assert refused.outcome == "refused" and h.posts() == []
        done = await h.runner.run(plan, force=True)
        assert done.outcome == "done", done.detail
        assert h.modes()["d42-b"] == "production"
    finally:
        await h.poller.aclose()
