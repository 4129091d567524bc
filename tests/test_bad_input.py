"""Bad input as an operator types it: each gets one clear line naming the file (or the
argument), the key path and the problem, the exit code says so, and nothing is lost."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml

from .test_cli_status import d42tui
from .test_config import GOOD, with_change

ESC = "\x1b[2J\x1b]0;pwned\x07"


def config_file(tmp_path: Path, data: dict | str, name: str = "d42.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    path.chmod(0o600)
    return path


def config_check(path: Path, *extra: str, env: dict | None = None):
    return d42tui("config", "check", "--config", str(path), *extra, env=env)


def assert_one_error(out, line: str) -> None:
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.splitlines() == [line], out.stderr
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr


def test_both_appliances_on_one_url_is_an_error(tmp_path):
    data = with_change(["pairs", 0, "appliances", 1, "url"], "https://D42-A.example.com:4343/")
    path = config_file(tmp_path, data)
    assert_one_error(config_check(path),
                     f"{path}: pairs[0].appliances[1].url: 'https://D42-A.example.com:4343' is "
                     "the same server as d42-a (pairs[0].appliances[0].url): a pair needs two "
                     "appliances")


def test_the_default_port_makes_two_spellings_one_server(tmp_path):
    data = with_change(["pairs", 0, "appliances", 0, "url"], "https://d42-b.example.com:443")
    data["pairs"][0]["appliances"][1]["url"] = "https://d42-b.example.com"
    out = config_check(config_file(tmp_path, data))
    assert out.returncode == 2 and "pairs[0].appliances[1].url: " in out.stderr
    assert "is the same server as d42-a" in out.stderr


DUPLICATED = """\
pairs:
  - name: main
    production: d42-a
    poll:
      interval: 5s
      timeout: 2s
      interval: 1h
    appliances:
      - {name: d42-a, url: "https://d42-a.example.com:4343", password_env: A}
      - {name: d42-b, url: "https://d42-b.example.com:4343", password_env: B}
