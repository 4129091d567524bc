"""The appliance client against the simulator over real loopback HTTPS, for every fault."""

from __future__ import annotations

import asyncio
import time

import pytest

from d42tui.appliance.client import ApplianceClient, FailureKind
from d42tui.config.models import ApplianceConfig

from .conftest import PASSWORDS, load_sim_config


def client_for(sim, tmp_path, name="d42-a", timeout=1.0, **kwargs) -> ApplianceClient:
    config = load_sim_config(sim, tmp_path, **kwargs)
    return ApplianceClient(config.pairs[0].appliance(name), timeout)


async def test_health_over_pinned_https(sim, tmp_path):
    async with client_for(sim, tmp_path) as client:
        result = await client.health()
    assert result.ok, result.failure
    assert result.health.cpu_percent is not None and result.health.dbsize_mb is not None
    assert result.health.version and result.latency < 1.0


async def test_health_with_ca_file(sim, tmp_path):
    async with client_for(sim, tmp_path, tls="ca") as client:
        result = await client.health()
    assert result.ok, result.failure


async def test_system_trust_rejects_a_self_signed_appliance(sim, tmp_path):
    async with client_for(sim, tmp_path, tls="system") as client:
        result = await client.health()
    # a certificate the console does not trust: it cannot tell who answered (not an outage)
    assert result.failure.kind is FailureKind.CERTIFICATE
    assert str(result.failure) == "certificate not trusted: self-signed certificate"


async def test_wrong_pin_is_rejected_before_any_request_byte(sim, tmp_path):
    config = load_sim_config(sim, tmp_path)
    a = config.pairs[0].appliance("d42-a")
    # pin d42-b's certificate for d42-a: a man in the middle with a valid-looking cert
    wrong = a.model_copy(update={"tls": a.tls.model_copy(
        update={"fingerprint_sha256": sim.fingerprint("d42-b")})})
    sim.clear_requests()
    async with ApplianceClient(wrong, 1.0) as client:
        health = await client.health()
        change = await client.set_mode("standby")
    assert health.failure.kind is FailureKind.PIN_MISMATCH
    assert change.outcome == "failed" and not change.sent
    assert sim.requests("d42-a") == []  # not even the request line, so not the credentials
    assert sim.truth()["appliances"]["d42-a"]["mode"] == "production"


async def test_set_mode_changes_the_truth(sim, tmp_path):
    async with client_for(sim, tmp_path, name="d42-b") as client:
        result = await client.set_mode("production")
    assert result.outcome == "done" and result.status == 200
    assert "standby mode set to False" in result.message
    assert sim.truth()["appliances"]["d42-b"]["mode"] == "production"
    (req,) = [r for r in sim.requests("d42-b") if r.method == "POST"]
    assert req.form == {"appliance_mode": "production"} and req.auth_ok


async def test_wrong_password_is_named_as_rejected_credentials(sim, tmp_path):
    bad = {"d42-a": "wrong-password-xyz", "d42-b": PASSWORDS["d42-b"]}
    async with client_for(sim, tmp_path, passwords=bad) as client:
        result = await client.set_mode("standby")
    assert result.outcome == "failed" and result.status == 401
    assert result.failure.kind is FailureKind.UNAUTHORIZED
    assert "credentials rejected" in result.message
    assert sim.truth()["appliances"]["d42-a"]["mode"] == "production"


FAULTS = [
    ("down", FailureKind.REFUSED),
    ("blackhole", FailureKind.TIMEOUT),
    ("error500", FailureKind.SERVER_ERROR),
    ("unauthorized", FailureKind.UNAUTHORIZED),
    ("garbage", FailureKind.NOT_JSON),
]


@pytest.mark.parametrize("fault,kind", FAULTS)
async def test_each_fault_is_classified(sim, tmp_path, fault, kind):
    sim.set_fault("d42-a", fault)
    started = time.perf_counter()
    async with client_for(sim, tmp_path, timeout=0.5) as client:
        result = await client.health()
    assert not result.ok and result.failure.kind is kind, result.failure
    assert time.perf_counter() - started < 0.5 + 0.3  # the deadline is hard


async def test_slow_answers_within_timeout_and_times_out_beyond(sim, tmp_path):
    sim.set_fault("d42-a", "slow", ms=200)
    async with client_for(sim, tmp_path, timeout=1.0) as client:
        result = await client.health()
    assert result.ok and result.latency >= 0.2
    sim.set_fault("d42-a", "slow", ms=1500)
    async with client_for(sim, tmp_path, timeout=0.5) as client:
        result = await client.health()
    assert result.failure.kind is FailureKind.TIMEOUT


async def test_flap_alternates(sim, tmp_path):
    sim.set_fault("d42-a", "flap")
    async with client_for(sim, tmp_path) as client:
        results = [await client.health() for _ in range(6)]
    oks = [r.ok for r in results]
    assert True in oks and False in oks
    assert not any(a is False and b is False for a, b in zip(oks, oks[1:]))
    # in our words, not the transport's ("0 bytes read on a total of undefined expected bytes")
    assert {str(r.failure) for r in results if not r.ok} == {
        "network error: connection closed without an answer"}


async def test_backup_failing_is_seen_in_health(sim, tmp_path):
    sim.set_fault("d42-a", "backup-failing")
    async with client_for(sim, tmp_path) as client:
        result = await client.health()
    assert result.ok and result.health.backup_level == "critical"


async def test_blackhole_during_set_mode_is_unknown_not_success(sim, tmp_path):
    sim.set_fault("d42-b", "blackhole")
    async with client_for(sim, tmp_path, name="d42-b", timeout=0.5) as client:
        result = await client.set_mode("production")
    assert result.outcome == "unknown" and result.sent
    assert "may have applied" in result.message


async def test_refused_set_mode_is_failed_and_not_sent(sim, tmp_path):
    sim.set_fault("d42-b", "down")
    async with client_for(sim, tmp_path, name="d42-b") as client:
        result = await client.set_mode("production")
    assert result.outcome == "failed" and not result.sent
    assert result.failure.kind is FailureKind.REFUSED


async def test_no_credentials_is_a_clear_failure(sim):
    cfg = ApplianceConfig(name="d42-a", url=sim.url("d42-a"),
                          tls={"fingerprint_sha256": sim.fingerprint("d42-a")})
    async with ApplianceClient(cfg, 1.0) as client:
        result = await client.set_mode("standby")
    assert result.outcome == "failed" and result.failure.kind is FailureKind.NO_CREDENTIALS
    assert all(r.method != "POST" for r in sim.requests("d42-a"))


async def test_concurrent_polls_do_not_wait_for_a_blackhole(sim, tmp_path):
    sim.set_fault("d42-a", "blackhole")
    config = load_sim_config(sim, tmp_path)
    clients = [ApplianceClient(a, 0.6) for a in config.pairs[0].appliances]
    started = time.perf_counter()
    a, b = await asyncio.gather(*(c.health() for c in clients))
    assert b.ok and not a.ok
    assert time.perf_counter() - started < 0.9
    await asyncio.gather(*(c.aclose() for c in clients))
