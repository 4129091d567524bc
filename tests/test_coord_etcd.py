"""The etcd client and the per-pair leadership against a real 3-member etcd on loopback."""

from __future__ import annotations

import asyncio

from d42tui.coord.config import CoordinationConfig
from d42tui.coord.etcd import EtcdClient
from d42tui.coord.leader import Coordinator
from d42tui.engine.state import StateStore


def coordination(cluster, ttl: str = "3s") -> CoordinationConfig:
    return CoordinationConfig.model_validate(
        {"etcd": {"endpoints": cluster.endpoints, "prefix": "/t/", "lease_ttl": ttl}})


def record(name: str, down: bool) -> dict:
    return {"name": name, "appliances": {"d42-a": {"down": down}, "d42-b": {"down": False}}}


def test_gateway_calls_lease_txn_range(etcd_cluster):
    async def go():
        client = EtcdClient(coordination(etcd_cluster).etcd)
        try:
            lease, ttl = await client.grant(3)
            assert ttl == 3
            await client.put("/t/a", "1", lease)
            await client.put("/t/b", "2")
            kvs, revision = await client.range("/t/", prefix=True)
            assert [(k.key, k.value) for k in kvs] == [("/t/a", b"1"), ("/t/b", b"2")]
            assert kvs[0].lease == lease and revision >= kvs[1].mod_revision
            assert await client.keepalive(lease) == 3
            await client.revoke(lease)
            assert await client.keepalive(lease) == 0
            kvs, _ = await client.range("/t/", prefix=True)
            assert [k.key for k in kvs] == ["/t/b"]  # the leased key went with its lease
        finally:
            await client.aclose()
    asyncio.run(go())


def test_one_leader_per_pair_and_the_fencing_check(etcd_cluster, tmp_path):
    said: list[str] = []

    def say(level, event, text, **kw):
        said.append(f"{event}: {text}")

    async def go():
        a = Coordinator(coordination(etcd_cluster), "w1", say)
        b = Coordinator(coordination(etcd_cluster), "w2", say)
        pa = a.pair("main", StateStore(tmp_path / "a"))
        pb = b.pair("main", StateStore(tmp_path / "b"))
        try:
            ra = await pa.round(record("w1", True))
            rb = await pb.round(record("w2", False))
            assert (ra.role, rb.role) == ("leader", "follower")
            assert rb.leader == "w1"
            assert await pa.may_act("appliance_mode=production to d42-b") is None
            assert await pb.may_act("appliance_mode=production to d42-b") is not None
            # the leader counts the observers: w1 sees d42-a down, w2 does not: no majority
            ra = await pa.round(record("w1", True))
            seen = ra.agreement("d42-a")
            assert (len(seen.down), seen.live, seen.majority) == (1, 2, False)
            assert pa.blockers("d42-a")[0].key == "observers-disagree"
            await pb.round(record("w2", True))
            await pa.round(record("w1", True))
            assert pa.blockers("d42-a") == ()
            # the shared state follows the leader's state file to the follower
            pa.store.set_desired_production("main", "d42-b", 1.0)
            await pa.push()
            await pb.round(record("w2", True))
            assert pb.store.read()["pairs"]["main"]["desired_production"] == "d42-b"
            # the leader's lease revoked behind its back: the check fails, then w2 leads
            etcd_cluster.call("lease/revoke", {"ID": str(a.lease)})
            assert await pa.may_act("appliance_mode=production to d42-b") is not None
            rb = await pb.round(record("w2", True))
            assert rb.role == "leader"
            ra = await pa.round(record("w1", True))
            assert ra.role == "follower" and ra.leader == "w2"
            assert any("no longer leads" in s for s in said), said
        finally:
            await a.aclose()
            await b.aclose()
    asyncio.run(go())


def test_majority_gone_is_coordination_lost(etcd_cluster, tmp_path):
    async def go():
        a = Coordinator(coordination(etcd_cluster), "w1", lambda *x, **k: None)
        pa = a.pair("main", StateStore(tmp_path / "a"))
        try:
            assert (await pa.round(record("w1", False))).role == "leader"
            etcd_cluster.kill(1)
            etcd_cluster.kill(2)
            assert await pa.may_act("appliance_mode=production to d42-b") is not None
            r = await pa.round(record("w1", True))
            assert r.role == "lost" and "no etcd member answered" in (r.problem or "") \
                or r.role == "lost", r
            assert not pa.leads
        finally:
            await a.aclose()
    asyncio.run(go())


