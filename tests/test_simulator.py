"""The simulator against its contract (docs/appliance-api.md), over real loopback sockets."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from d42tui.config.models import load_config
from d42tui.simulator import (
    FAULT_KINDS,
    ControlClient,
    SimRequest,
    Simulator,
    SimulatorUnreachable,
)
from d42tui.simulator.run import build_demo, write_config
from tests.conftest import require_binary

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "s3cret-Pa55"
STANDBY_MSG = "Appliance Manager standby mode set to True. Background jobs disabled"
PRODUCTION_MSG = "Appliance Manager standby mode set to False. Background jobs enabled"
STATUS_RE = re.compile(r"^(?P<text>.*)\n @ (?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$", re.DOTALL)


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


class FakeClock:
    def __init__(self, now: str):
        self.now = epoch(now)

    def set(self, now: str) -> None:
        self.now = epoch(now)

    def __call__(self) -> float:
        return self.now


def add_pair(sim: Simulator, **extra) -> None:
    sim.add_appliance("d42-a", mode="production", username="d42admin", password=PASSWORD,
                      backup_cron="0 */4 * * *", **extra)
    sim.add_appliance("d42-b", mode="standby", username="d42admin", password=PASSWORD,
                      backup_cron="0 */4 * * *", restore_cron="30 */4 * * *", **extra)


@pytest.fixture(autouse=True)
def no_leftover_threads():
    yield
    deadline = time.monotonic() + 2
    while any(t.name == "d42tui-simulator" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "a simulator thread outlived its test"
        time.sleep(0.01)


@pytest.fixture
def sim():
    with Simulator(http=True) as sim:
        add_pair(sim, api=False)
        sim.add_appliance("d42-api", password=PASSWORD, api=True)
        yield sim


def client(sim: Simulator, name: str, timeout: float = 3.0) -> httpx.Client:
    """A client that trusts exactly this appliance's self-signed certificate."""
    return httpx.Client(base_url=sim.url(name), trust_env=False, timeout=timeout,
                        verify=ssl.create_default_context(cadata=sim.cert_pem(name)))


def set_mode(sim: Simulator, name: str, mode: str, auth=("d42admin", PASSWORD)) -> httpx.Response:
    with client(sim, name) as c:
        return c.post("/api/1.0/appliancemode/", data={"appliance_mode": mode}, auth=auth)


def assert_error_body(response: httpx.Response, status: int) -> None:
    assert response.status_code == status
    errors = response.json()["errors"]
    assert len(errors) == 1 and set(errors[0]) == {"code", "reason", "title", "detail"}
    assert errors[0]["code"] == status


def refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


# --- the documented endpoints ----------------------------------------------------------

def test_healthstats_has_the_documented_shape_with_string_typed_numbers(sim):
    with client(sim, "d42-a") as c:
        body = c.get("/healthstats/").json()
    assert set(body) == {"backup_status", "cpu_used_percent", "dbsize", "disk_used_percent",
                         "memory_in_MB", "version"}
    assert re.fullmatch(r"\d+\.\d{5}", body["cpu_used_percent"])
    assert re.fullmatch(r"\d+ MB", body["dbsize"])
    assert isinstance(body["disk_used_percent"], str) and body["disk_used_percent"].isdigit()
    memory = body["memory_in_MB"]
    assert set(memory) == {"buffers", "cached", "memfree", "memtotal", "swapfree", "swaptotal"}
    assert all(type(v) is int for v in memory.values()) and memory["memfree"] < memory["memtotal"]
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", body["version"])
    [job] = body["backup_status"]
    assert set(job) == {"id", "job_name", "status"}
    assert STATUS_RE.match(job["status"]).group("text") == "good"
    [record] = sim.requests("d42-a")
    assert (record.method, record.path, record.auth_user, record.auth_ok) == (
        "GET", "/healthstats/", None, False)


