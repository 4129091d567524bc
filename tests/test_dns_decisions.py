"""The pure DNS decisions: reading a response, judging a switch, the pasteable recipes."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from d42tui.dns import DnsConfig, DnsUpdateResult, dns_mismatch, dns_summary, resolve_target
from d42tui.dns.command import CommandUpdater, tail_lines
from d42tui.dns.lookup import DnsAnswer, ServerAnswer, classify_response, combine
from d42tui.dns.rfc2136 import build_update, classify_rcode, nsupdate_recipe
from d42tui.dns.switchover import after_update, decide_start, judge_verification, retry_command

NAME = "d42.example.com"


def config(rtype: str = "A", **backend: object) -> DnsConfig:
    targets = {"A": {"d42-a": "192.0.2.10", "d42-b": "192.0.2.20"},
               "AAAA": {"d42-a": "2001:db8::10", "d42-b": "2001:db8::20"},
               "CNAME": {"d42-a": "a.example.com", "d42-b": "b.example.com"}}[rtype]
    return DnsConfig.model_validate({
        "name": NAME, "type": rtype, "targets": targets,
        "servers": ["192.0.2.53", "192.0.2.54:5353"],
        "backend": backend or {"kind": "rfc2136", "key_name": "d42key", "secret_env": "D42_TSIG",
                               "zone": "example.com"}})


def response(rcode: int = dns.rcode.NOERROR, aa: bool = True, *records: str,
             rtype: str = "A") -> dns.message.Message:
    reply = dns.message.make_response(dns.message.make_query(NAME, rtype))
    reply.set_rcode(rcode)
    if aa:
        reply.flags |= dns.flags.AA
    for record in records:
        owner, ttl, kind, *values = record.split()
        reply.answer.append(dns.rrset.from_text(owner, int(ttl), "IN", kind, *values))
    return reply


def answer(*per_server: ServerAnswer) -> DnsAnswer:
    return combine(NAME, "A", per_server)


def ok(server: str, *values: str) -> ServerAnswer:
    return ServerAnswer(server, tuple(sorted(values)), 60)


def silent(server: str) -> ServerAnswer:
    return ServerAnswer(server, error="timeout", error_text="no answer within 3s")


# --- reading one response -----------------------------------------------------------------

def test_an_authoritative_answer_gives_sorted_normalised_values_and_ttl():
    got = classify_response("ns1", response(dns.rcode.NOERROR, True,
                                            f"{NAME}. 30 A 192.0.2.20 192.0.2.10"), NAME, "A")
    assert (got.values, got.ttl, got.error) == (("192.0.2.10", "192.0.2.20"), 30, None)
    cname = classify_response("ns1", response(dns.rcode.NOERROR, True,
                                              f"{NAME}. 60 CNAME A.Example.com.", rtype="CNAME"),
                              NAME, "CNAME")
    assert cname.values == ("a.example.com",)


@pytest.mark.parametrize("rcode, aa, records, kind, text", [
    (dns.rcode.NXDOMAIN, True, (), "nxdomain", "NXDOMAIN: d42.example.com does not exist"),
    (dns.rcode.NOERROR, True, (), "nodata", "d42.example.com has no A record"),
    (dns.rcode.REFUSED, False, (), "refused", "query refused"),
    (dns.rcode.SERVFAIL, False, (), "servfail", "SERVFAIL"),
    (dns.rcode.NOTAUTH, False, (), "notauth", "NOTAUTH"),
    (dns.rcode.NOERROR, False, (f"{NAME}. 60 A 192.0.2.10",), "not-authoritative",
     "not authoritative"),
    (dns.rcode.NOERROR, True, (f"{NAME}. 60 CNAME other.example.com.",), "cname",
     "is a CNAME to other.example.com, not an A record"),
    (dns.rcode.FORMERR, False, (), "bad-response", "answered FORMERR"),
])
def test_every_unusable_response_has_a_kind_and_a_sentence(rcode, aa, records, kind, text):
    got = classify_response("ns1", response(rcode, aa, *records), NAME, "A")
    assert got.error == kind and text in got.error_text and got.values == ()
    assert got.answered == (kind in ("nxdomain", "nodata"))


# --- combining servers and the board's warning ---------------------------------------------

def test_servers_that_agree_give_one_clean_answer():
    both = answer(ok("ns1", "192.0.2.10"), ok("ns2", "192.0.2.10"))
    assert both.values == ("192.0.2.10",) and both.error is None and both.consistent
    assert both.all_answer(("192.0.2.10",)) and not both.all_answer(("192.0.2.20",))


def test_servers_that_disagree_are_a_mismatch_even_if_the_first_is_right():
    cfg = config()
    split = answer(ok("ns1", "192.0.2.10"), ok("ns2", "192.0.2.20"))
    assert split.error == "inconsistent" and not split.consistent
    assert dns_mismatch(cfg, split, "d42-a").text == (
        "DNS MISMATCH: servers disagree: ns1: 192.0.2.10 (TTL 60); ns2: 192.0.2.20 (TTL 60); "
        "production is d42-a (192.0.2.10)")


def test_no_server_answering_is_unknown_not_a_pointer_to_nothing():
    cfg = config()
    none = answer(silent("ns1"), silent("ns2"))
    assert not none.answered and none.error == "timeout"
    assert dns_mismatch(cfg, none, "d42-a").text == (
        "DNS UNKNOWN: cannot tell where d42.example.com A points: "
        "ns1: no answer within 3s; ns2: no answer within 3s")
    assert dns_mismatch(cfg, none, "d42-a").kind.value == "DNS UNKNOWN"
    assert dns_summary(cfg, none).startswith("d42.example.com A: no answer (ns1: no answer")


def test_the_mismatch_warning_names_what_dns_points_at_and_what_production_is():
    cfg = config()
    standby = answer(ok("ns1", "192.0.2.20"))
    assert dns_mismatch(cfg, standby, "d42-a").text == (
        "DNS MISMATCH: d42.example.com A points at d42-b (192.0.2.20), not production; "
        "production is d42-a (192.0.2.10)")
    assert dns_mismatch(cfg, standby, None).text == (
        "DNS MISMATCH: d42.example.com A points at d42-b (192.0.2.20), not production; "
        "no appliance is production")
    two = answer(ok("ns1", "192.0.2.10", "192.0.2.20"))
    assert "points at 192.0.2.10, 192.0.2.20, which is no appliance" in dns_mismatch(
        cfg, two, "d42-a").text
    assert dns_mismatch(cfg, answer(ok("ns1", "192.0.2.10")), "d42-c").text == (
        "DNS: no target is configured for production appliance d42-c")


# --- starting, settling and verifying a switch -------------------------------------------

def test_what_decides_whether_an_update_is_sent():
    now = answer(ok("ns1", "192.0.2.10"))
    assert decide_start(now, "192.0.2.20", None) == ("update", None, "")
    assert decide_start(now, "192.0.2.20", ("192.0.2.10",))[0] == "update"
    assert decide_start(now, "192.0.2.10", None)[0] == "already"
    stop = decide_start(now, "192.0.2.20", ("192.0.2.30",))
    assert stop[:2] == ("stop", "refused") and "nothing was sent" in stop[2]
    unreadable = decide_start(answer(silent("ns1")), "192.0.2.20", None)
    assert unreadable[:2] == ("stop", "failed")


@pytest.mark.parametrize("update_outcome, settled", [
    ("done", None), ("unknown", None), ("refused", "refused"),
    ("prerequisite-failed", "failed"), ("failed", "failed"),
])
def test_what_an_update_result_settles(update_outcome, settled):
    assert after_update(DnsUpdateResult(update_outcome, "", True)) == settled


def test_verification_outcomes():
    new = "192.0.2.20"
    all_new = answer(ok("ns1", new), ok("ns2", new))
    assert judge_verification(all_new, new, "done", 2)[0] == "done"
    assert "reply was lost" in judge_verification(all_new, new, "unknown", 2)[1]
    lagging = answer(ok("ns1", new), ok("ns2", "192.0.2.10"))
    outcome, text = judge_verification(lagging, new, "done", 30)
    assert outcome == "unknown" and text.startswith("1 of 2 server(s) answer 192.0.2.20 after 30s")
    stale = answer(ok("ns1", "192.0.2.10"), ok("ns2", "192.0.2.10"))
    assert judge_verification(stale, new, "done", 30)[0] == "failed"
    assert judge_verification(stale, new, "unknown", 30)[0] == "unknown"
    nobody = answer(silent("ns1"), silent("ns2"))
    assert judge_verification(nobody, new, "done", 30)[0] == "unknown"


def test_a_target_is_an_appliance_name_or_a_value_of_the_right_type():
    cfg = config()
    assert resolve_target(cfg, "d42-b") == "192.0.2.20"
    assert resolve_target(cfg, "198.51.100.7") == "198.51.100.7"
    with pytest.raises(ValueError, match="neither an appliance .d42-a, d42-b. nor a usable A"):
        resolve_target(cfg, "2001:db8::1")


# --- rfc2136 messages and recipes ---------------------------------------------------------

@pytest.mark.parametrize("rcode, outcome", [
    (dns.rcode.NOERROR, "done"), (dns.rcode.NXRRSET, "prerequisite-failed"),
    (dns.rcode.YXRRSET, "prerequisite-failed"), (dns.rcode.REFUSED, "refused"),
    (dns.rcode.NOTAUTH, "refused"), (dns.rcode.NOTZONE, "failed"), (dns.rcode.SERVFAIL, "failed"),
])
def test_update_response_codes(rcode, outcome):
    assert classify_rcode(rcode, "example.com")[0] == outcome


def test_the_update_replaces_the_rrset_only_if_it_still_holds_the_old_values():
    def on_the_wire(old: tuple[str, ...]) -> str:
        message = build_update(config("CNAME"), "example.com", old, "b.example.com", None)
        return dns.message.from_wire(message.to_wire()).to_text()

    text = on_the_wire(("a.example.com",))
    assert "d42.example.com. 0 IN CNAME a.example.com." in text  # prerequisite: value-dependent
    assert "\nd42.example.com. ANY CNAME\n" in text  # delete the rrset
    assert "d42.example.com. 60 IN CNAME b.example.com." in text
    assert "PREREQ\nd42.example.com. NONE CNAME\n" in on_the_wire(())  # no such rrset


def test_the_nsupdate_recipe_names_where_the_secret_is_but_never_holds_it():
    by_env = nsupdate_recipe(config(), ("192.0.2.10",), "192.0.2.20")
    assert by_env.splitlines()[0] == (
        "nsupdate -v -k <(printf 'key \"d42key\" { algorithm hmac-sha256; secret \"%s\"; };\\n' "
        "\"$D42_TSIG\") <<'EOF'")
    assert by_env.splitlines()[1:] == [
        "server 192.0.2.53 53", "zone example.com",
        "prereq yxrrset d42.example.com. A 192.0.2.10",
        "update delete d42.example.com. A", "update add d42.example.com. 60 A 192.0.2.20",
        "send", "answer", "EOF"]
    inline = config(kind="rfc2136", key_name="d42key", secret="c2VjcmV0", server="192.0.2.99")
    recipe = nsupdate_recipe(inline, (), "192.0.2.20")
    assert "c2VjcmV0" not in recipe and "-k d42key.key" in recipe
    assert "server 192.0.2.99 53" in recipe and "prereq nxrrset d42.example.com. A" in recipe


def test_the_retry_command_starts_with_the_console_command():
    text = retry_command(config(), "eu", "d42-b", "nsupdate ...")
    assert text.splitlines() == ["d42tui dns set --pair eu --to d42-b --ttl 60 --yes",
                                 "# or by hand (bash):", "nsupdate ..."]


# --- the command backend's invocation -----------------------------------------------------

def test_the_command_invocation_and_recipe():
    cfg = config(kind="command", argv=["/usr/local/bin/set-dns", "--zone", "example.com"])
    updater = CommandUpdater(cfg)
    argv, env = updater.invocation(("192.0.2.10", "192.0.2.11"), "192.0.2.20")
    assert argv == ["/usr/local/bin/set-dns", "--zone", "example.com", NAME, "A",
                    "192.0.2.10,192.0.2.11", "192.0.2.20", "60"]
    assert env["D42_DNS_OLD"] == "192.0.2.10,192.0.2.11"
    assert updater.recipe((), "192.0.2.20") == (
        "D42_DNS_NAME=d42.example.com D42_DNS_TYPE=A D42_DNS_OLD='' D42_DNS_NEW=192.0.2.20 "
        "D42_DNS_TTL=60 /usr/local/bin/set-dns --zone example.com d42.example.com A '' "
        "192.0.2.20 60")


def test_command_output_is_trimmed_and_cannot_drive_the_terminal():
    data = b"".join(b"line %d\n" % i for i in range(30)) + b"\x1b[2Jcleared\n\n"
    lines = tail_lines(data)
    assert len(lines) == 10 and lines[-1] == "?[2Jcleared" and lines[0] == "line 21"
