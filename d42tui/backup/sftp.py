"""The backup file on an SFTP server: paramiko in a worker thread, host keys from known_hosts.

One SSH connection is kept and reused; when it breaks, the same look reconnects once.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import hashlib
import socket
import stat
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import paramiko
from paramiko.ssh_exception import NoValidConnectionsError

from ..config.secrets import SecretError
from .config import SftpBackup
from .status import UTC, BackupChecker, BackupCheckError, ErrorKind, Observation, log, utc_now


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's form: `SHA256:` and the unpadded base64 of the key blob's SHA-256."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def known_hosts_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


class _UnknownHostKey(paramiko.SSHException):
    def __init__(self, hostname: str, key: paramiko.PKey):
        super().__init__(f"{hostname} is not in known_hosts")
        self.hostname, self.key = hostname, key


class _RejectUnknown(paramiko.RejectPolicy):
    """paramiko's RejectPolicy, keeping the offered key so the error can show it."""

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        raise _UnknownHostKey(hostname, key)


class _AcceptUnknown(paramiko.MissingHostKeyPolicy):
    """`strict_host_keys: false`: connect to a host missing from known_hosts without saving
    its key. A *changed* key never reaches a policy: paramiko refuses it before."""

    accepted: paramiko.PKey | None = None

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        self.accepted = key


class _ConnectionLost(Exception):
    """The SFTP session broke while in use; reconnecting may help."""


