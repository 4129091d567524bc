"""The board names the next step for every verdict that has one, with its key (the drill:
PRIMARY DOWN said nothing of F), and text is wrapped rather than cut at 80 columns."""

from __future__ import annotations

from dataclasses import replace

from d42tui.appliance.client import FailureKind, PollResult
from d42tui.engine.pair import ApplianceView, Reachability, Verdict
from d42tui.tui.text.boardtext import banner_model, card_model
from d42tui.tui.text.nextstep import BY_VERDICT, next_step
from d42tui.tui.text.wrap import wrap_line
from d42tui.tui.widgets.verdict_banner import MAX_LINES, banner_rows

from . import handmade as H


def _pair():
    config = H.make_config()
    return config, config.pairs[0]


def test_primary_down_names_F_and_the_standby():
    config, pair = _pair()
    step = next_step(pair, H.primary_down(config))
    assert step.startswith("F fails over to d42-b")
    assert "R fences d42-a when it returns" in step


def test_a_primary_that_answers_unreadably_says_so_first():
    config, pair = _pair()
    snap = H.snapshot(config, {"d42-a": H.failing("d42-a", 5, FailureKind.UNAUTHORIZED),
                               "d42-b": H.up("d42-b")})
    assert snap.verdict.verdict is Verdict.PRIMARY_DOWN
    step = next_step(pair, snap)
    assert step.startswith("d42-a answers, so it may still be running")
    assert "only if forced" in step


def test_split_brain_says_which_appliance_and_why():
    config, pair = _pair()
    step = next_step(pair, H.split_brain(config))
    assert step.startswith("R re-asserts standby on d42-b")
    assert "d42-a is the desired production" in step


def test_a_probe_split_brain_gives_the_probe_as_the_reason():
    config, pair = _pair()
    b = H.up("d42-b")
    b = replace(b, last=replace(b.last, probed_mode="production"))
    a = H.up("d42-a")
    a = replace(a, last=replace(a.last, probed_mode="production"))
    snap = H.snapshot(config, {"d42-a": a, "d42-b": b})
    assert snap.verdict.verdict is Verdict.SPLIT_BRAIN
    assert "its mode probe says production" in next_step(pair, snap)


def test_no_production_promotes_the_desired_one():
    config, pair = _pair()
    assert next_step(pair, H.no_production(config)).startswith(
        "P promotes d42-a, the desired production")


def test_a_probe_contradiction_asks_for_a_reassert():
    config, pair = _pair()
    b = H.up("d42-b")
    b = replace(b, last=replace(b.last, probed_mode="production"))
    snap = H.snapshot(config, {"d42-a": H.up("d42-a"), "d42-b": b})
    assert snap.verdict.verdict is Verdict.DEGRADED
    assert next_step(pair, snap).startswith("R re-asserts standby on d42-b: its mode probe "
                                            "says production")


def test_nothing_to_do_says_nothing_and_read_only_and_actions_are_said():
    config, pair = _pair()
    assert next_step(pair, H.healthy(config)) is None
    assert next_step(pair, None) is None
    assert next_step(pair, H.primary_down(config), read_only=True).endswith(
        "(not from this read-only console)")
    assert next_step(pair, H.primary_down(config), acting="failover d42-b").startswith(
        "failover d42-b in flight")
    assert set(BY_VERDICT) <= set(Verdict)


def test_the_banner_puts_the_next_step_first_and_wraps_every_reason():
    config, pair = _pair()
    snap = H.snapshot(config, {"d42-a": H.failing("d42-a", 5, FailureKind.UNAUTHORIZED),
                               "d42-b": H.up("d42-b")})
    model = banner_model(pair, snap, next_step=next_step(pair, snap))
    rows = banner_rows(model, 76)
    text = " ".join("".join(t for t, _ in row).strip() for row in rows)
    assert "".join(t for t, _ in rows[0]).startswith("▶ next: d42-a answers")
    assert "it may still be running" in text.split("·")[0]  # before the reasons
    for reason, _ in model.reasons:  # whole, only wrapped
        assert " ".join(reason.split()) in " ".join(text.split())
    assert all(sum(len(t) for t, _ in row) <= 76 for row in rows)


