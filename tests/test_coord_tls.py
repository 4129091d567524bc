"""Coordination over TLS against a real etcd that requires client certificates: the
configured CA and client certificate work; without them the refusal is said, not hidden."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from d42tui.coord.config import CoordinationConfig
from d42tui.coord.etcd import EtcdClient, EtcdError

from .etcd_cluster import _free_ports


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(subject: str, issuer_key, issuer_name, usage, ca: bool = False, ip: bool = False):
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(
        issuer_name or _name(subject)).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    if ip:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return key, cert


def _write(path, key, cert) -> tuple[str, str]:
    (path.parent / f"{path.name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (path.parent / f"{path.name}.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return str(path.parent / f"{path.name}.pem"), str(path.parent / f"{path.name}.key")


@pytest.fixture
def tls_etcd(tmp_path):
    from tests.conftest import require_binary

    binary = require_binary("etcd", "/usr/bin/etcd")
    ca_key, ca = _issue("d42tui test CA", None, None, None, ca=True)
    # etcd's JSON gateway dials etcd itself with the server certificate: both usages
    srv = _write(tmp_path / "server", *_issue("etcd", ca_key, ca.subject,
                                              [ExtendedKeyUsageOID.SERVER_AUTH,
                                               ExtendedKeyUsageOID.CLIENT_AUTH], ip=True))
    cli = _write(tmp_path / "client", *_issue("d42tui", ca_key, ca.subject,
                                              [ExtendedKeyUsageOID.CLIENT_AUTH]))
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    client_port, peer_port = _free_ports(2)
    url, peer = f"https://127.0.0.1:{client_port}", f"http://127.0.0.1:{peer_port}"
    log = open(tmp_path / "etcd.log", "wb")  # noqa: SIM115 - the process owns it
    proc = subprocess.Popen([binary, "--name", "e0", "--data-dir", str(tmp_path / "data"),
                             "--listen-client-urls", url, "--advertise-client-urls", url,
                             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                             "--initial-cluster", f"e0={peer}", "--cert-file", srv[0],
                             "--key-file", srv[1], "--client-cert-auth", "--trusted-ca-file",
                             str(ca_file)], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log.close()
    try:
        yield url, str(ca_file), cli, proc, tmp_path / "etcd.log"
    finally:
        proc.kill()
        proc.wait(10)


def test_client_certificates_against_a_real_etcd(tls_etcd):
    url, ca_file, (cert, key), proc, log = tls_etcd

    def etcd_cfg(**tls):
        return CoordinationConfig.model_validate({"etcd": {
            "endpoints": [url], "prefix": "/tls/", "lease_ttl": "3s",
            **({"tls": tls} if tls else {})}}).etcd

    async def go():
        good = EtcdClient(etcd_cfg(ca_file=ca_file, cert_file=cert, key_file=key))
        try:
            deadline = time.monotonic() + 20
            while True:  # etcd starts within a second or two: poll, do not sleep blindly
                try:
                    await good.put("/tls/x", "1")
                    break
                except EtcdError:
                    assert proc.poll() is None, log.read_text()[-2000:]
                    assert time.monotonic() < deadline, log.read_text()[-2000:]
                    await asyncio.sleep(0.2)
            kvs, _ = await good.range("/tls/x")
            assert [k.value for k in kvs] == [b"1"]
        finally:
            await good.aclose()
        # without a client certificate etcd closes the connection (under TLS 1.3 the client
        # only sees it closed); with the system CAs our server certificate is not trusted
        for tls, words in (({"ca_file": ca_file}, "connection"),
                           ({}, "certificate not trusted")):  # the system CAs do not know it
            client = EtcdClient(etcd_cfg(**tls))
            try:
                with pytest.raises(EtcdError) as err:
                    await client.put("/tls/y", "1")
                assert url.split("//")[1] in str(err.value) and words in str(err.value).lower()
            finally:
                await client.aclose()
    asyncio.run(go())
