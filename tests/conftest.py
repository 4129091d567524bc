"""Shared fixtures. Real servers (named, sshd) skip locally when missing, fail under CI."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Real-server fixtures (named, sshd, a hostile appliance) live in their own modules; registered here once.
pytest_plugins = ["tests.named_server", "tests.sshd_server", "tests.hostile_appliance",
                  "tests.etcd_cluster"]


def require_binary(name: str, *candidates: str) -> str:
    """Path of a server binary; skip (locally) or fail (CI=true) when it is missing."""
    for path in (shutil.which(name), *candidates):
        if path and Path(path).exists():
            return path
    reason = f"{name} is not installed (Debian: see .ci/run)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}: real-server tests must run in CI")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory, monkeypatch):
    """Every test gets its own state dir and no inherited config."""
    monkeypatch.setenv("D42TUI_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    monkeypatch.delenv("D42TUI_CONFIG", raising=False)


# --- the simulated pair, over real HTTPS on loopback --------------------------------------

PASSWORDS = {"d42-a": "pw-a-Zq81-never-shown", "d42-b": "pw-b-Kx27-never-shown"}


@pytest.fixture
def sim():
    """A simulated pair: d42-a production, d42-b standby, HTTPS with their own certificates."""
    from d42tui.simulator import Simulator

    with Simulator(tls=True) as simulator:
        simulator.add_appliance("d42-a", mode="production", username="d42admin",
                                password=PASSWORDS["d42-a"], backup_cron="0 */4 * * *")
        simulator.add_appliance("d42-b", mode="standby", username="d42admin",
                                password=PASSWORDS["d42-b"], restore_cron="30 */4 * * *")
        yield simulator


def sim_config_dict(simulator, tmp_path: Path, *, tls: str = "pin", poll: dict | None = None,
                    passwords: dict | None = None, automation: dict | None = None) -> dict:
    """A config dict for the simulated pair; passwords come from files, as in production."""
    passwords = passwords or PASSWORDS
    appliances = []
    for name in ("d42-a", "d42-b"):
        secret = tmp_path / f"{name}.pw"
        secret.write_text(passwords[name] + "\n")
        secret.chmod(0o600)
        entry = {"name": name, "url": simulator.url(name), "password_file": str(secret)}
        if tls == "pin":
            entry["tls"] = {"fingerprint_sha256": simulator.fingerprint(name)}
        elif tls == "ca":
            ca = tmp_path / f"{name}.pem"
            ca.write_text(simulator.cert_pem(name))
            entry["tls"] = {"ca_file": str(ca)}
        elif tls == "insecure":
            entry["tls"] = {"verify": False}
        appliances.append(entry)
    return {"pairs": [{
        "name": "main", "production": "d42-a", "timezone": "UTC",
        "backup_cron": "0 */4 * * *", "restore_cron": "30 */4 * * *",
        "poll": poll or {"interval": "1s", "timeout": "1s", "failure_threshold": 3,
                         "recovery_threshold": 2},
        "appliances": appliances,
        **({"automation": automation} if automation is not None else {}),
    }]}


def write_sim_config(simulator, tmp_path: Path, **kwargs) -> Path:
    import yaml

    path = tmp_path / "d42tui.yaml"
    path.write_text(yaml.safe_dump(sim_config_dict(simulator, tmp_path, **kwargs)))
    path.chmod(0o600)
    return path


def load_sim_config(simulator, tmp_path: Path, **kwargs):
    from d42tui.config.models import load_config

    return load_config(write_sim_config(simulator, tmp_path, **kwargs)).config
