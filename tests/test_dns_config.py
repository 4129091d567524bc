"""The `dns:` section: what an operator writes, what the loader says when it is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from d42tui.config.models import ConfigError, parse_config
from d42tui.dns import DnsConfig, Endpoint, check_targets, dns_warnings
from d42tui.dns.config import parse_endpoint

SECRET = "c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1zaG93LXVwLTEyMzQ="

PAIR = """
pairs:
- name: p1
  production: d42-a
  appliances:
  - {name: d42-a, url: https://a.example.com}
  - {name: d42-b, url: https://b.example.com}
  dns:
"""

GOOD = """\
    name: d42.example.com
    type: A
    ttl: 60
    targets: {d42-a: 192.0.2.10, d42-b: 192.0.2.20}
    servers: ["127.0.0.1:5353"]
    verify_timeout: 30s
    backend:
      kind: rfc2136
      server: 127.0.0.1:5353
      zone: example.com
      key_name: d42key
      algorithm: hmac-sha256
      secret_env: D42_TSIG
      timeout: 5s
"""


def load(section: str) -> DnsConfig:
    config = parse_config(PAIR + section, Path("d42.yaml"))
    dns = config.pairs[0].dns
    assert dns is not None
    return dns


def errors(section: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(PAIR + section, Path("d42.yaml"))
    return info.value.lines


def section_data(**changes: object) -> dict:
    """GOOD as data, with some keys replaced (None removes a key)."""
    data = {**yaml.safe_load(GOOD), **changes}
    return {k: v for k, v in data.items() if v is not None}


def section(**changes: object) -> str:
    """GOOD as YAML text, with some keys replaced (None removes a key)."""
    data = section_data(**changes)
    return "\n".join("    " + line for line in yaml.safe_dump(data).splitlines()) + "\n"


def test_the_documented_example_loads_with_its_values():
    dns = load(GOOD)
    assert dns.name == "d42.example.com" and dns.type == "A" and dns.ttl == 60
    assert dns.targets == {"d42-a": "192.0.2.10", "d42-b": "192.0.2.20"}
    assert dns.endpoints == (Endpoint("127.0.0.1", 5353),)
    assert dns.update_endpoint == Endpoint("127.0.0.1", 5353)
    assert dns.verify_timeout == 30 and dns.backend.kind == "rfc2136"
    assert dns.backend.timeout == 5
    assert dns_warnings(dns) == []


def test_the_command_backend_loads():
    dns = load(section(backend={"kind": "command", "argv": ["/usr/local/bin/set-dns", "-v"],
                                "timeout": "30s"}))
    assert dns.backend.kind == "command" and dns.backend.argv == ["/usr/local/bin/set-dns", "-v"]


def test_values_are_normalised_so_answers_compare_as_strings():
    six = load(section(type="AAAA", targets={"d42-a": "2001:DB8:0:0::10", "d42-b": "2001:db8::20"}))
    assert six.targets["d42-a"] == "2001:db8::10"
    cname = load(section(name="D42.Example.COM.", type="CNAME",
                         targets={"d42-a": "A.example.com.", "d42-b": "b.example.com"}))
    assert cname.name == "d42.example.com"
    assert cname.targets == {"d42-a": "a.example.com", "d42-b": "b.example.com"}


@pytest.mark.parametrize("rtype, value, says", [
    ("A", "2001:db8::1", "is an IPv6 address; use type AAAA"),
    ("A", "192.0.2.300", "is not an IPv4 address"),
    ("A", "d42-a.example.com", "is not an IPv4 address"),
    ("AAAA", "192.0.2.10", "is an IPv4 address; use type A"),
    ("AAAA", "fe80::zz", "is not an IPv6 address"),
    ("CNAME", "192.0.2.10", "a CNAME points at a host name"),
    ("CNAME", "bad_host..example", "is not a fully qualified host name"),
])
def test_a_target_that_does_not_fit_the_type_is_named_with_its_appliance(rtype, value, says):
    lines = errors(section(type=rtype, targets={"d42-a": value, "d42-b": "x.example.com"}))
    line = next(line for line in lines if "dns.targets" in line)
    assert line.startswith("d42.yaml: pairs[0].dns.targets: d42-a: ")
    assert says in line


def test_an_unquoted_ipv6_address_that_yaml_read_as_a_number_asks_for_quotes():
    # YAML 1.1 reads 2001:0:0:1 as a base-60 integer
    text = GOOD.replace("type: A", "type: AAAA").replace(
        "{d42-a: 192.0.2.10, d42-b: 192.0.2.20}", "{d42-a: 2001:0:0:1, d42-b: '2001:db8::2'}")
    assert "quote the address" in "\n".join(errors(text))


def test_two_appliances_with_the_same_target_are_refused():
    lines = errors(section(targets={"d42-a": "192.0.2.10", "d42-b": "192.0.2.10"}))
    assert lines == ["d42.yaml: pairs[0].dns.targets: d42-a and d42-b both have 192.0.2.10: "
                     "the board could not tell which appliance DNS points at"]


@pytest.mark.parametrize("changes, where, says", [
    ({"ttl": 0}, "dns.ttl", "between 1 and 86400"),
    ({"ttl": 100000}, "dns.ttl", "between 1 and 86400"),
    ({"name": "d42"}, "dns.name", "not a fully qualified host name"),
    ({"name": "-d42.example.com"}, "dns.name", "not a fully qualified host name"),
    ({"type": "MX"}, "dns.type", "'A', 'AAAA' or 'CNAME'"),
    ({"servers": []}, "dns.servers", "at least 1"),
    ({"servers": ["127.0.0.1:99999"]}, "dns.servers", "[0]: '127.0.0.1:99999' has an invalid port"),
    ({"servers": ["ns1"]}, "dns.servers", "neither an IP address nor a fully qualified"),
    ({"verify_timeout": "0s"}, "dns.verify_timeout", "between 1s and 600s"),
    ({"verify_timeout": "soon"}, "dns.verify_timeout", "is not a duration"),
    ({"targets": {}}, "dns.targets", "at least 1"),
    ({"name": None}, "dns.name", "required key is missing"),
    ({"colour": "blue"}, "dns.colour", "unknown key"),
])
def test_each_mistake_is_reported_at_its_key(changes, where, says):
    lines = errors(section(**changes))
    assert any(f"pairs[0].{where}: " in line and says in line for line in lines), lines


BACKEND = {"kind": "rfc2136", "key_name": "d42key", "secret_env": "D42_TSIG"}


@pytest.mark.parametrize("backend, where, says", [
    ({**BACKEND, "key_nmae": "k"}, "dns.backend.key_nmae", "unknown key (a typo?)"),
    ({"key_name": "k", "secret_env": "X"}, "dns.backend.kind", "required key is missing"),
    ({**BACKEND, "kind": "powershell"}, "dns.backend.kind",
     "'powershell' is not a backend kind (rfc2136 or command)"),
    ({**BACKEND, "algorithm": "hmac-sha3"}, "dns.backend.algorithm", "hmac-sha256"),
    ({**BACKEND, "secret_file": "/k"}, "dns.backend.secret_file",
     "give only one of secret_env, secret_file"),
    ({"kind": "rfc2136", "key_name": "d42key"}, "dns.backend.secret", "needs its secret"),
    ({"kind": "rfc2136", "secret_env": "X"}, "dns.backend.key_name", "no key_name"),
    ({**BACKEND, "timeout": "10m"}, "dns.backend.timeout", "between 0.1s and 300s"),
    ({**BACKEND, "server": "127.0.0.1:0"}, "dns.backend.server", "invalid port"),
    ({"kind": "command"}, "dns.backend.argv", "required key is missing"),
    ({"kind": "command", "argv": []}, "dns.backend.argv", "name the program to run"),
    ({"kind": "command", "argv": ["set-dns", ""]}, "dns.backend.argv", "non-empty string"),
    ({"kind": "command", "argv": ["x"], "key_name": "k"}, "dns.backend.key_name", "unknown key"),
])
def test_backend_errors_name_the_backend_key_without_the_union_tag(backend, where, says):
    lines = errors(section(backend=backend))
    assert any(f"pairs[0].{where}: " in line and says in line for line in lines), lines
    assert not any(".rfc2136." in line or ".command." in line for line in lines)


def test_the_tsig_secret_never_appears_in_a_repr_or_an_error():
    dns = load(section(backend={"kind": "rfc2136", "key_name": "d42key", "secret": SECRET}))
    assert SECRET not in repr(dns) and SECRET not in str(dns)
    assert SECRET not in dns.model_dump_json()
    assert dns.backend.tsig_secret().value() == SECRET
    assert any("secret is written in the config file" in w for w in dns_warnings(dns))
    bad_inputs = [
        {"kind": "rfc2136", "key_name": "d42key", "secert": SECRET},  # a typo'd key
        {"kind": "rfc2137", "key_name": "d42key", "secret": SECRET},  # a wrong kind
        {"kind": "rfc2136", "secret": SECRET},  # no key name
        {"kind": "rfc2136", "key_name": "d42key", "secret": SECRET, "timeout": "x"},
    ]
    for backend in bad_inputs:
        text = "\n".join(errors(section(backend=backend)))
        assert SECRET not in text
        with pytest.raises(ValidationError) as info:
            DnsConfig.model_validate(section_data(backend=backend))
        assert SECRET not in str(info.value) and SECRET not in repr(info.value)
        assert SECRET not in repr(info.value.errors())


def test_warnings_for_long_ttl_unsigned_updates_and_weak_algorithms():
    long_ttl = load(section(ttl=3600))
    assert dns_warnings(long_ttl) == [
        "ttl: 3600s: after a failover, clients may keep the old address that long"]
    unsigned = load(section(backend={"kind": "rfc2136"}))
    assert "unsigned" in dns_warnings(unsigned)[0]
    md5 = load(section(backend={**BACKEND, "algorithm": "hmac-md5"}))
    assert "weak" in dns_warnings(md5)[0]


def test_targets_must_name_the_pairs_appliances():
    assert errors(section(targets={"d42-a": "192.0.2.10", "d42-c": "192.0.2.30"})) == [
        "d42.yaml: pairs[0].dns.targets: d42-c is not one of this pair's appliances "
        "(d42-a, d42-b)"]
    assert check_targets(load(GOOD), ["d42-a", "d42-b"]) is None


@pytest.mark.parametrize("text, host, port, shown", [
    ("192.0.2.53", "192.0.2.53", 53, "192.0.2.53"),
    ("192.0.2.53:5353", "192.0.2.53", 5353, "192.0.2.53:5353"),
    ("NS1.Example.com", "ns1.example.com", 53, "ns1.example.com"),
    ("2001:db8::53", "2001:db8::53", 53, "[2001:db8::53]"),
    ("[2001:db8::53]:5353", "2001:db8::53", 5353, "[2001:db8::53]:5353"),
    ("localhost:5353", "localhost", 5353, "localhost:5353"),
])
def test_servers_are_host_or_host_port(text, host, port, shown):
    endpoint = parse_endpoint(text)
    assert (endpoint.host, endpoint.port, str(endpoint)) == (host, port, shown)
