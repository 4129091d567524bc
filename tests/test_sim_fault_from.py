"""Simulator faults by client address: a path broken from one host only."""

from __future__ import annotations

import asyncio

from d42tui.appliance.client import ApplianceClient
from tests.conftest import load_sim_config


def test_a_fault_from_one_address_leaves_the_others_served(sim, tmp_path):
    pair = load_sim_config(sim, tmp_path, tls="pin").pairs[0]
    cfg = pair.appliance("d42-a")
    sim.set_fault("d42-a", "blackhole", source="127.0.0.2")
    assert sim.truth()["appliances"]["d42-a"]["faults_from"] == {"127.0.0.2": "blackhole"}

    async def poll(source):
        client = ApplianceClient(cfg, 1.0, source_address=source)
        try:
            return await client.poll()
        finally:
            await client.aclose()
    there, cut = asyncio.run(poll("127.0.0.1")), asyncio.run(poll("127.0.0.2"))
    assert there.ok and not cut.ok
    assert {r.client for r in sim.requests("d42-a")} >= {"127.0.0.1", "127.0.0.2"}
    sim.set_fault("d42-a", "none", source="127.0.0.2")
    assert asyncio.run(poll("127.0.0.2")).ok
    assert "faults_from" not in sim.truth()["appliances"]["d42-a"]


def test_the_control_api_and_cli_take_from(sim, tmp_path):
    import subprocess
    import sys

    import yaml

    from tests.conftest import sim_config_dict

    data = sim_config_dict(sim, tmp_path)
    data["simulator"] = {"control_url": sim.control_url}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    out = subprocess.run([sys.executable, "-m", "d42tui", "simulate", "fault", "d42-a", "down",
                          "--from", "127.0.0.3", "--config", str(path)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert sim.truth()["appliances"]["d42-a"] == {"mode": "production", "fault": "none",
                                                  "faults_from": {"127.0.0.3": "down"}}
    bad = subprocess.run([sys.executable, "-m", "d42tui", "simulate", "fault", "d42-a", "down",
                          "--from", "somewhere", "--config", str(path)],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "IP address" in bad.stderr
