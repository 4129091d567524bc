"""Ask the authoritative servers directly what the service name points at, and judge it.

No recursion, no cache; every way of not getting an answer is an error kind for the board.
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Literal

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from .config import DnsConfig, Endpoint, normalize_value

ErrorKind = Literal[
    "timeout", "unreachable", "network", "unresolvable",  # nothing came back
    "refused", "servfail", "notauth", "not-authoritative", "bad-response",  # no usable answer
    "nxdomain", "nodata", "cname",  # an authoritative answer without the record
    "inconsistent",  # only on DnsAnswer: the servers disagree
]
_EMPTY_ANSWERS = ("nxdomain", "nodata")


@dataclass(frozen=True)
class ServerAnswer:
    """What one authoritative server said, or why it said nothing usable."""

    server: str  # as configured, host[:port]
    values: tuple[str, ...] = ()  # normalised and sorted
    ttl: int | None = None
    error: ErrorKind | None = None
    error_text: str = ""
    latency: float | None = None  # seconds

    @property
    def answered(self) -> bool:
        """An authoritative answer, possibly that the record does not exist."""
        return self.error is None or self.error in _EMPTY_ANSWERS

    def describe(self) -> str:
        if self.error is None:
            return f"{self.server}: {', '.join(self.values)} (TTL {self.ttl})"
        return f"{self.server}: {self.error_text or self.error}"


@dataclass(frozen=True)
class DnsAnswer:
    """The service name as the authoritative servers see it right now."""

    name: str
    type: str
    values: tuple[str, ...]  # from the first server that answered; () if none did or no record
    ttl: int | None
    servers: tuple[ServerAnswer, ...]
    error: ErrorKind | None = None
    error_text: str = ""

    @property
    def answered(self) -> bool:
        return any(s.answered for s in self.servers)

    @property
    def consistent(self) -> bool:
        """Every server answered, and all gave the same values."""
        return all(s.answered for s in self.servers) and len({s.values for s in self.servers}) == 1

    def all_answer(self, values: tuple[str, ...]) -> bool:
        return bool(self.servers) and all(s.answered and s.values == values for s in self.servers)


def classify_response(server: str, response: dns.message.Message, name: str, rtype: str,
                      latency: float | None = None) -> ServerAnswer:
    """Turn one response into a ServerAnswer (pure: no I/O)."""
    rcode = response.rcode()
    authoritative = bool(response.flags & dns.flags.AA)

    def fail(kind: ErrorKind, text: str) -> ServerAnswer:
        return ServerAnswer(server, error=kind, error_text=text, latency=latency)

    if rcode == dns.rcode.REFUSED:
        return fail("refused", "query refused (the server is not authoritative for the zone, "
                               "or an ACL keeps the console out)")
    if rcode == dns.rcode.SERVFAIL:
        return fail("servfail", "SERVFAIL (the server could not load or serve the zone)")
    if rcode == dns.rcode.NOTAUTH:
        return fail("notauth", "NOTAUTH (the server is not authoritative for the zone)")
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return fail("bad-response", f"answered {dns.rcode.to_text(rcode)}")
    if not authoritative:
        return fail("not-authoritative", f"not authoritative for {name} (a referral or a cache)")
    if rcode == dns.rcode.NXDOMAIN:
        return fail("nxdomain", f"NXDOMAIN: {name} does not exist")
    qname = dns.name.from_text(name)
    wanted = dns.rdatatype.from_text(rtype)
    for rrset in response.answer:
        if rrset.name == qname and rrset.rdtype == wanted:
            values = tuple(sorted({_canonical(rtype, rdata.to_text()) for rdata in rrset}))
            return ServerAnswer(server, values, rrset.ttl, latency=latency)
    for rrset in response.answer:
        if rrset.name == qname and rrset.rdtype == dns.rdatatype.CNAME:
            target = _canonical("CNAME", rrset[0].to_text())
            return fail("cname", f"{name} is a CNAME to {target}, not an {rtype} record")
    return fail("nodata", f"{name} has no {rtype} record")


def _canonical(rtype: str, text: str) -> str:
    try:
        return normalize_value(rtype, text)
    except ValueError:
        return text.lower().removesuffix(".")  # odd data is still shown, it just matches nothing


def combine(name: str, rtype: str, answers: tuple[ServerAnswer, ...]) -> DnsAnswer:
    """One verdict from the per-server answers (pure)."""
    answered = [a for a in answers if a.answered]
    if not answered:
        first = answers[0] if answers else None
        text = "; ".join(a.describe() for a in answers) or "no server configured"
        return DnsAnswer(name, rtype, (), None, answers, first.error if first else "unreachable",
                         text)
    lead = answered[0]
    if len({a.values for a in answered}) > 1:
        text = "servers disagree: " + "; ".join(a.describe() for a in answered)
        return DnsAnswer(name, rtype, lead.values, lead.ttl, answers, "inconsistent", text)
    silent = [a for a in answers if not a.answered]
    silent_text = "; ".join(a.describe() for a in silent)
    if lead.error is not None:  # nxdomain / nodata, agreed by every server that answered
        text = f"{lead.error_text}; {silent_text}" if silent else lead.error_text
        return DnsAnswer(name, rtype, (), None, answers, lead.error, text)
    if silent:  # the answer stands, but not every server confirmed it
        return DnsAnswer(name, rtype, lead.values, lead.ttl, answers, silent[0].error, silent_text)
    return DnsAnswer(name, rtype, lead.values, lead.ttl, answers)


async def resolve_endpoint(endpoint: Endpoint) -> str:
    """The IP address to send to (the first one, when the server is given by name)."""
    try:
        ipaddress.ip_address(endpoint.host)
        return endpoint.host
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(endpoint.host, endpoint.port,
                                                         type=socket.SOCK_DGRAM)
    return str(infos[0][4][0])


async def ask(endpoint: Endpoint, name: str, rtype: str, timeout: float) -> ServerAnswer:
    """Ask one server, without recursion; never raises for a network or DNS problem."""
    server = str(endpoint)
    try:
        where = await asyncio.wait_for(resolve_endpoint(endpoint), timeout)
    except (TimeoutError, OSError, IndexError):
        return ServerAnswer(server, error="unresolvable",
                            error_text=f"cannot resolve the server name {endpoint.host}")
    query = dns.message.make_query(name, rtype)
    query.flags &= ~dns.flags.RD
    started = time.monotonic()
    try:
        response, _ = await dns.asyncquery.udp_with_fallback(query, where, timeout=timeout,
                                                             port=endpoint.port)
    except dns.exception.Timeout:
        return ServerAnswer(server, error="timeout", error_text=f"no answer within {timeout:g}s")
    except ConnectionRefusedError:
        return ServerAnswer(server, error="unreachable",
                            error_text=f"nothing listens on port {endpoint.port} (refused)")
    except OSError as exc:
        return ServerAnswer(server, error="network", error_text=f"network error: {exc.strerror}")
    except (dns.exception.DNSException, EOFError) as exc:
        return ServerAnswer(server, error="bad-response",
                            error_text=f"unreadable answer: {exc.__class__.__name__}")
    return classify_response(server, response, name, rtype, time.monotonic() - started)


async def query(cfg: DnsConfig, *, endpoints: tuple[Endpoint, ...] | None = None) -> DnsAnswer:
    """Ask every configured authoritative server (or `endpoints`) at once."""
    targets = endpoints if endpoints is not None else cfg.endpoints
    answers = await asyncio.gather(*(ask(e, cfg.name, cfg.type, cfg.query_timeout)
                                     for e in targets))
    return combine(cfg.name, cfg.type, tuple(answers))


def which_appliance(cfg: DnsConfig, values: tuple[str, ...]) -> str | None:
    """The appliance the record points at; None for nothing, several values or a stranger."""
    if len(values) != 1:
        return None
    return cfg.appliance_of(_canonical(cfg.type, values[0]))


def _target_text(cfg: DnsConfig, appliance: str) -> str:
    target = cfg.targets.get(appliance)
    return f"{appliance} ({target})" if target else appliance


class DnsProblemKind(str, enum.Enum):
    """What is wrong with the service name, as a headline says it."""

    MISMATCH = "DNS MISMATCH"  # clients do not reach production: critical
    UNKNOWN = "DNS UNKNOWN"  # no authoritative server answers: nobody can tell
    WARNING = "DNS WARNING"  # a partial answer, no target configured for production

    @property
    def level(self) -> str:
        return "critical" if self is DnsProblemKind.MISMATCH else "warning"


@dataclass(frozen=True)
class DnsProblem:
    kind: DnsProblemKind
    text: str  # the whole sentence, for the board, `check` and the timeline

    @property
    def level(self) -> str:
        return self.kind.level

    @property
    def label(self) -> str:
        return self.kind.value

    @property
    def misdirects(self) -> bool:
        """Clients reach something other than production."""
        return self.kind is DnsProblemKind.MISMATCH

    def __str__(self) -> str:
        return self.text


def dns_mismatch(cfg: DnsConfig, answer: DnsAnswer,
                 production_name: str | None) -> DnsProblem | None:
    """What is wrong with the service name, or None when every server points at production."""
    name = f"{cfg.name} {cfg.type}"
    mismatch, unknown, warning = (DnsProblemKind.MISMATCH, DnsProblemKind.UNKNOWN,
                                  DnsProblemKind.WARNING)
    if not answer.answered:
        return DnsProblem(unknown, f"DNS UNKNOWN: cannot tell where {name} points: "
                                   f"{answer.error_text}")
    if production_name is not None and production_name not in cfg.targets:
        return DnsProblem(warning, f"DNS: no target is configured for production appliance "
                                   f"{production_name}")
    want = f"production is {_target_text(cfg, production_name)}" if production_name else (
        "no appliance is production")
    if answer.error == "inconsistent":
        return DnsProblem(mismatch, f"DNS MISMATCH: {answer.error_text}; {want}")
    if not answer.values:
        return DnsProblem(mismatch, f"DNS MISMATCH: {name} points at nothing "
                                    f"({answer.error_text}); {want}")
    appliance = which_appliance(cfg, answer.values)
    shown = ", ".join(answer.values)
    if appliance is None:
        return DnsProblem(mismatch, f"DNS MISMATCH: {name} points at {shown}, which is no "
                                    f"appliance of this pair; {want}")
    if appliance != production_name:
        return DnsProblem(mismatch, f"DNS MISMATCH: {name} points at {appliance} ({shown}), "
                                    f"not production; {want}")
    if answer.error is not None:  # some servers said nothing; those that did point right
        return DnsProblem(warning, f"DNS: {answer.error_text}; the servers that answered "
                                   "point at production")
    return None


def dns_summary(cfg: DnsConfig, answer: DnsAnswer) -> str:
    """One line for the board or `status`: name, current answer, TTL and whose it is."""
    if not answer.answered:
        return f"{cfg.name} {cfg.type}: no answer ({answer.error_text})"
    if not answer.values:
        return f"{cfg.name} {cfg.type}: none ({answer.error_text})"
    appliance = which_appliance(cfg, answer.values) or "unknown target"
    line = f"{cfg.name} {cfg.type} {', '.join(answer.values)} → {appliance}, TTL {answer.ttl}"
    return line if answer.error is None else f"{line} ({answer.error_text})"
