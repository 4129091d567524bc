"""RFC 2136 dynamic update over TCP, signed with TSIG and guarded by a prerequisite.

The rrset is replaced only if it still holds what the console last saw (no lost update).
"""

from __future__ import annotations

import base64
import binascii
import logging
import shlex
import socket
import time

import dns.asyncbackend
import dns.asyncquery
import dns.exception
import dns.flags
import dns.inet
import dns.message
import dns.name
import dns.rcode
import dns.rdataset
import dns.rdatatype
import dns.tsig
import dns.update

from ..config.secrets import SecretError
from .backend import DnsUpdateResult, UpdateOutcome
from .config import DnsConfig, Endpoint, Rfc2136Backend
from .lookup import ask, resolve_endpoint

log = logging.getLogger("d42tui.dns")

_PREREQUISITE_RCODES = (dns.rcode.NXRRSET, dns.rcode.YXRRSET, dns.rcode.NXDOMAIN,
                        dns.rcode.YXDOMAIN)


class _RedactedKey(dns.tsig.Key):
    """dnspython's Key puts the secret in its repr; this one never does (tracebacks, logs)."""

    def __repr__(self) -> str:
        return f"<TSIG key {self.name} {self.algorithm}>"

    __str__ = __repr__


class _KeyProblem(Exception):
    """The TSIG secret could not be read or decoded. The message never holds the value."""


def classify_rcode(rcode: int, zone: str) -> tuple[UpdateOutcome, str]:
    """What an update's response code means for the operator (pure)."""
    name = dns.rcode.to_text(rcode)
    if rcode == dns.rcode.NOERROR:
        return "done", "the server accepted the update"
    if rcode in _PREREQUISITE_RCODES:
        return "prerequisite-failed", f"the prerequisite did not hold ({name})"
    if rcode == dns.rcode.REFUSED:
        return "refused", ("the server refused the update (REFUSED): its update-policy or "
                           "allow-update does not grant this key or address")
    if rcode == dns.rcode.NOTAUTH:
        return "refused", (f"the server is not authoritative for zone {zone}, or does not accept "
                           "the signature (NOTAUTH)")
    if rcode == dns.rcode.NOTZONE:
        return "failed", f"the name is not inside zone {zone} (NOTZONE): check `zone:`"
    return "failed", f"the server answered {name}"


def _tsig_rejection(exc: dns.tsig.PeerError, key_name: str, algorithm: str) -> tuple[str, str]:
    if isinstance(exc, dns.tsig.PeerBadKey):
        return "BADKEY", (f"TSIG key rejected: the server does not know key {key_name} "
                          f"with {algorithm} (BADKEY)")
    if isinstance(exc, dns.tsig.PeerBadSignature):
        return "BADSIG", (f"TSIG key rejected: the signature did not verify, so the secret "
                          f"for key {key_name} is not the server's (BADSIG)")
    if isinstance(exc, dns.tsig.PeerBadTime):
        return "BADTIME", ("TSIG signature rejected: this machine's clock and the server's "
                           "differ too much (BADTIME)")
    return "TSIG", f"TSIG key rejected by the server ({exc.__class__.__name__})"


def _wire_text(rtype: str, value: str) -> str:
    return value + "." if rtype == "CNAME" else value


def build_update(cfg: DnsConfig, zone: str, old_values: tuple[str, ...], new_value: str,
                 key: dns.tsig.Key | None) -> dns.update.UpdateMessage:
    """Replace the rrset with `new_value` only if it still holds `old_values` (pure)."""
    message = dns.update.UpdateMessage(zone)
    if key is not None:
        message.use_tsig(key)
    name = dns.name.from_text(cfg.name)
    if old_values:
        # value-dependent prerequisite (RFC 2136 2.4.2): the whole rrset, compared as a set
        expected = dns.rdataset.from_text("IN", cfg.type, 0,
                                          *(_wire_text(cfg.type, v) for v in old_values))
        message.present(name, expected)
    else:
        message.absent(name, cfg.type)
    message.replace(name, cfg.ttl, cfg.type, _wire_text(cfg.type, new_value))
    return message