class SftpChecker(BackupChecker):
    """Stats the file over SFTP. Blocking paramiko calls run in `asyncio.to_thread`."""

    timeouts_per_look = 8  # two connects (a reconnect), each: TCP, banner, auth, channel

    def __init__(self, config: SftpBackup, *, settle: float = 60.0,
                 clock: Callable[[], datetime] = utc_now):
        super().__init__(config.location, timeout=config.timeout, settle=settle, clock=clock)
        self._cfg = config
        self._password = config.password_secret()
        self._passphrase = config.passphrase_secret()
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._note: str | None = None
        self._lock = threading.Lock()
        self.connects = 0  # SSH connections opened so far (diagnostics, tests)

    async def _observe(self) -> Observation:
        return await asyncio.to_thread(self._observe_blocking)

    async def aclose(self) -> None:
        await asyncio.to_thread(self._drop)

    def _observe_blocking(self) -> Observation:
        if not self._lock.acquire(blocking=False):
            raise BackupCheckError(ErrorKind.BUSY, f"the previous look at {self.location} "
                                   "is still running")
        try:
            reused = self._sftp is not None
            try:
                return self._stat(self._session())
            except _ConnectionLost as lost:
                self._drop()
                if not reused:
                    raise self._lost_error(lost) from None
                log.info("SFTP session to %s broke (%s); reconnecting", self.location, lost)
            try:
                return self._stat(self._session())
            except _ConnectionLost as lost:
                self._drop()
                raise self._lost_error(lost) from None
        finally:
            self._lock.release()

    # --- the file -----------------------------------------------------------------------

    def _stat(self, sftp: paramiko.SFTPClient) -> Observation:
        try:
            attrs = sftp.stat(self._cfg.path)
        except FileNotFoundError:
            return Observation(False, note=self._note)
        except PermissionError:
            raise BackupCheckError(ErrorKind.PERMISSION, f"{self._cfg.username} may not read "
                                   f"{self._cfg.path} on {self._cfg.host}") from None
        except (EOFError, paramiko.SSHException, OSError) as exc:  # socket errors are OSError
            raise _ConnectionLost(_describe(exc)) from None
        if attrs.st_mode is not None and stat.S_ISDIR(attrs.st_mode):
            raise BackupCheckError(ErrorKind.NOT_A_FILE, f"{self._cfg.path} on {self._cfg.host} "
                                   "is a directory: set path to the backup file itself")
        mtime = None if attrs.st_mtime is None else datetime.fromtimestamp(attrs.st_mtime, UTC)
        return Observation(True, attrs.st_size, mtime, note=self._note)

    def _lost_error(self, lost: _ConnectionLost) -> BackupCheckError:
        text = str(lost)
        kind = ErrorKind.TIMEOUT if "timed out" in text else ErrorKind.PROTOCOL
        return BackupCheckError(kind, f"the SFTP session to {self._cfg.host}:{self._cfg.port} "
                                f"broke: {text}")

    # --- the connection -----------------------------------------------------------------

    def _session(self) -> paramiko.SFTPClient:
        transport = self._client.get_transport() if self._client else None
        if self._sftp is not None and transport is not None and transport.is_active():
            return self._sftp
        self._drop()
        cfg, timeout = self._cfg, self._cfg.timeout
        pkey = self._load_key()
        try:
            password = self._password.value() if self._password else None
        except SecretError as exc:
            raise BackupCheckError(ErrorKind.SECRET, f"SFTP password: {exc}") from None
        client = paramiko.SSHClient()
        known_hosts = cfg.known_hosts.expanduser()
        try:
            client.load_system_host_keys(str(known_hosts))
        except FileNotFoundError:
            pass  # every host is unknown; the error names the file
        except OSError as exc:
            raise BackupCheckError(ErrorKind.UNKNOWN_HOST_KEY,
                                   f"cannot read {known_hosts}: {exc.strerror}") from None
        policy = _RejectUnknown() if cfg.strict_host_keys else _AcceptUnknown()
        client.set_missing_host_key_policy(policy)
        started = time.monotonic()
        try:
            client.connect(cfg.host, cfg.port, cfg.username, password=password, pkey=pkey,
                           timeout=timeout, banner_timeout=timeout, auth_timeout=timeout,
                           channel_timeout=timeout, look_for_keys=False, allow_agent=False)
            sftp = client.open_sftp()
            sftp.get_channel().settimeout(timeout)  # type: ignore[union-attr]
        except Exception as exc:
            client.close()
            raise self._connect_error(exc, known_hosts, time.monotonic() - started) from None
        self._note = None
        if isinstance(policy, _AcceptUnknown) and policy.accepted is not None:
            self._note = (f"host key of {cfg.host}:{cfg.port} not verified (strict_host_keys: "
                          f"false): {policy.accepted.get_name()} {fingerprint(policy.accepted)}")
        self._client, self._sftp = client, sftp
        self.connects += 1
        log.info("SFTP connected to %s (connection %d)", self.location, self.connects)
        return sftp

    def _drop(self) -> None:
        client, self._client, self._sftp = self._client, None, None
        if client is not None:
            client.close()

    def _load_key(self) -> paramiko.PKey | None:
        if self._cfg.key_file is None:
            return None
        path = self._cfg.key_file.expanduser()
        try:
            passphrase = self._passphrase.value() if self._passphrase else None
        except SecretError as exc:
            raise BackupCheckError(ErrorKind.SECRET, f"key passphrase: {exc}") from None
        try:
            return _read_key(path, passphrase)
        except paramiko.PasswordRequiredException:
            raise BackupCheckError(ErrorKind.KEY_FILE, f"key file {path} is encrypted: set "
                                   "key_passphrase_env, _file or _command") from None
        except OSError as exc:
            raise BackupCheckError(ErrorKind.KEY_FILE,
                                   f"cannot read key file {path}: {exc.strerror}") from None
        except (paramiko.SSHException, ValueError, TypeError):
            hint = "wrong passphrase, or " if passphrase is not None else ""
            raise BackupCheckError(ErrorKind.KEY_FILE, f"cannot load key file {path}: {hint}"
                                   "not a private key paramiko can read") from None

    def _connect_error(self, exc: BaseException, known_hosts: Path,
                       elapsed: float) -> BackupCheckError:
        cfg = self._cfg
        where = f"{cfg.host}:{cfg.port}"
        name = known_hosts_name(cfg.host, cfg.port)
        if isinstance(exc, _UnknownHostKey):
            key = exc.key
            absent = "" if known_hosts.exists() else f" ({known_hosts} does not exist)"
            return BackupCheckError(ErrorKind.UNKNOWN_HOST_KEY, (
                f"unknown host key: {where} is not in {known_hosts}{absent}; it offers "
                f"{key.get_name()} {fingerprint(key)}. Compare that with the server's own key "
                f"(ssh-keygen -lf on the server), then add this line to {known_hosts}: "
                f"{name} {key.get_name()} {key.get_base64()}"))
        if isinstance(exc, paramiko.BadHostKeyException):
            return BackupCheckError(ErrorKind.CHANGED_HOST_KEY, (
                f"host key CHANGED for {where}: it offers {exc.key.get_name()} "
                f"{fingerprint(exc.key)}, but {known_hosts} has {exc.expected_key.get_name()} "
                f"{fingerprint(exc.expected_key)}. Someone may be intercepting the connection; "
                f"if the server was really re-keyed, run ssh-keygen -R '{name}' -f {known_hosts} "
                "and add the new key"))
        if isinstance(exc, paramiko.BadAuthenticationType):
            tried = "key" if self._password is None else "password"
            return BackupCheckError(ErrorKind.AUTH_METHOD, (
                f"{where} does not accept {tried} logins for {cfg.username} (it allows: "
                f"{', '.join(exc.allowed_types) or 'nothing'})"))
        if isinstance(exc, paramiko.AuthenticationException):
            return self._auth_error(where)
        if isinstance(exc, NoValidConnectionsError):
            refused = all(e.errno == errno.ECONNREFUSED for e in exc.errors.values())
            kind = ErrorKind.REFUSED if refused else ErrorKind.UNREACHABLE
            text = "refused the connection (is sshd running on that port?)" if refused else \
                f"cannot be reached: {_describe(exc)}"
            return BackupCheckError(kind, f"{where} {text}")
        if isinstance(exc, ConnectionRefusedError):
            return BackupCheckError(ErrorKind.REFUSED, f"{where} refused the connection")
        if isinstance(exc, socket.gaierror):
            return BackupCheckError(ErrorKind.UNREACHABLE, f"cannot resolve {cfg.host}")
        if isinstance(exc, (socket.timeout, TimeoutError)) or elapsed >= cfg.timeout * 0.9:
            return BackupCheckError(ErrorKind.TIMEOUT, f"{where} did not answer within "
                                    f"{cfg.timeout:g}s (during {_stage(exc)})")
        if isinstance(exc, OSError) and not isinstance(exc, paramiko.SSHException):
            return BackupCheckError(ErrorKind.UNREACHABLE, f"{where}: {_describe(exc)}")
        return BackupCheckError(ErrorKind.PROTOCOL, f"{where}: {_describe(exc)}")

    def _auth_error(self, where: str) -> BackupCheckError:
        cfg = self._cfg
        if self._password is not None and cfg.key_file is None:
            return BackupCheckError(ErrorKind.WRONG_PASSWORD, (
                f"{where} rejected the password for {cfg.username}: wrong password (read from "
                f"{self._password.describe()})"))
        if self._password is None:
            return BackupCheckError(ErrorKind.KEY_REJECTED, (
                f"{where} rejected the key {cfg.key_file} for {cfg.username} (is its public "
                "half in that user's authorized_keys?)"))
        return BackupCheckError(ErrorKind.AUTH_FAILED, (
            f"{where} rejected both the key {cfg.key_file} and the password for {cfg.username}"))


def _read_key(path: Path, passphrase: str | None) -> paramiko.PKey:
    """Load any key type. paramiko 4+ says "encrypted" and "not encrypted" with TypeError."""
    try:
        return paramiko.PKey.from_path(path, None if passphrase is None else passphrase.encode())
    except TypeError as exc:
        text = str(exc).lower()
        if "not encrypted" in text:  # a passphrase for a plain key: harmless, use the key
            return paramiko.PKey.from_path(path)
        if "password-protected" in text or "not provided" in text:
            raise paramiko.PasswordRequiredException(str(exc)) from None
        raise


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _stage(exc: BaseException) -> str:
    text = str(exc).lower()
    if "banner" in text:
        return "the SSH greeting"
    if "auth" in text:
        return "authentication"
    return "the connection"