def test_each_appliance_has_its_own_pinnable_self_signed_certificate(sim):
    port = int(sim.url("d42-a").rsplit(":", 1)[1])
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port)) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        der = tls.getpeercert(binary_form=True)
    digest = hashlib.sha256(der).hexdigest().upper()
    assert sim.fingerprint("d42-a") == ":".join(digest[i:i + 2] for i in range(0, 64, 2))
    assert sim.fingerprint("d42-a") != sim.fingerprint("d42-b")
    cert = x509.load_pem_x509_certificate(sim.cert_pem("d42-a").encode())
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    with httpx.Client(verify=ssl.create_default_context(cadata=sim.cert_pem("d42-b")),
                      trust_env=False) as wrong, pytest.raises(httpx.ConnectError):
        wrong.get(sim.url("d42-a") + "/healthstats/")


def test_posting_a_mode_changes_the_truth_and_answers_the_documented_msg(sim):
    response = set_mode(sim, "d42-a", "standby")
    assert response.status_code == 200 and response.json() == {"msg": STANDBY_MSG}
    assert sim.truth()["appliances"]["d42-a"] == {"mode": "standby", "fault": "none"}
    for _ in range(2):  # idempotent
        response = set_mode(sim, "d42-b", "production")
        assert response.json() == {"msg": PRODUCTION_MSG}
    assert sim.truth() == {"appliances": {
        "d42-a": {"mode": "standby", "fault": "none"},
        "d42-b": {"mode": "production", "fault": "none"},
        "d42-api": {"mode": "production", "fault": "none"}}}
    assert sim.requests("d42-b")[0].form == {"appliance_mode": "production"}


@pytest.mark.parametrize("kwargs", [
    {"data": {}}, {"data": {"appliance_mode": "primary"}}, {"data": {"mode": "standby"}},
    {"json": {"appliance_mode": "standby"}}, {"content": b"appliance_mode=standby"},
])
def test_a_missing_or_invalid_mode_or_a_non_form_body_is_400(sim, kwargs):
    with client(sim, "d42-a") as c:
        response = c.post("/api/1.0/appliancemode/", auth=("d42admin", PASSWORD), **kwargs)
    assert_error_body(response, 400)
    assert sim.truth()["appliances"]["d42-a"]["mode"] == "production"


@pytest.mark.parametrize("auth", [None, ("d42admin", "wrong"), ("admin", PASSWORD)])
def test_wrong_or_missing_credentials_are_401_and_logged_without_the_password(sim, auth):
    response = set_mode(sim, "d42-a", "standby", auth=auth)
    assert_error_body(response, 401)
    assert response.headers["www-authenticate"].startswith("Basic")
    assert sim.truth()["appliances"]["d42-a"]["mode"] == "production"
    [record] = sim.requests("d42-a")
    assert record.auth_ok is False and record.auth_user == (auth[0] if auth else None)
    with ControlClient(sim.control_url) as control:
        logged = repr(sim.requests()) + json.dumps(control.requests())
    assert PASSWORD not in logged and "wrong" not in logged


def test_the_password_never_reaches_the_request_log_even_in_a_form(sim):
    with client(sim, "d42-a") as c:
        c.post("/api/1.0/appliancemode/", auth=("d42admin", PASSWORD),
               data={"appliance_mode": "standby", "password": PASSWORD, "note": PASSWORD})
    assert PASSWORD not in repr(sim.requests())
    assert sim.requests()[0].auth_ok is True


def test_there_is_no_get_of_the_mode(sim):
    with client(sim, "d42-a") as c:
        response = c.get("/api/1.0/appliancemode/", auth=("d42admin", PASSWORD))
    assert_error_body(response, 405)
    assert response.headers["allow"] == "POST"


def test_unknown_paths_are_404_with_the_error_body(sim):
    with client(sim, "d42-a") as c:
        assert_error_body(c.get("/api/1.0/devices/"), 404)
        assert_error_body(c.get("/healthstats"), 404)


def test_backup_schedules_need_auth_and_list_the_job(sim):
    with client(sim, "d42-a") as c:
        assert_error_body(c.get("/api/1.0/backup_schedules/"), 401)
        response = c.get("/api/1.0/backup_schedules/", auth=("d42admin", PASSWORD))
    assert response.json() == {"jobs": [{"job_id": 1, "method": 2, "name": "nightly"}]}