async def find_zone(endpoint: Endpoint, name: str, timeout: float) -> str:
    """The zone holding `name`, from the server's SOA answer; the name's parent otherwise.

    Over TCP like the update itself: a closed port fails at once, and a firewall that
    lets only TCP through for updates does not make this wait for a UDP timeout."""
    fallback = name.partition(".")[2]
    try:
        where = await resolve_endpoint(endpoint)
        query = dns.message.make_query(name, "SOA")
        query.flags &= ~dns.flags.RD
        response = await dns.asyncquery.tcp(query, where, timeout=timeout, port=endpoint.port)
    except (OSError, EOFError, IndexError, dns.exception.DNSException):
        return fallback
    for rrset in (*response.answer, *response.authority):
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset.name.to_text(omit_final_dot=True).lower()
    return fallback


class Rfc2136Updater:
    """The `rfc2136` backend: one signed TCP update to the primary per call."""

    kind = "rfc2136"

    def __init__(self, cfg: DnsConfig):
        if not isinstance(cfg.backend, Rfc2136Backend):
            raise TypeError("Rfc2136Updater needs an rfc2136 backend config")
        self.cfg = cfg
        self.settings: Rfc2136Backend = cfg.backend
        self.endpoint = cfg.update_endpoint

    def _key(self) -> dns.tsig.Key | None:
        settings = self.settings
        source = settings.tsig_secret()
        if settings.key_name is None or source is None:
            return None
        try:
            secret = base64.b64decode(source.value().strip(), validate=True)
        except SecretError as exc:
            raise _KeyProblem(f"cannot read the TSIG secret: {exc}") from None
        except (binascii.Error, ValueError):
            raise _KeyProblem(f"the TSIG secret from {source.describe()} is not base64 "
                              "(copy the secret \"...\" value of the tsig-keygen output)") from None
        if not secret:
            raise _KeyProblem(f"the TSIG secret from {source.describe()} is empty")
        return _RedactedKey(settings.key_name, secret, settings.algorithm)

    async def update(self, old_values: tuple[str, ...], new_value: str) -> DnsUpdateResult:
        started = time.monotonic()

        def result(outcome: UpdateOutcome, text: str, sent: bool, rcode: str | None = None,
                   current: tuple[str, ...] | None = None) -> DnsUpdateResult:
            log.info("dns update %s %s -> %s via %s: %s: %s", self.cfg.name,
                     ", ".join(old_values) or "(none)", new_value, self.endpoint, outcome, text)
            return DnsUpdateResult(outcome, text, sent, rcode, current,
                                   elapsed=time.monotonic() - started)

        try:
            key = self._key()
        except _KeyProblem as exc:
            return result("failed", f"{exc}; nothing was sent", False)
        zone = self.settings.zone or await find_zone(self.endpoint, self.cfg.name,
                                                     self.settings.timeout)
        message = build_update(self.cfg, zone, old_values, new_value, key)
        sock = await self._connect()
        if isinstance(sock, str):
            return result("failed", f"{sock}; nothing was sent", False)
        reply = await self._exchange(sock, message)
        if isinstance(reply, tuple):
            outcome, text, rcode_text = reply
            return result(outcome, text, True, rcode_text)
        rcode = reply.rcode()
        outcome, text = classify_rcode(rcode, zone)
        if outcome != "prerequisite-failed":
            return result(outcome, text, True, dns.rcode.to_text(rcode))
        now = await ask(self.endpoint, self.cfg.name, self.cfg.type, self.settings.timeout)
        shown = (", ".join(now.values) or "no record") if now.answered else (
            f"unknown ({now.error_text})")
        saw = ", ".join(old_values) or "no record"
        return result("prerequisite-failed",
                      f"the record was changed behind the console's back: now {shown}, "
                      f"the console saw {saw}; nothing was changed", True,
                      dns.rcode.to_text(rcode), now.values if now.answered else None)

    async def _connect(self) -> dns.asyncbackend.StreamSocket | str:
        """A TCP connection to the primary, or why there is none (nothing sent yet)."""
        timeout = self.settings.timeout
        try:
            where = await resolve_endpoint(self.endpoint)
            backend = dns.asyncbackend.get_default_backend()
            return await backend.make_socket(dns.inet.af_for_address(where), socket.SOCK_STREAM,
                                             0, None, (where, self.endpoint.port), timeout)
        except dns.exception.Timeout:
            return f"could not connect to {self.endpoint} within {timeout:g}s"
        except (OSError, IndexError) as exc:
            reason = getattr(exc, "strerror", None) or exc.__class__.__name__
            return f"could not connect to {self.endpoint}: {reason}"

    async def _exchange(self, sock: dns.asyncbackend.StreamSocket,
                        message: dns.update.UpdateMessage
                        ) -> dns.message.Message | tuple[UpdateOutcome, str, str | None]:
        """Send the update, read the reply; from here on a failure may have applied."""
        timeout = self.settings.timeout
        maybe = "the update may or may not have applied"
        wire = message.to_wire()
        try:
            async with sock:
                expiration = time.time() + timeout
                await dns.asyncquery.send_tcp(sock, wire, expiration)
                reply, _ = await dns.asyncquery.receive_tcp(
                    sock, expiration, keyring=message.keyring, request_mac=message.mac)
        except dns.tsig.PeerError as exc:
            rcode, text = _tsig_rejection(exc, self.settings.key_name or "?",
                                          self.settings.algorithm)
            return "refused", f"{text}; nothing was changed", rcode
        except dns.exception.Timeout:
            return "unknown", f"no reply from {self.endpoint} within {timeout:g}s: {maybe}", None
        except (EOFError, OSError):
            return "unknown", f"{self.endpoint} closed without a reply: {maybe}", None
        except dns.exception.DNSException as exc:  # includes a reply whose TSIG does not verify
            return "unknown", (f"unreadable reply from {self.endpoint} "
                               f"({exc.__class__.__name__}): {maybe}"), None
        if not message.is_response(reply):
            return "unknown", f"{self.endpoint} answered another message: {maybe}", None
        return reply

    def recipe(self, old_values: tuple[str, ...], new_value: str) -> str:
        return nsupdate_recipe(self.cfg, old_values, new_value)


