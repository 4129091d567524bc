"""Secret sources as they fail in real life: a `pass` that is locked, a file gone, a variable
not exported. Whatever a secret command writes on stderr stays out of every record; a person
at the terminal is told how to run it to see why. `config check --secrets` tries them all."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from d42tui.config.models import load_config
from d42tui.config.secretcheck import secret_problems
from d42tui.config.secrets import SecretFailure

from .conftest import PASSWORDS, sim_config_dict
from .test_cli_status import d42tui

LEAKED = "pw-b-Kx27-never-shown"  # d42-b's real password, as a wrapper would echo it


def script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o700)
    return path


def leaky_config(sim, tmp_path: Path) -> Path:
    """d42-b's password comes from a command that fails, echoing the secret on stderr."""
    leaky = script(tmp_path, "leaky-pass", f'echo "pass: gpg agent locked; input was {LEAKED}"'
                                           " >&2\nexit 1\n")
    data = sim_config_dict(sim, tmp_path)
    b = data["pairs"][0]["appliances"][1]
    b.pop("password_file")
    b["password_command"] = [str(leaky), "show", "d42/b"]
    b["health_auth"] = True  # every poll reads the password
    path = tmp_path / "d42tui.yaml"
    path.write_text(yaml.safe_dump(data))
    path.chmod(0o600)
    return path


def test_config_check_secrets_names_each_unreadable_source_and_how_to_see_why(sim, tmp_path):
    cfg = leaky_config(sim, tmp_path)
    out = d42tui("config", "check", "--secrets", "--config", str(cfg))
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        f"{cfg}: pairs[0].appliances[1].password_command: secret command "
        f"{tmp_path}/leaky-pass exited 1",
        f"    run it yourself to see why: {tmp_path}/leaky-pass show d42/b",
        f"{cfg}: 1 of 2 secrets cannot be read"]
    assert LEAKED not in out.stdout + out.stderr and "OK," not in out.stdout


def test_config_check_secrets_passes_when_every_source_reads(sim, tmp_path):
    data = sim_config_dict(sim, tmp_path)
    data["pairs"][0]["appliances"][1]["password_command"] = [
        str(script(tmp_path, "good-pass", f"echo {PASSWORDS['d42-b']}\n"))]
    data["pairs"][0]["appliances"][1].pop("password_file")
    cfg = tmp_path / "ok.yaml"
    cfg.write_text(yaml.safe_dump(data))
    out = d42tui("config", "check", "--secrets", "--config", str(cfg))
    assert out.returncode == 0, out.stderr
    assert out.stdout.rstrip().endswith(
        "OK, 1 pair: main (d42-a + d42-b); 2 secrets read (values not shown)")
    assert PASSWORDS["d42-b"] not in out.stdout + out.stderr


def test_a_secret_commands_stderr_reaches_no_record(sim, tmp_path):
    cfg = leaky_config(sim, tmp_path)
    state = Path(os.environ["D42TUI_STATE_DIR"])
    status = d42tui("status", "--json", "--config", str(cfg))
    assert status.returncode == 0, status.stderr
    b = json.loads(status.stdout)["pairs"][0]["appliances"][1]
    assert f"command {tmp_path}/leaky-pass failed" in json.dumps(b)  # named, never its words
    action = d42tui("demote", "d42-b", "--yes", "--config", str(cfg))
    check = d42tui("check", "--config", str(cfg))
    records = [status.stdout, status.stderr, action.stdout, action.stderr, check.stdout,
               check.stderr]
    records += [p.read_text() for p in state.rglob("*") if p.is_file()]
    assert (state / "audit.jsonl").exists()  # the refused or failed demote is on record
    assert f"command {tmp_path}/leaky-pass" in (state / "audit.jsonl").read_text()
    for text in records:
        assert LEAKED not in text and "gpg agent locked" not in text


def test_the_error_itself_carries_no_stderr_for_every_reader_of_it(tmp_path):
    """SFTP, TSIG and webhook readers put str(SecretError) in their own messages."""
    from d42tui.config.secrets import Secret, SecretError

    leaky = script(tmp_path, "leaky", f"echo {LEAKED} >&2\necho {LEAKED}\nexit 4\n")
    with pytest.raises(SecretError) as info:
        Secret.command([str(leaky), "get"]).value()
    exc = info.value
    assert str(exc) == f"secret command {leaky} exited 4" and exc.exit_code == 4
    assert exc.kind is SecretFailure.COMMAND_FAILED
    assert exc.hint == f"run it yourself to see why: {leaky} get"
    seen = [str(exc), repr(exc), repr(exc.args), exc.hint, repr(Secret.command([str(leaky)]))]
    assert not any(LEAKED in text for text in seen)