def test_protected_healthstats_need_basic_auth():
    with Simulator() as sim:
        sim.add_appliance("d42-a", password=PASSWORD, health_auth=True)
        with client(sim, "d42-a") as c:
            assert_error_body(c.get("/healthstats/"), 401)
            assert c.get("/healthstats/", auth=("d42admin", PASSWORD)).status_code == 200


def test_main_api_answers_tags_with_auth_and_takes_faults(sim):
    url = sim.api_url("d42-api") + "/api/1.0/tags/?limit=1"
    assert sim.api_url("d42-a") is None
    with client(sim, "d42-api") as c:
        assert_error_body(c.get(url), 401)
        body = c.get(url, auth=("d42admin", PASSWORD)).json()
        assert body["limit"] == 1 and body["offset"] == 0 and len(body["tags"]) == 1
        assert body["total_count"] >= 1
        sim.set_fault("d42-api", "error500")
        assert_error_body(c.get(url, auth=("d42admin", PASSWORD)), 500)
    assert sim.requests("d42-api")[0].path == "/api/1.0/tags/"


def test_the_plain_http_listener_serves_the_same_appliance(sim):
    with httpx.Client(trust_env=False) as c:
        response = c.post(sim.http_url("d42-a") + "/api/1.0/appliancemode/",
                          data={"appliance_mode": "standby"}, auth=("d42admin", PASSWORD))
    assert response.json() == {"msg": STANDBY_MSG}
    assert sim.truth()["appliances"]["d42-a"]["mode"] == "standby"


def test_the_documented_vendor_curl_command_fails_over(sim):
    curl = require_binary("curl")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    out = subprocess.run(
        [curl, "-sS", "-k", "-u", f"d42admin:{PASSWORD}", "-X", "POST",
         "-d", "appliance_mode=production", sim.url("d42-b") + "/api/1.0/appliancemode/"],
        capture_output=True, text=True, timeout=10, env=env, check=True)
    assert json.loads(out.stdout) == {"msg": PRODUCTION_MSG}
    assert sim.truth()["appliances"]["d42-b"]["mode"] == "production"


async def test_a_client_on_its_own_event_loop_is_served(sim):
    context = ssl.create_default_context(cadata=sim.cert_pem("d42-a"))
    async with httpx.AsyncClient(verify=context, trust_env=False) as c:
        response = await c.get(sim.url("d42-a") + "/healthstats/")
    assert response.status_code == 200


# --- faults ------------------------------------------------------------------------------

def test_fault_kinds_and_unknown_names_or_kinds(sim):
    assert FAULT_KINDS == ("none", "down", "blackhole", "slow", "error500", "unauthorized",
                           "garbage", "flap", "backup-failing")
    with pytest.raises(ValueError):
        sim.set_fault("d42-zz", "down")
    with pytest.raises(ValueError):
        sim.set_fault("d42-a", "on-fire")
    sim.set_fault("d42-a", "slow", ms=10)
    assert sim.truth()["appliances"]["d42-a"] == {"mode": "production", "fault": "slow"}


def test_down_refuses_connections_and_comes_back_on_the_same_port(sim):
    url = sim.url("d42-a")
    port = int(url.rsplit(":", 1)[1])
    with client(sim, "d42-a") as c:
        assert c.get("/healthstats/").status_code == 200  # a kept-alive connection
        sim.set_fault("d42-a", "down")
        assert refuses(port) and refuses(int(sim.http_url("d42-a").rsplit(":", 1)[1]))
        with pytest.raises(httpx.TransportError):
            c.get("/healthstats/")
        sim.set_fault("d42-a", "none")
        assert sim.url("d42-a") == url
        assert c.get("/healthstats/").status_code == 200


def test_blackhole_accepts_and_never_answers(sim):
    sim.set_fault("d42-a", "blackhole")
    started = time.monotonic()
    with client(sim, "d42-a", timeout=0.3) as c, pytest.raises(httpx.ReadTimeout):
        c.get("/healthstats/")
    assert time.monotonic() - started < 2
    assert [r.path for r in sim.requests("d42-a")] == ["/healthstats/"]  # it did arrive


