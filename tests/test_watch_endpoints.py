"""The watcher's HTTP endpoints over real HTTP on 127.0.0.1: a real watcher (real clock) on
the simulated pair, `/metrics` parsed by prometheus_client's own parser, the load-balancer
checks across a failover the watcher drives, basic auth, secrets, hostile clients, and a
real Prometheus server scraping it."""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from d42tui.config.models import load_config
from d42tui.engine.pair import Verdict
from d42tui.watch import endpoints as endpoints_module
from d42tui.watch.config import ListenAddress
from d42tui.watch.endpoints import EndpointServer
from d42tui.watch.metrics import version_label
from d42tui.watch.service import Watcher

from .conftest import PASSWORDS, require_binary
from .test_watch_cli import background  # noqa: F401, F811  (the fixture)
from .watch_harness import write_watch_config

AUTH_PASSWORD = "lb-Hq93-never-in-a-metric"
WEBHOOK_TOKEN = "T000/SECRET-TOKEN-zz81"


async def until(predicate, timeout: float = 30.0, what: str = "condition") -> Any:
    """Wait (polling the predicate, plain or async) until it returns something truthy;
    that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout}s")
        await asyncio.sleep(0.1)


class Served:
    """A watcher running its real loop, and its endpoints on an ephemeral loopback port."""

    def __init__(self, sim, tmp_path: Path, **kwargs: Any):
        self.sim = sim
        self.path = write_watch_config(sim, tmp_path, **kwargs)
        self.config = load_config(self.path).config
        self.logs: list[dict[str, Any]] = []
        self.watcher = Watcher(self.config, say=self.say)
        self.server = EndpointServer(self.watcher, self.config.watch,
                                     ListenAddress("127.0.0.1", 0))
        self.stop = asyncio.Event()
        self.rounds: list[float] = []  # monotonic time of each poll round's results
        self.watcher.pairs["main"].poller.result_listeners.append(
            lambda results: self.rounds.append(time.monotonic()))
        self.task: asyncio.Task[None] | None = None
        self.client: httpx.AsyncClient | None = None

    def say(self, level: str, event: str, text: str, pair: str | None = None,
            **fields: Any) -> None:
        self.logs.append({"level": level, "event": event, "text": text, "pair": pair, **fields})

    async def __aenter__(self) -> Served:
        await self.server.start()
        self.watcher.start()
        self.task = asyncio.create_task(self.watcher.run(self.stop))
        self.client = httpx.AsyncClient(base_url=self.server.url, timeout=10)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.stop.set()
        assert self.task is not None and self.client is not None
        await asyncio.wait_for(self.task, 30)
        await self.client.aclose()
        await self.server.aclose()
        await self.watcher.aclose()

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        assert self.client is not None
        return await self.client.get(path, **kwargs)

    async def metrics(self) -> dict[str, Any]:
        response = await self.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        return {f.name: f for f in text_string_to_metric_families(response.text)}


def samples(families: dict[str, Any], family: str, sample: str | None = None,
            **labels: str) -> list[Any]:
    return [s for s in families[family].samples
            if (sample is None or s.name == sample)
            and all(s.labels.get(k) == v for k, v in labels.items())]


def value(families: dict[str, Any], family: str, sample: str | None = None,
          **labels: str) -> float:
    found = samples(families, family, sample, **labels)
    assert len(found) == 1, (family, labels, found)
    return found[0].value


async def both_polled(served: Served) -> dict[str, Any]:
    async def ready() -> dict[str, Any] | None:
        families = await served.metrics()
        ups = [value(families, "d42tui_appliance_up", appliance=n) for n in ("d42-a", "d42-b")]
        return families if ups == [1, 1] else None
    return await until(ready, what="both appliances up in /metrics")


# --- /metrics ------------------------------------------------------------------------------

async def test_metrics_follow_the_conventions_and_read_the_watchers_state(sim, tmp_path):
    async with Served(sim, tmp_path) as served:
        families = await both_polled(served)
        assert value(families, "d42tui_watcher_up") == 1
        # without coordination: the one watcher is the one that acts
        assert [x.value for x in samples(families, "d42tui_watcher_leader", pair="main")] == [1]
        build = samples(families, "d42tui_build_info")
        assert len(build) == 1 and build[0].labels["version"]
        assert all(name.startswith("d42tui_") for name in families)
        # one series per verdict, exactly one of them 1
        verdicts = samples(families, "d42tui_pair_verdict", pair="main")
        assert {s.labels["verdict"] for s in verdicts} == {v.value for v in Verdict}
        assert [s.value for s in verdicts].count(1) == 1
        current = next(s.labels["verdict"] for s in verdicts if s.value == 1)
        status = (await served.get("/status")).json()
        assert current == status["pairs"][0]["verdict"]
        states = samples(families, "d42tui_pair_automation_state", pair="main")
        assert [s.labels["state"] for s in states if s.value == 1] == ["ARMED"]
        assert value(families, "d42tui_appliance_desired_production", appliance="d42-a") == 1
        assert value(families, "d42tui_appliance_desired_production", appliance="d42-b") == 0
        assert value(families, "d42tui_appliance_asserted_production", appliance="d42-a") == 1
        assert value(families, "d42tui_appliance_asserted_production", appliance="d42-b") == 0
        assert value(families, "d42tui_appliance_consecutive_failures", appliance="d42-a") == 0
        assert value(families, "d42tui_pair_split_brain") == 0
        cpu = value(families, "d42tui_appliance_cpu_usage_ratio", appliance="d42-a")
        assert 0 <= cpu <= 1
        assert value(families, "d42tui_appliance_database_size_bytes", appliance="d42-a") > 0
        info = samples(families, "d42tui_appliance_info", appliance="d42-a")
        assert len(info) == 1 and info[0].labels["version"] != ""
        # the histogram saw every poll of both appliances
        count = value(families, "d42tui_appliance_poll_duration_seconds",
                      "d42tui_appliance_poll_duration_seconds_count", appliance="d42-a")
        assert count >= 1
        assert families["d42tui_appliance_poll_duration_seconds"].type == "histogram"
        assert value(families, "d42tui_failovers", "d42tui_failovers_total") == 0
        assert families["d42tui_failovers"].type == "counter"
        assert value(families, "d42tui_pair_next_restore_timestamp_seconds") > time.time()
        assert value(families, "d42tui_pair_restore_window_active") == 0


async def test_promtool_accepts_a_live_scrape(sim, tmp_path):
    promtool = require_binary("promtool")
    async with Served(sim, tmp_path) as served:
        await both_polled(served)
        text = (await served.get("/metrics")).text
    proc = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "" and proc.stderr.strip() == "", proc.stdout + proc.stderr


def test_an_appliance_version_becomes_a_safe_label():
    assert version_label("8.4.1.1628") == "8.4.1.1628"
    assert version_label('8.4"} evil{x="1\n') == "8.4evilx1"
    assert version_label(None) == "unknown"
    assert version_label("\x1b[31m") == "31m"
    assert len(version_label("9" * 500)) == 32


# --- the load-balancer checks --------------------------------------------------------------

async def check(served: Served, path: str) -> tuple[int, dict[str, Any]]:
    response = await served.get(path)
    return response.status_code, response.json()


async def test_health_checks_follow_a_failover_the_watcher_drives(sim, tmp_path):
    async with Served(sim, tmp_path) as served:
        await both_polled(served)
        assert (await check(served, "/appliances/d42-a/production"))[0] == 200
        assert (await check(served, "/appliances/d42-b/standby"))[0] == 200
        status, body = await check(served, "/appliances/d42-b/production")
        assert status == 503 and body["why"] == "d42-b is not the desired production (d42-a is)"
        assert (await check(served, "/appliances/d42-a/standby"))[0] == 503
        status, body = await check(served, "/pairs/main/production")
        assert status == 200 and body["appliance"] == "d42-a" and body["ok"] is True
        head = await served.client.head("/pairs/main/production")
        assert head.status_code == 200 and head.content == b""

        sim.set_fault("d42-a", "down")

        async def a_refused() -> dict[str, Any] | None:
            status, body = await check(served, "/appliances/d42-a/production")
            return body if status == 503 else None
        body = await until(a_refused, what="d42-a/production 503")
        assert "d42-a" in body["why"]

        async def b_serves() -> dict[str, Any] | None:
            status, body = await check(served, "/pairs/main/production")
            return body if status == 200 and body["appliance"] == "d42-b" else None
        await until(b_serves, what="the pair's production to be d42-b")
        assert (await check(served, "/appliances/d42-b/production"))[0] == 200
        assert sim.truth()["appliances"]["d42-b"]["mode"] == "production"
        status, body = await check(served, "/appliances/d42-a/production")
        assert status == 503 and body["desired_production"] == "d42-b"
        # the dead old primary is no standby either: not fenced yet, and it does not answer
        status, body = await check(served, "/appliances/d42-a/standby")
        assert status == 503 and body["why"] == "d42-a is asserted production, not standby"
        families = await served.metrics()
        assert value(families, "d42tui_failovers", "d42tui_failovers_total") == 1
        assert value(families, "d42tui_actions", "d42tui_actions_total", kind="failover",
                     result="done") == 1
        assert value(families, "d42tui_appliance_desired_production", appliance="d42-b") == 1


async def test_unknown_names_are_404_and_nothing_accepts_a_write(sim, tmp_path):
    async with Served(sim, tmp_path) as served:
        await both_polled(served)
        for path in ("/appliances/nope/production", "/pairs/nope/production", "/nothing",
                     "/appliances/d42-a/primary", "/metrics/extra"):
            assert (await served.get(path)).status_code == 404, path
        posts_before = len([r for r in sim.requests() if r.method == "POST"])
        for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            response = await served.client.request(method, "/appliances/d42-a/production",
                                                   content=b'{"mode": "standby"}')
            assert response.status_code == 405, method
            assert response.headers["allow"] == "GET, HEAD"
        assert len([r for r in sim.requests() if r.method == "POST"]) == posts_before
        assert sim.truth()["appliances"]["d42-a"]["mode"] == "production"


async def test_a_keep_alive_client_is_told_when_its_connection_ends(sim, tmp_path):
    """The last request a connection may carry is answered with `Connection: close`, so a
    client reusing connections (Prometheus, a load balancer) never meets a silent close."""
    async with Served(sim, tmp_path) as served:
        limit = endpoints_module.MAX_REQUESTS_PER_CONNECTION
        answers = [await served.get("/pairs/main/production") for _ in range(limit + 5)]
        assert {a.status_code for a in answers} <= {200, 503}
        assert answers[limit - 1].headers["connection"] == "close"
        assert "connection" not in answers[limit - 2].headers


# --- basic auth and secrets ----------------------------------------------------------------

def with_listener_secrets(tmp_path: Path):
    secret = tmp_path / "listen.pw"
    secret.write_text(AUTH_PASSWORD + "\n")
    secret.chmod(0o600)
    hook = tmp_path / "hook.url"
    hook.write_text(f"http://127.0.0.1:9/hooks/{WEBHOOK_TOKEN}\n")
    hook.chmod(0o600)

    def edit(data: dict) -> None:
        data["watch"] = {"basic_auth": {"username": "prom", "password_file": str(secret)}}
        data["pairs"][0]["automation"]["notify"] = {"webhook": {"url_file": str(hook)},
                                                    "retries": 0}
    return edit


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def test_basic_auth_refuses_without_saying_anything(sim, tmp_path):
    async with Served(sim, tmp_path, edit=with_listener_secrets(tmp_path)) as served:
        for headers in ({}, basic("prom", "wrong-guess-Pz4"), basic("other", AUTH_PASSWORD),
                        {"Authorization": "Basic !!not-base64"},
                        {"Authorization": "Bearer " + AUTH_PASSWORD}):
            response = await served.get("/status", headers=headers)
            assert response.status_code == 401
            assert response.headers["www-authenticate"].startswith("Basic realm=")
            assert response.json() == {"error": "authentication required"}
            assert "wrong-guess" not in response.text and AUTH_PASSWORD not in response.text
        response = await served.get("/metrics", headers=basic("prom", AUTH_PASSWORD))
        assert response.status_code == 200
        assert (await served.get("/pairs/main/production")).status_code == 401


async def test_no_secret_reaches_metrics_or_status(sim, tmp_path):
    async with Served(sim, tmp_path, edit=with_listener_secrets(tmp_path)) as served:
        auth = basic("prom", AUTH_PASSWORD)

        async def polled() -> bool:
            r = await served.get("/status", headers=auth)
            return r.status_code == 200 and len(r.json()["pairs"]) == 1 \
                and all(a["ok"] for a in r.json()["pairs"][0]["appliances"])
        await until(polled, what="both appliances polled")
        texts = [(await served.get(path, headers=auth)).text
                 for path in ("/metrics", "/status", "/pairs/main/production",
                              "/appliances/d42-b/standby", "/nothing")]
        everything = "\n".join(texts)
        for secret in (*PASSWORDS.values(), AUTH_PASSWORD, WEBHOOK_TOKEN,
                       base64.b64encode(f"prom:{AUTH_PASSWORD}".encode()).decode()):
            assert secret not in everything
        assert json.loads(texts[1])["schema_version"] == 1


def test_an_unreadable_listener_password_refuses_to_start(sim, tmp_path):
    """`d42tui watch` with basic_auth whose password file is missing: exit 2, the key named,
    nothing served and no watcher started."""
    from .test_cli_status import d42tui

    def edit(data: dict) -> None:
        data["watch"] = {"listen": f"127.0.0.1:{free_port()}",
                         "basic_auth": {"username": "prom",
                                        "password_file": str(tmp_path / "missing.pw")}}
    path = write_watch_config(sim, tmp_path, edit=edit)
    proc = d42tui("watch", "--config", str(path))
    assert proc.returncode == 2
    assert "watch.basic_auth.password_file: cannot read secret file" in proc.stderr
    assert "started" not in proc.stderr


# --- hostile clients -----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def read_all(reader: asyncio.StreamReader, timeout: float) -> bytes:
    return await asyncio.wait_for(reader.read(), timeout)


async def test_slow_and_oversized_requests_are_cut_off_and_polling_keeps_its_rhythm(
        sim, tmp_path, monkeypatch):
    monkeypatch.setattr(endpoints_module, "HEAD_TIMEOUT", 1.5)
    async with Served(sim, tmp_path) as served:
        await both_polled(served)
        port = served.server.port
        start_rounds = len(served.rounds)
        started = time.monotonic()

        # a slowloris: a byte of the head every 200 ms, forever
        slow_r, slow_w = await asyncio.open_connection("127.0.0.1", port)

        async def dribble() -> None:
            for byte in b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200:
                slow_w.write(bytes([byte]))
                try:
                    await slow_w.drain()
                except (ConnectionError, OSError):
                    return
                await asyncio.sleep(0.2)
        dribbling = asyncio.create_task(dribble())

        # an oversized head: cut off with 431, never parsed past the cap
        big_r, big_w = await asyncio.open_connection("127.0.0.1", port)
        big_w.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 64_000 + b"\r\n\r\n")
        answer = await read_all(big_r, 5)
        assert answer.startswith(b"HTTP/1.1 431 ")

        # a flood: more idle connections than the server keeps; the extra ones are dropped
        flood = [await asyncio.open_connection("127.0.0.1", port)
                 for _ in range(endpoints_module.MAX_CONNECTIONS + 8)]
        assert await until(lambda: served.server.refused >= 8, 5, "flood refused")

        # the slowloris is cut off after HEAD_TIMEOUT although it keeps sending
        assert await read_all(slow_r, 5) == b""
        cut_after = time.monotonic() - started
        assert cut_after < 1.5 + 2.5
        for _, w in flood:
            w.close()
        big_w.close()
        slow_w.close()
        dribbling.cancel()
        await asyncio.gather(dribbling, return_exceptions=True)

        # and the server answers again at once
        async def answers() -> bool:
            try:
                return (await served.get("/pairs/main/production")).status_code == 200
            except httpx.HTTPError:
                return False
        await until(answers, 10, "an answer after the abuse")
        # the watcher kept its 1 s rhythm all along
        during = served.rounds[start_rounds - 1:]
        elapsed = time.monotonic() - started
        gaps = [b - a for a, b in zip(during, during[1:])]
        assert len(during) - 1 >= int(elapsed) - 1, (elapsed, gaps)
        assert max(gaps) < 1.5, gaps


# --- a real Prometheus server --------------------------------------------------------------

@pytest.mark.realserver("prometheus")
async def test_a_real_prometheus_scrapes_the_watcher(sim, tmp_path):
    prometheus = require_binary("prometheus")
    async with Served(sim, tmp_path) as served:
        await both_polled(served)
        web = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
            "scrape_configs:\n  - job_name: d42tui\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{served.server.port}']}}]\n")
        log = open(tmp_path / "prometheus.log", "wb")
        proc = subprocess.Popen([prometheus, f"--config.file={config}",
                                 f"--storage.tsdb.path={tmp_path / 'data'}",
                                 f"--web.listen-address=127.0.0.1:{web}"],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web}",
                                         timeout=5) as api:
                async def query(expr: str) -> list[dict[str, Any]]:
                    try:
                        r = await api.get("/api/v1/query", params={"query": expr})
                    except httpx.HTTPError:
                        return []
                    return r.json()["data"]["result"] if r.status_code == 200 else []

                async def watcher_up() -> list[dict[str, Any]]:
                    return [r for r in await query("d42tui_watcher_up") if r["value"][1] == "1"]
                assert await until(watcher_up, 60, "Prometheus to scrape d42tui_watcher_up 1")

                async def both_up() -> list[dict[str, Any]]:
                    found = await query("d42tui_appliance_up == 1")
                    return found if len(found) == 2 else []
                found = await until(both_up, 30, "d42tui_appliance_up for both appliances")
                assert {r["metric"]["appliance"] for r in found} == {"d42-a", "d42-b"}

                sim.set_fault("d42-b", "down")

                async def standby_down() -> list[dict[str, Any]]:
                    return await query('d42tui_pair_verdict{verdict="STANDBY DOWN"} == 1')
                assert await until(standby_down, 60, "the verdict series to change")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


# --- the command -----------------------------------------------------------------------------

def test_watch_listen_serves_until_sigterm(sim, tmp_path, background):  # noqa: F811
    port = free_port()
    path = write_watch_config(sim, tmp_path)
    watch = background("watch", "--config", str(path), "--listen", f"127.0.0.1:{port}")
    watch.wait_for(f"listening: serving /metrics, /status and the health checks on "
                   f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 20
    while True:
        families = {f.name: f for f in text_string_to_metric_families(
            httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)}
        if value(families, "d42tui_appliance_up", appliance="d42-a") == 1:
            break
        assert time.monotonic() < deadline, "d42-a never up in /metrics"
        time.sleep(0.1)
    assert value(families, "d42tui_watcher_up") == 1
    assert watch.stop() == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_a_bad_listen_argument_is_a_usage_error(sim, tmp_path):
    from .test_cli_status import d42tui

    path = write_watch_config(sim, tmp_path)
    proc = d42tui("watch", "--config", str(path), "--listen", "127.0.0.1:99999")
    assert proc.returncode == 2
    assert "argument --listen: '127.0.0.1:99999' is not HOST:PORT" in proc.stderr


def test_config_check_names_the_listen_keys(sim, tmp_path):
    from .test_cli_status import d42tui

    def missing_password(data: dict) -> None:
        data["watch"] = {"listen": "127.0.0.1:9442",
                         "basic_auth": {"username": "prom",
                                        "password_file": str(tmp_path / "missing.pw")}}
    path = write_watch_config(sim, tmp_path, edit=missing_password)
    proc = d42tui("config", "check", "--secrets", "--config", str(path))
    assert proc.returncode == 2
    assert f"{path}: watch.basic_auth.password_file: cannot read secret file" in proc.stderr

    def bad_listen(data: dict) -> None:
        data["watch"] = {"listen": "127.0.0.1:http"}
    path = write_watch_config(sim, tmp_path, edit=bad_listen)
    proc = d42tui("config", "check", "--config", str(path))
    assert proc.returncode == 2
    assert "watch.listen" in proc.stderr and "'127.0.0.1:http' is not HOST:PORT" in proc.stderr
