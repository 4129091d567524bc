"""A throwaway OpenSSH sshd on 127.0.0.1 for SFTP tests: its own host key, user key and known_hosts.

Import the fixtures into a test module (`from tests.sshd_server import sshd`); stopped by PID.
"""

from __future__ import annotations

import getpass
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import require_binary

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def keygen(path: Path, passphrase: str = "") -> Path:
    """An ed25519 key pair at `path` and `path`.pub."""
    binary = require_binary("ssh-keygen", "/usr/bin/ssh-keygen")
    subprocess.run([binary, "-q", "-t", "ed25519", "-N", passphrase, "-C", "d42tui-test",
                    "-f", str(path)], check=True, stdin=subprocess.DEVNULL)
    return path


def ssh_fingerprint(public_key: Path) -> str:
    """`SHA256:…` as ssh-keygen prints it, to compare our own rendering with."""
    out = subprocess.run([require_binary("ssh-keygen", "/usr/bin/ssh-keygen"), "-l", "-E",
                          "sha256", "-f", str(public_key)], check=True, capture_output=True,
                         text=True).stdout
    return out.split()[1]


def _descendants(pid: int) -> list[int]:
    """Children of `pid`, recursively (sshd forks one process per connection)."""
    out: list[int] = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for child in map(int, children):
        out += [child, *_descendants(child)]
    return out


@dataclass
class SshdServer:
    """One sshd. `stop()` ends it and its sessions; `start()` brings it back on the same port."""

    directory: Path
    binary: str
    user: str
    served: Path  # world-readable directory for the files the tests serve
    password_auth: bool = False
    extra_users: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    host: str = HOST
    proc: subprocess.Popen[bytes] | None = None

    @property
    def host_key(self) -> Path:
        return self.directory / "hostkey"

    @property
    def user_key(self) -> Path:
        return self.directory / "userkey"

    @property
    def known_hosts(self) -> Path:
        return self.directory / "known_hosts"

    @property
    def log_file(self) -> Path:
        return self.directory / "sshd.log"

    def prepare(self) -> None:
        keygen(self.host_key)
        keygen(self.user_key)
        shutil.copy(self.user_key.with_suffix(".pub"), self.directory / "authorized_keys")
        host_pub = self.host_key.with_suffix(".pub").read_text().split()
        self.known_hosts.write_text(f"[{self.host}]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        users = " ".join([self.user, *self.extra_users])
        # Only SFTP, only on loopback, only the listed users: nothing else to reach.
        (self.directory / "sshd_config").write_text(f"""\
Port {self.port}
ListenAddress {self.host}
HostKey {self.host_key}
AuthorizedKeysFile {self.directory}/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication {"yes" if self.password_auth else "no"}
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
PermitEmptyPasswords no
AllowUsers {users}
StrictModes no
UsePAM no
PidFile {self.directory}/sshd.pid
Subsystem sftp internal-sftp
ForceCommand internal-sftp
DisableForwarding yes
PermitTTY no
MaxStartups 50
LogLevel VERBOSE
""")

    def start(self, timeout: float = 10.0) -> None:
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation dir
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "-D", "-e", "-f", str(self.directory / "sshd_config")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited {self.proc.returncode}:\n{self.log_file.read_text()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as sock:
                    if sock.recv(64).startswith(b"SSH-"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"sshd did not answer on {self.port}:\n{self.log_file.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """End the listener and every session it forked, by PID."""
        if self.proc is None:
            return
        for pid in [*_descendants(self.proc.pid), self.proc.pid]:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None

    def kill(self) -> None:
        """As if the server crashed: SIGKILL, sessions included."""
        self.stop(signal.SIGKILL)

    def serve(self, name: str, data: bytes = b"backup", age: float | None = None) -> Path:
        """Write a file the SFTP user can read; `age` seconds old when given."""
        path = self.served / name
        path.write_bytes(data)
        path.chmod(0o644)
        if age is not None:
            moment = time.time() - age
            os.utime(path, (moment, moment))
        return path


def _server(binary: str, password_auth: bool = False,
            extra_users: list[str] | None = None) -> Iterator[SshdServer]:
    directory = Path(tempfile.mkdtemp(prefix="d42tui-sshd-"))
    served = Path(tempfile.mkdtemp(prefix="d42tui-sftp-"))
    served.chmod(0o755)
    server = SshdServer(directory, binary, getpass.getuser(), served, password_auth,
                        extra_users or [])
    try:
        server.prepare()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
        shutil.rmtree(served, ignore_errors=True)


@pytest.fixture
def sshd() -> Iterator[SshdServer]:
    """sshd that accepts the generated user key for the current user; passwords off."""
    yield from _server(require_binary("sshd", "/usr/sbin/sshd"))


@pytest.fixture
def sshd_passwords() -> Iterator[SshdServer]:
    """sshd with PasswordAuthentication on, for the current user: no password of that user is
    ever accepted (root may not log in with one, and the test user has none we know), so
    only wrong passwords can be tested against it."""
    yield from _server(require_binary("sshd", "/usr/sbin/sshd"), password_auth=True)


@dataclass(frozen=True)
class LocalUser:
    name: str
    password: str


@pytest.fixture
def password_user() -> Iterator[LocalUser]:
    """A throwaway local account with a random password, no home and no shell, removed after.

    Needs root; skipped otherwise. Its sshd allows only SFTP, only on 127.0.0.1, and the
    password is random per run and never leaves the process.
    """
    if os.geteuid() != 0 or not shutil.which("useradd"):
        pytest.skip("a password login needs a throwaway local user: run as root")
    name = f"d42t{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(24)
    subprocess.run(["useradd", "--no-create-home", "--home-dir", "/nonexistent",
                    "--shell", "/usr/sbin/nologin", name], check=True, capture_output=True)
    try:
        subprocess.run(["chpasswd"], input=f"{name}:{password}", text=True, check=True,
                       capture_output=True)
        yield LocalUser(name, password)
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


@pytest.fixture
def sshd_for_password_user(password_user: LocalUser) -> Iterator[SshdServer]:
    yield from _server(require_binary("sshd", "/usr/sbin/sshd"), password_auth=True,
                       extra_users=[password_user.name])
