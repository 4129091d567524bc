"""A password source that is configured but cannot be read is said as such, not as
"no credentials configured", and never shows what the source printed."""

from __future__ import annotations

import json

import pytest
import yaml

from d42tui.appliance.client import ApplianceClient, FailureKind
from d42tui.config.models import ApplianceConfig
from d42tui.engine.pair import shows_outage

from .conftest import sim_config_dict
from .test_cli_status import d42tui

LEAK = "hunter2-from-stderr"  # what a password manager might print while failing


def failing_command(tmp_path) -> str:
    script = tmp_path / "pw-helper"
    script.write_text(f"#!/bin/sh\necho 'vault: token {LEAK} expired' >&2\nexit 2\n")
    script.chmod(0o700)
    return str(script)


def sources(tmp_path) -> dict[str, tuple[dict, str]]:
    helper = failing_command(tmp_path)
    return {
        "command": ({"password_command": [helper]},
                    f"password cannot be read: command {helper} failed (run it by hand to "
                    "see why)"),
        "env": ({"password_env": "D42TUI_TEST_NEVER_SET"},
                "password cannot be read: environment variable D42TUI_TEST_NEVER_SET is "
                "not set"),
        "file": ({"password_file": str(tmp_path / "gone.pw")},
                 f"password cannot be read: cannot read secret file {tmp_path / 'gone.pw'}: "
                 "No such file or directory"),
    }


@pytest.mark.parametrize("source", ["command", "env", "file"])
async def test_an_unreadable_password_is_named_and_nothing_is_sent(sim, tmp_path, monkeypatch,
                                                                   source):
    monkeypatch.delenv("D42TUI_TEST_NEVER_SET", raising=False)
    setting, said = sources(tmp_path)[source]
    cfg = ApplianceConfig(name="d42-a", url=sim.url("d42-a"), health_auth=True,
                          tls={"fingerprint_sha256": sim.fingerprint("d42-a")}, **setting)
    sim.clear_requests()
    async with ApplianceClient(cfg, 1.0) as client:
        change = await client.set_mode("standby")
        poll = await client.health()
    assert change.outcome == "failed" and not change.sent
    assert change.failure.kind is FailureKind.SECRET_UNREADABLE and str(change.failure) == said
    assert poll.failure.kind is FailureKind.SECRET_UNREADABLE and str(poll.failure) == said
    assert not shows_outage(poll.failure)  # the console cannot read its secret; d42-a is fine
    assert LEAK not in said
    assert sim.requests("d42-a") == []


def test_demote_with_an_unreadable_password_is_refused_and_says_why(sim, tmp_path):
    data = sim_config_dict(sim, tmp_path)
    entry = data["pairs"][0]["appliances"][0]
    entry.pop("password_file")
    entry["password_command"] = [failing_command(tmp_path)]
    entry["health_auth"] = True
    cfg = tmp_path / "d42tui.yaml"
    cfg.write_text(yaml.safe_dump(data))
    env = {"D42TUI_STATE_DIR": str(tmp_path / "st")}
    sim.clear_requests()
    status = d42tui("status", "--json", "--config", str(cfg), env=env)
    pair = json.loads(status.stdout)["pairs"][0]
    a = pair["appliances"][0]
    assert a["failure"]["kind"] == "secret-unreadable", a
    assert any("password cannot be read: command" in r["text"] for r in pair["reasons"])
    out = d42tui("demote", "d42-a", "--yes", "--config", str(cfg), env=env)
    assert out.returncode == 1, out.stdout + out.stderr  # refused before the first byte
    assert "REFUSED: cannot start: d42-a: its password cannot be read (command" in out.stdout
    assert "Nothing was sent" in out.stdout
    assert "no credentials configured" not in out.stdout
    assert [r for r in sim.requests("d42-a") if r.method == "POST"] == []
    written = (tmp_path / "st" / "audit.jsonl").read_text()
    assert "password cannot be read" in written
    for text in (status.stdout, status.stderr, out.stdout, out.stderr, written):
        assert LEAK not in text
