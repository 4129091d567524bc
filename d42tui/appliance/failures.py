"""Why a request to an appliance failed, as a closed set of kinds and words an operator reads.

The transport's and the TLS library's own texts ("0 bytes read on a total of undefined
expected bytes", "[SSL: WRONG_VERSION_NUMBER]") are read by type and errno, never by their
wording, and said in ours. `appliance.py` re-exports everything here.
"""

from __future__ import annotations

import asyncio
import enum
import errno
import socket
import ssl
from dataclasses import dataclass

from ._httpx import httpx
from .transport import PinMismatch, ProtocolError


class FailureKind(str, enum.Enum):
    REFUSED = "refused"
    TIMEOUT = "timeout"
    TLS = "tls"
    CERTIFICATE = "certificate"  # the certificate failed verification: who answered?
    PIN_MISMATCH = "pin-mismatch"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    SERVER_ERROR = "server-error"
    HTTP_ERROR = "http-error"
    NOT_JSON = "not-json"
    BAD_RESPONSE = "bad-response"
    NETWORK = "network"
    NO_CREDENTIALS = "no-credentials"
    # A password source is configured but gave nothing: the console's problem, not the appliance's
    SECRET_UNREADABLE = "secret-unreadable"
    # A mode POST answered 200 with words that say the mode was not set (an error, the other mode)
    MODE_NOT_SET = "mode-not-set"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    FailureKind.REFUSED: "connection refused",
    FailureKind.TIMEOUT: "timeout",
    FailureKind.TLS: "TLS error",
    FailureKind.CERTIFICATE: "certificate not trusted",
    FailureKind.PIN_MISMATCH: "certificate pin mismatch",
    FailureKind.UNAUTHORIZED: "credentials rejected (401)",
    FailureKind.FORBIDDEN: "forbidden (403)",
    FailureKind.SERVER_ERROR: "server error",
    FailureKind.HTTP_ERROR: "HTTP error",
    FailureKind.NOT_JSON: "answer is not JSON",
    FailureKind.BAD_RESPONSE: "unexpected answer",
    FailureKind.NETWORK: "network error",
    FailureKind.NO_CREDENTIALS: "no credentials configured",
    FailureKind.SECRET_UNREADABLE: "password cannot be read",
    FailureKind.MODE_NOT_SET: "mode not set",
}


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    detail: str = ""
    status: int | None = None

    def __str__(self) -> str:
        return f"{self.kind.label}: {self.detail}" if self.detail else self.kind.label


NOTHING_LISTENS = "nothing listens on the port"

# What the kernel says, by errno (its strerror is English but terse, and not always there)
_ERRNO = {
    errno.ECONNREFUSED: (FailureKind.REFUSED, NOTHING_LISTENS),
    errno.ETIMEDOUT: (FailureKind.TIMEOUT, "the connection timed out"),
    errno.EHOSTUNREACH: (FailureKind.NETWORK, "no route to the host"),
    errno.EHOSTDOWN: (FailureKind.NETWORK, "the host is down"),
    errno.ENETUNREACH: (FailureKind.NETWORK, "the network is unreachable"),
    errno.ENETDOWN: (FailureKind.NETWORK, "the network is down"),
    errno.ECONNRESET: (FailureKind.NETWORK, "the connection was reset (by the appliance or "
                                            "something in between)"),
    errno.EPIPE: (FailureKind.NETWORK, "the connection closed while the request was sent"),
    errno.ECONNABORTED: (FailureKind.NETWORK, "the connection was aborted"),
    errno.EADDRNOTAVAIL: (FailureKind.NETWORK, "the address cannot be used from this host"),
}

# Raised without an errno by code that builds them by hand
_ERRNO_OF_TYPE = ((ConnectionRefusedError, errno.ECONNREFUSED),
                  (ConnectionResetError, errno.ECONNRESET), (BrokenPipeError, errno.EPIPE),
                  (ConnectionAbortedError, errno.ECONNABORTED))

_GAI = {socket.EAI_NONAME: "the host name does not resolve",
        socket.EAI_AGAIN: "the host name cannot be looked up now (DNS does not answer)"}

