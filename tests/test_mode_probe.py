"""The optional mode probe: a site's own signal of an appliance's mode, fetched with each poll.

The appliance has no GET of its mode. Here the signal is the simulator's control API
(`/truth`), which knows what each simulated appliance really is, and the mode is changed
behind the console's back the way a person would: a POST to the Appliance Manager.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml

from d42tui.config.models import ConfigError, load_config, parse_config, state_dir
from d42tui.engine.pair import Verdict
from d42tui.engine.poller import Poller
from d42tui.engine.state import StateStore
from d42tui.tui.text.boardtext import card_model

from .conftest import PASSWORDS, sim_config_dict


def probe_config(sim, tmp_path: Path, probes: dict[str, dict]):
    data = sim_config_dict(sim, tmp_path)
    for entry in data["pairs"][0]["appliances"]:
        if entry["name"] in probes:
            entry["mode_probe"] = probes[entry["name"]]
    path = tmp_path / "probe.yaml"
    path.write_text(yaml.safe_dump(data))
    path.chmod(0o600)
    return load_config(path).config


def truth_probe(sim, name: str) -> dict:
    # on the appliance's host: it may carry the appliance's credentials (the control API
    # ignores them)
    return {"url": sim.control_url + "/truth", "json_path": f"appliances.{name}.mode",
            "production": "production", "standby": "standby", "auth": True}


def flip_by_hand(sim, name: str, mode: str) -> None:
    """What a person does in the Appliance Manager, outside the console."""
    response = httpx.post(sim.url(name) + "/api/1.0/appliancemode/", verify=False,
                          data={"appliance_mode": mode}, auth=("d42admin", PASSWORDS[name]))
    assert response.status_code == 200


async def poll(config, tmp_path, rounds: int = 1):
    poller = Poller(config, StateStore(state_dir(config) if config.state_dir else tmp_path / "st"))
    try:
        for _ in range(rounds):
            snap = await poller.pairs["main"].poll_once()
        return snap
    finally:
        await poller.aclose()


async def test_probes_that_agree_with_the_asserted_modes_say_so(sim, tmp_path):
    config = probe_config(sim, tmp_path, {n: truth_probe(sim, n) for n in ("d42-a", "d42-b")})
    snap = await poll(config, tmp_path)
    assert snap.verdict.verdict is Verdict.HEALTHY, snap.verdict.headline
    assert {n: v.last.probed_mode for n, v in snap.views.items()} == {
        "d42-a": "production", "d42-b": "standby"}
    pair = config.pairs[0]
    card = card_model(pair, pair.appliances[0], snap.views["d42-a"], snap.modes["d42-a"], snap.at)
    assert "● UP · <50 ms · probe ✔" in card.plain()


async def test_a_mode_changed_by_hand_is_caught_by_the_probe(sim, tmp_path):
    config = probe_config(sim, tmp_path, {n: truth_probe(sim, n) for n in ("d42-a", "d42-b")})
    flip_by_hand(sim, "d42-b", "production")  # the standby promoted outside the console
    snap = await poll(config, tmp_path)
    assert snap.verdict.verdict is Verdict.SPLIT_BRAIN
    texts = [r.text for r in snap.verdict.reasons]
    assert texts[0] == "both appliances are production by the site's mode probes"
    assert "d42-b is asserted standby but its mode probe says production" in texts[1]
    pair = config.pairs[0]
    card = card_model(pair, pair.appliances[1], snap.views["d42-b"], snap.modes["d42-b"], snap.at)
    assert "probe: production ✖" in card.plain()

    flip_by_hand(sim, "d42-b", "standby")
    flip_by_hand(sim, "d42-a", "standby")  # now nobody is production, though d42-a is asserted
    snap = await poll(config, tmp_path)
    assert snap.verdict.verdict is Verdict.DEGRADED and snap.verdict.level == "critical"
    assert "d42-a is asserted production but its mode probe says standby" in \
        snap.verdict.reasons[0].text


async def test_a_failing_probe_is_a_warning_not_a_down_appliance(sim, tmp_path):
    broken = {**truth_probe(sim, "d42-a"), "json_path": "appliances.nobody.mode"}
    config = probe_config(sim, tmp_path, {"d42-a": broken})
    snap = await poll(config, tmp_path, rounds=4)
    assert snap.views["d42-a"].reachability.value == "UP"  # the health poll decides that
    assert snap.verdict.verdict is Verdict.DEGRADED and snap.verdict.level == "warning"
    assert "d42-a mode probe: unexpected answer: no value at appliances.nobody.mode" in \
        snap.verdict.reasons[0].text


class _Page(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def page():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


async def test_without_json_path_the_body_is_searched_for_either_text(sim, tmp_path, page):
    url = f"http://127.0.0.1:{page.server_address[1]}/mode"
    probe = {"url": url, "production": "standby mode: False", "standby": "standby mode: True"}
    config = probe_config(sim, tmp_path, {"d42-a": probe})
    _Page.body = b"Appliance Manager standby mode: False (background jobs on)"
    assert (await poll(config, tmp_path)).views["d42-a"].last.probed_mode == "production"
    _Page.body = b"Appliance Manager standby mode: True"
    snap = await poll(config, tmp_path)
    assert snap.views["d42-a"].last.probed_mode == "standby"
    assert "d42-a is asserted production but its mode probe says standby" in \
        snap.verdict.reasons[0].text
    _Page.body = b"maintenance"
    snap = await poll(config, tmp_path)
    assert snap.views["d42-a"].last.probe_failure.detail == "the answer says neither mode"


@pytest.mark.parametrize("probe, key, words", [
    ({"url": "https://x.example.com/m", "production": "a", "standby": "a"},
     "mode_probe.standby", "must differ"),
    ({"url": "https://x.example.com/m", "production": "on", "standby": "on duty"},
     "mode_probe.standby", "neither may contain the other"),
    ({"url": "https://x.example.com/m", "production": "p", "standby": "s", "json_path": "a..b"},
     "mode_probe.json_path", "dotted keys"),
    ({"url": "ftp://x", "production": "p", "standby": "s"}, "mode_probe.url", "http(s) URL"),
    ({"url": "https://x.example.com/m", "production": "p"}, "mode_probe.standby", "missing"),
    # the Appliance Manager's password never goes to another host
    ({"url": "https://cmdb.example.com/m", "production": "p", "standby": "s", "auth": True},
     "mode_probe.auth", "go only to 127.0.0.1, not to cmdb.example.com"),
])
def test_a_bad_probe_names_its_key(sim, tmp_path, probe, key, words):
    data = sim_config_dict(sim, tmp_path)
    data["pairs"][0]["appliances"][0]["mode_probe"] = probe
    with pytest.raises(ConfigError) as info:
        parse_config(yaml.safe_dump(data), Path("d42.yaml"))
    [line] = info.value.lines
    assert line.startswith(f"d42.yaml: pairs[0].appliances[0].{key}: ") and words in line, line


async def test_the_probe_is_checked_with_its_own_tls_settings(sim, tmp_path):
    # a probe served over HTTPS by another host (here d42-b's listener): d42-a's pin does
    # not apply to it; its own tls: section does, and is verified by default
    page = {"url": sim.url("d42-b") + "/healthstats/", "production": "cpu_used_percent",
            "standby": "no such text"}
    config = probe_config(sim, tmp_path, {"d42-a": page})
    snap = await poll(config, tmp_path)
    failure = snap.views["d42-a"].last.probe_failure
    assert failure is not None and failure.kind.value == "certificate"  # self-signed
    assert "d42-a mode probe: certificate not trusted" in snap.verdict.reasons[0].text
    pinned = {**page, "tls": {"fingerprint_sha256": sim.fingerprint("d42-b")}}
    config = probe_config(sim, tmp_path, {"d42-a": pinned})
    snap = await poll(config, tmp_path)
    assert snap.views["d42-a"].last.probed_mode == "production", snap.views["d42-a"].last
