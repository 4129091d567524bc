"""Config loading: every broken config gives one line naming the file, the key and the problem."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from d42tui.config.models import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent

GOOD = {
    "pairs": [{
        "name": "main",
        "production": "d42-a",
        "timezone": "Europe/Berlin",
        "restore_cron": "30 */4 * * *",
        "backup_cron": "0 */4 * * *",
        "poll": {"interval": "5s", "timeout": "2s", "failure_threshold": 3},
        "appliances": [
            {"name": "d42-a", "url": "https://d42-a.example.com:4343", "password_env": "D42_A",
             "tls": {"fingerprint_sha256": "ab" * 32}},
            {"name": "d42-b", "url": "https://d42-b.example.com:4343", "password_env": "D42_B"},
        ],
    }],
}


def with_change(path: list, value) -> dict:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


def error_of(data) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(yaml.safe_dump(data) if not isinstance(data, str) else data, Path("d42.yaml"))
    return info.value.lines


def test_good_config_parses_with_defaults():
    config = parse_config(yaml.safe_dump(GOOD), Path("d42.yaml"))
    pair = config.pairs[0]
    assert pair.poll.interval == 5.0 and pair.poll.timeout == 2.0
    assert pair.poll.recovery_threshold == 2
    assert pair.thresholds.cpu_percent == (85, 95)
    assert pair.thresholds.dbsize_mb == (1000, 2000)
    assert pair.appliances[0].tls.fingerprint_sha256 == ":".join(["AB"] * 32)
    assert pair.appliances[1].username == "d42admin"


BROKEN = [
    (["pairs", 0, "appliances", 1, "url"], "ftp://x", "pairs[0].appliances[1].url", "http(s) URL"),
    (["pairs", 0, "appliances", 0, "name"], "bad name!", "pairs[0].appliances[0].name", "name"),
    (["pairs", 0, "production"], "d42-z", "pairs[0].production", "not one of"),
    (["pairs", 0, "timezone"], "Mars/Olympus", "pairs[0].timezone", "time zone"),
    (["pairs", 0, "restore_cron"], "every day", "pairs[0].restore_cron", "cron"),
    (["pairs", 0, "poll", "interval"], "soon", "pairs[0].poll.interval", "duration"),
    (["pairs", 0, "poll", "failure_threshold"], 0, "pairs[0].poll.failure_threshold",
     "0 is too small: at least 1"),
    (["pairs", 0, "appliances", 0, "tls", "fingerprint_sha256"], "abc",
     "pairs[0].appliances[0].tls.fingerprint_sha256", "64 hex"),
    (["pairs", 0, "appliances", 0, "colour"], "red", "pairs[0].appliances[0].colour", "unknown key"),
    (["pairs", 0, "name"], KeyError, "pairs[0].name", "required"),
    (["pairs", 0, "thresholds"], {"cpu_percent": [95, 85]}, "pairs[0].thresholds.cpu_percent",
     "warning level"),
    (["pairs", 0, "appliances", 1, "password"], "x", "pairs[0].appliances[1].password_env",
     "only one of"),
    (["pairs", 0, "appliances", 0, "password_command"], "pass show d42",
     "pairs[0].appliances[0].password_command", "list"),
]


@pytest.mark.parametrize("path,value,key,words", BROKEN, ids=[b[2] for b in BROKEN])
def test_broken_config_names_file_key_and_problem(path, value, key, words):
    lines = error_of(with_change(path, value))
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"d42.yaml: {key}: "), lines[0]
    assert words.lower() in lines[0].lower()
    assert "\n" not in lines[0]


def test_three_appliances_are_refused():
    data = with_change(["pairs", 0, "appliances"], GOOD["pairs"][0]["appliances"] * 2)
    (line,) = error_of(data)
    assert "pairs[0].appliances" in line and "exactly 2" in line


def test_duplicate_appliance_names_across_pairs():
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    second = yaml.safe_load(yaml.safe_dump(GOOD["pairs"][0]))
    second["name"] = "eu"
    data["pairs"].append(second)
    (line,) = error_of(data)
    assert line.startswith("d42.yaml: pairs[1].appliances[0].name: ")


@pytest.mark.parametrize("text,words", [
    ("", "empty"),
    ("- just\n- a list\n", "mapping"),
    ("pairs: [\n", "YAML syntax error"),
    ("pairs: []\n", "pairs"),
    ("a: !!python/object:os.system {}\n", "YAML"),
])
def test_not_a_config(text, words):
    (line,) = error_of(text)
    assert line.startswith("d42.yaml: ") and words in line


def test_missing_file_names_the_lookup(tmp_path, monkeypatch):
    monkeypatch.setenv("D42TUI_CONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError) as info:
        load_config(None)
    assert str(tmp_path / "nope.yaml") in info.value.lines[0]


def test_literal_password_and_open_permissions_warn(tmp_path):
    data = with_change(["pairs", 0, "appliances", 0, "password_env"], KeyError)
    data["pairs"][0]["appliances"][0]["password"] = "hunter2-literal"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    os.chmod(path, 0o644)
    loaded = load_config(path)
    text = "\n".join(loaded.warnings)
    assert "password is written in the config file" in text
    assert "readable by others" in text and "chmod 600" in text
    assert "hunter2-literal" not in text + repr(loaded.config)


def test_verify_false_is_flagged(tmp_path):
    data = with_change(["pairs", 0, "appliances", 1, "tls"], {"verify": False})
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    assert any("TLS verification is OFF" in w for w in load_config(path).warnings)


def test_cli_config_check_exit_codes(tmp_path):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(yaml.safe_dump(GOOD))
    bad.write_text(yaml.safe_dump(with_change(["pairs", 0, "appliances", 1, "url"], "nope")))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ok = subprocess.run([sys.executable, "-m", "d42tui", "config", "check", "--config", str(good)],
                        capture_output=True, text=True, env=env)
    assert ok.returncode == 0 and "OK, 1 pair" in ok.stdout
    ko = subprocess.run([sys.executable, "-m", "d42tui", "--config", str(bad), "config", "check"],
                        capture_output=True, text=True, env=env)
    assert ko.returncode == 2
    assert ko.stderr.strip() == f"{bad}: pairs[0].appliances[1].url: 'nope' is not an http(s) " \
                                "URL such as https://d42-a.example.com:4343"
    assert "Traceback" not in ko.stderr


def test_sample_config_is_valid(tmp_path):
    loaded = load_config(ROOT / "sample_config.yaml")
    assert len(loaded.config.pairs) >= 1


yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                         st.text(max_size=12))
yaml_values = st.recursive(yaml_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=20)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=200), yaml_values.map(lambda v: yaml.safe_dump(v)),
                 st.dictionaries(st.sampled_from(["pairs", "state_dir", "simulator", "x"]),
                                 yaml_values, max_size=3).map(yaml.safe_dump)))
def test_garbage_yaml_never_tracebacks(text):
    try:
        parse_config(text, Path("g.yaml"))
    except ConfigError as exc:
        assert exc.lines and all(line.startswith("g.yaml: ") and "\n" not in line
                                 for line in exc.lines)


def test_cron_that_never_fires_is_an_error():
    (line,) = error_of(with_change(["pairs", 0, "restore_cron"], "0 0 31 2 *"))
    assert line.startswith("d42.yaml: pairs[0].restore_cron: ") and "never fires" in line


def test_backup_errors_have_no_union_tag_in_the_key_path(tmp_path):
    data = with_change(["pairs", 0, "backup"], {"kind": "sftp", "host": "h", "username": "u",
                                                "path": "/b.tgz", "max_age": "two days"})
    (line,) = error_of(data)
    assert line.startswith("d42.yaml: pairs[0].backup.max_age: "), line
    ok = with_change(["pairs", 0, "backup"], {"kind": "sftp", "host": "h", "username": "u",
                                              "path": "/b.tgz", "max_age": "2d",
                                              "strict_host_keys": False, "password": "pw"})
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(ok))
    path.chmod(0o600)
    loaded = load_config(path)
    assert loaded.config.pairs[0].backup.max_age == 2 * 86400
    text = "\n".join(loaded.warnings)
    assert "backup.strict_host_keys" in text and "backup.password: written in the config" in text


def test_config_check_warns_about_a_restore_before_its_backup_lands(tmp_path):
    data = with_change(["pairs", 0, "restore_cron"], "5 */4 * * *")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "d42tui", "config", "check", "--config", str(path)],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0
    assert "pairs[0]: warning: the restore at" in out.stdout and "schedule the restore" in out.stdout
