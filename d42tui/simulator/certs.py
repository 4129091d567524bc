"""Self-signed certificates for simulated appliances, and the TLS contexts that serve them.

Each appliance gets its own key (EC P-256: 200 of them take well under a second),
so pinning one appliance's fingerprint never accepts its peer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class SimCertificate:
    """A certificate that is its own CA, so its PEM works as a client's `ca_file`."""

    cert_pem: str
    key_pem: str = field(repr=False)
    fingerprint_sha256: str  # "AB:CD:..." over the DER encoding, as `openssl x509 -fingerprint`


def format_fingerprint(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def make_certificate(appliance: str) -> SimCertificate:
    """A self-signed certificate for 127.0.0.1 / localhost, valid from yesterday for two years.

    Validity uses the real time, not the simulator's clock: TLS clients check it
    against their own clock.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "d42tui simulator"),
        x509.NameAttribute(NameOID.COMMON_NAME, appliance[:64] or "appliance"),
    ])
    now = dt.datetime.now(dt.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=730))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.DNSName("localhost"),
        ]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return SimCertificate(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii"),
        fingerprint_sha256=format_fingerprint(cert.public_bytes(serialization.Encoding.DER)),
    )


def server_context(cert: SimCertificate) -> ssl.SSLContext:
    """A TLS server context serving `cert`, HTTP/1.1 only.

    `ssl` loads keys only from files: the key lives in a 0600 temporary file for the
    duration of the load and is removed at once.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    fd, path = tempfile.mkstemp(prefix="d42tui-sim-", suffix=".pem")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(cert.key_pem)
            fh.write(cert.cert_pem)
        context.load_cert_chain(path)
    finally:
        os.unlink(path)
    return context
