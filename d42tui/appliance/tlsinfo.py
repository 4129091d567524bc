"""Read a server's certificate for trust on first use (`d42tui fingerprint URL`).

It connects without verifying, on purpose: the operator compares the printed
fingerprint with the appliance's own and pins it in the config.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography import x509

from .transport import sha256_fingerprint


class FingerprintError(Exception):
    pass


@dataclass(frozen=True)
class CertificateInfo:
    fingerprint: str
    subject: str
    issuer: str
    not_after: str
    expired: bool


def fetch_certificate(url: str, timeout: float = 5.0) -> CertificateInfo:
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if parts.scheme != "https" or not parts.hostname:
        raise FingerprintError(f"{url}: expected an https:// URL")
    try:
        port = parts.port or 443
    except ValueError:
        raise FingerprintError(f"{url}: invalid port") from None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout) as sock:
            with ctx.wrap_socket(sock, server_hostname=parts.hostname) as tls:
                der = tls.getpeercert(binary_form=True)
    except ConnectionRefusedError:
        raise FingerprintError(f"{parts.hostname}:{port}: connection refused") from None
    except TimeoutError:
        raise FingerprintError(f"{parts.hostname}:{port}: no answer in {timeout:g}s") from None
    except (OSError, ssl.SSLError) as exc:
        raise FingerprintError(f"{parts.hostname}:{port}: {exc}") from None
    if not der:
        raise FingerprintError(f"{parts.hostname}:{port}: no certificate presented")
    cert = x509.load_der_x509_certificate(der)
    not_after = cert.not_valid_after_utc
    return CertificateInfo(
        fingerprint=sha256_fingerprint(der),
        subject=cert.subject.rfc4514_string() or "(empty)",
        issuer=cert.issuer.rfc4514_string() or "(empty)",
        not_after=not_after.isoformat(sep=" "),
        expired=not_after < datetime.now(UTC),
    )
