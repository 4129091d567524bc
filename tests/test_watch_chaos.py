"""Watch mode chaos suite: faults on the real simulator (HTTPS), DNS on a real BIND 9, and
notifications to a real HTTP receiver. Each scenario asserts what the simulator really holds,
what BIND answers, what the audit log says and which notifications went out."""

from __future__ import annotations

import asyncio
import os
import re

import pytest

from d42tui.actions.runner import pair_lock
from d42tui.appliance.client import ApplianceClient
from d42tui.engine.audit import outcomes
from d42tui.engine.state import automation_entry, read_heartbeat
from d42tui.watch.lock import WatcherRunning
from d42tui.watch.status import pause_automation, read_automation, resume_automation

from .conftest import PASSWORDS
from .watch_harness import Harness, Receiver

pytestmark = pytest.mark.realserver("named")


@pytest.fixture
def receiver():
    rx = Receiver()
    yield rx
    rx.close()


def notify(rx: Receiver, **extra) -> dict:
    return {"notify": {"webhook": {"url": rx.url, "timeout": "2s"}, "backoff": "10ms", **extra}}


@pytest.fixture
async def h(sim, tmp_path, named, receiver):
    harness = Harness(sim, tmp_path, named=named, automation=notify(receiver))
    harness.rx = receiver
    harness.watcher.start()
    await harness.rounds(2)  # a calm start: both answer, the standby is trusted
    sim.clear_requests()
    yield harness
    await harness.watcher.aclose()


def failovers(h: Harness) -> list:
    return [o for o in outcomes(h.records()) if o.action == "auto-failover"]


def assert_failed_over(h: Harness) -> None:
    assert h.modes()["d42-b"] == "production"
    assert h.named.record() == (("10.0.0.2",), 60)
    [done] = failovers(h)
    assert done.result == "done" and done.user and done.target == "d42-b"
    steps = [r for r in h.records() if r["phase"] == "step" and r["action_id"] == done.action_id]
    assert [s["outcome"] for s in steps] == ["done", "done", "done"]
    assert "DNS d42.example.test A 10.0.0.1 → 10.0.0.2 TTL 60" in steps[2]["request"]
    assert steps[2]["backend"] == "rfc2136"
    before = next(r for r in h.records() if r["phase"] == "before"
                  and r["action_id"] == done.action_id)
    assert "are not on the new primary" in before["data_loss"]
    assert any(re.search(r"d42-a \(desired production\) failed \d+/3 polls", r)
               for r in before["reasons"])
    desired, modes = h.store.roles(h.pair)
    assert desired == "d42-b" and modes["d42-b"].mode == "production"
    assert h.posts() == [("d42-b", "production")]


# --- failing over ---------------------------------------------------------------------------

async def test_primary_down_fails_over_and_switches_dns(h):
    h.sim.set_fault("d42-a", "down")
    rounds = await h.until(lambda: h.modes()["d42-b"] == "production")
    assert rounds == 3  # exactly the hysteresis it was configured to wait
    assert_failed_over(h)
    await h.settle()
    assert h.rx.events() == ["watcher-started", "failover-started", "failover-done"]
    done = h.rx.bodies[-1]
    assert done["severity"] == "critical" and done["pair"] == "main"
    assert done["text"].startswith("[d42tui CRITICAL] main: failover done: d42-b is production")
    assert "are not on the new primary" in done["details"]["data_loss"]
    state = read_automation(h.store, h.pair, h.clock())
    assert state.kind == "PAUSED" and "automatic failover d42-a → d42-b" in state.text


async def test_primary_blackhole_fails_over(h):
    h.sim.set_fault("d42-a", "blackhole")
    assert await h.until(lambda: h.modes()["d42-b"] == "production") == 3
    assert_failed_over(h)
    assert "timeout" in next(r for r in h.records() if r["phase"] == "before")["reasons"][0]


async def test_a_long_flap_never_fails_over(h):
    h.sim.set_fault("d42-a", "flap")
    await h.rounds(200)
    assert h.posts() == [] and failovers(h) == []
    assert h.named.record() == (("10.0.0.1",), 60)
    assert h.modes() == {"d42-a": "production", "d42-b": "standby"}
    assert any("a flap, not a failover" in e for e in h.events("primary-answers"))
    await h.settle()
    assert h.rx.events() == ["watcher-started"]


