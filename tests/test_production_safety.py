"""Never no production, never two: the findings of the attack drill, each a scenario.

The real CLI in a subprocess against the simulated pair over HTTPS; what counts is the
simulator's truth, its request log, the audit records and what `status --json` and
`check` say.
"""

from __future__ import annotations

import json

import yaml

from .conftest import sim_config_dict
from .test_cli_status import d42tui
from .test_mode_probe import truth_probe


def env_of(tmp_path):
    return {"D42TUI_STATE_DIR": str(tmp_path / "st")}


def write(tmp_path, data) -> str:
    path = tmp_path / "d42tui.yaml"
    path.write_text(yaml.safe_dump(data))
    path.chmod(0o600)
    return str(path)


def status(cfg: str, tmp_path) -> dict:
    out = d42tui("status", "--json", "--config", cfg, env=env_of(tmp_path))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["pairs"][0]


def truth(sim) -> dict[str, str]:
    return {n: a["mode"] for n, a in sim.truth()["appliances"].items()}


# --- verdicts that match the world --------------------------------------------------------

def test_both_appliances_refusing_is_both_down_and_pages(sim, tmp_path):
    cfg = write(tmp_path, sim_config_dict(sim, tmp_path))
    sim.set_fault("d42-a", "down")
    sim.set_fault("d42-b", "down")
    out = d42tui("check", "--config", cfg, env=env_of(tmp_path))
    assert out.returncode == 2, out.stdout
    assert out.stdout.startswith("D42 PAIR CRITICAL - main BOTH DOWN: d42-a (production) is "
                                 "down: connection refused"), out.stdout
    assert status(cfg, tmp_path)["verdict"] == "BOTH DOWN"


def test_both_appliances_silent_is_unknown_the_consoles_own_network(sim, tmp_path):
    data = sim_config_dict(sim, tmp_path, poll={"interval": "1s", "timeout": "300ms"})
    cfg = write(tmp_path, data)
    sim.set_fault("d42-a", "blackhole")
    sim.set_fault("d42-b", "blackhole")
    out = d42tui("check", "--config", cfg, env=env_of(tmp_path))
    assert out.returncode == 3, out.stdout
    assert "main UNKNOWN" in out.stdout and "console's own network" in out.stdout


def test_a_dead_primary_failover_is_not_a_split_brain_and_fails_back(sim, tmp_path):
    data = sim_config_dict(sim, tmp_path)
    for entry in data["pairs"][0]["appliances"]:
        entry["mode_probe"] = truth_probe(sim, entry["name"])
    cfg = write(tmp_path, data)
    sim.set_fault("d42-a", "down")  # refuses connections; its probe still says production
    out = d42tui("failover", "--yes", "--config", cfg, env=env_of(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert truth(sim) == {"d42-a": "production", "d42-b": "production"}  # a-down runs nothing
    pair = status(cfg, tmp_path)
    assert pair["verdict"] == "STANDBY DOWN", pair["reasons"]
    texts = [r["text"] for r in pair["reasons"]]
    assert any("d42-a is down and still production: not fenced" in t for t in texts), texts
    check = d42tui("check", "--config", cfg, env=env_of(tmp_path))
    assert check.returncode == 1, check.stdout  # production serves: a warning, not a page
    # failback is refused for what is true (d42-a does not answer), not "demote one side"
    out = d42tui("failback", "--yes", "--config", cfg, env=env_of(tmp_path))
    assert out.returncode == 1 and "d42-a does not answer" in out.stdout, out.stdout
    assert "demote one side" not in out.stdout