def test_blackholed_connections_do_not_hold_up_stop():
    sim = Simulator().start()
    sim.add_appliance("d42-a")
    sim.set_fault("d42-a", "blackhole")
    port = int(sim.url("d42-a").rsplit(":", 1)[1])
    holders = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
    started = time.monotonic()
    sim.stop()
    sim.stop()  # idempotent
    assert time.monotonic() - started < 3 and refuses(port)
    for s in holders:
        s.close()


def test_slow_delays_every_response(sim):
    sim.set_fault("d42-a", "slow", ms=300)
    with client(sim, "d42-a") as c:
        started = time.monotonic()
        assert c.get("/healthstats/").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_error500_and_unauthorized_answer_every_request(sim):
    with client(sim, "d42-a") as c:
        sim.set_fault("d42-a", "error500")
        assert_error_body(c.get("/healthstats/"), 500)
        sim.set_fault("d42-a", "unauthorized")
        assert_error_body(c.get("/healthstats/"), 401)
        response = c.post("/api/1.0/appliancemode/", data={"appliance_mode": "standby"},
                          auth=("d42admin", PASSWORD))
        assert_error_body(response, 401)
    assert sim.truth()["appliances"]["d42-a"]["mode"] == "production"
    assert sim.requests("d42-a")[-1].auth_ok is False


