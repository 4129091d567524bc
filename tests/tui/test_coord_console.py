"""The console's guarded actions with `coordination:` on a real 3-member etcd: refused
while another holds the pair's action key, run uncoordinated (and saying so) when etcd
is gone."""

from __future__ import annotations

import yaml

from d42tui.config.models import load_config, state_dir
from d42tui.engine.poller import Poller
from d42tui.engine.state import StateStore
from d42tui.tui.app import ConsoleApp

from ..conftest import sim_config_dict
from ..test_coord_action_key import hold_key, read_key
from .conftest import FAST_POLL, builtin_themes, screen_text
from .test_guarded_actions import audit, healthy, posts, result_shown


def coordinated_app(sim, etcd_cluster, tmp_path) -> ConsoleApp:
    data = sim_config_dict(sim, tmp_path, poll=FAST_POLL)
    data["coordination"] = {"etcd": {"endpoints": etcd_cluster.endpoints, "prefix": "/site/",
                                     "lease_ttl": "3s"}}
    path = tmp_path / "coord.yaml"
    path.write_text(yaml.safe_dump(data))
    path.chmod(0o600)
    config = load_config(path).config
    store = StateStore(state_dir(config))
    return ConsoleApp(config, poller=Poller(config, store), store=store,
                      themes=builtin_themes())


async def test_console_failover_refused_while_a_watcher_holds_the_key(sim, etcd_cluster,
                                                                      tmp_path):
    app = coordinated_app(sim, etcd_cluster, tmp_path)
    hold_key(etcd_cluster, by="watcher", name="w1", host="host-b")
    async with app.run_test(size=(100, 30)) as pilot:
        await healthy(pilot, app)
        sim.clear_requests()
        await pilot.press("F", *"d42-b", "enter")
        text = await result_shown(pilot, app)
        assert "✖ REFUSED" in text, text
        assert posts(sim) == []
        after = [r for r in audit(app) if r.get("phase") == "after"]
        assert after[-1]["result"] == "refused"
        assert "an action on pair main is in progress: failover by watcher w1 on host-b" \
            in after[-1]["detail"]
    assert read_key(etcd_cluster)["name"] == "w1"


async def test_console_failover_with_etcd_down_runs_uncoordinated(sim, etcd_cluster,
                                                                   tmp_path):
    app = coordinated_app(sim, etcd_cluster, tmp_path)
    etcd_cluster.stop()
    async with app.run_test(size=(100, 40)) as pilot:
        await healthy(pilot, app)
        await pilot.press("F", *"d42-b", "enter")
        text = await result_shown(pilot, app)
        assert "✔ DONE" in text, text
        assert "ran uncoordinated: etcd did not answer" in screen_text(app)
        truth = sim.truth()["appliances"]
        assert truth["d42-a"]["mode"] == "standby" and truth["d42-b"]["mode"] == "production"
        timeline = [e.text for e in app.events if e.kind == "action"]
        assert any("WARNING: ran uncoordinated" in t for t in timeline), timeline
        before = [r for r in audit(app) if r.get("phase") == "before"]
        assert before[-1]["coordination"].startswith("uncoordinated: etcd did not answer")
