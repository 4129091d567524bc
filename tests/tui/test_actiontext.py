"""What the action dialogs, the DNS line and the pipeline panel say (pure, no terminal)."""

from __future__ import annotations

from dataclasses import replace

from d42tui.actions.planner import ActionKind, plan_action
from d42tui.actions.runner import ActionResult, StepResult
from d42tui.engine.pair import AssertedMode
from d42tui.tui.text.actiontext import confirm_label, plan_lines, result_lines
from d42tui.tui.text.boardtext import fencing_due
from d42tui.tui.text.paneltext import dns_lines, pipeline_lines

from . import handmade as H


def text(lines) -> list[str]:
    return ["".join(t for t, _ in line) for line in lines]


def test_a_refused_plan_says_so_first_and_how_forcing_works():
    config = H.make_config()
    plan = plan_action(ActionKind.PROMOTE, config.pairs[0], H.healthy(config), "d42-b")
    lines = text(plan_lines(plan))
    assert lines[0] == "make d42-b production"
    assert lines[1].startswith("✖ REFUSED: the peer d42-a still answers as production")
    assert "  1. POST appliance_mode=production to d42-b (https://d42-b.example.com:4343)" in lines
    assert lines[-1].startswith("Force… overrides the refusal after a second confirmation")
    assert confirm_label(plan) == "Promote d42-b"


def test_the_failover_plan_restates_the_pair_and_the_data_age():
    config = H.make_config()
    snap = H.with_pipeline(H.primary_down(config))
    plan = plan_action(ActionKind.FAILOVER, config.pairs[0], snap)
    lines = text(plan_lines(plan))
    assert "  d42-a: production · declared, ✖ DOWN (connection refused)" in lines
    assert ("  failing over now loses changes made on d42-a after ~00:00 (2 h 17 min ago): "
            "d42-b restored the backup taken then (estimate)") in lines
    assert lines.index("Will send, in order:") < lines.index(
        "  1. POST appliance_mode=production to d42-b (https://d42-b.example.com:4343)")
    assert confirm_label(plan) == "Fail over"


def _result(plan, outcome, detail, *steps):
    return ActionResult("abc", plan, outcome, detail, tuple(steps))


def test_results_never_claim_a_success_they_did_not_see():
    config = H.make_config()
    plan = plan_action(ActionKind.DEMOTE, config.pairs[0], H.healthy(config), "d42-b")
    step = plan.steps[0]
    unknown = text(result_lines(_result(plan, "unknown", "d42-b: no answer", StepResult(
        step, "unknown", "no answer after the request was sent"))))
    assert unknown[0].startswith("? UNKNOWN") and not any("DONE" in t for t in unknown)
    assert "it may have applied; the console keeps checking" in unknown[-1]
    failed = text(result_lines(_result(plan, "failed", "d42-b: 401 bad credentials",
                                       StepResult(step, "failed", "401 bad credentials", 401))))
    assert failed[0] == "✖ FAILED  d42-b: 401 bad credentials"
    assert "failed (401) 401 bad credentials" in failed[1]
    cancelled = text(result_lines(_result(plan, "cancelled", "the situation changed: d42-b "
                                          "answering → not answering. Nothing was sent.")))
    assert cancelled == ["■ CANCELLED  the situation changed: d42-b answering → not answering. "
                         "Nothing was sent."]


def test_the_dns_line_is_loud_only_when_it_points_away_from_production():
    config = H.make_config(dns=True)
    dns = config.pairs[0].dns
    assert text(dns_lines(dns, None, "d42-a")) == [
        "DNS d42.example.com A: asking the authoritative servers…"]
    right = dns_lines(dns, H.dns_answer("10.0.0.1"), "d42-a")
    assert text(right) == ["DNS d42.example.com A 10.0.0.1 → d42-a, TTL 60"]
    wrong = dns_lines(dns, H.dns_answer("10.0.0.2"), "d42-a")
    assert text(wrong)[1].startswith("▲ DNS MISMATCH: d42.example.com A points at d42-b")
    assert wrong[1][0][1] == "critical"


def test_the_pipeline_panel_says_the_data_age_is_an_estimate():
    config = H.make_config()
    pair = config.pairs[0]
    assert pipeline_lines(pair, H.healthy(config), H.NOW) == ()
    lines = text(pipeline_lines(pair, H.with_pipeline(H.healthy(config), "stale!"), H.NOW))
    assert lines[0] == "last backup 00:04 UTC · 1.2 GiB · ready · production says: Backup was good"
    assert lines[1] == "standby data ≈ 2 h 18 min old (estimate: restored the 00:00 UTC backup)"
    assert lines[2] == "▲ stale!"