def test_garbage_is_a_200_html_page_not_json(sim):
    sim.set_fault("d42-a", "garbage")
    with client(sim, "d42-a") as c:
        response = c.get("/healthstats/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()


def test_flap_alternates_and_never_fails_twice_in_a_row(sim):
    sim.set_fault("d42-a", "flap")
    outcomes = []
    with client(sim, "d42-a") as c:
        for _ in range(8):
            try:
                outcomes.append(c.get("/healthstats/").status_code == 200)
            except httpx.TransportError:
                outcomes.append(False)
    assert outcomes == [True, False] * 4


def test_backup_failing_shows_the_vendor_failure_text(sim):
    sim.set_fault("d42-a", "backup-failing")
    with client(sim, "d42-a") as c:
        status = c.get("/healthstats/").json()["backup_status"][0]["status"]
    assert STATUS_RE.match(status).group("text") == "File send failed :[Errno 2] No such file\n"


# --- backups and restores over (simulated) time ------------------------------------------

def status_of(sim: Simulator, name: str) -> str:
    with client(sim, name) as c:
        return c.get("/healthstats/").json()["backup_status"][0]["status"]


def test_backups_stop_while_standby_and_resume_in_production():
    clock = FakeClock("2024-05-01 05:00:00")
    with Simulator(clock=clock) as sim:
        add_pair(sim)
        assert status_of(sim, "d42-a") == "good\n @ 2024-05-01 04:00:00"
        assert status_of(sim, "d42-b") == "Backup not run since last reboot. Please check."
        set_mode(sim, "d42-a", "standby")
        clock.set("2024-05-01 09:00:00")
        assert status_of(sim, "d42-a") == "good\n @ 2024-05-01 04:00:00"
        set_mode(sim, "d42-a", "production")
        clock.set("2024-05-01 10:00:00")
        assert status_of(sim, "d42-a") == "good\n @ 2024-05-01 04:00:00"
        clock.set("2024-05-01 12:00:00")
        assert status_of(sim, "d42-a") == "good\n @ 2024-05-01 12:00:00"
        assert sim.requests("d42-a")[-1].at == clock.now


def test_status_times_are_in_the_appliance_time_zone():
    clock = FakeClock("2024-05-01 05:00:00")  # 07:00 in Berlin (CEST)
    with Simulator(clock=clock) as sim:
        sim.add_appliance("d42-a", backup_cron="0 */4 * * *", timezone="Europe/Berlin")
        assert status_of(sim, "d42-a") == "good\n @ 2024-05-01 04:00:00"


def test_the_standby_restores_from_each_restore_cron_fire_for_its_duration():
    clock = FakeClock("2024-05-01 04:29:59")
    with Simulator(clock=clock) as sim:
        add_pair(sim)

        def cpu(name: str) -> float:
            with client(sim, name) as c:
                return float(c.get("/healthstats/").json()["cpu_used_percent"])

        assert not sim.restoring("d42-b")
        calm = cpu("d42-b")
        for moment in ("2024-05-01 04:30:00", "2024-05-01 04:59:59"):
            clock.set(moment)
            assert sim.restoring("d42-b") and not sim.restoring("d42-a")
            assert cpu("d42-b") > max(calm, 50)
        clock.set("2024-05-01 05:00:00")
        assert not sim.restoring("d42-b") and cpu("d42-b") < 50
        clock.set("2024-05-01 04:40:00")
        set_mode(sim, "d42-b", "production")  # a production appliance does not auto-restore
        assert not sim.restoring("d42-b")
        assert set(sim.truth()["appliances"]["d42-b"]) == {"mode", "fault"}


# --- control API ---------------------------------------------------------------------------

def test_control_api_injects_faults_and_reports_truth(sim):
    with ControlClient(sim.control_url) as control:
        assert control.truth() == sim.truth()
        truth = control.set_fault("d42-b", "slow", ms=500)
        assert truth["appliances"]["d42-b"] == {"mode": "standby", "fault": "slow"}
        with pytest.raises(ValueError, match="unknown appliance"):
            control.set_fault("nope", "down")
        with pytest.raises(ValueError, match="unknown fault kind"):
            control.set_fault("d42-a", "melt")
        control.set_fault("d42-a", "down")
        assert refuses(int(sim.url("d42-a").rsplit(":", 1)[1]))
        control.set_fault("d42-a", "none")
        listing = control.appliances()
        assert listing["d42-a"] == {"url": sim.url("d42-a"), "http_url": sim.http_url("d42-a"),
                                    "api_url": None, "fingerprint_sha256": sim.fingerprint("d42-a")}
        set_mode(sim, "d42-a", "standby")
        [record] = control.requests("d42-a")
        assert record["form"] == {"appliance_mode": "standby"} and record["auth_ok"] is True
        control.clear_requests()
        assert control.requests() == [] and sim.requests() == []
    with httpx.Client(base_url=sim.control_url, trust_env=False) as raw:
        assert raw.post("/fault", json={"appliance": "d42-a"}).status_code == 400
        assert raw.post("/fault", content=b"{not json").json()["error"]
        assert raw.get("/requests", params={"appliance": "nope"}).status_code == 400


def test_a_mode_changed_by_hand_leaves_no_request_behind(sim):
    # as a person in the appliance's own UI: the truth changes, no API request is logged
    with ControlClient(sim.control_url) as control:
        truth = control.set_mode_by_hand("d42-b", "production")
        assert truth["appliances"]["d42-b"] == {"mode": "production", "fault": "none"}
        assert control.requests("d42-b") == []
        with pytest.raises(ValueError, match="mode must be production or standby"):
            control.set_mode_by_hand("d42-b", "primary")
        with pytest.raises(ValueError, match="unknown appliance"):
            control.set_mode_by_hand("nope", "standby")
    with httpx.Client(base_url=sim.control_url, trust_env=False) as raw:
        assert raw.post("/mode", content=b"[]").status_code == 400


def test_control_client_says_when_no_simulator_listens():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with ControlClient(f"http://127.0.0.1:{port}", timeout=1) as control, \
            pytest.raises(SimulatorUnreachable):
        control.truth()


def test_appliances_can_be_added_after_start_and_records_are_frozen(sim):
    sim.add_appliance("d42-c", password=PASSWORD)
    assert status_of(sim, "d42-c")
    record = sim.requests("d42-c")[0]
    assert isinstance(record, SimRequest)
    with pytest.raises(AttributeError):
        record.auth_ok = True  # type: ignore[misc]
    with pytest.raises(ValueError):
        sim.add_appliance("d42-c")


# --- HTTP plumbing ------------------------------------------------------------------------

def raw_exchange(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(payload)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("payload, status", [
    (b"NONSENSE\r\n\r\n", 400),
    (b"GET /healthstats/ HTTP/1.1\r\n\r\n", 400),  # no Host
    (b"GET /healthstats/ HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400),
    (b"GET /healthstats/ HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"GET /healthstats/ HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 20000 + b"\r\n\r\n", 431),
    (b"POST /api/1.0/appliancemode/ HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999\r\n\r\n", 413),
    (b"POST /api/1.0/appliancemode/ HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n", 501),
])
def test_malformed_or_oversized_requests_are_refused_and_closed(payload, status):
    with Simulator(tls=False) as sim:
        sim.add_appliance("d42-a")
        answer = raw_exchange(int(sim.url("d42-a").rsplit(":", 1)[1]), payload)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode())
    assert b"Connection: close" in answer and b'"errors"' in answer


def test_a_too_large_body_still_gets_its_413(sim):
    with client(sim, "d42-a") as c:
        response = c.post("/api/1.0/appliancemode/", content=b"x" * (2 * 1024 * 1024),
                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert_error_body(response, 413)
    assert sim.truth()["appliances"]["d42-a"]["mode"] == "production"


def test_keep_alive_serves_several_requests_and_connection_close_ends_it():
    with Simulator(tls=False) as sim:
        sim.add_appliance("d42-a")
        request = b"GET /healthstats/ HTTP/1.1\r\nHost: x\r\n\r\n"
        last = b"GET /nope/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        answer = raw_exchange(int(sim.url("d42-a").rsplit(":", 1)[1]), request * 2 + last)
        assert answer.count(b"HTTP/1.1 200 OK") == 2 and answer.count(b"HTTP/1.1 404") == 1
        assert len(sim.requests()) == 3


# --- config, demo and the `simulate` command ------------------------------------------------

def test_write_config_produces_a_config_the_console_loads(tmp_path):
    sim, passwords = build_demo(pairs=2)
    with sim:
        path = write_config(sim, tmp_path / "sim.yaml", passwords)
        loaded = load_config(path)
        text = path.read_text()
    assert loaded.warnings == []
    assert path.stat().st_mode & 0o777 == 0o600
    assert not any(p in text for p in passwords.values())
    config = loaded.config
    assert [p.name for p in config.pairs] == ["main", "pair-2"]
    main = config.pair("main")
    assert main.production == "d42-a" and [a.name for a in main.appliances] == ["d42-a", "d42-b"]
    assert (main.backup_cron, main.restore_cron) == ("0 */4 * * *", "30 */4 * * *")
    assert (main.poll.interval, main.poll.timeout, main.poll.failure_threshold) == (1.0, 1.0, 3)
    assert config.simulator.control_url == sim.control_url
    for appliance in (a for p in config.pairs for a in p.appliances):
        assert appliance.url == sim.url(appliance.name)
        assert appliance.tls.fingerprint_sha256 == sim.fingerprint(appliance.name)
        assert appliance.secret().value() == passwords[appliance.name]
        assert appliance.password_file.stat().st_mode & 0o777 == 0o600


def test_two_hundred_appliances_start_and_stop_quickly():
    started = time.monotonic()
    sim = Simulator()
    for i in range(200):
        sim.add_appliance(f"d42-{i}", mode="production" if i % 2 else "standby")
    sim.start()
    try:
        with client(sim, "d42-199") as c:
            assert c.get("/healthstats/").status_code == 200
        ports = [int(sim.url(n).rsplit(":", 1)[1]) for n in ("d42-0", "d42-199")]
    finally:
        sim.stop()
    assert time.monotonic() - started < 10
    assert all(refuses(p) for p in ports)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_simulate_command_prints_addresses_and_stops_cleanly(tmp_path, signum):
    out = tmp_path / "sim.yaml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "d42tui.simulator", "--http", "--config-out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        lines = []
        while not lines or "Ctrl-C" not in lines[-1]:
            line = proc.stdout.readline()
            assert line, f"the simulator exited early: {proc.stderr.read()}"
            lines.append(line)
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=10)
    finally:
        proc.kill() if proc.poll() is None else None
    printed = "".join(lines) + stdout + stderr
    assert proc.returncode == 0 and "Traceback" not in stderr
    assert "https://127.0.0.1:" in printed and "http://127.0.0.1:" in printed
    assert "SHA-256" in printed and str(out) in printed
    config = load_config(out).config
    assert config.simulator.control_url in printed
    for appliance in config.pairs[0].appliances:
        assert appliance.secret().value() not in printed