# OpenSSL's reason codes for a handshake that failed (not a certificate that was rejected)
_TLS_REASONS = {
    "WRONG_VERSION_NUMBER": "the port does not speak TLS (plain HTTP?)",
    "UNEXPECTED_EOF_WHILE_READING": "the connection closed during the TLS handshake",
    "TLSV1_ALERT_PROTOCOL_VERSION": "no TLS version in common",
    "UNSUPPORTED_PROTOCOL": "no TLS version in common",
    "NO_PROTOCOLS_AVAILABLE": "no TLS version in common",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "the TLS handshake was refused (no cipher in common?)",
    "NO_SHARED_CIPHER": "no cipher in common",
    "TLSV1_ALERT_INTERNAL_ERROR": "the appliance's TLS failed (internal error)",
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": "the appliance wants a client certificate",
}


def _causes(exc: BaseException) -> list[BaseException]:
    chain, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def _first(chain: list[BaseException], kind: type | tuple[type, ...]) -> BaseException | None:
    return next((e for e in chain if isinstance(e, kind)), None)


def _tls_words(exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLEOFError):
        return _TLS_REASONS["UNEXPECTED_EOF_WHILE_READING"]
    reason = getattr(exc, "reason", None) or ""
    if reason in _TLS_REASONS:
        return _TLS_REASONS[reason]
    return f"the TLS handshake failed ({reason.lower().replace('_', ' ')})" if reason \
        else "the TLS handshake failed"


def _cut_short(exc: asyncio.IncompleteReadError) -> str:
    if not exc.partial:
        return "connection closed without an answer"
    if exc.expected is None:
        return "connection closed in the middle of the answer"
    return f"the answer was cut short ({len(exc.partial)} of {exc.expected} bytes)"


def classify_exception(exc: BaseException) -> Failure:
    """The failure one exception from a request means, in words an operator reads."""
    chain = _causes(exc)
    if isinstance(exc, PinMismatch):
        return Failure(FailureKind.PIN_MISMATCH, str(exc))
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError, httpx.TimeoutException)):
        return Failure(FailureKind.TIMEOUT, "no answer in time")
    if (cert := _first(chain, ssl.SSLCertVerificationError)) is not None:
        said = getattr(cert, "verify_message", None) or "it does not verify"
        return Failure(FailureKind.CERTIFICATE, str(said).rstrip("."))
    if (tls := _first(chain, ssl.SSLError)) is not None:
        return Failure(FailureKind.TLS, _tls_words(tls))  # type: ignore[arg-type]
    if (gai := _first(chain, socket.gaierror)) is not None:
        return Failure(FailureKind.NETWORK, _GAI.get(gai.errno, "the host name cannot be "
                                                                "looked up"))
    if (short := _first(chain, asyncio.IncompleteReadError)) is not None:
        return Failure(FailureKind.NETWORK, _cut_short(short))  # type: ignore[arg-type]
    if (bad := _first(chain, ProtocolError)) is not None:
        return Failure(FailureKind.NETWORK, f"the answer is not valid HTTP ({bad})")
    for e in chain:
        code = e.errno if isinstance(e, OSError) and e.errno in _ERRNO else next(
            (c for t, c in _ERRNO_OF_TYPE if isinstance(e, t)), None)
        if code is not None:
            kind, words = _ERRNO[code]
            return Failure(kind, words)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return Failure(FailureKind.NETWORK, "the URL's scheme is not http or https")
    if isinstance(exc, httpx.RemoteProtocolError):
        return Failure(FailureKind.NETWORK, "the answer is not valid HTTP")
    text = str(exc)
    # asyncio joins the errors of several addresses (::1, 127.0.0.1) into one text, errno lost
    if "Errno 111" in text or "Connection refused" in text:
        return Failure(FailureKind.REFUSED, NOTHING_LISTENS)
    strerror = next((e.strerror for e in chain if isinstance(e, OSError) and e.strerror), None)
    if strerror:
        return Failure(FailureKind.NETWORK, strerror[:1].lower() + strerror[1:200])
    if isinstance(exc, (httpx.TransportError, OSError)):
        return Failure(FailureKind.NETWORK, f"the connection failed ({text[:160] or 'no reason given'})")
    return Failure(FailureKind.NETWORK, f"unexpected {exc.__class__.__name__}")