def test_re_assert_is_offered_to_a_returning_appliance_until_it_is_done():
    config = H.make_config()
    snap = H.healthy(config)
    back = replace(snap.views["d42-a"], came_back_at=H.NOW - 60)
    returned = replace(snap, views={**snap.views, "d42-a": back}, desired_production="d42-b",
                       modes={"d42-a": AssertedMode("production"),
                              "d42-b": AssertedMode("production", "console", H.NOW - 600)})
    assert fencing_due(returned, "d42-a") and not fencing_due(returned, "d42-b")
    fenced = replace(returned, modes={**returned.modes,
                                      "d42-a": AssertedMode("standby", "console", H.NOW)})
    assert not fencing_due(fenced, "d42-a")
    assert not fencing_due(snap, "d42-a")  # never went away


def _context(snap, now=H.NOW):
    from zoneinfo import ZoneInfo

    from d42tui.tui.text.actiontext import PlanContext

    return PlanContext(snap, ZoneInfo("UTC"), now)


def test_the_data_age_is_worded_for_the_action_and_a_minute_is_not_0():
    from datetime import UTC, datetime

    from d42tui.engine import schedule

    config = H.make_config()
    pair = config.pairs[0]
    snap = H.with_pipeline(H.primary_down(config))
    plan = plan_action(ActionKind.FAILOVER, pair, snap)
    lines = text(plan_lines(plan, _context(snap)))
    assert ("  failing over now loses changes made on d42-a after ~00:00 (2 h 17 min ago): "
            "d42-b restored the backup taken then (estimate)") in lines
    # after a failover at 02:17:00, failing back 30 s later: d42-a holds its own data
    switched = datetime.fromtimestamp(H.NOW - 30, UTC)
    pipeline = snap.pipeline
    own = schedule.since_role_switch(pipeline.estimate, switched,
                                     datetime.fromtimestamp(H.NOW, UTC), "UTC")
    after = H.snapshot(config, {"d42-a": H.up("d42-a"), "d42-b": H.up("d42-b")},
                       production=("d42-b",))
    after = replace(after, desired_production="d42-b", pipeline=replace(
        pipeline, estimate=own, loss_text=schedule.loss_text(
            own, datetime.fromtimestamp(H.NOW, UTC), "UTC")))
    back = plan_action(ActionKind.FAILBACK, pair, after)
    lines = text(plan_lines(back, _context(after)))
    assert ("  failing back now loses changes made on d42-b after ~02:17 (under a minute "
            "ago): d42-a has its own data up to then") in lines
    assert not any("about 0 min" in line for line in lines)


def test_promoting_an_appliance_that_is_production_already_says_no_data_age():
    config = H.make_config()
    snap = H.with_pipeline(H.healthy(config))
    plan = plan_action(ActionKind.PROMOTE, config.pairs[0], snap, "d42-a")
    assert not any("loses changes" in line for line in text(plan_lines(plan, _context(snap))))
    none = H.with_pipeline(H.no_production(config))
    plan = plan_action(ActionKind.PROMOTE, config.pairs[0], none, "d42-a")
    assert not any("loses changes" in line for line in text(plan_lines(plan, _context(none))))


def test_the_reassert_dialog_shows_the_probe_that_is_the_reason_to_act():
    config = H.make_config()
    b = H.up("d42-b")
    b = replace(b, last=replace(b.last, probed_mode="production"))
    a = H.up("d42-a")
    a = replace(a, last=replace(a.last, probed_mode="production"))
    snap = H.snapshot(config, {"d42-a": a, "d42-b": b})
    plan = plan_action(ActionKind.REASSERT, config.pairs[0], snap, "d42-b")
    lines = text(plan_lines(plan, _context(snap)))
    assert "  d42-b's mode probe says production (the console asserts standby)" in lines


def test_a_done_reassert_says_re_asserted_not_changed():
    from d42tui.tui.text.actiontext import timeline_text

    config = H.make_config()
    plan = plan_action(ActionKind.REASSERT, config.pairs[0], H.healthy(config), "d42-b")
    result = ActionResult("x", plan, "done", "changed: d42-b → standby",
                          (StepResult(plan.steps[0], "done", "200 OK", 200),))
    first = text(result_lines(result))[0]
    assert first.startswith("✔ DONE  re-asserted: d42-b standby") and "changed" not in first
    assert "re-asserted: d42-b standby" in timeline_text(result)
