"""An action's re-poll shares the pair's poller with the console's background loop."""

from __future__ import annotations

import asyncio
import random

from .conftest import sim_app, wait_for


async def test_an_actions_re_poll_never_collides_with_the_background_round(sim, tmp_path):
    # A slow appliance keeps each background round in flight for a good part of the
    # interval; a re-poll started then used to see its own peer's poll as "still
    # unanswered" (a timeout), and the action was cancelled for a change that was not one.
    app = sim_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "main" in app.snapshots, what="first poll")
        sim.set_fault("d42-a", "slow", ms=80)
        pair = app.poller.pairs["main"]
        rng = random.Random(7)
        for _ in range(12):
            await asyncio.sleep(rng.random() * 0.2)
            snap = await pair.poll_once()
            last = snap.views["d42-a"].last
            assert last is not None and last.ok, last.failure