def test_reasons_that_do_not_fit_are_counted():
    config, pair = _pair()
    many = H.snapshot(config, {"d42-a": H.up("d42-a", cpu=99, disk=99), "d42-b": H.up(
        "d42-b", cpu=99, disk=99, backup="Backup failed: could not reach the SFTP server",
        level="critical")})
    model = banner_model(pair, many, next_step="R re-asserts standby on d42-b")
    rows = banner_rows(model, 22)
    assert len(rows) <= MAX_LINES - 1
    assert "more (see the timeline)" in rows[-1][0][0]


def test_wrap_keeps_every_word_and_indents_continuations():
    line = (("12:00:00 ", "stamp"), ("main: DEGRADED → PRIMARY DOWN (d42-a (production) is "
                                     "down: connection refused: nothing listens)", "critical"))
    rows = wrap_line(line, 40, 9)
    assert len(rows) > 1 and all(sum(len(t) for t, _ in r) <= 40 for r in rows)
    assert all(r[0][0] == " " * 9 for r in rows[1:])
    joined = " ".join("".join(t for t, _ in r).strip() for r in rows)
    assert joined == "".join(t for t, _ in line)
    assert wrap_line((("x" * 30, ""),), 12, 2)[1] == (("  " + "x" * 10, ""),)  # split


def test_a_recovering_card_says_answering_again_not_the_old_reason():
    config, pair = _pair()
    old = H.failing("d42-a", 5)
    back = ApplianceView("d42-a", Reachability.SUSPECT, 0, 1, True,
                         PollResult("d42-a", H.NOW, 0.004, H.health(), None),
                         old.last_good, old.last_failure)
    snap = H.snapshot(config, {"d42-a": back, "d42-b": H.up("d42-b")})
    text = card_model(pair, pair.appliances[0], back, snap.modes["d42-a"], H.NOW).plain()
    assert "◐ SUSPECT · answering again 1/2" in text
    assert "connection refused" not in text


def test_a_failing_backup_says_its_state_before_the_vendor_text():
    config, pair = _pair()
    view = H.up("d42-a", backup="Backup not run since last Tuesday 03:00", level="critical")
    snap = H.snapshot(config, {"d42-a": view, "d42-b": H.up("d42-b")})
    text = card_model(pair, pair.appliances[0], view, snap.modes["d42-a"], H.NOW).plain()
    assert "backup ✖ FAILING Backup not run" in text


def test_both_down_says_there_is_nothing_to_fail_over_to():
    config, pair = _pair()
    snap = H.snapshot(config, {"d42-a": H.failing("d42-a", 5), "d42-b": H.failing("d42-b", 5)})
    if snap.verdict.verdict is not Verdict.BOTH_DOWN:  # the engine's rule for it
        snap = replace(snap, verdict=replace(snap.verdict, verdict=Verdict.BOTH_DOWN))
    assert next_step(pair, snap).startswith("nothing to fail over to: bring d42-a")


def test_a_vendor_message_s_full_stop_is_not_doubled_in_the_banner():
    from d42tui.appliance.client import Failure

    config, pair = _pair()
    view = H.failing("d42-a", 5, FailureKind.UNAUTHORIZED)
    failure = Failure(FailureKind.UNAUTHORIZED, "credentials were not provided or are invalid.",
                      401)
    view = replace(view, last=replace(view.last, failure=failure), last_failure=failure)
    snap = H.snapshot(config, {"d42-a": view, "d42-b": H.up("d42-b")})
    text = banner_model(pair, snap).plain()
    assert "invalid: it answers" in text and ".:" not in text


def test_a_damaged_state_names_the_command_that_confirms_the_roles():
    config, pair = _pair()
    snap = H.primary_down(config)
    snap = replace(snap, verdict=replace(snap.verdict, verdict=Verdict.STATE_DAMAGED))
    assert next_step(pair, snap).startswith(
        f"say which appliance is production: d42tui confirm-roles {pair.name} --production")


def test_an_interrupted_action_names_resume_plan_whatever_the_verdict():
    config, pair = _pair()
    snap = replace(H.primary_down(config), interrupted="an action was interrupted: …")
    step = next_step(pair, snap)
    assert step.startswith(f"an action was interrupted: d42tui resume-plan {pair.name}")
