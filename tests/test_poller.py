"""The poller: concurrent rounds, hysteresis across rounds, snapshots to subscribers."""

from __future__ import annotations

import asyncio
import time

from d42tui.config.models import state_dir
from d42tui.engine.pair import Reachability, Verdict
from d42tui.engine.poller import Poller
from d42tui.engine.state import StateStore

from .conftest import load_sim_config


def make_poller(sim, tmp_path, **kwargs) -> Poller:
    config = load_sim_config(sim, tmp_path, **kwargs)
    return Poller(config, StateStore(state_dir(config)))


async def test_healthy_round(sim, tmp_path):
    poller = make_poller(sim, tmp_path)
    seen = []
    poller.subscribe(seen.append)
    snaps = await poller.poll_once()
    await poller.aclose()
    snap = snaps["main"]
    assert snap.verdict.verdict is Verdict.HEALTHY, snap.verdict.reasons
    assert seen == [snap] and snap.round == 1
    assert snap.views["d42-a"].reachability is Reachability.UP


async def test_primary_down_after_threshold_then_recovers(sim, tmp_path):
    poller = make_poller(sim, tmp_path)
    await poller.poll_once()
    sim.set_fault("d42-a", "down")
    verdicts = [(await poller.poll_once())["main"].verdict.verdict for _ in range(3)]
    assert verdicts == [Verdict.DEGRADED, Verdict.DEGRADED, Verdict.PRIMARY_DOWN]
    sim.set_fault("d42-a", "none")
    verdicts = [(await poller.poll_once())["main"].verdict.verdict for _ in range(2)]
    assert verdicts == [Verdict.DEGRADED, Verdict.HEALTHY]  # answering again 1/2, then UP
    snap = poller.pairs["main"].latest
    assert snap.views["d42-a"].came_back_at is not None
    await poller.aclose()


async def test_blackhole_round_is_bounded_by_timeout(sim, tmp_path):
    poller = make_poller(sim, tmp_path, poll={"interval": "1s", "timeout": "500ms"})
    sim.set_fault("d42-a", "blackhole")
    started = time.perf_counter()
    snap = (await poller.poll_once())["main"]
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5 + 0.15, elapsed
    assert snap.views["d42-b"].reachability is Reachability.UP
    assert snap.views["d42-a"].last_failure.kind.value == "timeout"
    await poller.aclose()


async def test_run_loop_emits_rounds_and_poll_now_wakes_it(sim, tmp_path):
    poller = make_poller(sim, tmp_path, poll={"interval": "30s", "timeout": "1s"})
    seen = []
    poller.subscribe(seen.append)
    task = asyncio.create_task(poller.run())
    for _ in range(50):
        if seen:
            break
        await asyncio.sleep(0.05)
    assert len(seen) == 1
    poller.poll_now()
    for _ in range(50):
        if len(seen) == 2:
            break
        await asyncio.sleep(0.05)
    assert [s.round for s in seen] == [1, 2]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_asserted_modes_come_from_the_state_file(sim, tmp_path):
    poller = make_poller(sim, tmp_path)
    poller.store.record_mode("main", "d42-b", "production", time.time())
    snap = (await poller.poll_once())["main"]
    assert snap.verdict.verdict is Verdict.SPLIT_BRAIN
    assert snap.modes["d42-b"].source == "console"
    await poller.aclose()