async def test_a_slow_primary_that_answers_is_not_failed_over(h):
    h.sim.set_fault("d42-a", "slow", ms=100)  # under the 300 ms poll timeout
    await h.rounds(10)
    assert h.posts() == [] and failovers(h) == []
    assert h.modes()["d42-a"] == "production"


async def test_a_primary_that_rejects_the_credentials_is_not_failed_over(h):
    # a rotated password on production: it runs, the console cannot read it; a failover
    # would make two productions
    h.sim.set_fault("d42-a", "unauthorized")
    await h.rounds(12)
    assert h.posts() == [] and failovers(h) == []
    assert h.modes() == {"d42-a": "production", "d42-b": "standby"}
    assert any("answers but cannot be read: credentials rejected (401)" in e
               for e in h.events("primary-unreadable"))
    state = read_automation(h.store, h.pair, h.clock())  # what the board and status show
    assert state.kind == "ARMED" and "d42-a answers but cannot be read: not an outage" in \
        state.text
    # then it really dies: the full hysteresis again, counted from its first silent poll
    h.sim.set_fault("d42-a", "down")
    rounds = await h.until(lambda: h.modes()["d42-b"] == "production")
    assert rounds == 3
    assert_failed_over(h)


# --- not failing over -----------------------------------------------------------------------

async def test_both_unreachable_is_isolated_and_does_nothing(h):
    h.sim.set_fault("d42-a", "blackhole")  # no answer at all, not even a refusal
    h.sim.set_fault("d42-b", "blackhole")
    decision = await h.rounds(6)
    assert decision.state == "ISOLATED" and not decision.act
    assert "reaches neither appliance" in decision.blockers[0].text
    assert h.posts() == [] and h.named.record() == (("10.0.0.1",), 60)
    state = read_automation(h.store, h.pair, h.clock())
    assert state.kind == "ISOLATED" and "automation will not act" in state.text
    await h.settle()
    assert "isolated" in h.rx.events() and "failover-started" not in h.rx.events()


async def test_witnesses_that_do_not_answer_mean_isolated(sim, tmp_path, named):
    closed = f"127.0.0.1:{_closed_port()}"
    h = Harness(sim, tmp_path, named=named, automation={"witnesses": [closed, closed]})
    h.watcher.start()
    try:
        sim.set_fault("d42-a", "down")
        decision = await h.rounds(6)
        assert decision.state == "ISOLATED" and "only 0 of 2 witnesses answer" in \
            decision.blockers[0].text
        assert h.posts() == []
    finally:
        await h.watcher.aclose()


async def test_standby_down_too_is_a_critical_alert_and_no_action(sim, tmp_path, named, receiver):
    witness = f"{named.host}:{named.port}"  # this host's DNS server still answers
    h = Harness(sim, tmp_path, named=named,
                automation={**notify(receiver), "witnesses": [witness]})
    h.watcher.start()
    try:
        await h.rounds(2)
        sim.set_fault("d42-b", "down")
        sim.set_fault("d42-a", "down")
        decision = await h.rounds(5)
        assert decision.wanted and not decision.act and decision.state == "ARMED"
        assert "standby-down" in decision.keys
        assert [p for p in h.posts()] == []
        await h.settle()
        alert = next(b for b in receiver.bodies if b["event"] == "standby-down")
        assert alert["severity"] == "critical" and "no failover is possible" in alert["text"]
        assert sum(e == "standby-down" for e in receiver.events()) == 1  # once, not every poll
    finally:
        await h.watcher.aclose()


async def test_split_brain_is_never_acted_on(h):
    h.store.record_mode("main", "d42-b", "production", h.clock())  # two asserted productions
    h.sim.set_fault("d42-a", "down")
    decision = await h.rounds(5)
    assert "split-brain" in decision.keys and not decision.act
    assert h.posts() == [] and h.named.record() == (("10.0.0.1",), 60)
    await h.settle()
    assert "split-brain" in h.rx.events()