def _key_argument(settings: Rfc2136Backend) -> list[str]:
    """How nsupdate gets the key without the secret being printed here or shown in `ps`."""
    if settings.key_name is None:
        return []
    template = (f"printf 'key \"{settings.key_name}\" {{ algorithm {settings.algorithm}; "
                "secret \"%s\"; };\\n' ")
    if settings.secret_env:
        return [f"-k <({template}\"${settings.secret_env}\")"]
    if settings.secret_file:
        return [f"-k <({template}\"$(cat {shlex.quote(str(settings.secret_file))})\")"]
    if settings.secret_command:
        return [f"-k <({template}\"$({shlex.join(settings.secret_command)})\")"]
    return [f"-k {settings.key_name}.key"]  # the secret is inline in the config: not repeated


def nsupdate_recipe(cfg: DnsConfig, old_values: tuple[str, ...], new_value: str) -> str:
    """The same guarded update as bash + nsupdate lines; no secret is printed (pure)."""
    if not isinstance(cfg.backend, Rfc2136Backend):
        raise TypeError("nsupdate_recipe needs an rfc2136 backend config")
    settings, endpoint = cfg.backend, cfg.update_endpoint
    name, rtype = cfg.name + ".", cfg.type
    lines = []
    if settings.key_name and settings.secret is not None:
        lines.append(f"# {settings.key_name}.key: a tsig-keygen key file for {settings.key_name}")
    lines.append(" ".join(["nsupdate", "-v", *_key_argument(settings), "<<'EOF'"]))
    lines.append(f"server {endpoint.host} {endpoint.port}")
    if settings.zone:
        lines.append(f"zone {settings.zone}")
    if old_values:
        lines += [f"prereq yxrrset {name} {rtype} {_wire_text(rtype, v)}" for v in old_values]
    else:
        lines.append(f"prereq nxrrset {name} {rtype}")
    lines += [f"update delete {name} {rtype}",
              f"update add {name} {cfg.ttl} {rtype} {_wire_text(rtype, new_value)}",
              "send", "answer", "EOF"]
    return "\n".join(lines)
