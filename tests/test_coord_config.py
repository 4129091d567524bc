"""The `coordination:` section and the watcher's identity: clear errors naming the key."""

from __future__ import annotations

import pytest

from d42tui.config.models import ConfigError, config_warnings
from tests.test_config import GOOD, error_of, with_change

ETCD = {"endpoints": ["http://127.0.0.1:2379", "http://127.0.0.1:2380",
                      "http://127.0.0.1:2381"], "prefix": "/site-a/", "lease_ttl": "10s"}


def coordinated(**etcd) -> dict:
    data = with_change(["state_dir"], "/tmp/x")
    del data["state_dir"]
    data["coordination"] = {"etcd": {**ETCD, **etcd}}
    return data


def test_without_coordination_nothing_changes():
    from pathlib import Path

    import yaml

    from d42tui.config.models import parse_config

    config = parse_config(yaml.safe_dump(GOOD), Path("d42.yaml"))
    assert config.coordination is None
    assert config.pairs[0].poll.source_address is None


def test_a_good_section_parses():
    from pathlib import Path

    import yaml

    from d42tui.config.models import parse_config

    config = parse_config(yaml.safe_dump(coordinated()), Path("d42.yaml"))
    etcd = config.coordination.etcd
    assert etcd.lease_ttl == 10.0 and etcd.prefix == "/site-a/"
    assert etcd.request_timeout == 2.0
    assert config_warnings(config, Path("d42.yaml")) == [
        w for w in config_warnings(config, Path("d42.yaml")) if "coordination" not in w]


BROKEN = [
    ({"endpoints": []}, "coordination.etcd.endpoints", "at least 1"),
    ({"endpoints": ["etcd1:2379"]}, "coordination.etcd.endpoints[0]", "http(s) URL"),
    ({"endpoints": ["http://u:p@127.0.0.1:2379"]}, "coordination.etcd.endpoints[0]",
     "credentials"),
    ({"endpoints": ["http://127.0.0.1:2379/v3"]}, "coordination.etcd.endpoints[0]", "no path"),
    ({"prefix": "d42tui"}, "coordination.etcd.prefix", "starts and ends with /"),
    ({"lease_ttl": "1s"}, "coordination.etcd.lease_ttl", "between 2s and 1h"),
    ({"lease_ttl": "soon"}, "coordination.etcd.lease_ttl", ""),
    ({"timeout": "9s"}, "coordination.etcd.timeout", "third of lease_ttl"),
    ({"username": "d42"}, "coordination.etcd.username", "give the password too"),
    ({"password_env": "ETCD_PW"}, "coordination.etcd.username", "needs a username"),
    ({"username": "d42", "password_env": "A", "password_file": "/x"},
     "coordination.etcd.password_file", "only one of"),
    ({"tls": {"ca_file": "/nonexistent/ca.pem"}}, "coordination.etcd.tls.ca_file", "no such file"),
    ({"endpoints": ["http://127.0.0.1:1", "https://127.0.0.1:2"]}, "coordination.etcd.endpoints",
     "one scheme"),
    ({"colour": "blue"}, "coordination.etcd.colour", ""),
]


@pytest.mark.parametrize("etcd,key,words", BROKEN, ids=[f"{b[1]}-{i}" for i, b in
                                                         enumerate(BROKEN)])
def test_a_broken_section_names_its_key(etcd, key, words):
    lines = error_of(coordinated(**etcd))
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"d42.yaml: {key}: "), lines[0]
    assert words.lower() in lines[0].lower()


def test_a_source_address_must_be_an_address():
    lines = error_of(with_change(["pairs", 0, "poll", "source_address"], "my-host"))
    assert lines[0].startswith("d42.yaml: pairs[0].poll.source_address: "), lines
    assert "not an IP address" in lines[0]


def test_watcher_name_and_source_address_arguments():
    from pathlib import Path

    import yaml

    from d42tui.cli.watch import watcher_identity
    from d42tui.config.models import parse_config

    config = parse_config(yaml.safe_dump(GOOD), Path("d42.yaml"))
    name, changed = watcher_identity(config, "w-1", "127.0.0.2")
    assert name == "w-1" and changed.pairs[0].poll.source_address == "127.0.0.2"
    default, _ = watcher_identity(config, None, None)
    assert default and "/" not in default
    with pytest.raises(ConfigError, match="argument --name"):
        watcher_identity(config, "no/slash", None)
    with pytest.raises(ConfigError, match="argument --source-address"):
        watcher_identity(config, "w", "here")


def test_config_check_secrets_reads_the_etcd_password(tmp_path):
    from pathlib import Path

    import yaml

    from d42tui.config.models import parse_config
    from d42tui.config.secretcheck import secret_problems

    missing = tmp_path / "etcd.pw"  # not written: the source cannot be read
    data = coordinated(username="d42tui", password_file=str(missing))
    config = parse_config(yaml.safe_dump(data), Path("d42.yaml"))
    found = [p for p in secret_problems(config) if p.key_path.startswith("coordination")]
    assert [p.key_path for p in found] == ["coordination.etcd.password_file"]
    missing.write_text("s3cret\n")
    missing.chmod(0o600)
    config = parse_config(yaml.safe_dump(data), Path("d42.yaml"))
    assert not [p for p in secret_problems(config) if p.key_path.startswith("coordination")]
