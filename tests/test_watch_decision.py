"""Watch mode's pure parts: the failover and failback decisions, the automation state the
board shows, the `automation:` config section, the journal and the restore-window maths."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from d42tui.appliance.client import Failure, FailureKind, PollResult
from d42tui.appliance.health import Health
from d42tui.config.models import ConfigError, PollConfig, parse_config
from d42tui.engine.journal import Journal
from d42tui.engine.pair import ApplianceView, Verdict, observe
from d42tui.watch import _schedule
from d42tui.watch.config import automation_problems, parse_witness
from d42tui.watch.decision import (
    FailbackSituation,
    Situation,
    WitnessRound,
    counted,
    decide,
    decide_failback,
)
from d42tui.watch.status import Pause, automation_state

from .watch_harness import failover_journal

NOW = 1_800_000_000.0
POLL = PollConfig(interval=1, timeout=1, failure_threshold=3, recovery_threshold=2)
REFUSED = Failure(FailureKind.REFUSED, "nothing listens on the port")


# Failed polls by letter: '-' refused; the appliance answering but unreadable: 'a' 401,
# 'f' 403, 'h' a 302 to a login page, 'c' a certificate the console does not trust,
# 'p' a pin mismatch; 't' no answer at all.
FAILURES = {"-": REFUSED, "a": Failure(FailureKind.UNAUTHORIZED, "Unauthorized", 401),
            "f": Failure(FailureKind.FORBIDDEN, "Forbidden", 403),
            "h": Failure(FailureKind.HTTP_ERROR, "HTTP 302 Found", 302),
            "c": Failure(FailureKind.CERTIFICATE, "certificate verify failed"),
            "p": Failure(FailureKind.PIN_MISMATCH, "the certificate changed"),
            "t": Failure(FailureKind.TIMEOUT, "no answer in time")}


def view(name: str, results: str) -> ApplianceView:
    """A view after polls written as a string: '+' answered, others failed (FAILURES)."""
    v = ApplianceView(name)
    for i, r in enumerate(results):
        ok = r == "+"
        v = observe(v, PollResult(name, NOW - len(results) + i, 0.01 if ok else None,
                                  Health() if ok else None, None if ok else FAILURES[r]), POLL)
    return v


def situation(primary: str = "+++---", standby: str = "++++++", **changes) -> Situation:
    base = Situation("d42-a", "d42-b", view("d42-a", primary), view("d42-b", standby), 3, 2,
                     Verdict.PRIMARY_DOWN, "production", "standby", WitnessRound(), NOW)
    return replace(base, **changes)


# --- the failover decision ------------------------------------------------------------------

def test_all_five_conditions_hold_so_it_acts_and_says_why():
    d = decide(situation())
    assert d.act and d.wanted and d.state == "ARMED" and d.failures == (3, 3)
    assert d.evidence[0] == ("d42-a (desired production) failed 3/3 polls in a row "
                             "(connection refused: nothing listens on the port)")
    assert "d42-b (standby) answered its last 6 polls" in d.evidence
    assert d.notes == ("no witnesses are configured: the standby answering is the only "
                       "evidence that this host is not cut off",)


def test_below_the_threshold_nothing_is_wanted():
    d = decide(situation(primary="+++--"))
    assert not d.act and not d.wanted and d.failures == (2, 3)


def test_a_flapping_primary_never_reaches_the_threshold():
    d = decide(situation(primary="-+-+-+-+-"))
    assert not d.wanted and d.failures == (1, 3)


@pytest.mark.parametrize("letter", ["a", "f", "h", "c", "p"])
def test_a_primary_that_answers_unreadably_is_never_failed_over(letter):
    # it rejects the console's credentials, or shows a certificate the console does not
    # trust: it is running (as production, most likely), so a failover would make two
    d = decide(situation(primary="+" + letter * 20))
    assert not d.wanted and not d.act and d.failures == (0, 3)
    [blocker] = d.blockers
    assert blocker.key == "primary-answers" and "answers" in blocker.text
    assert "fix the console's access" in blocker.text


def test_only_polls_that_show_an_outage_count_toward_the_threshold():
    # hours of 401, then it really dies: the 401s do not shorten the hysteresis
    assert decide(situation(primary="a" * 50 + "--")).failures == (2, 3)
    assert not decide(situation(primary="a" * 50 + "--")).wanted
    d = decide(situation(primary="a" * 50 + "---"))
    assert d.act and d.failures == (3, 3) and not d.blockers
    # and an outage interrupted by a 401 (the appliance answered) starts again
    assert decide(situation(primary="--a--")).failures == (2, 3)


@pytest.mark.parametrize("changes, key, level", [
    ({"standby_view": view("d42-b", "+++--"), "witnesses": WitnessRound(1, 1)}, "standby-down",
     "critical"),
    ({"standby_view": view("d42-b", "---+")}, "standby-unsteady", "warning"),
    ({"witnesses": WitnessRound(3, 1, ("a: refused", "b: timeout"))}, "isolated", "warning"),
    ({"verdict": Verdict.SPLIT_BRAIN}, "split-brain", "critical"),
    ({"primary_mode": "standby"}, "no-production", "warning"),
    ({"busy": "another action on pair main is in progress (pid 7)"}, "busy", "warning"),
    ({"acting": "failover d42-a → d42-b, step 3 of 3"}, "acting", "warning"),
    ({"cooldown_until": NOW + 60}, "cooldown", "warning"),
    ({"pause": Pause("pause", "alice@ops", "upgrade", NOW - 10, NOW + 3600)}, "paused",
     "warning"),
    ({"pause": Pause("hold", "watcher", "automatic failover at 03:12", NOW - 10)}, "held",
     "warning"),
])
def test_each_condition_that_fails_is_a_named_reason(changes, key, level):
    d = decide(situation(**changes))
    assert not d.act and d.wanted
    [blocker] = [b for b in d.blockers if b.key == key]
    assert blocker.level == level and blocker.text


def test_both_appliances_unreachable_without_witnesses_is_isolated():
    d = decide(situation(primary="+++ttt", standby="+++ttt"))
    assert d.state == "ISOLATED" and d.keys == {"isolated"}
    assert "reaches neither appliance" in d.blockers[0].text


def test_both_appliances_refusing_is_no_isolation_but_both_down():
    # a refusal proves this host's network works: the pair is down, which must page
    d = decide(situation(standby="+++---"))
    assert not d.isolated and "standby-down" in d.keys
    assert next(b for b in d.blockers if b.key == "standby-down").level == "critical"


def test_witnesses_decide_between_isolated_and_standby_down():
    d = decide(situation(standby="+++---", witnesses=WitnessRound(2, 2)))
    assert d.state == "ARMED" and d.keys == {"standby-down"}
    assert "2 of 2 witnesses answer" in d.evidence
    assert decide(situation(witnesses=WitnessRound(3, 2, ("x: refused",)))).act  # a majority
    assert decide(situation(witnesses=WitnessRound(2, 1, ("x: refused",)))).isolated  # a tie


def test_a_pause_only_means_it_would_have_acted():
    paused = decide(situation(pause=Pause("pause", "a@b", "why", NOW - 1)))
    assert paused.would_act and paused.state == "PAUSED"
    both = decide(situation(pause=Pause("pause", "a@b", "why", NOW - 1),
                            verdict=Verdict.SPLIT_BRAIN))
    assert not both.would_act


def test_inside_the_restore_window_it_waits_then_acts_at_max_defer():
    window = (NOW - 60, NOW + 1200)
    d = decide(situation(restore=window, wanted_since=NOW, max_defer=900))
    assert not d.act and "restore-window" in d.keys and d.defer_until == NOW + 900
    assert "half-restored database" in d.blockers[0].text
    late = decide(situation(restore=window, wanted_since=NOW - 900, max_defer=900))
    assert late.act and late.during_restore
    assert "acting during a possible restore of d42-b" in late.notes[-1]
    over = decide(situation(restore=(NOW - 1800, NOW - 1), wanted_since=NOW))
    assert over.act and not over.during_restore


def test_state_precedence_acting_paused_isolated_armed():
    pause = Pause("pause", "a@b", "why", NOW - 1)
    isolated = WitnessRound(1, 0)
    assert decide(situation(acting="x", pause=pause, witnesses=isolated)).state == "ACTING"
    assert decide(situation(pause=pause, witnesses=isolated)).state == "PAUSED"
    assert decide(situation(witnesses=isolated)).state == "ISOLATED"


polls = st.text(alphabet="+-", min_size=0, max_size=12)


@given(primary=polls, standby=polls, split=st.booleans(), paused=st.booleans(),
       witnesses=st.integers(0, 3), answered=st.integers(0, 3))
def test_never_acts_on_split_brain_pause_isolation_or_a_silent_standby(
        primary, standby, split, paused, witnesses, answered):
    answered = min(answered, witnesses)
    s = situation(primary, standby, verdict=Verdict.SPLIT_BRAIN if split else Verdict.DEGRADED,
                  pause=Pause("pause", "a", "b", NOW - 1) if paused else None,
                  witnesses=WitnessRound(witnesses, answered))
    d = decide(s)
    if d.act:
        assert not split and not paused and (witnesses == 0 or answered * 2 > witnesses)
        assert primary.endswith("---") and standby.endswith("++")


# --- counting a poll with the main-API probe ------------------------------------------------

def test_api_probe_counts_any_or_all():
    api_down = Failure(FailureKind.SERVER_ERROR, "HTTP 500")
    manager_ok_api_down = PollResult("a", NOW, 0.01, Health(), None, api_ok=False,
                                     api_failure=api_down)
    assert counted(manager_ok_api_down, "all").ok
    assert not counted(manager_ok_api_down, "any").ok
    manager_down_api_ok = PollResult("a", NOW, None, None, REFUSED, api_ok=True)
    assert counted(manager_down_api_ok, "all").ok
    assert not counted(manager_down_api_ok, "any").ok
    no_probe = PollResult("a", NOW, None, None, REFUSED)
    assert counted(no_probe, "all") is no_probe


# --- failback -------------------------------------------------------------------------------

def failback(**changes) -> FailbackSituation:
    base = FailbackSituation("d42-a", "d42-b", view("d42-a", "++++"), view("d42-b", "++++"),
                             "standby", Verdict.HEALTHY, WitnessRound(), NOW, NOW - 7200, 3600,
                             NOW - 600)
    return replace(base, **changes)


def test_failback_only_when_up_long_enough_fenced_and_restored():
    assert decide_failback(failback()).act
    assert decide_failback(failback(up_since=NOW - 60)).keys == {"failback-too-soon"}
    assert decide_failback(failback(restore_done_at=None)).keys == {"failback-no-restore"}
    assert "failback-unfenced" in decide_failback(failback(preferred_mode="production")).keys
    assert "failback-current-down" in decide_failback(
        failback(current_view=view("d42-b", "+---"))).keys
    assert decide_failback(failback(pause=Pause("hold", "watcher", "x", NOW))).act
    assert not decide_failback(failback(pause=Pause("pause", "a", "x", NOW))).act
    assert not decide_failback(failback(current="d42-a")).wanted


# --- the automation state on the board and in `status` --------------------------------------

def beat(**changes) -> dict:
    return {"pid": 4242, "at": NOW - 1, "stale_after": 10, "state": "ARMED",
            "primary": "d42-a", "failures": [2, 3], **changes}


def test_armed_shows_the_failure_counter():
    s = automation_state({}, beat(), NOW)
    assert s.kind == "ARMED" and s.text == "ARMED · primary d42-a failures 2/3"
    assert s.to_json()["failures"] == [2, 3] and s.watcher_pid == 4242
    s = automation_state({}, beat(failures=[0, 3], unreadable=True), NOW)
    assert s.text == "ARMED · primary d42-a answers but cannot be read: not an outage (0/3)"


def test_a_stale_heartbeat_is_off_never_armed():
    s = automation_state({}, beat(at=NOW - 60), NOW)
    assert s.kind == "OFF" and s.text == "OFF · no watcher running (last heartbeat 1m ago)"
    assert automation_state({}, None, NOW).text == "OFF · no watcher running"
    stopped = automation_state({}, beat(stopped=True, stale_after=0), NOW)
    assert stopped.kind == "OFF" and "the watcher stopped at" in stopped.text
    assert automation_state({}, beat(dry_run=True), NOW).kind == "OFF"
    assert automation_state({}, beat(), NOW, enabled=False).kind == "OFF"


def test_paused_says_who_why_and_until_and_expires_by_itself():
    auto = {"pause": {"by": "alice@ops", "reason": "upgrade", "since": NOW - 60,
                      "until": NOW + 3600}}
    s = automation_state(auto, beat(), NOW)
    assert s.kind == "PAUSED" and s.text.startswith("PAUSED · paused by alice@ops: upgrade; until")
    assert "(in 1h 00m)" in s.text and s.to_json()["pause"]["by"] == "alice@ops"
    assert automation_state(auto, beat(at=NOW + 3600), NOW + 3601).kind == "ARMED"
    off = automation_state(auto, None, NOW)
    assert off.kind == "OFF" and "paused by alice@ops" in off.text


def test_acting_shows_the_step_and_isolated_says_why():
    journal = failover_journal(_pair(), "abc", NOW).with_step(0, status="done")
    s = automation_state({"journal": journal.to_json()}, beat(), NOW)
    assert s.kind == "ACTING" and s.step == (2, 3)
    assert s.text == ("ACTING · failover d42-a → d42-b · step 2 of 3: POST appliance_mode="
                      "standby to d42-a (if it answers)")
    iso = automation_state({}, beat(state="ISOLATED", why="only 0 of 2 witnesses answer"), NOW)
    assert iso.kind == "ISOLATED"
    assert iso.text == "ISOLATED · only 0 of 2 witnesses answer: automation will not act"


# --- the journal -----------------------------------------------------------------------------

def test_journal_round_trips_and_describes_itself():
    from dataclasses import replace

    journal = replace(failover_journal(_pair(), "abc", NOW), reasons=("a reason",),
                      data_loss="loss")
    again = Journal.from_json(journal.to_json())
    assert again == journal and again.position() == (1, 3)
    assert journal.describe().startswith("failover d42-a → d42-b, step 1 of 3: POST")
    assert journal.sent_so_far() == "nothing was sent yet"
    sent = journal.with_step(0, status="running", attempts=1)
    assert sent.sent_so_far() == "production to d42-b: sent, answer unknown"
    assert Journal.from_json({"plan_id": "x"}) is None


# --- the config section ---------------------------------------------------------------------

@pytest.mark.parametrize("text, kind, host, port", [
    ("192.0.2.53:53", "tcp", "192.0.2.53", 53),
    ("tcp://gw.example.com:22", "tcp", "gw.example.com", 22),
    ("[2001:db8::1]:53", "tcp", "2001:db8::1", 53),
    ("https://gw.example.com/health", "url", "gw.example.com", 443),
])
def test_witnesses_are_host_port_or_urls(text, kind, host, port):
    w = parse_witness(text)
    assert (w.kind, w.host, w.port) == (kind, host, port) and str(w) == text.removeprefix("tcp://")


@pytest.mark.parametrize("bad", ["gateway", "host:0", "host:99999", "ftp://x", "https://u:p@x/"])
def test_a_bad_witness_is_refused(bad):
    with pytest.raises(ValueError):
        parse_witness(bad)


def _doc(**automation) -> dict:
    return {"pairs": [{"name": "main", "production": "d42-a", "appliances": [
        {"name": "d42-a", "url": "https://a.example.com:4343"},
        {"name": "d42-b", "url": "https://b.example.com:4343"}], "automation": automation}]}


def _pair(**automation):
    return parse_config(yaml.safe_dump(_doc(**automation)), Path("c.yaml")).pairs[0]


def test_the_automation_section_defaults_and_errors_name_the_key():
    auto = _pair().automation
    assert auto.enabled and auto.failback == "manual" and auto.api_probe_counts == "all"
    assert auto.failure_threshold is None and auto.max_defer == 900
    with pytest.raises(ConfigError) as err:
        _pair(witneses=["x:1"])
    assert err.value.lines == ["c.yaml: pairs[0].automation.witneses: unknown key (a typo?)"]
    with pytest.raises(ConfigError) as err:
        _pair(witnesses=["gateway"])
    assert "pairs[0].automation.witnesses[0]" in err.value.lines[0]
    assert automation_problems(_pair(failback="automatic"))[0].startswith(
        "automation.failback: automatic failback waits for a restore cycle")


def test_a_webhook_url_is_a_secret_and_never_echoed_in_errors():
    token = "T000/B000/XXXXXXXXXXXXXXXX"
    with pytest.raises(ConfigError) as err:
        _pair(notify={"webhook": {"url": f"ftp://hooks.example.com/{token}"}})
    assert token not in str(err.value.lines)
    pair = _pair(notify={"webhook": {"url": f"https://hooks.example.com/{token}"}})
    assert token not in repr(pair) and token not in str(pair.model_dump())
    with pytest.raises(ConfigError, match="give url, url_env, url_file or url_command"):
        _pair(notify={"webhook": {}})


# --- restore window and data age (croniter until schedule.py lands) ------------------------

def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_restore_window_and_a_finished_restore():
    cron = "30 */4 * * *"
    assert _schedule.restore_window(cron, "UTC", 1800, ts("2026-03-01 04:45:00")) == (
        ts("2026-03-01 04:30:00"), ts("2026-03-01 05:00:00"))
    assert _schedule.restore_window(cron, "UTC", 1800, ts("2026-03-01 05:00:00")) is None
    assert _schedule.restore_window(None, "UTC", 1800, NOW) is None
    assert _schedule.restore_finished_between(cron, "UTC", 1800, ts("2026-03-01 04:31:00"),
                                              ts("2026-03-01 08:59:00")) is None
    assert _schedule.restore_finished_between(cron, "UTC", 1800, ts("2026-03-01 04:31:00"),
                                              ts("2026-03-01 09:00:00")) == ts("2026-03-01 09:00:00")


def test_data_loss_is_an_estimate_from_the_crons():
    text = _schedule.data_loss_text("0 */4 * * *", "30 */4 * * *", "UTC", 1800,
                                    ts("2026-03-01 04:45:00"))
    # the 04:30 restore is still running: the 00:30 one restored the 00:00 backup
    assert text.startswith("failing over now loses changes made after ~00:00 (about 4 h 45 min)")
    assert "not on the new primary" in text and "04:30" in text and "not counted" in text
    assert "unknown" in _schedule.data_loss_text(None, "30 * * * *", "UTC", 60, NOW)