def config_with_sources(tmp_path: Path) -> Path:
    data = yaml.safe_load(yaml.safe_dump(sim_config_dict(_NoSim(), tmp_path)))
    pair = data["pairs"][0]
    a, b = pair["appliances"]
    a.pop("password_file")
    a["password_env"] = "D42_TEST_UNSET_VARIABLE"
    a["api"] = {"url": "https://d42-a.example.com", "username": "api",
                "password_file": str(tmp_path / "no-such-file")}
    b.pop("password_file")
    b["password_command"] = [str(tmp_path / "no-such-program")]
    pair["dns"] = {"name": "d42.example.com", "targets": {"d42-a": "10.0.0.1", "d42-b": "10.0.0.2"},
                   "servers": ["127.0.0.1:53"],
                   "backend": {"kind": "rfc2136", "key_name": "d42key",
                               "secret_command": [str(script(tmp_path, "tsig", "echo '%%%'\n"))]}}
    pair["backup"] = {"kind": "sftp", "host": "backup.example.com", "username": "d42",
                      "path": "/b.tgz", "key_file": str(tmp_path / "key"),
                      "key_passphrase_command": [str(script(tmp_path, "empty", "exit 0\n"))]}
    pair["automation"] = {"notify": {"webhook": {
        "url_command": [str(script(tmp_path, "hook", "echo not-a-url-SECRET-TOKEN\n"))]}}}
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(data))
    path.chmod(0o600)
    return path


class _NoSim:
    """Appliances that are never contacted: secret_problems reads sources, nothing else."""

    def url(self, name: str) -> str:
        return f"https://{name}.example.com:4343"

    def fingerprint(self, name: str) -> str:
        return "AB" * 32


def test_secret_problems_lists_every_source_by_key_path(tmp_path):
    config = load_config(config_with_sources(tmp_path)).config
    found = [(p.key_path, p.appliance, p.kind, p.text) for p in secret_problems(config)]
    assert found == [
        ("pairs[0].appliances[0].password_env", "d42-a", SecretFailure.ENV_NOT_SET,
         "environment variable D42_TEST_UNSET_VARIABLE is not set"),
        ("pairs[0].appliances[0].api.password_file", "d42-a", SecretFailure.FILE_UNREADABLE,
         f"cannot read secret file {tmp_path}/no-such-file: No such file or directory"),
        ("pairs[0].appliances[1].password_command", "d42-b", SecretFailure.COMMAND_NOT_RUN,
         f"secret command {tmp_path}/no-such-program could not run: not found"),
        ("pairs[0].dns.backend.secret_command", None, None,
         f"the value from command {tmp_path}/tsig is not base64 (copy the secret \"...\" "
         "value of the tsig-keygen output)"),
        ("pairs[0].backup.key_passphrase_command", None, SecretFailure.EMPTY,
         f"command {tmp_path}/empty gave an empty value"),
        ("pairs[0].automation.notify.webhook.url_command", None, None,
         f"the value from command {tmp_path}/hook is not an http(s) URL"),
    ]
    assert "SECRET-TOKEN" not in repr(secret_problems(config))


def test_a_command_that_worked_is_not_run_again_and_a_failing_one_when_the_caller_says(tmp_path):
    runs = tmp_path / "runs"
    good = script(tmp_path, "good", f"echo x >> {runs}\necho secret-value\n")
    bad = script(tmp_path, "bad", f"echo x >> {runs}.bad\nexit 3\n")
    data = yaml.safe_load(yaml.safe_dump(sim_config_dict(_NoSim(), tmp_path)))
    a, b = data["pairs"][0]["appliances"]
    a.pop("password_file")
    a["password_command"] = [str(good)]
    b.pop("password_file")
    b["password_command"] = [str(bad), "--vault"]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    config = load_config(path).config
    for _ in range(3):
        (problem,) = secret_problems(config, retry_after=60)
        assert problem.key_path == "pairs[0].appliances[1].password_command"
        assert problem.text == f"secret command {bad} exited 3"
        assert problem.hint == f"run it yourself to see why: {bad} --vault"
    assert runs.read_text() == "x\n"  # read once, then from memory
    assert (tmp_path / "runs.bad").read_text() == "x\n"  # failed once, not retried within 60 s
    secret_problems(config)  # retry_after=0: the caller asks again now
    assert (tmp_path / "runs.bad").read_text() == "x\nx\n"
    assert config.pairs[0].appliances[0].secret().value() == "secret-value"
    assert runs.read_text() == "x\n"  # the engine's read uses the same cached value
