"""The SFTP checker against a real OpenSSH sshd on loopback: states, named errors, reconnects."""

from __future__ import annotations

import logging
import socket
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from d42tui.backup import (
    BackupState,
    Code,
    ErrorKind,
    SftpBackup,
    assess_pipeline,
    make_checker,
)
from d42tui.backup.sftp import SftpChecker
from tests.sshd_server import (  # noqa: F401  (fixtures)
    HOST,
    LocalUser,
    SshdServer,
    free_port,
    keygen,
    password_user,
    ssh_fingerprint,
    sshd,
    sshd_for_password_user,
    sshd_passwords,
)

UTC = timezone.utc
DAY = 86400


def sftp_config(server: SshdServer, path: Path | str, **changes: object) -> SftpBackup:
    data: dict[str, object] = {
        "kind": "sftp", "host": server.host, "port": server.port, "username": server.user,
        "key_file": str(server.user_key), "path": str(path),
        "known_hosts": str(server.known_hosts), "timeout": "3s", "max_age": "26h",
    }
    data.update(changes)
    return SftpBackup.model_validate({k: v for k, v in data.items() if v is not None})


def checker(server: SshdServer, path: Path | str, **changes: object) -> SftpChecker:
    made = make_checker(sftp_config(server, path, **changes))
    assert isinstance(made, SftpChecker)
    return made


async def test_fresh_file_is_ready_with_size_and_mtime(sshd: SshdServer) -> None:
    served = sshd.serve("d42.bak", b"x" * 1234, age=300)
    async with checker(sshd, served) as c:
        status = await c.check()
    assert status.state is BackupState.READY and status.present
    assert status.size == 1234
    assert status.mtime == datetime.fromtimestamp(int(served.stat().st_mtime), UTC)
    assert status.error is None and status.location.startswith(f"sftp://{sshd.user}@127.0.0.1:")
    assert assess_pipeline([status], now=datetime.now(UTC), backup=c._cfg) == []


async def test_stale_file_is_reported_stale(sshd: SshdServer) -> None:
    served = sshd.serve("d42.bak", age=3 * DAY)
    async with checker(sshd, served) as c:
        status = await c.check()
    assert status.state is BackupState.READY
    assert status.age(datetime.now(UTC)) == pytest.approx(3 * DAY, abs=5)
    warnings = assess_pipeline([status], now=datetime.now(UTC), backup=c._cfg)
    assert [(w.code, w.severity) for w in warnings] == [(Code.BACKUP_STALE, "critical")]
    assert "3 d old" in warnings[0].text


async def test_missing_file(sshd: SshdServer) -> None:
    async with checker(sshd, sshd.served / "nope.bak") as c:
        status = await c.check()
    assert status.state is BackupState.MISSING and not status.present and status.size is None
    warnings = assess_pipeline([status], now=datetime.now(UTC), backup=c._cfg)
    assert [w.code for w in warnings] == [Code.BACKUP_MISSING]


async def test_a_growing_file_is_in_progress_until_it_stops(sshd: SshdServer) -> None:
    served = sshd.serve("d42.bak", b"a" * 100, age=600)
    async with checker(sshd, served) as c:
        first = await c.check()
        with open(served, "ab") as fh:
            fh.write(b"b" * 100)
        growing = await c.check()
        settled = await c.check()
    assert first.state is BackupState.READY
    assert (growing.state, growing.size) == (BackupState.IN_PROGRESS, 200)
    assert (settled.state, settled.size) == (BackupState.READY, 200)


async def test_just_written_file_is_in_progress_on_first_sight(sshd: SshdServer) -> None:
    served = sshd.serve("d42.bak", b"a" * 100)
    async with checker(sshd, served) as c:
        assert (await c.check()).state is BackupState.IN_PROGRESS


async def test_directory_is_not_a_backup_file(sshd: SshdServer) -> None:
    async with checker(sshd, sshd.served) as c:
        status = await c.check()
    assert (status.state, status.error_kind) == (BackupState.ERROR, ErrorKind.NOT_A_FILE)


async def test_wrong_key_is_named(sshd: SshdServer, tmp_path: Path) -> None:
    stranger = keygen(tmp_path / "stranger")
    async with checker(sshd, sshd.serve("d42.bak"), key_file=str(stranger)) as c:
        status = await c.check()
    assert (status.state, status.error_kind) == (BackupState.ERROR, ErrorKind.KEY_REJECTED)
    assert str(stranger) in (status.error or "")


