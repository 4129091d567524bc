"""DNS target against a real BIND: read, switch, verify, and every way it can go wrong."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from d42tui.dns import (
    DnsConfig,
    DnsSwitchResult,
    DnsUpdateResult,
    dns_mismatch,
    dns_summary,
    make_backend,
    query,
    switch,
    which_appliance,
)
from d42tui.dns.rfc2136 import Rfc2136Updater
from tests.named_server import NamedServer, free_port

pytestmark = pytest.mark.realserver("named")

TARGETS = {"d42-a": "10.0.0.1", "d42-b": "10.0.0.2"}


class FakeClock:
    """Verification waits on this clock, so a timeout costs no real seconds."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def dns_config(ns: NamedServer, **backend: object) -> DnsConfig:
    return DnsConfig.model_validate(ns.dns_section(TARGETS, **backend))


def dig(server: NamedServer, name: str) -> list[str]:
    """What the standard tool sees, independent of dnspython."""
    path = shutil.which("dig")
    if path is None:
        return []
    out = subprocess.run([path, f"@{server.host}", "-p", str(server.port), "+norec", "+short",
                          name, "A"], capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.split()


@pytest.fixture
def silent_tcp() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: a server that hangs."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


# --- reading --------------------------------------------------------------------------

async def test_the_board_line_shows_the_answer_ttl_and_appliance(named):
    cfg = dns_config(named)
    answer = await query(cfg)
    assert answer.values == ("10.0.0.1",) and answer.ttl == 60 and answer.error is None
    assert answer.servers[0].server == named.address and answer.servers[0].latency is not None
    assert which_appliance(cfg, answer.values) == "d42-a"
    assert dns_summary(cfg, answer) == "d42.example.test A 10.0.0.1 → d42-a, TTL 60"
    assert dns_mismatch(cfg, answer, "d42-a") is None
    assert dns_mismatch(cfg, answer, "d42-b").text == (
        "DNS MISMATCH: d42.example.test A points at d42-a (10.0.0.1), not production; "
        "production is d42-b (10.0.0.2)")


async def test_a_stranger_address_or_no_record_is_a_mismatch(named):
    cfg = dns_config(named)
    named.set_record("10.9.9.9")
    stranger = await query(cfg)
    assert which_appliance(cfg, stranger.values) is None
    assert "points at 10.9.9.9, which is no appliance of this pair" in dns_mismatch(
        cfg, stranger, "d42-a").text
    named.set_record()  # its only record: the name is gone
    nothing = await query(cfg)
    assert nothing.values == () and nothing.error == "nxdomain" and nothing.answered
    assert "points at nothing (NXDOMAIN: d42.example.test does not exist)" in dns_mismatch(
        cfg, nothing, "d42-a").text
    no_aaaa = await query(DnsConfig.model_validate(
        {**named.dns_section({"d42-a": "fd00::1"}), "name": named.fqdn("ns1"), "type": "AAAA"}))
    assert no_aaaa.values == () and no_aaaa.error == "nodata"
    assert no_aaaa.error_text == "ns1.example.test has no AAAA record"


async def test_a_server_that_does_not_answer_makes_the_dns_state_unknown(named):
    closed = free_port()
    cfg = DnsConfig.model_validate({**named.dns_section(TARGETS), "query_timeout": "500ms",
                                    "servers": [named.address, f"127.0.0.1:{closed}"]})
    answer = await query(cfg)
    assert answer.values == ("10.0.0.1",) and not answer.consistent
    assert answer.servers[1].error in ("unreachable", "timeout")
    assert "the servers that answered point at production" in dns_mismatch(
        cfg, answer, "d42-a").text
    alone = await query(cfg, endpoints=(cfg.endpoints[1],))
    assert not alone.answered
    assert dns_mismatch(cfg, alone, "d42-a").text.startswith("DNS UNKNOWN: cannot tell")


# --- switching with rfc2136 ----------------------------------------------------------------

async def test_failover_switch_updates_and_verifies_on_the_authoritative_server(named):
    result = await switch(dns_config(named), "d42-b", pair="p1")
    assert result.outcome == "done", result.text
    assert result.old_values == ("10.0.0.1",) and result.new_value == "10.0.0.2"
    assert result.target == "d42-b"
    assert result.update is not None and result.update.rcode == "NOERROR"
    assert result.verification is not None and result.verification.all_answer(("10.0.0.2",))
    assert named.record() == (("10.0.0.2",), 60)
    if shutil.which("dig"):
        assert dig(named, named.fqdn()) == ["10.0.0.2"]
    assert result.retry_command.startswith("d42tui dns set --pair p1 --to d42-b --ttl 60 --yes\n")
    assert "prereq yxrrset d42.example.test. A 10.0.0.1" in result.retry_command


@pytest.mark.parametrize("record, rtype, targets, shown", [
    ("www", "CNAME", {"d42-a": "a.example.test", "d42-b": "b.example.net"}, "b.example.net."),
    ("d42", "AAAA", {"d42-a": "fd00::1", "d42-b": "FD00:0::2"}, "fd00::2"),
])
async def test_cname_and_aaaa_records_switch_on_the_wire(named, record, rtype, targets, shown):
    cfg = DnsConfig.model_validate({**named.dns_section(targets), "name": named.fqdn(record),
                                    "type": rtype})
    first = await switch(cfg, "d42-a")  # no such record yet: created under an nxrrset guard
    assert first.outcome == "done" and first.old_values == (), first.text
    result = await switch(cfg, "d42-b")
    assert result.outcome == "done", result.text
    assert result.old_values == (targets["d42-a"],) and result.target == "d42-b"
    assert named.record(record, rtype)[0] == (shown,)
    assert which_appliance(cfg, (await query(cfg)).values) == "d42-b"


async def test_switching_to_what_is_already_there_sends_nothing_and_verifies(named):
    result = await switch(dns_config(named), "10.0.0.1")
    assert result.outcome == "done" and result.update is None
    assert result.text.startswith("the record already held 10.0.0.1")


async def test_an_absent_record_is_created_only_if_still_absent(named):
    named.set_record()
    created = await switch(dns_config(named), "d42-a")
    assert created.outcome == "done" and created.old_values == ()
    assert named.record() == (("10.0.0.1",), 60)
    # a console that still believes there is no record must not overwrite this one
    stale = await make_backend(dns_config(named)).update((), "10.0.0.2")
    assert stale.outcome == "prerequisite-failed" and stale.current == ("10.0.0.1",)
    assert named.record() == (("10.0.0.1",), 60)


async def test_a_wrong_tsig_secret_is_reported_as_the_key_being_rejected(named):
    wrong = "QUFB" + named.secret[4:]
    result = await switch(dns_config(named, secret_file=None, secret=wrong), "d42-b")
    assert result.outcome == "refused"
    assert "TSIG key rejected" in result.text and "BADSIG" in result.text
    assert result.update is not None and result.update.rcode == "BADSIG"
    assert named.record() == (("10.0.0.1",), 60)


async def test_an_unknown_key_name_is_reported_as_the_key_being_rejected(named):
    result = await switch(dns_config(named, key_name="other-key"), "d42-b")
    assert result.outcome == "refused" and "does not know key other-key" in result.text
    assert named.record() == (("10.0.0.1",), 60)


async def test_an_update_for_a_zone_the_server_does_not_serve_is_refused(named):
    update = await make_backend(dns_config(named, zone="elsewhere.test")).update(
        ("10.0.0.1",), "10.0.0.2")
    assert update.outcome == "refused" and update.rcode == "NOTAUTH"
    assert "not authoritative for zone elsewhere.test" in update.text
    assert named.record() == (("10.0.0.1",), 60)


async def test_a_prerequisite_blocks_an_update_when_the_record_changed_behind_the_back(named):
    backend = make_backend(dns_config(named))
    named.set_record("10.0.0.7")  # someone else's change, after the console read 10.0.0.1
    update = await backend.update(("10.0.0.1",), "10.0.0.2")
    assert update.outcome == "prerequisite-failed" and update.rcode == "NXRRSET"
    assert update.text.startswith("the record was changed behind the console's back: now 10.0.0.7")
    assert update.current == ("10.0.0.7",)
    assert named.record() == (("10.0.0.7",), 60)


class ChangedInBetween:
    """The real backend, with another console's change landing between read and update."""

    def __init__(self, inner, server: NamedServer):
        self.inner, self.server, self.kind = inner, server, inner.kind

    async def update(self, old_values, new_value):
        self.server.set_record("10.0.0.7")
        return await self.inner.update(old_values, new_value)

    def recipe(self, old_values, new_value):
        return self.inner.recipe(old_values, new_value)


async def test_a_switch_racing_another_console_fails_and_says_what_is_there_now(named):
    cfg = dns_config(named)
    result = await switch(cfg, "d42-b", backend=ChangedInBetween(make_backend(cfg), named))
    assert result.outcome == "failed"
    assert "changed behind the console's back: now 10.0.0.7" in result.text
    assert named.record() == (("10.0.0.7",), 60)


async def test_what_the_operator_saw_guards_the_switch(named):
    named.set_record("10.0.0.7")
    result = await switch(dns_config(named), "d42-b", expected_old=("10.0.0.1",))
    assert result.outcome == "refused" and result.update is None
    assert result.text == ("the record changed since it was shown: now 10.0.0.7, you saw "
                           "10.0.0.1; nothing was sent")


async def test_an_unreachable_server_is_never_done(named):
    closed = f"127.0.0.1:{free_port()}"
    cfg = DnsConfig.model_validate({**named.dns_section(TARGETS, server=closed),
                                    "query_timeout": "500ms"})
    result = await switch(cfg, "d42-b")
    assert result.outcome in ("failed", "unknown") and result.update is None
    assert "cannot read the current record" in result.text
    update = await make_backend(cfg).update(("10.0.0.1",), "10.0.0.2")
    assert update.outcome == "failed" and not update.sent
    assert "nothing was sent" in update.text


async def test_a_server_that_takes_the_update_and_never_replies_is_unknown(named, silent_tcp):
    cfg = dns_config(named, server=f"127.0.0.1:{silent_tcp}", timeout="500ms", zone=named.zone)
    update = await Rfc2136Updater(cfg).update(("10.0.0.1",), "10.0.0.2")
    assert update.outcome == "unknown" and update.sent
    assert "may or may not have applied" in update.text
    # the switch reads the primary first; a primary that never answers is never done
    clock = FakeClock()
    result = await switch(DnsConfig.model_validate({**cfg.model_dump(), "query_timeout": 0.5}),
                          "d42-b", clock=clock, sleep=clock.sleep)
    assert result.outcome in ("failed", "unknown")


async def test_a_lost_reply_is_resolved_by_verification(named, silent_tcp):
    cfg = dns_config(named, server=f"127.0.0.1:{silent_tcp}", timeout="500ms", zone=named.zone)
    silent = make_backend(cfg)

    class AppliedButReplyLost:
        kind = "rfc2136"

        async def update(self, old_values, new_value):
            named.set_record(new_value)  # the change lands ...
            return await silent.update(old_values, new_value)  # ... the reply never comes

        def recipe(self, old_values, new_value):
            return silent.recipe(old_values, new_value)

    primary_is_named = dns_config(named)
    result = await switch(primary_is_named, "d42-b", backend=AppliedButReplyLost())
    assert result.update.outcome == "unknown"
    assert result.outcome == "done" and "reply was lost" in result.text


# --- the command backend ------------------------------------------------------------------

RECORDER = """\
import json, os, sys
with open(sys.argv[1], "w") as fh:
    json.dump({"argv": sys.argv[2:],
               "env": {k: v for k, v in os.environ.items() if k.startswith("D42_DNS_")}}, fh)
print("set-dns: would set", os.environ["D42_DNS_NAME"], "to", os.environ["D42_DNS_NEW"])
"""

SETTER = """\
import os, sys
import dns.query, dns.tsigkeyring, dns.update
name, rtype, old, new, ttl = sys.argv[1:]
zone = os.environ["TEST_ZONE"]
keyring = dns.tsigkeyring.from_text({os.environ["TEST_KEY"]: os.environ["TEST_SECRET"]})
update = dns.update.UpdateMessage(zone, keyring=keyring)
update.replace(name + ".", int(ttl), rtype, new)
response = dns.query.tcp(update, "127.0.0.1", port=int(os.environ["TEST_PORT"]), timeout=5)
print("rcode", response.rcode())
"""

FAILER = """\
import sys
print("connecting to dns.example.com")
print("Set-DnsServerResourceRecord: Access is denied.", file=sys.stderr)
print("At line:1 char:1", file=sys.stderr)
sys.exit(3)
"""


def command_config(named: NamedServer, argv: list[str], **more: object) -> DnsConfig:
    section = named.dns_section(TARGETS)
    section["backend"] = {"kind": "command", "argv": argv, **more}
    return DnsConfig.model_validate(section)


def script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return str(path)


async def test_the_command_gets_exactly_the_arguments_and_environment(named, tmp_path):
    seen = tmp_path / "seen.json"
    cfg = command_config(named, [sys.executable, script(tmp_path, "rec.py", RECORDER), str(seen)])
    update = await make_backend(cfg).update(("10.0.0.1",), "10.0.0.2")
    assert update.outcome == "done" and update.exit_code == 0
    assert update.stdout_tail == ("set-dns: would set d42.example.test to 10.0.0.2",)
    got = json.loads(seen.read_text())
    assert got["argv"] == ["d42.example.test", "A", "10.0.0.1", "10.0.0.2", "60"]
    assert got["env"] == {"D42_DNS_NAME": "d42.example.test", "D42_DNS_TYPE": "A",
                          "D42_DNS_OLD": "10.0.0.1", "D42_DNS_NEW": "10.0.0.2",
                          "D42_DNS_TTL": "60"}


async def test_a_command_that_exits_0_without_changing_anything_fails_verification(named,
                                                                                     tmp_path):
    seen = tmp_path / "seen.json"
    cfg = command_config(named, [sys.executable, script(tmp_path, "rec.py", RECORDER), str(seen)])
    clock = FakeClock()
    result = await switch(cfg, "d42-b", clock=clock, sleep=clock.sleep)
    assert result.update.outcome == "done"
    assert result.outcome == "failed"
    assert result.text.startswith("the change was accepted but no server answers 10.0.0.2 "
                                  "after 5s")
    assert "D42_DNS_NEW=10.0.0.2" in result.retry_command


async def test_a_command_that_makes_the_change_is_verified_done(named, tmp_path, monkeypatch):
    for key, value in {"TEST_ZONE": named.zone, "TEST_KEY": named.key_name,
                       "TEST_SECRET": named.secret, "TEST_PORT": str(named.port)}.items():
        monkeypatch.setenv(key, value)
    cfg = command_config(named, [sys.executable, script(tmp_path, "set.py", SETTER)])
    result = await switch(cfg, "d42-b", pair="p1")
    assert result.outcome == "done", result.text
    assert named.record() == (("10.0.0.2",), 60)


async def test_a_failing_command_is_reported_with_its_exit_code_and_output(named, tmp_path):
    cfg = command_config(named, [sys.executable, script(tmp_path, "fail.py", FAILER)])
    result = await switch(cfg, "d42-b")
    assert result.outcome == "failed"
    assert result.text == f"{Path(sys.executable).name} exited 3: At line:1 char:1"
    assert result.update.exit_code == 3
    assert result.update.stderr_tail == ("Set-DnsServerResourceRecord: Access is denied.",
                                         "At line:1 char:1")
    assert result.update.stdout_tail == ("connecting to dns.example.com",)


async def test_a_command_that_hangs_is_killed_and_unknown(named, tmp_path):
    hang = script(tmp_path, "hang.py", "import time\nprint('working', flush=True)\ntime.sleep(60)")
    cfg = command_config(named, [sys.executable, hang], timeout="500ms")
    update = await make_backend(cfg).update(("10.0.0.1",), "10.0.0.2")
    assert update.outcome == "unknown" and update.exit_code is None
    assert "did not finish within 0.5s" in update.text and update.stdout_tail == ("working",)


async def test_a_missing_program_fails_before_anything_ran(named, tmp_path):
    cfg = command_config(named, [str(tmp_path / "no-such-program")])
    update = await make_backend(cfg).update(("10.0.0.1",), "10.0.0.2")
    assert update.outcome == "failed" and not update.sent
    assert "cannot run" in update.text


# --- the pasteable recipe and the secret ------------------------------------------------

async def test_the_nsupdate_recipe_makes_the_same_guarded_change(named):
    nsupdate = shutil.which("nsupdate")
    if nsupdate is None:
        pytest.skip("nsupdate is not installed")
    cfg = dns_config(named)
    recipe = make_backend(cfg).recipe(("10.0.0.1",), "10.0.0.2")
    assert named.secret not in recipe
    run = subprocess.run(["bash", "-c", recipe], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert named.record() == (("10.0.0.2",), 60)
    again = subprocess.run(["bash", "-c", recipe], capture_output=True, text=True, timeout=60)
    assert "NXRRSET" in again.stdout + again.stderr  # the prerequisite guards the recipe too


async def test_the_tsig_secret_never_appears_in_results_reprs_or_logs(named, caplog,
                                                                       monkeypatch):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("D42_TSIG", named.secret)
    wrong = "QUFB" + named.secret[4:]
    by_env = dns_config(named, secret_file=None, secret_env="D42_TSIG")
    literal = dns_config(named, secret_file=None, secret=named.secret)
    bad = dns_config(named, secret_file=None, secret=wrong)
    not_base64 = dns_config(named, secret_file=None, secret="not base64!")
    seen: list[object] = [by_env, literal, bad, make_backend(literal),
                          Rfc2136Updater(literal)._key()]
    seen.append(await switch(by_env, "d42-b", pair="p1"))
    seen.append(await switch(literal, "d42-a", pair="p1"))
    seen.append(await switch(bad, "d42-b", pair="p1"))
    seen.append(await switch(not_base64, "d42-b", pair="p1"))
    named.set_record("10.0.0.7")
    seen.append(await make_backend(by_env).update(("10.0.0.1",), "10.0.0.2"))
    results = [r for r in seen if isinstance(r, (DnsSwitchResult, DnsUpdateResult))]
    assert [r.outcome for r in results] == [
        "done", "done", "refused", "failed", "prerequisite-failed"]
    assert "is not base64" in results[3].text
    texts = [repr(x) for x in seen] + [str(x) for x in seen]
    texts += [r.retry_command for r in results if isinstance(r, DnsSwitchResult)]
    texts += [rec.getMessage() for rec in caplog.records]
    texts += [repr(rec.args) for rec in caplog.records]
    assert caplog.records, "the switch logs what it does"
    for secret in (named.secret, wrong):
        assert not [t for t in texts if secret in t]