def test_a_lease_lost_right_before_the_post_sends_nothing(sim, etcd_cluster, tmp_path):
    """The fencing check runs right before each POST: the lease revoked at that moment
    (standing in for a leader frozen between deciding and sending) stops the POST."""
    from tests.watch_harness import Harness

    def coordinated(data: dict) -> None:
        data["coordination"] = {"etcd": {"endpoints": etcd_cluster.endpoints,
                                         "prefix": "/f/", "lease_ttl": "3s"}}

    async def go():
        h = Harness(sim, tmp_path, edit=coordinated)
        watch = h.watcher.pairs["main"]
        coord = watch.coord
        check = coord.may_act
        asked: list[str] = []

        async def revoked_first(what: str):
            asked.append(what)
            etcd_cluster.call("lease/revoke", {"ID": str(coord.c.lease)})
            return await check(what)
        watch.ctx.engine.may_act = revoked_first
        try:
            h.watcher.start()
            await h.until(lambda: coord.leads)
            sim.set_fault("d42-a", "down")
            await h.until(lambda: any(e.startswith("fenced-off") for e in h.events()))
            assert asked and "appliance_mode=" in asked[0]
            assert h.posts() == []
            assert h.modes() == {"d42-a": "production", "d42-b": "standby"}
            assert not coord.leads
        finally:
            await h.watcher.aclose()
    asyncio.run(go())


def test_a_plan_a_person_closed_is_known_closed_to_the_leader(etcd_cluster, tmp_path):
    """The closed marker a person's action key leaves behind: the leader's check for it."""
    from d42tui.coord.actionlock import person_action_key

    async def go():
        a = Coordinator(coordination(etcd_cluster), "w1", lambda *x, **k: None)
        pa = a.pair("main", StateStore(tmp_path / "a"))
        try:
            await pa.round(record("w1", False))
            assert not await pa.closed("plan-1")
            async with person_action_key(coordination(etcd_cluster), "main", "failover",
                                         "cli", "plan-1") as guard:
                assert guard.uncoordinated is None
                assert not await pa.closed("plan-1")  # still open while the key is held
            assert await pa.closed("plan-1") and not await pa.closed("plan-2")
            try:  # a plan that ended by an exception is left open for the leader
                async with person_action_key(coordination(etcd_cluster), "main", "failover",
                                             "cli", "plan-2"):
                    raise RuntimeError("the driver died mid-plan")
            except RuntimeError:
                pass
            assert not await pa.closed("plan-2")
        finally:
            await a.aclose()
    asyncio.run(go())


def test_a_follower_logs_what_it_sees_and_the_leader_alone_pages(sim, etcd_cluster, tmp_path):
    """Both appliances down: a follower says so in its log, but sends no notice (its leader
    pages once); with coordination lost every watcher would page, having no leader."""
    from tests.test_watch_chaos import notify
    from tests.watch_harness import Harness, Receiver

    def coordinated(data: dict) -> None:
        data["coordination"] = {"etcd": {"endpoints": etcd_cluster.endpoints,
                                         "prefix": "/q/", "lease_ttl": "5s"}}

    async def go():
        rx = Receiver()
        leader = Coordinator(coordination(etcd_cluster).model_copy(update={
            "etcd": coordination(etcd_cluster).etcd.model_copy(update={"prefix": "/q/"})}),
            "w0", lambda *a, **k: None)
        lead = leader.pair("main", StateStore(tmp_path / "w0"))
        h = Harness(sim, tmp_path, edit=coordinated, automation=notify(rx))
        try:
            assert (await lead.round(record("w0", False))).role == "leader"
            h.watcher.start()
            await h.until(lambda: any(e.startswith("following") for e in h.events()))
            sim.set_fault("d42-a", "down")
            sim.set_fault("d42-b", "down")
            await h.until(lambda: any(e.startswith("not-failing-over") and "does not answer"
                                      in e for e in h.events()))
            await h.settle()  # every notice this watcher queued has been sent
            assert "standby-down" not in rx.events()
            assert [e for e in rx.events() if e != "watcher-started"] == []
        finally:
            await h.watcher.aclose()
            await leader.aclose()
            rx.close()
    asyncio.run(go())


