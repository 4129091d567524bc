"""A leader SIGKILLed in the middle of a failover: the next leader finds the plan in the
shared state and finishes it — one promotion, never two — on a real 3-member etcd."""

from __future__ import annotations

import os
import signal
import sys

from .test_coord_scenarios import LEASE_TTL, WatcherProcess, mode_posts, promotions, wait_until
from .watch_harness import write_watch_config

# The fence command stands in for a slow step: on its first run it says so and sleeps, so
# the test can kill the leader while its plan is open; later runs return at once.
SLOW_ONCE = """import os, sys, time
marker = sys.argv[1]
if not os.path.exists(marker):
    open(marker, "w").write(str(os.getpid()))
    time.sleep(60)
"""


def test_the_next_leader_finishes_the_plan_of_a_killed_one(sim, etcd_cluster, tmp_path):
    script, marker = tmp_path / "fence.py", tmp_path / "fencing"
    script.write_text(SLOW_ONCE)

    def coordinated(data: dict) -> None:
        data["coordination"] = {"etcd": {"endpoints": etcd_cluster.endpoints,
                                         "prefix": "/takeover/", "lease_ttl": f"{LEASE_TTL:g}s"}}
        data["pairs"][0]["automation"] = {"witnesses": [], "require_fence": True,
                                          "fence_command": [sys.executable, str(script),
                                                            str(marker)]}
    config = write_watch_config(sim, tmp_path, edit=coordinated)
    w1 = WatcherProcess(tmp_path, config, "w1", "127.0.0.2")
    w2 = None
    try:
        w1.wait_for("leader", "now leads main")
        w2 = WatcherProcess(tmp_path, config, "w2", "127.0.0.3")
        w2.wait_for("following", "w1 leads main")
        sim.set_fault("d42-a", "down")
        wait_until(marker.exists, 30, "w1's plan to reach its fence step")
        assert promotions(sim) == []
        os.kill(w1.proc.pid, signal.SIGKILL)  # mid-plan: the fence step is running
        os.kill(int(marker.read_text()), signal.SIGKILL)  # the fence (its own session)
        w2.wait_for("leader", "w2) now leads main", timeout=LEASE_TTL + 10)
        wait_until(lambda: sim.truth()["appliances"]["d42-b"]["mode"] == "production", 30,
                   "the promotion by the new leader")
        w2.wait_for("failover-done")
        assert [r.client for r in promotions(sim)] == ["127.0.0.3"]
        assert not [r for r in mode_posts(sim) if r.client == "127.0.0.2"]
        # it finished the plan w1 had journaled (in etcd), it did not start one of its own
        assert w2.saw("plan-found", "unfinished failover d42-a → d42-b, step 1 of 3: fence")
        assert not w2.saw("failover", "failing over")
    finally:
        w1.stop()
        if w2 is not None:
            w2.stop()


async def test_a_plan_open_on_another_host_is_in_progress_only_when_coordinated(sim, tmp_path):
    """Followers share the leader's journal: theirs is no interrupted plan, but without
    coordination a plan of another host (a shared state dir) is never softened."""
    from dataclasses import replace

    from d42tui.config.models import state_dir
    from d42tui.engine.journal import save_journal
    from d42tui.engine.poller import PairPoller
    from d42tui.engine.state import StateStore

    from .conftest import load_sim_config
    from .watch_harness import failover_journal

    config = load_sim_config(sim, tmp_path)
    store = StateStore(state_dir(config))
    pair = config.pairs[0]
    save_journal(store, replace(failover_journal(pair, "p1", 1.0), host="host-b"))
    for shared, level, words in ((True, "warning", "an action is in progress on host-b"),
                                 (False, "critical", "an action was interrupted")):
        poller = PairPoller(pair, store, shared=shared)
        try:
            snap = await poller.poll_once()
            reason = next(r for r in snap.verdict.reasons if "action" in r.text)
            assert reason.level == level and reason.text.startswith(words), reason
            assert (snap.interrupted is None) is shared
        finally:
            await poller.aclose()