async def test_paused_does_nothing_alerts_would_have_and_resume_fails_over(h):
    pause_automation(h.store, "main", reason="DB maintenance", duration=None, now=h.clock(),
                     by="alice@ops", audit=h.audit)
    assert read_automation(h.store, h.pair, h.clock()).text.startswith(
        "PAUSED · paused by alice@ops: DB maintenance")
    h.sim.set_fault("d42-a", "down")
    await h.rounds(6)
    assert h.posts() == []
    await h.settle()
    [would] = [b for b in h.rx.bodies if b["event"] == "would-fail-over"]
    assert "would have failed over d42-a → d42-b" in would["text"]
    assert "paused by alice@ops: DB maintenance" in would["text"]
    resume_automation(h.store, "main", now=h.clock(), by="alice@ops", audit=h.audit)
    assert await h.until(lambda: h.modes()["d42-b"] == "production") == 1
    assert_failed_over(h)
    assert [o.action for o in outcomes(h.records())] == [
        "pause-automation", "resume-automation", "auto-failover"]


async def test_an_expired_pause_resumes_by_itself_and_says_so(h):
    pause_automation(h.store, "main", reason="patching", duration=30, now=h.clock(),
                     by="bob@ops")
    h.clock.now += 31
    await h.rounds()
    assert "pause" not in automation_entry(h.store, "main")
    assert any("expired: automation resumes by itself" in e for e in h.events("pause-expired"))
    await h.settle()
    assert "pause-expired" in h.rx.events()
    assert read_automation(h.store, h.pair, h.clock()).kind == "ARMED"


async def test_a_console_action_in_progress_blocks_the_watcher(h):
    h.sim.set_fault("d42-a", "down")
    with pair_lock(h.store.directory / "locks", "main"):
        decision = await h.rounds(4)
        assert "busy" in decision.keys and h.posts() == []
    assert any("another action on pair main is in progress" in e
               for e in h.events("not-failing-over"))
    assert await h.until(lambda: h.modes()["d42-b"] == "production") == 1