def test_with_etcd_auth_on_the_user_and_password_source_work(etcd_cluster, tmp_path):
    """etcd with authentication enabled: the configured user and password source log in;
    a wrong password is said as a refusal naming the user, never the password."""
    from d42tui.coord.etcd import EtcdError

    for path, body in (("auth/user/add", {"name": "root", "password": "r00t-pw"}),
                       ("auth/role/add", {"name": "root"}),
                       ("auth/user/grant", {"user": "root", "role": "root"}),
                       ("auth/enable", {})):
        etcd_cluster.call(path, body)
    good, bad = tmp_path / "good.pw", tmp_path / "bad.pw"
    good.write_text("r00t-pw\n")
    bad.write_text("wrong-pw\n")
    for f in (good, bad):
        f.chmod(0o600)

    def with_password(path) -> CoordinationConfig:
        return CoordinationConfig.model_validate(
            {"etcd": {"endpoints": etcd_cluster.endpoints, "prefix": "/auth/",
                      "lease_ttl": "3s", "username": "root", "password_file": str(path)}})

    async def go():
        client = EtcdClient(with_password(good).etcd)
        try:
            await client.put("/auth/x", "1")
            kvs, _ = await client.range("/auth/x")
            assert [k.value for k in kvs] == [b"1"]
        finally:
            await client.aclose()
        a = Coordinator(with_password(good), "w1", lambda *x, **k: None)
        try:
            assert (await a.pair("main", StateStore(tmp_path / "a")).round(
                record("w1", False))).role == "leader"
        finally:
            await a.aclose()
        wrong = EtcdClient(with_password(bad).etcd)
        try:
            try:
                await wrong.put("/auth/y", "1")
                raise AssertionError("a wrong password was accepted")
            except EtcdError as exc:
                assert "root" in str(exc) and "wrong-pw" not in str(exc), str(exc)
        finally:
            await wrong.aclose()
        # unauthenticated, nothing is readable (the cluster really enforces it)
        try:
            etcd_cluster.call("kv/range", {"key": "L2F1dGgveA=="})
            raise AssertionError("an unauthenticated read was allowed")
        except RuntimeError:
            pass
    asyncio.run(go())


def test_three_way_keeps_this_hosts_change_of_other_keys():
    from d42tui.coord.leader import three_way

    base = {"desired_production": "d42-a", "automation": {"fence_pending": []}}
    mine = {"desired_production": "d42-a",
            "automation": {"fence_pending": [], "pause": {"reason": "db upgrade"}}}
    theirs = {"desired_production": "d42-a", "automation": {"fence_pending": ["d42-b"]}}
    merged, lost = three_way(base, mine, theirs)
    assert merged == {"desired_production": "d42-a", "automation": {
        "fence_pending": ["d42-b"], "pause": {"reason": "db upgrade"}}} and lost == []
    # both changed the same key: the shared one wins, and it is said
    merged, lost = three_way(base, {**mine, "desired_production": "d42-b"},
                             {**theirs, "desired_production": "d42-c"})
    assert merged["desired_production"] == "d42-c" and lost == ["desired_production"]
    # a key this host removed stays removed when the shared one left it alone
    merged, lost = three_way({"a": 1, "b": 2}, {"b": 2}, {"a": 1, "b": 3})
    assert merged == {"b": 3} and lost == []


def test_a_pause_made_on_a_followers_host_survives_a_leader_write(etcd_cluster, tmp_path):
    async def go():
        a = Coordinator(coordination(etcd_cluster), "w1", lambda *x, **k: None)
        b = Coordinator(coordination(etcd_cluster), "w2", lambda *x, **k: None)
        pa = a.pair("main", StateStore(tmp_path / "a"))
        pb = b.pair("main", StateStore(tmp_path / "b"))
        try:
            pa.store.set_desired_production("main", "d42-a", 1.0)
            assert (await pa.round(record("w1", False))).role == "leader"
            await pa.push()
            assert (await pb.round(record("w2", False))).role == "follower"
            # a person pauses on the follower's host, and the leader writes something else
            from d42tui.engine.state import update_pair

            update_pair(pb.store, "main", lambda e, auto: auto.__setitem__(
                "pause", {"by": "alice", "reason": "db upgrade", "since": 2.0}))
            update_pair(pa.store, "main", lambda e, auto: auto.__setitem__(
                "fence_pending", ["d42-b"]))
            await pa.push()
            await pb.round(record("w2", False))
            local = pb.store.read()["pairs"]["main"]["automation"]
            assert local["pause"]["reason"] == "db upgrade"  # kept
            assert local["fence_pending"] == ["d42-b"]  # and the leader's change taken
            await pa.round(record("w1", False))  # the leader now has the pause too
            assert pa.store.read()["pairs"]["main"]["automation"]["pause"]["by"] == "alice"
        finally:
            await a.aclose()
            await b.aclose()
    asyncio.run(go())
