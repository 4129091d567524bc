"""The pure pair model: hysteresis and verdicts over snapshots, no I/O."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from d42tui.appliance.client import Failure, FailureKind, PollResult
from d42tui.appliance.health import parse_health
from d42tui.config.models import parse_config
from d42tui.engine.pair import (
    ApplianceView,
    AssertedMode,
    Reachability,
    Verdict,
    observe,
    pair_verdict,
)
from d42tui.engine.state import StateDamaged, StateStore

from .test_config import GOOD
from .test_health import DOC_EXAMPLE

PAIR = parse_config(yaml.safe_dump(GOOD), Path("c.yaml")).pairs[0]
POLL = PAIR.poll  # failure 3, recovery 2
GOOD_BACKUP = {**DOC_EXAMPLE, "backup_status": [
    {"id": 1, "job_name": "nightly", "status": "good\n @ 2026-11-26 08:00:00"}]}


def ok(name="d42-a", at=0.0, **health):
    return PollResult(name, at, 0.01, parse_health({**GOOD_BACKUP, **health}), None)


def fail(name="d42-a", at=0.0, kind=FailureKind.REFUSED):
    return PollResult(name, at, None, None, Failure(kind))


def fold(results, name="d42-a"):
    view = ApplianceView(name)
    states = []
    for r in results:
        view = observe(view, r, POLL)
        states.append(view.reachability)
    return view, states


def test_failures_go_suspect_then_down_after_threshold():
    view, states = fold([ok(), fail(), fail(), fail(), fail()])
    assert states == [Reachability.UP, Reachability.SUSPECT, Reachability.SUSPECT,
                      Reachability.DOWN, Reachability.DOWN]
    assert view.consecutive_failures == 4 and view.last_failure.kind is FailureKind.REFUSED


def test_recovery_needs_m_successes_and_notes_the_return():
    view, states = fold([fail(), fail(), fail(), ok(at=10), ok(at=11), ok(at=12)])
    assert states[3:] == [Reachability.SUSPECT, Reachability.UP, Reachability.UP]
    assert view.came_back_at == 11 and not view.recovering


def test_flapping_never_reaches_down():
    _, states = fold([ok(), fail()] * 20)
    assert Reachability.DOWN not in states


def test_only_failures_that_show_an_outage_count_as_one():
    # a 401, a 403 or a certificate the console does not trust: the appliance answered
    view, states = fold([ok(), *[fail(kind=FailureKind.UNAUTHORIZED)] * 4])
    assert states[-1] is Reachability.DOWN  # the console cannot read it: the board says so
    assert view.consecutive_failures == 4 and view.outage_failures == 0
    assert view.answers_unreadably
    view, _ = fold([fail(kind=FailureKind.CERTIFICATE), fail(), fail()])
    assert view.outage_failures == 2 and not view.answers_unreadably
    view, _ = fold([fail(), fail(), fail(kind=FailureKind.FORBIDDEN)])
    assert view.outage_failures == 0  # it answered: the outage is over
    view, _ = fold([fail(kind=FailureKind.HTTP_ERROR)] * 5)  # a 404, a redirect: it answers
    assert view.outage_failures == 0 and view.answers_unreadably
    view, _ = fold([fail(), fail(kind=FailureKind.TIMEOUT), fail(kind=FailureKind.SERVER_ERROR),
                    fail(kind=FailureKind.NOT_JSON), fail(kind=FailureKind.TLS)])
    assert view.outage_failures == 5


def test_an_unreadable_primary_is_not_called_down_in_words():
    primary = fold([ok("d42-a"), *[fail("d42-a", kind=FailureKind.UNAUTHORIZED)] * 3],
                   "d42-a")[0]
    v = pair_verdict(PAIR, {"d42-a": primary, "d42-b": fold([ok("d42-b")], "d42-b")[0]},
                     DECLARED)
    assert v.verdict is Verdict.PRIMARY_DOWN
    assert "d42-a (production) cannot be read: credentials rejected (401)" in v.reasons[0].text
    assert "it answers, so it may still be running" in v.reasons[0].text


def test_an_unfenced_old_primary_that_answers_unreadably_is_a_split_brain():
    # after a failover to d42-b, d42-a is still asserted production (it was down, so not
    # demoted). Down, it is a fencing debt; answering 401, it is running, maybe as production
    modes = {"d42-a": AssertedMode("production"),
             "d42-b": AssertedMode("production", "console", 5.0)}
    standby = fold([ok("d42-b")], "d42-b")[0]
    dead = fold([fail("d42-a")] * 3, "d42-a")[0]
    v = pair_verdict(PAIR, {"d42-a": dead, "d42-b": standby}, modes, "d42-b")
    assert v.verdict is Verdict.STANDBY_DOWN and "not fenced" in v.reasons[-1].text
    unreadable = fold([fail("d42-a", kind=FailureKind.UNAUTHORIZED)] * 3, "d42-a")[0]
    v = pair_verdict(PAIR, {"d42-a": unreadable, "d42-b": standby}, modes, "d42-b")
    assert v.verdict is Verdict.SPLIT_BRAIN and v.level == "critical"
    assert "d42-a answers but cannot be read (credentials rejected (401)): it may be running " \
           "as production" in v.reasons[1].text


def views(a: Reachability, b: Reachability, **health):
    def make(name, state):
        seq = {Reachability.UP: [ok(name, **health)],
               Reachability.DOWN: [fail(name)] * 3,
               Reachability.SUSPECT: [ok(name), fail(name)],
               Reachability.UNKNOWN: []}[state]
        return fold(seq, name)[0]
    return {"d42-a": make("d42-a", a), "d42-b": make("d42-b", b)}


DECLARED = {"d42-a": AssertedMode("production"), "d42-b": AssertedMode("standby")}
UP, DOWN, SUSPECT, UNK = (Reachability.UP, Reachability.DOWN, Reachability.SUSPECT,
                          Reachability.UNKNOWN)


@pytest.mark.parametrize("a,b,modes,verdict,level", [
    (UP, UP, DECLARED, Verdict.HEALTHY, "ok"),
    (SUSPECT, UP, DECLARED, Verdict.DEGRADED, "warning"),
    (DOWN, UP, DECLARED, Verdict.PRIMARY_DOWN, "critical"),
    (UP, DOWN, DECLARED, Verdict.STANDBY_DOWN, "warning"),
    (DOWN, DOWN, DECLARED, Verdict.BOTH_DOWN, "critical"),  # both refuse: the network works
    (UNK, UNK, DECLARED, Verdict.UNKNOWN, "warning"),
    (UP, UP, {"d42-a": AssertedMode("standby"), "d42-b": AssertedMode("standby")},
     Verdict.NO_PRODUCTION, "critical"),
    (UP, UP, {"d42-a": AssertedMode("production"), "d42-b": AssertedMode("production", "console", 5.0)},
     Verdict.SPLIT_BRAIN, "critical"),
    (UP, DOWN, {"d42-a": AssertedMode("standby", "console", 1.0),
                "d42-b": AssertedMode("production", "console", 1.0)},
     Verdict.PRIMARY_DOWN, "critical"),
])
def test_verdicts(a, b, modes, verdict, level):
    v = pair_verdict(PAIR, views(a, b), modes)
    assert v.verdict is verdict
    assert v.level == level


def test_unknown_only_when_nothing_answers_at_all():
    silent = {n: fold([fail(n, kind=FailureKind.TIMEOUT)] * 3, n)[0] for n in ("d42-a", "d42-b")}
    v = pair_verdict(PAIR, silent, DECLARED)
    assert v.verdict is Verdict.UNKNOWN
    assert "console's own network" in v.reasons[0].text


@pytest.mark.parametrize("kind_b", [FailureKind.REFUSED, FailureKind.TIMEOUT,
                                    FailureKind.SERVER_ERROR])
def test_both_refusing_or_failing_with_proof_of_the_network_is_both_down(kind_b):
    # a refusal proves the path to the host works: a real outage of both must page
    both = {"d42-a": fold([fail("d42-a")] * 3, "d42-a")[0],
            "d42-b": fold([fail("d42-b", kind=kind_b)] * 3, "d42-b")[0]}
    v = pair_verdict(PAIR, both, DECLARED)
    assert v.verdict is Verdict.BOTH_DOWN and v.level == "critical"
    assert v.reasons[0].text == "d42-a (production) is down: connection refused"
    assert "nothing serves" in v.reasons[-1].text


def probed(result: PollResult, mode: str) -> PollResult:
    from dataclasses import replace
    return replace(result, probed_mode=mode)


def test_a_dead_old_primary_whose_probe_says_production_is_not_a_split_brain():
    # after a correct failover from a primary that refuses connections: the probe (which
    # does not ask the appliance) still says production for it
    modes = {"d42-a": AssertedMode("production"),
             "d42-b": AssertedMode("production", "console", 5.0)}
    dead = fold([probed(fail("d42-a", at=t), "production") for t in (6, 7, 8)], "d42-a")[0]
    new = fold([probed(ok("d42-b", at=8.0), "production")], "d42-b")[0]
    v = pair_verdict(PAIR, {"d42-a": dead, "d42-b": new}, modes, "d42-b")
    assert v.verdict is Verdict.STANDBY_DOWN, v.headline
    assert any("d42-a is down and still production: not fenced" in r.text for r in v.reasons)
    # the same appliance answering (running) with its probe saying production is two
    running = fold([probed(ok("d42-a", at=9.0), "production")], "d42-a")[0]
    v = pair_verdict(PAIR, {"d42-a": running, "d42-b": new}, modes, "d42-b")
    assert v.verdict is Verdict.SPLIT_BRAIN


def test_a_probe_read_before_the_consoles_own_post_does_not_count():
    # the failover's POST answered at t=10; a probe read that started at t=9 says what was
    modes = {"d42-a": AssertedMode("standby", "console", 10.0),
             "d42-b": AssertedMode("production", "console", 10.0)}
    a = fold([probed(ok("d42-a", at=9.0), "production")], "d42-a")[0]
    b = fold([probed(ok("d42-b", at=9.0), "standby")], "d42-b")[0]
    v = pair_verdict(PAIR, {"d42-a": a, "d42-b": b}, modes, "d42-b")
    assert v.verdict is Verdict.HEALTHY, v.headline
    a = fold([probed(ok("d42-a", at=11.0), "production")], "d42-a")[0]
    v = pair_verdict(PAIR, {"d42-a": a, "d42-b": b}, modes, "d42-b")
    assert any("d42-a is asserted standby but its mode probe says production" in r.text
               for r in v.reasons)


def test_thresholds_and_backup_make_degraded_with_reasons():
    v = pair_verdict(PAIR, views(UP, UP, cpu_used_percent="97.2", disk_used_percent="65"), DECLARED)
    assert v.verdict is Verdict.DEGRADED and v.level == "critical"
    texts = [r.text for r in v.reasons]
    assert any("CPU 97% ≥ 95%" in t for t in texts)
    assert any("disk 65% ≥ 60%" in t for t in texts)
    failing = {"backup_status": [{"id": 1, "job_name": "nightly",
                                  "status": "File send failed :[Errno 2]\n @ 2026-11-26 08:00:00"}]}
    v = pair_verdict(PAIR, views(UP, UP, **failing), DECLARED)
    assert any("backup 'nightly': File send failed" in r.text for r in v.reasons)


def test_state_store_roles_roundtrip(tmp_path):
    store = StateStore(tmp_path / "st")
    desired, modes = store.roles(PAIR)
    assert desired == "d42-a" and modes["d42-a"] == AssertedMode("production")
    assert store.desired_since("main") is None  # as the config declares
    store.record_mode("main", "d42-b", "production", 1000.0)
    store.set_desired_production("main", "d42-b", 1000.0)
    desired, modes = StateStore(tmp_path / "st").roles(PAIR)
    assert desired == "d42-b"
    assert modes["d42-b"] == AssertedMode("production", "console", 1000.0)
    # the switch time moves only when the desired production does (not on a re-assert)
    store.set_desired_production("main", "d42-b", 2000.0)
    assert StateStore(tmp_path / "st").desired_since("main") == 1000.0
    store.set_desired_production("main", "d42-a", 3000.0)
    assert store.desired_since("main") == 3000.0
    assert (tmp_path / "st" / "state.json").stat().st_mode & 0o777 == 0o600


def test_a_damaged_state_file_is_never_read_as_empty_nor_written_over(tmp_path):
    (tmp_path / "state.json").write_text("{not json")
    store = StateStore(tmp_path)
    with pytest.raises(StateDamaged, match="does not parse as JSON"):
        store.roles(PAIR)
    with pytest.raises(StateDamaged):
        store.record_mode("main", "d42-b", "production", 1.0)
    assert (tmp_path / "state.json").read_text() == "{not json"
    [kept] = tmp_path.glob("state.json.corrupt-*")
    assert kept.read_text() == "{not json"
    with pytest.raises(StateDamaged):  # read again: the same copy, not one per read
        store.read()
    assert len(list(tmp_path.glob("state.json.corrupt-*"))) == 1


def test_a_desired_production_that_is_no_appliance_of_the_pair_is_damage(tmp_path):
    (tmp_path / "state.json").write_text('{"version": 1, "pairs": {"main": '
                                         '{"desired_production": "d42-zz"}}}')
    with pytest.raises(StateDamaged, match="'d42-zz' as pair main's production"):
        StateStore(tmp_path).roles(PAIR)


def test_every_write_keeps_the_previous_generation(tmp_path):
    store = StateStore(tmp_path)
    store.set_desired_production("main", "d42-b", 1.0)
    assert not store.previous.exists()
    store.set_desired_production("main", "d42-a", 2.0)
    import json
    assert json.loads(store.previous.read_text())["pairs"]["main"]["desired_production"] == \
        "d42-b"
    assert store.previous.stat().st_mode & 0o777 == 0o600