async def test_the_standby_mid_restore_defers_then_acts_at_max_defer(sim, tmp_path, named):
    h = Harness(sim, tmp_path, named=named, automation={"max_defer": "20s"})
    cfg = h.config.pairs[0].model_copy(update={"restore_cron": "*/10 * * * *",
                                               "restore_duration": 300.0})
    h.config = h.config.model_copy(update={"pairs": [cfg]})
    h.pair = cfg
    h.clock.now = (h.clock.now // 600) * 600 + 60  # a minute into a restore window
    h.watcher = h.new_watcher()
    h.watcher.start()
    try:
        await h.rounds(2)
        sim.set_fault("d42-a", "down")
        decision = await h.rounds(5)
        assert "restore-window" in decision.keys and h.posts() == []
        assert await h.until(lambda: h.modes()["d42-b"] == "production", 30) > 5
        before = next(r for r in h.records() if r["phase"] == "before")
        assert before["during_restore"] is True
        assert any("acting during a possible restore of d42-b" in n for n in before["notes"])
    finally:
        await h.watcher.aclose()


# --- when things go wrong during the failover ----------------------------------------------

class SlowFirstPromotion(ApplianceClient):
    """The real client; the first promotion of d42-b meets a slow appliance and times out."""

    sim = None
    promotions = 0

    async def set_mode(self, mode):
        if self.cfg.name == "d42-b" and mode == "production" and SlowFirstPromotion.promotions == 0:
            SlowFirstPromotion.promotions += 1
            self.sim.set_fault("d42-b", "slow", ms=600)
            try:
                return await super().set_mode(mode)
            finally:
                self.sim.set_fault("d42-b", "none")
        return await super().set_mode(mode)


async def test_a_promotion_that_times_out_is_retried_once_and_promotes_once(sim, tmp_path, named,
                                                                           receiver):
    SlowFirstPromotion.sim, SlowFirstPromotion.promotions = sim, 0
    h = Harness(sim, tmp_path, named=named, automation=notify(receiver),
                client_factory=SlowFirstPromotion)
    h.watcher.start()
    try:
        await h.rounds(2)
        sim.set_fault("d42-a", "down")
        await h.until(lambda: h.modes()["d42-b"] == "production")
        await h.rounds(2)
        [done] = failovers(h)
        assert done.result == "done"
        attempts = [r for r in h.records() if r.get("request", "").startswith("POST")]
        assert [(a["attempt"], a["outcome"]) for a in attempts] == [(1, "unknown"), (2, "done")]
        assert any("POST again" in e for e in h.events("retry"))
        await h.settle()
        assert receiver.events().count("failover-done") == 1
        assert h.named.record() == (("10.0.0.2",), 60)
    finally:
        await h.watcher.aclose()


async def test_dns_refused_by_bind_is_reported_with_the_command_and_retried(sim, tmp_path, named,
                                                                           receiver):
    wrong = tmp_path / "wrong.secret"
    wrong.write_text("QUFB" + named.secret[4:] + "\n")
    h = Harness(sim, tmp_path, named=named, dns=named.dns_section(
        {"d42-a": "10.0.0.1", "d42-b": "10.0.0.2"}, secret_file=str(wrong)),
        automation={**notify(receiver), "dns_retry_interval": "30s"})
    h.watcher.start()
    try:
        await h.rounds(2)
        sim.set_fault("d42-a", "down")
        await h.until(lambda: h.modes()["d42-b"] == "production")
        assert named.record() == (("10.0.0.1",), 60)  # BIND said no
        state = read_automation(h.store, h.pair, h.clock())
        assert state.kind == "ACTING" and state.step == (4, 4)  # promote, fence if it answers, confirm, DNS
        await h.settle()
        alert = next(b for b in receiver.bodies if b["event"] == "dns-failed")
        assert alert["severity"] == "critical" and "BADSIG" in alert["text"]
        assert alert["details"]["retry_command"].startswith(
            "d42tui dns set --pair main --to d42-b --ttl 60 --yes\n# or by hand (bash):\nnsupdate")
        wrong.write_text(named.secret + "\n")  # the operator fixes the key
        await h.rounds(5)
        assert named.record() == (("10.0.0.1",), 60)  # not before the retry is due
        h.clock.now += 30
        await h.rounds(1)
        assert named.record() == (("10.0.0.2",), 60)
        [done] = failovers(h)
        assert done.result == "done"
        dns_steps = [r["outcome"] for r in h.records() if r.get("request", "").startswith("DNS")]
        assert dns_steps == ["refused", "done"]
        assert h.posts("d42-b") == [("d42-b", "production")]  # the promotion was not repeated
    finally:
        await h.watcher.aclose()


async def test_the_old_primary_is_fenced_within_one_poll_of_returning(h):
    h.sim.set_fault("d42-a", "down")
    await h.until(lambda: h.modes()["d42-b"] == "production")
    await h.rounds(3)
    h.sim.set_fault("d42-a", "none")
    assert h.modes()["d42-a"] == "production"  # the old primary came back as production
    assert await h.until(lambda: h.modes()["d42-a"] == "standby") == 1
    fence = next(o for o in outcomes(h.records()) if o.action == "auto-fence")
    assert fence.result == "done" and fence.target == "d42-a"
    assert automation_entry(h.store, "main").get("fence_pending") == []
    await h.settle()
    assert "fence-done" in h.rx.events() and "split-brain" not in h.rx.events()
    await h.rounds(3)
    assert h.posts("d42-a") == [("d42-a", "standby")]  # once, not every poll


async def test_an_old_primary_that_returns_unreadable_is_a_split_brain_alert(h):
    # it comes back running, but rejecting the console's credentials: it cannot be fenced
    # and may be running as production; a person must know at once
    h.sim.set_fault("d42-a", "down")
    await h.until(lambda: h.modes()["d42-b"] == "production")
    await h.rounds(2)
    h.sim.set_fault("d42-a", "unauthorized")
    await h.rounds(4)
    assert h.modes()["d42-a"] == "production"  # nothing could be sent to it
    assert h.posts("d42-a") == []
    await h.settle()
    assert "split-brain" in h.rx.events()
    alert = next(b for b in h.rx.bodies if b["event"] == "split-brain")
    assert alert["severity"] == "critical" and "cannot be read" in alert["text"]


async def test_no_automatic_failback_by_default(h):
    h.sim.set_fault("d42-a", "down")
    await h.until(lambda: h.modes()["d42-b"] == "production")
    h.sim.set_fault("d42-a", "none")
    await h.rounds(5)
    for _ in range(10):  # two days of a healthy pair, with restores on the old primary
        h.clock.now += 5 * 3600
        await h.rounds(1)
    assert h.modes() == {"d42-a": "standby", "d42-b": "production"}
    assert h.named.record() == (("10.0.0.2",), 60)
    assert [o.action for o in outcomes(h.records())] == ["auto-failover", "auto-fence"]


async def test_automatic_failback_waits_for_uptime_and_a_restore(sim, tmp_path, named):
    h = Harness(sim, tmp_path, named=named,
                automation={"failback": "automatic", "failback_after": "10m"})
    h.watcher.start()
    try:
        await h.rounds(2)
        sim.set_fault("d42-a", "down")
        await h.until(lambda: h.modes()["d42-b"] == "production")
        sim.set_fault("d42-a", "none")
        await h.rounds(4)
        assert h.modes() == {"d42-a": "standby", "d42-b": "production"}
        h.clock.now += 11 * 60  # up long enough, but no restore has run on it yet
        await h.rounds(2)
        assert h.modes()["d42-b"] == "production"
        assert any("no restore cycle has completed" in e for e in h.events("failback-waiting"))
        h.clock.now += 24 * 3600  # the daily restore ran on d42-a
        await h.rounds(1)
        assert h.modes() == {"d42-a": "production", "d42-b": "standby"}
        assert named.record() == (("10.0.0.1",), 60)
        posts = h.posts()
        assert posts[-2:] == [("d42-b", "standby"), ("d42-a", "production")]  # demote first
        assert h.store.roles(h.pair)[0] == "d42-a"
        assert "hold" not in automation_entry(h.store, "main")  # re-armed after a clean failback
    finally:
        await h.watcher.aclose()


# --- restarts and locks ---------------------------------------------------------------------

class Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs, nothing catches it."""


async def test_killed_between_promote_and_dns_the_restart_completes_the_plan(sim, tmp_path,
                                                                            named):
    h = Harness(sim, tmp_path, named=named)
    say = h.say

    def dies_before_dns(level, event, text, **fields):
        say(level, event, text, **fields)
        if event == "step" and "step 4 of 4" in text:
            raise Killed()
    h.say = dies_before_dns
    h.watcher = h.new_watcher()
    h.watcher.start()
    await h.rounds(2)
    sim.set_fault("d42-a", "down")
    with pytest.raises(Killed):
        await h.rounds(5)
    assert h.modes()["d42-b"] == "production" and named.record() == (("10.0.0.1",), 60)
    journal = automation_entry(h.store, "main")["journal"]
    assert [s["status"] for s in journal["steps"]] == ["done", "skipped", "done", "pending"]
    h.killed()  # the kernel drops a killed process's locks
    h.say = say
    h.watcher = h.new_watcher()
    h.watcher.start()
    try:
        assert any("found unfinished failover d42-a → d42-b, step 4 of 4" in e
                   for e in h.events("plan-found"))
        await h.rounds(1)
        assert named.record() == (("10.0.0.2",), 60)
        assert "journal" not in automation_entry(h.store, "main")
        [done] = failovers(h)
        assert done.result == "done"
        assert any(r.get("outcome") == "resumed" for r in h.records())
        assert h.posts("d42-b") == [("d42-b", "production")]
    finally:
        await h.watcher.aclose()


class DiesAfterPromotion(ApplianceClient):
    async def set_mode(self, mode):
        result = await super().set_mode(mode)
        if mode == "production":
            raise Killed()  # the POST applied, the watcher never wrote that it did
        return result


async def test_killed_with_the_promotion_in_doubt_the_restart_resends_it(sim, tmp_path, named):
    h = Harness(sim, tmp_path, named=named, client_factory=DiesAfterPromotion)
    h.watcher.start()
    await h.rounds(2)
    sim.set_fault("d42-a", "down")
    with pytest.raises(Killed):
        await h.rounds(5)
    steps = automation_entry(h.store, "main")["journal"]["steps"]
    assert steps[0]["status"] == "running"  # in doubt: sent, answer never recorded
    h.killed()
    h.client_factory = None
    h.watcher = h.new_watcher()
    h.watcher.start()
    try:
        await h.rounds(1)
        assert named.record() == (("10.0.0.2",), 60)
        assert h.posts("d42-b") == [("d42-b", "production")] * 2  # idempotent re-send
        assert [o.result for o in failovers(h)] == ["done"]
    finally:
        await h.watcher.aclose()


async def test_in_doubt_promotion_with_the_old_primary_back_is_undone(sim, tmp_path, named):
    h = Harness(sim, tmp_path, named=named, client_factory=DiesAfterPromotion)
    h.watcher.start()
    await h.rounds(2)
    sim.set_fault("d42-a", "down")
    with pytest.raises(Killed):
        await h.rounds(5)
    h.killed()
    sim.set_fault("d42-a", "none")  # while no watcher ran, the primary came back
    h.client_factory = None
    h.watcher = h.new_watcher()
    h.watcher.start()
    try:
        await h.rounds(2)
        assert h.modes() == {"d42-a": "production", "d42-b": "standby"}
        assert named.record() == (("10.0.0.1",), 60)
        [o] = failovers(h)
        assert o.result == "cancelled" and "answers again before the promotion" in o.detail
    finally:
        await h.watcher.aclose()


async def test_a_second_watcher_on_the_same_pair_refuses_to_start(h):
    other = h.new_watcher()
    with pytest.raises(WatcherRunning, match=r"pair main is already watched on this host by pid \d+"):
        other.start()
    await other.aclose(started=False)
    beat = read_heartbeat(h.store.directory, "main")  # the running watcher's, untouched
    assert beat["pid"] == os.getpid() and not beat.get("stopped")
    assert read_automation(h.store, h.pair, h.clock()).kind == "ARMED"


async def test_dry_run_decides_and_logs_but_sends_and_writes_nothing(sim, tmp_path, named):
    h = Harness(sim, tmp_path, named=named, dry_run=True)
    h.watcher.start()
    try:
        await h.rounds(2)
        sim.clear_requests()
        sim.set_fault("d42-a", "down")
        await h.rounds(6)
        assert h.posts() == [] and named.record() == (("10.0.0.1",), 60)
        [line] = h.events("would-fail-over")
        assert "DRY RUN: would fail over now" in line and "POST appliance_mode=production" in line
        assert h.records() == [] and automation_entry(h.store, "main") == {}
        assert read_heartbeat(h.store.directory, "main") is None
    finally:
        await h.watcher.aclose()


# --- notifications and secrets --------------------------------------------------------------

async def test_a_failing_or_hanging_receiver_never_delays_the_failover(sim, tmp_path, named):
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        h = Harness(sim, tmp_path, named=named, automation={
            "notify": {"webhook": {"url": url, "timeout": "5s"}, "retries": 2}})
        h.watcher.start()
        try:
            await h.rounds(2)
            sim.set_fault("d42-a", "down")
            loop = asyncio.get_running_loop()
            started = loop.time()
            await h.until(lambda: h.modes()["d42-b"] == "production")
            assert loop.time() - started < 3  # the 5 s webhook timeout did not count
            assert named.record() == (("10.0.0.2",), 60)
        finally:
            h.watcher.notifiers["main"].cfg = h.watcher.notifiers["main"].cfg.model_copy(
                update={"retries": 0})
            await h.watcher.aclose()


async def test_webhook_retries_and_the_command_gets_the_event_on_stdin(sim, tmp_path, named):
    import sys

    rx = Receiver(fail_first=2)
    out = tmp_path / "events.jsonl"
    sink = [sys.executable, "-c",
            f"import sys; open({str(out)!r}, 'a').write(sys.stdin.read() + '\\n')"]
    h = Harness(sim, tmp_path, named=named, automation={"notify": {
        "webhook": {"url": rx.url}, "command": sink, "backoff": "10ms", "retries": 3}})
    h.watcher.start()
    try:
        await h.rounds(2)
        sim.set_fault("d42-a", "down")
        await h.until(lambda: h.modes()["d42-b"] == "production")
        await h.settle()
        expected = ["failover-done", "failover-started", "watcher-started"]
        assert sorted(rx.events()) == expected and rx.attempts == 5  # two failed, retried
        import json

        lines = [json.loads(line) for line in out.read_text().splitlines() if line]
        assert sorted(e["event"] for e in lines) == expected
        assert all(e["text"] for e in lines)
    finally:
        await h.watcher.aclose()
        rx.close()


async def test_no_secret_reaches_logs_audit_state_or_notifications(h):
    h.sim.set_fault("d42-a", "down")
    await h.until(lambda: h.modes()["d42-b"] == "production")
    h.sim.set_fault("d42-a", "none")
    await h.rounds(3)
    await h.settle()
    written = h.everything_written() + repr(h.rx.bodies)
    for secret in (*PASSWORDS.values(), h.named.secret, "SECRET-TOKEN"):
        assert secret not in written
    assert "SECRET-TOKEN" not in repr(h.watcher.config)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- more ways a plan ends ------------------------------------------------------------------

async def test_a_refused_promotion_changes_nothing_alerts_and_waits_the_cooldown(
        sim, tmp_path, named, receiver):
    wrong = {"d42-a": PASSWORDS["d42-a"], "d42-b": "not-the-password-Qq9"}
    h = Harness(sim, tmp_path, named=named, passwords=wrong,
                automation={**notify(receiver), "cooldown": "5m"})
    h.watcher.start()
    try:
        await h.rounds(2)
        sim.set_fault("d42-a", "down")
        await h.rounds(3)
        [failed] = failovers(h)
        assert failed.result == "failed" and "credentials rejected (401)" in failed.detail
        assert "nothing changed" in failed.detail
        assert h.modes()["d42-b"] == "standby" and named.record() == (("10.0.0.1",), 60)
        assert h.store.roles(h.pair)[0] == "d42-a"
        decision = await h.rounds(5)
        assert "cooldown" in decision.keys and len(failovers(h)) == 1
        h.clock.now += 300
        await h.rounds(1)
        assert len(failovers(h)) == 2  # tried again after the cooldown, and said so
        await h.settle()
        assert receiver.events().count("failover-failed") == 2
        assert "not-the-password-Qq9" not in h.everything_written() + repr(receiver.bodies)
    finally:
        await h.watcher.aclose()


class SickAfterPromotion(ApplianceClient):
    """d42-b accepts production, then its health answers 500 until the test heals it."""

    sim = None

    async def set_mode(self, mode):
        result = await super().set_mode(mode)
        if self.cfg.name == "d42-b" and mode == "production":
            self.sim.set_fault("d42-b", "error500")
        return result


async def test_dns_waits_until_the_new_primary_answers_health(sim, tmp_path, named, receiver):
    SickAfterPromotion.sim = sim
    h = Harness(sim, tmp_path, named=named, client_factory=SickAfterPromotion,
                automation={**notify(receiver), "confirm_timeout": "5s"})
    h.watcher.start()
    try:
        await h.rounds(2)
        sim.set_fault("d42-a", "down")
        await h.until(lambda: h.modes()["d42-b"] == "production")
        await h.rounds(8)
        state = read_automation(h.store, h.pair, h.clock())
        assert state.kind == "ACTING" and state.step == (3, 4)
        assert named.record() == (("10.0.0.1",), 60)
        assert len(h.events("confirm-waiting")) == 1  # said once, not every poll
        await h.settle()
        assert "confirm-waiting" in receiver.events()  # after confirm_timeout
        sim.set_fault("d42-b", "none")
        await h.rounds(1)
        assert named.record() == (("10.0.0.2",), 60)
        assert [o.result for o in failovers(h)] == ["done"]
    finally:
        await h.watcher.aclose()


async def test_a_standby_that_returns_is_told_standby_again(h):
    h.sim.set_fault("d42-b", "down")
    await h.rounds(4)
    h.sim.set_fault("d42-b", "none")
    assert await h.until(lambda: h.posts("d42-b") == [("d42-b", "standby")]) == 1
    await h.rounds(3)
    assert h.posts() == [("d42-b", "standby")]
    assert h.modes() == {"d42-a": "production", "d42-b": "standby"}


async def test_a_plan_that_sent_nothing_is_abandoned_on_restart(sim, tmp_path, named):
    from d42tui.engine.journal import save_journal

    from .watch_harness import failover_journal

    h = Harness(sim, tmp_path, named=named)
    save_journal(h.store, failover_journal(h.pair, "old1", h.clock()))
    h.watcher.start()
    try:
        assert any("nothing sent yet: abandoned" in e for e in h.events("plan-abandoned"))
        assert "journal" not in automation_entry(h.store, "main")
        [o] = outcomes(h.records())
        assert o.result == "cancelled" and o.action_id == "old1"
        await h.rounds(3)
        assert h.posts() == []
    finally:
        await h.watcher.aclose()


async def test_an_unreadable_journal_is_moved_aside_and_reported(sim, tmp_path, named, receiver):
    from d42tui.engine.state import update_pair

    h = Harness(sim, tmp_path, named=named, automation=notify(receiver))
    update_pair(h.store, "main", lambda entry, auto: auto.update(journal={"from": "v99"}))
    h.watcher.start()
    try:
        assert h.events("journal-unreadable")
        auto = automation_entry(h.store, "main")
        assert "journal" not in auto and auto["unreadable_journal"]["raw"] == {"from": "v99"}
        await h.rounds(2)
        await h.settle()
        assert "journal-unreadable" in receiver.events()
    finally:
        await h.watcher.aclose()


class DeadMainApplication(ApplianceClient):
    """d42-a's Appliance Manager answers health; its main application (the API) does not."""

    async def api_alive(self, *args, **kwargs):  # main adds a deadline argument
        from d42tui.appliance.client import Failure, FailureKind

        if self.cfg.name == "d42-a":
            return Failure(FailureKind.SERVER_ERROR, "HTTP 500 from the main application")
        return await super().api_alive(*args, **kwargs)


@pytest.mark.parametrize("rule", ["all", "any"])
async def test_a_dead_main_api_counts_only_with_any_and_then_demotes_first(tmp_path, named,
                                                                           rule):
    from d42tui.simulator import Simulator

    with Simulator(tls=True) as sim:
        for name, mode in (("d42-a", "production"), ("d42-b", "standby")):
            sim.add_appliance(name, mode=mode, password=PASSWORDS[name], api=True,
                              backup_cron="0 */4 * * *")

        def with_api(data):
            for entry in data["pairs"][0]["appliances"]:
                entry["api"] = {"url": sim.api_url(entry["name"]), "username": "d42admin",
                                "password_file": entry["password_file"]}
        h = Harness(sim, tmp_path, named=named, edit=with_api,
                    client_factory=DeadMainApplication,
                    automation={"api_probe_counts": rule})
        h.watcher.start()
        try:
            await h.rounds(8)
            if rule == "all":
                assert h.posts() == [] and failovers(h) == []
                return
            # the manager still answers, so the old primary is demoted before the promotion
            assert h.posts() == [("d42-a", "standby"), ("d42-b", "production")]
            assert h.modes() == {"d42-a": "standby", "d42-b": "production"}
            assert named.record() == (("10.0.0.2",), 60)
            assert automation_entry(h.store, "main").get("fence_pending", []) == []
            assert [o.result for o in failovers(h)] == ["done"]
        finally:
            await h.watcher.aclose()


class SlowPromotions(ApplianceClient):
    """Every promotion of d42-b meets a slow appliance until `healed`."""

    sim = None
    healed = False

    async def set_mode(self, mode):
        if self.cfg.name == "d42-b" and mode == "production" and not SlowPromotions.healed:
            self.sim.set_fault("d42-b", "slow", ms=600)
            try:
                return await super().set_mode(mode)
            finally:
                self.sim.set_fault("d42-b", "none")
        return await super().set_mode(mode)


async def test_an_unanswered_promotion_is_retried_every_poll_and_reported_once(
        sim, tmp_path, named, receiver):
    SlowPromotions.sim, SlowPromotions.healed = sim, False
    h = Harness(sim, tmp_path, named=named, client_factory=SlowPromotions,
                automation={**notify(receiver), "promote_retries": 1})
    h.watcher.start()
    try:
        await h.rounds(2)
        sim.set_fault("d42-a", "down")
        await h.rounds(6)
        state = read_automation(h.store, h.pair, h.clock())
        assert state.kind == "ACTING" and state.step == (1, 4)
        assert named.record() == (("10.0.0.1",), 60)  # no DNS before the promotion is known
        SlowPromotions.healed = True
        await h.rounds(1)
        assert named.record() == (("10.0.0.2",), 60)
        [o] = failovers(h)
        assert o.result == "done"
        await h.settle()
        assert receiver.events().count("promotion-unanswered") == 1
        assert receiver.events().count("failover-started") == 1
    finally:
        await h.watcher.aclose()