"""


def test_a_key_given_twice_is_an_error_naming_both_lines(tmp_path):
    path = config_file(tmp_path, DUPLICATED)
    assert_one_error(config_check(path),
                     f"{path}: pairs[0].poll.interval: given twice, on lines 5 and 7 (only the "
                     "last would count): keep one")


def test_keys_a_merge_brings_in_may_be_overridden(tmp_path):
    text = "x-base: &poll {interval: 5s, timeout: 2s}\n" + DUPLICATED.replace(
        "    poll:\n      interval: 5s\n      timeout: 2s\n      interval: 1h\n",
        "    poll: {<<: *poll, interval: 4s}\n")
    path = config_file(tmp_path, text)
    # x-base is an unknown key, the one error left: the override is not a repeated key
    assert_one_error(config_check(path), f"{path}: x-base: unknown key (a typo?)")


@pytest.mark.parametrize("key,value,problem", [
    (["poll", "interval"], "100000000000h", "'100000000000h' is out of range: at most 3650d"),
    (["poll", "interval"], 10 ** 11, "100000000000 is out of range: at most 3650d"),
    (["poll", "interval"], "2d", "must be between 200ms and 1h, found 48h"),
    (["poll", "interval"], float("inf"), "inf is not a duration (examples: 500ms, 5s, 2m, 1h)"),
    (["restore_duration"], "99999999999d", "'99999999999d' is out of range: at most 3650d"),
])
def test_durations_out_of_range(tmp_path, key, value, problem):
    path = config_file(tmp_path, with_change(["pairs", 0, *key], value))
    assert_one_error(config_check(path), f"{path}: pairs[0].{'.'.join(key)}: {problem}")


def test_a_timeout_longer_than_the_interval(tmp_path):
    data = with_change(["pairs", 0, "poll"], {"interval": "5s", "timeout": "10s"})
    path = config_file(tmp_path, data)
    assert_one_error(config_check(path),
                     f"{path}: pairs[0].poll.timeout: 10s is longer than interval (5s): a poll "
                     "must end before the next one is due; give at most the interval")


@pytest.mark.parametrize("key,value,problem", [
    ("cpu_percent", [-5, 95], "-5 is not a percentage (0 to 100)"),
    ("disk_percent", [60, 180], "180 is not a percentage (0 to 100)"),
    ("memory_free_percent", [150, 10], "150 is not a percentage (0 to 100)"),
    ("dbsize_mb", [-1, 2000], "-1 cannot be negative"),
])
def test_thresholds_out_of_range(tmp_path, key, value, problem):
    path = config_file(tmp_path, with_change(["pairs", 0, "thresholds"], {key: value}))
    assert_one_error(config_check(path), f"{path}: pairs[0].thresholds.{key}: {problem}")


@pytest.mark.parametrize("value,problem", [
    ("x3", "'x3' is not a whole number"),
    (2.5, "2.5 is not a whole number"),
    (0, "0 is too small: at least 1"),
    (1000, "1000 is too large: at most 100"),
    ("3" + ESC, "'3??' is not a whole number"),
    ("x" * 80, "'" + "x" * 59 + "…' is not a whole number"),
    ([1, 2], "expected a whole number, found a list"),
])
def test_an_integer_error_is_in_our_words_and_echoes_the_value(tmp_path, value, problem):
    path = config_file(tmp_path, with_change(["pairs", 0, "poll", "failure_threshold"], value))
    out = config_check(path)
    assert_one_error(out, f"{path}: pairs[0].poll.failure_threshold: {problem}")
    assert "\x1b" not in out.stderr and "\x07" not in out.stderr


def test_a_secret_value_is_never_echoed_even_under_a_misspelled_key(tmp_path):
    data = with_change(["pairs", 0, "appliances", 0, "password_env"], KeyError)
    data["pairs"][0]["appliances"][0]["pasword"] = "hunter2-typo"
    data["pairs"][0]["appliances"][1].pop("password_env")
    data["pairs"][0]["appliances"][1]["password"] = 12345678
    out = config_check(config_file(tmp_path, data))
    assert out.returncode == 2
    assert "pairs[0].appliances[0].pasword: unknown key (a typo?)" in out.stderr
    assert "pairs[0].appliances[1].password: expected text, found a number" in out.stderr
    assert "hunter2-typo" not in out.stderr and "12345678" not in out.stderr


def test_control_characters_in_an_echoed_value_never_reach_the_terminal(tmp_path):
    path = config_file(tmp_path, with_change(["pairs", 0, "appliances", 0, "name"], "d42" + ESC))
    out = config_check(path)
    assert_one_error(out, f"{path}: pairs[0].appliances[0].name: 'd42??' is not a usable name "
                          "(letters, digits, . _ -; at most 63)")


@pytest.mark.parametrize("url,problem", [
    ("https://[::1", "'https://[::1' is not a URL: an IPv6 address is written in brackets, as "
                     "in https://[2001:db8::1]:4343"),
    ("https://d42-b:99999", "'https://d42-b:99999' has an invalid port (1 to 65535)"),
    ("https://d42-b:0", "'https://d42-b:0' has an invalid port (1 to 65535)"),
])
def test_urls_out_of_range_in_the_config(tmp_path, url, problem):
    path = config_file(tmp_path, with_change(["pairs", 0, "appliances", 1, "url"], url))
    assert_one_error(config_check(path), f"{path}: pairs[0].appliances[1].url: {problem}")


def test_a_witness_or_webhook_url_half_written(tmp_path):
    data = with_change(["pairs", 0, "automation"], {"witnesses": ["https://[::1"],
                                                    "notify": {"webhook": {"url": "https://[x"}}})
    out = config_check(config_file(tmp_path, data))
    assert out.returncode == 2 and "internal error" not in out.stderr
    assert "pairs[0].automation.witnesses[0]: 'https://[::1' is not a URL" in out.stderr
    assert ("pairs[0].automation.notify.webhook: the webhook URL must be an http(s) URL"
            in out.stderr)
    assert "https://[x" not in out.stderr  # a webhook URL may carry its token


# --- the state dir ---------------------------------------------------------------------------

def without_state_env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "D42TUI_STATE_DIR"}


def run_without_state_env(*args: str):
    import subprocess
    import sys

    from .test_cli_status import ROOT
    return subprocess.run([sys.executable, "-m", "d42tui", *args], capture_output=True,
                          text=True, env={**without_state_env(), "PYTHONPATH": str(ROOT)},
                          timeout=60)


def test_a_state_dir_that_names_a_file(tmp_path):
    afile = tmp_path / "state.json"
    afile.write_text("{}")
    path = config_file(tmp_path, {**GOOD, "state_dir": str(afile)})
    out = run_without_state_env("config", "check", "--config", str(path))
    assert_one_error(out, f"{path}: state_dir: {afile} is a file, not a directory")


def test_a_state_dir_below_a_file_or_where_nothing_can_be_made(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    path = config_file(tmp_path, {**GOOD, "state_dir": str(afile / "d42tui"),
                                  "audit_log": "/sys/d42tui/audit.jsonl"})
    out = run_without_state_env("config", "check", "--config", str(path))
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        f"{path}: state_dir: cannot create {afile}/d42tui: {afile} is a file, not a directory",
        f"{path}: audit_log: cannot create /sys/d42tui: cannot write in /sys: Permission "
        "denied"]


def test_an_unwritable_state_dir_from_the_environment(tmp_path):
    path = config_file(tmp_path, GOOD)
    out = config_check(path, env={"D42TUI_STATE_DIR": "/sys"})
    assert_one_error(out, "$D42TUI_STATE_DIR: cannot write in /sys: Permission denied")


def test_a_usable_state_dir_passes_and_is_not_created_by_the_check(tmp_path):
    path = config_file(tmp_path, {**GOOD, "state_dir": str(tmp_path / "new" / "state")})
    out = run_without_state_env("config", "check", "--config", str(path))
    assert out.returncode == 0 and "OK, 1 pair" in out.stdout, out.stderr
    assert not (tmp_path / "new").exists() and list(tmp_path.iterdir()) == [path]


def test_the_state_dir_is_created_0700_by_whichever_writer_comes_first(sim, tmp_path,
                                                                        monkeypatch):
    from .test_watch_cli import Background
    from .watch_harness import write_watch_config

    cfg = write_watch_config(sim, tmp_path)
    state = tmp_path / "fresh" / "state"
    monkeypatch.setenv("D42TUI_STATE_DIR", str(state))
    watch = Background(tmp_path, "watch", "--config", str(cfg))  # its lock comes first
    try:
        watch.wait_for("automation: ARMED")
    finally:
        assert watch.stop() == 0
    for directory in (state, state / "locks"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


# --- command-line arguments ------------------------------------------------------------------

def test_pause_for_an_absurd_duration_is_refused_and_nothing_is_paused(sim, tmp_path):
    from .watch_harness import write_watch_config

    cfg = write_watch_config(sim, tmp_path)
    out = d42tui("pause", "main", "--reason", "upgrade", "--for", "99999999999d",
                 "--config", str(cfg))
    assert out.returncode == 2
    assert out.stderr.splitlines()[-1] == ("d42tui pause: error: argument --for: "
                                           "'99999999999d' is out of range: at most 3650d")
    status = json.loads(d42tui("status", "--json", "--config", str(cfg)).stdout)
    assert status["pairs"][0]["automation"]["pause"] is None
    assert not list(Path(os.environ["D42TUI_STATE_DIR"]).glob("audit.jsonl"))


def test_fingerprint_of_a_half_written_url(tmp_path):
    out = d42tui("fingerprint", "https://[::1")
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        "d42tui fingerprint: 'https://[::1' is not a URL: an IPv6 address is written in "
        "brackets, as in https://[2001:db8::1]:4343"]
    out = d42tui("fingerprint", "https://127.0.0.1:1", "--timeout", "inf")
    assert out.returncode == 2 and ("argument --timeout: 'inf' is not a number of seconds "
                                    "between 0 and 120") in out.stderr


def test_audit_since_out_of_range(tmp_path):
    path = config_file(tmp_path, GOOD)
    out = d42tui("audit", "--since", "99999999999d", "--config", str(path))
    assert_one_error(out, "--since: '99999999999d' is out of range: at most 3650d")


def test_dns_set_ttl_out_of_range_is_refused_before_any_poll(tmp_path):
    path = config_file(tmp_path, GOOD)
    out = d42tui("dns", "set", "--to", "d42-b", "--ttl", "99999999", "--config", str(path))
    assert out.returncode == 2
    assert out.stderr.splitlines()[-1] == ("d42tui dns set: error: argument --ttl: '99999999' "
                                           "is not a TTL: a whole number of seconds from 1 to "
                                           "86400")


def test_check_says_how_many_more_config_errors_there_are(tmp_path):
    data = with_change(["pairs", 0, "poll"], {"interval": "soon", "failure_threshold": "x",
                                              "recovery_threshold": 0, "colour": "red"})
    path = config_file(tmp_path, data)
    out = d42tui("check", "--config", str(path))
    assert out.returncode == 3
    assert out.stdout.splitlines() == [
        f"D42 PAIR UNKNOWN - config: {path}: pairs[0].poll.interval: 'soon' is not a duration "
        "(examples: 500ms, 5s, 2m, 1h30m, 2d) (and 3 more: d42tui config check)"]
    one = with_change(["pairs", 0, "poll", "interval"], "soon")
    out = d42tui("check", "--config", str(config_file(tmp_path, one, "one.yaml")))
    assert out.returncode == 3 and out.stdout.rstrip().endswith("1h30m, 2d)")


# --- user text -------------------------------------------------------------------------------

def test_a_pause_reason_is_cleaned_wherever_it_is_shown(sim, tmp_path):
    from .watch_harness import write_watch_config

    cfg = write_watch_config(sim, tmp_path)
    reason = "DB" + ESC + "\nupgrade\x07 " + "x" * 300
    out = d42tui("pause", "main", "--reason", reason, "--config", str(cfg))
    assert out.returncode == 0, out.stderr
    state_dir = Path(os.environ["D42TUI_STATE_DIR"])
    status = d42tui("status", "--json", "--config", str(cfg)).stdout
    table = d42tui("status", "--config", str(cfg)).stdout
    audit = d42tui("audit", "--config", str(cfg)).stdout
    shown = json.loads(status)["pairs"][0]["automation"]["pause"]["reason"]
    assert shown == "DB upgrade " + "x" * 188 + "…"
    for text in (out.stdout, status, table, audit, (state_dir / "state.json").read_text(),
                 (state_dir / "audit.jsonl").read_text()):
        assert "\x1b" not in text and "\x07" not in text and "\\u001b" not in text
        assert "\\u0007" not in text
    assert "DB upgrade xxx" in out.stdout and "DB upgrade xxx" in audit
    resumed = d42tui("resume", "main", "--config", str(cfg))
    assert "\x1b" not in resumed.stdout and "DB upgrade xxx" in resumed.stdout


def test_an_unknown_pair_typed_with_escapes_is_echoed_cleaned(sim, tmp_path):
    from .watch_harness import write_watch_config

    cfg = write_watch_config(sim, tmp_path)
    out = d42tui("pause", "no" + ESC + "pe", "--reason", "x", "--config", str(cfg))
    assert out.returncode == 2
    assert out.stderr.splitlines() == ["no pair named no??pe (known: main)"]
