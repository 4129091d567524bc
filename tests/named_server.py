"""A real BIND 9 `named` on loopback for tests: a primary zone open to TSIG updates.

Use the `named` fixture (`from tests.named_server import named`) or `start_named(directory)`.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest

from tests.conftest import require_binary

ZONE = "example.test"
RECORD = "d42"  # d42.example.test, the service name the tests switch
FIRST_ADDRESS = "10.0.0.1"
KEY_NAME = "d42key"
ALGORITHM = "hmac-sha256"
START_TIMEOUT = 15.0

_ZONE_FILE = """$TTL 60
@       IN SOA  ns1.{zone}. hostmaster.{zone}. ( 1 3600 600 86400 60 )
        IN NS   ns1.{zone}.
ns1     IN A    127.0.0.1
{record} IN A   {address}
"""

_NAMED_CONF = """include "{dir}/key.conf";
options {{
    directory "{dir}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    pid-file "{dir}/named.pid";
    recursion no;
    dnssec-validation no;
    notify no;
}};
controls {{ }};
zone "{zone}" {{
    type primary;
    file "{dir}/{zone}.zone";
    update-policy {{ grant {key} zonesub ANY; }};
}};
"""


@dataclass(frozen=True)
class NamedServer:
    """How to reach the running server, and a few helpers that bypass the code under test."""

    host: str
    port: int
    zone: str
    key_name: str
    algorithm: str
    secret: str = field(repr=False)  # for the test only; the product reads it via a Secret
    directory: Path
    pid: int
    key_file: Path  # the tsig-keygen output, for `nsupdate -k`
    secret_file: Path  # the bare secret, mode 0600, for `secret_file:` in a config

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def fqdn(self, record: str = RECORD) -> str:
        return f"{record}.{self.zone}"

    def record(self, record: str = RECORD, rdtype: str = "A") -> tuple[tuple[str, ...], int | None]:
        """(values, ttl) the server holds for `record` now; ((), None) when there is none."""
        query = dns.message.make_query(self.fqdn(record), rdtype)
        query.flags &= ~dns.flags.RD
        response = dns.query.tcp(query, self.host, timeout=5, port=self.port)
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.from_text(rdtype):
                return tuple(sorted(r.to_text() for r in rrset)), rrset.ttl
        return (), None

    def set_record(self, *values: str, record: str = RECORD, rdtype: str = "A",
                   ttl: int = 60) -> None:
        """Change the record behind the console's back (signed, no prerequisite)."""
        keyring = dns.tsigkeyring.from_text({self.key_name: (self.algorithm, self.secret)})
        update = dns.update.UpdateMessage(self.zone, keyring=keyring, keyname=self.key_name)
        if values:
            update.replace(record, ttl, rdtype, *values)
        else:
            update.delete(record, rdtype)
        response = dns.query.tcp(update, self.host, timeout=5, port=self.port)
        if response.rcode() != dns.rcode.NOERROR:
            raise RuntimeError(f"test update failed: {dns.rcode.to_text(response.rcode())}")

    def dns_section(self, targets: dict[str, str], **backend: object) -> dict:
        """A `dns:` config section for this server; `backend` keys override the rfc2136 ones."""
        return {
            "name": self.fqdn(),
            "type": "A",
            "ttl": 60,
            "targets": targets,
            "servers": [self.address],
            "verify_timeout": "5s",
            "backend": {
                "kind": "rfc2136",
                "key_name": self.key_name,
                "algorithm": self.algorithm,
                "secret_file": str(self.secret_file),
                "timeout": "3s",
                **backend,
            },
        }

    def log_tail(self, lines: int = 20) -> str:
        log = self.directory / "named.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both TCP and UDP right now (named needs both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port for both TCP and UDP")


def _write_config(directory: Path, port: int) -> tuple[Path, str]:
    keygen = require_binary("tsig-keygen", "/usr/sbin/tsig-keygen", "/usr/bin/tsig-keygen")
    key_conf = subprocess.run([keygen, "-a", ALGORITHM, KEY_NAME], capture_output=True,
                              text=True, check=True, timeout=30).stdout
    secret = re.search(r'secret\s+"([^"]+)"', key_conf)
    assert secret, "tsig-keygen printed no secret"
    (directory / "key.conf").write_text(key_conf)
    (directory / f"{ZONE}.zone").write_text(
        _ZONE_FILE.format(zone=ZONE, record=RECORD, address=FIRST_ADDRESS))
    conf = directory / "named.conf"
    conf.write_text(_NAMED_CONF.format(dir=directory, port=port, zone=ZONE, key=KEY_NAME))
    return conf, secret.group(1)


def _answers(host: str, port: int) -> bool:
    query = dns.message.make_query(ZONE, "SOA")
    try:
        response = dns.query.udp(query, host, timeout=0.2, port=port)
    except (OSError, dns.exception.DNSException):
        return False
    return response.rcode() == dns.rcode.NOERROR and bool(response.answer)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextlib.contextmanager
def start_named(directory: Path, host: str = "127.0.0.1") -> Iterator[NamedServer]:
    """Run named in `directory` until the block ends; stopped by PID afterwards."""
    binary = require_binary("named", "/usr/sbin/named")
    directory.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):  # another process may grab the port between probe and bind
        port = free_port(host)
        conf, secret = _write_config(directory, port)
        argv = [binary, "-c", str(conf), "-g"]
        if os.geteuid() == 0:
            argv += ["-u", "root"]  # named would otherwise drop to a user that cannot read tmp
        log = open(directory / "named.log", "wb")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=directory)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline and not _answers(host, port):
            time.sleep(0.05)
        if proc.poll() is None and _answers(host, port):
            break
        _stop(proc)
        if attempt == 2:
            tail = (directory / "named.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"named did not start on {host}:{port}:\n{tail}")
    secret_file = directory / "tsig.secret"
    secret_file.write_text(secret + "\n")
    secret_file.chmod(0o600)
    server = NamedServer(host=host, port=port, zone=ZONE, key_name=KEY_NAME, algorithm=ALGORITHM,
                         secret=secret, directory=directory, pid=proc.pid,
                         key_file=directory / "key.conf", secret_file=secret_file)
    try:
        yield server
    finally:
        _stop(proc)


@pytest.fixture
def named(tmp_path: Path) -> Iterator[NamedServer]:
    """A fresh named per test: zone example.test, d42.example.test A 10.0.0.1, TSIG d42key."""
    with start_named(tmp_path / "named") as server:
        yield server