async def test_wrong_password_is_named_and_never_shown(
        sshd_passwords: SshdServer, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    secret = "Corr3ct-Horse-Battery-Staple-wrong"
    monkeypatch.setenv("D42_TEST_SFTP_PASSWORD", secret)
    caplog.set_level(logging.DEBUG)
    c = checker(sshd_passwords, sshd_passwords.serve("d42.bak"), key_file=None,
                password_env="D42_TEST_SFTP_PASSWORD")
    async with c:
        status = await c.check()
    assert (status.state, status.error_kind) == (BackupState.ERROR, ErrorKind.WRONG_PASSWORD)
    assert "environment variable D42_TEST_SFTP_PASSWORD" in (status.error or "")
    assert_no_secret(secret, status, c, caplog)


async def test_literal_password_never_shown(
        sshd_passwords: SshdServer, caplog: pytest.LogCaptureFixture) -> None:
    secret = "literal-pa55word-in-the-file"
    caplog.set_level(logging.DEBUG)
    cfg = sftp_config(sshd_passwords, sshd_passwords.serve("d42.bak"), key_file=None,
                      password=secret)
    c = make_checker(cfg)
    async with c:
        status = await c.check()
    assert status.error_kind is ErrorKind.WRONG_PASSWORD
    assert secret not in repr(cfg) and secret not in str(cfg.model_dump())
    assert_no_secret(secret, status, c, caplog)


async def test_password_when_the_server_takes_keys_only(sshd: SshdServer) -> None:
    async with checker(sshd, sshd.serve("d42.bak"), key_file=None, password="x") as c:
        status = await c.check()
    assert status.error_kind is ErrorKind.AUTH_METHOD
    assert "allows: publickey" in (status.error or "")


async def test_right_password_logs_in(sshd_for_password_user: SshdServer,
                                      password_user: LocalUser,
                                      monkeypatch: pytest.MonkeyPatch,
                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("D42_TEST_SFTP_PASSWORD", password_user.password)
    server = sshd_for_password_user
    served = server.serve("d42.bak", b"z" * 77, age=120)
    c = checker(server, served, username=password_user.name, key_file=None,
                password_env="D42_TEST_SFTP_PASSWORD")
    async with c:
        status = await c.check()
    assert (status.state, status.size) == (BackupState.READY, 77), status.error
    assert_no_secret(password_user.password, status, c, caplog)


async def test_encrypted_key_with_passphrase_from_a_file(
        sshd: SshdServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    passphrase = "open-sesame-passphrase-42"
    key = keygen(tmp_path / "locked", passphrase)
    with open(sshd.directory / "authorized_keys", "a") as fh:
        fh.write(key.with_suffix(".pub").read_text())
    (tmp_path / "pass").write_text(passphrase + "\n")
    served = sshd.serve("d42.bak", age=120)
    async with checker(sshd, served, key_file=str(key), key_passphrase_file=str(tmp_path / "pass")) as c:
        status = await c.check()
    assert status.state is BackupState.READY, status.error
    assert_no_secret(passphrase, status, c, caplog)
    async with checker(sshd, served, key_file=str(key)) as c:
        status = await c.check()
    assert status.error_kind is ErrorKind.KEY_FILE and "encrypted" in (status.error or "")
    async with checker(sshd, served, key_file=str(key), key_passphrase="not-it") as c:
        status = await c.check()
    assert status.error_kind is ErrorKind.KEY_FILE and "wrong passphrase" in (status.error or "")
    assert "not-it" not in (status.error or "")


async def test_unset_password_variable_is_named(sshd_passwords: SshdServer,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("D42_TEST_UNSET", raising=False)
    async with checker(sshd_passwords, "/x", key_file=None, password_env="D42_TEST_UNSET") as c:
        status = await c.check()
    assert status.error_kind is ErrorKind.SECRET and "D42_TEST_UNSET is not set" in (status.error or "")


async def test_unknown_host_key_is_refused_with_its_fingerprint(sshd: SshdServer,
                                                               tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    async with checker(sshd, sshd.serve("d42.bak"), known_hosts=str(empty)) as c:
        status = await c.check()
    assert (status.state, status.error_kind) == (BackupState.ERROR, ErrorKind.UNKNOWN_HOST_KEY)
    text = status.error or ""
    assert ssh_fingerprint(sshd.host_key.with_suffix(".pub")) in text
    kind, blob = sshd.host_key.with_suffix(".pub").read_text().split()[:2]
    assert f"add this line to {empty}: [127.0.0.1]:{sshd.port} {kind} {blob}" in text
    assert empty.read_text() == ""  # nothing was added behind the operator's back


async def test_missing_known_hosts_file_is_named(sshd: SshdServer, tmp_path: Path) -> None:
    async with checker(sshd, "/x", known_hosts=str(tmp_path / "absent")) as c:
        status = await c.check()
    assert status.error_kind is ErrorKind.UNKNOWN_HOST_KEY
    assert "does not exist" in (status.error or "")


async def test_changed_host_key_is_refused_with_both_fingerprints(sshd: SshdServer,
                                                                 tmp_path: Path) -> None:
    other = keygen(tmp_path / "other_hostkey").with_suffix(".pub")
    kind, blob = other.read_text().split()[:2]
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd.port} {kind} {blob}\n")
    for strict in (True, False):  # a changed key is refused even when not strict
        async with checker(sshd, sshd.serve("d42.bak"), known_hosts=str(known),
                           strict_host_keys=strict) as c:
            status = await c.check()
        assert status.error_kind is ErrorKind.CHANGED_HOST_KEY
        text = status.error or ""
        assert ssh_fingerprint(sshd.host_key.with_suffix(".pub")) in text
        assert ssh_fingerprint(other) in text and "CHANGED" in text


async def test_not_strict_accepts_an_unknown_host_but_says_so(sshd: SshdServer,
                                                             tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    async with checker(sshd, sshd.serve("d42.bak", age=60), known_hosts=str(empty),
                       strict_host_keys=False) as c:
        status = await c.check()
    assert status.state is BackupState.READY
    assert status.note and ssh_fingerprint(sshd.host_key.with_suffix(".pub")) in status.note
    assert empty.read_text() == ""
    warnings = assess_pipeline([status], now=datetime.now(UTC), backup=c._cfg)
    assert [w.code for w in warnings] == [Code.BACKUP_HOST_KEY_UNVERIFIED]


async def test_refused(sshd: SshdServer) -> None:
    async with checker(sshd, "/x", port=free_port()) as c:
        status = await c.check()
    assert status.error_kind is ErrorKind.REFUSED


async def test_timeout_when_the_server_never_speaks(sshd: SshdServer) -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never sends a banner
        silent.bind((HOST, 0))
        silent.listen(5)
        started = time.monotonic()
        async with checker(sshd, "/x", port=silent.getsockname()[1], timeout="1s") as c:
            status = await c.check()
    assert status.error_kind is ErrorKind.TIMEOUT
    assert time.monotonic() - started < 5


async def test_one_connection_is_reused(sshd: SshdServer) -> None:
    served = sshd.serve("d42.bak", age=60)
    async with checker(sshd, served) as c:
        for _ in range(3):
            assert (await c.check()).state is BackupState.READY
        assert c.connects == 1


async def test_server_killed_then_back_reconnects(sshd: SshdServer) -> None:
    served = sshd.serve("d42.bak", age=60)
    async with checker(sshd, served) as c:
        assert (await c.check()).state is BackupState.READY
        sshd.kill()
        down = await c.check()
        assert (down.state, down.error_kind) == (BackupState.ERROR, ErrorKind.REFUSED)
        sshd.start()
        back = await c.check()
        assert back.state is BackupState.READY, back.error
        assert c.connects == 2


async def test_server_restarted_between_looks_reconnects_in_the_same_look(sshd: SshdServer) -> None:
    served = sshd.serve("d42.bak", age=60)
    async with checker(sshd, served) as c:
        assert (await c.check()).state is BackupState.READY
        sshd.kill()
        sshd.start()
        status = await c.check()
        assert status.state is BackupState.READY, status.error
        assert c.connects == 2


def assert_no_secret(secret: str, status: object, checker_: object,
                     caplog: pytest.LogCaptureFixture) -> None:
    assert secret not in repr(status)
    assert secret not in str(getattr(status, "to_dict")())
    assert secret not in repr(checker_)
    for record in caplog.records:
        assert secret not in record.getMessage(), record.name
        assert secret not in str(record.args)
