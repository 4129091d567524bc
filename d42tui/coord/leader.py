"""One watcher acts per pair: a lease, the leader key, the shared state, the fencing check.

`Coordinator` holds this process's etcd session: one lease, granted once and kept alive
every `lease_ttl / 3` in a task of its own. Every key this process writes hangs on it, so
a watcher that dies (or is frozen past its TTL) leaves no leader key and no observer key
behind. Per pair, `PairCoordination`:

- takes `<prefix>pairs/<pair>/leader` with a transaction on `create_revision == 0` (the key
  does not exist) that puts our value on our lease, as Patroni's etcd3 DCS does;
- each round reads everything under `<prefix>pairs/<pair>/` in one range: the leader key
  (still ours: same value, same mod_revision?), the observers, and the shared state;
- mirrors the pair's record of the state file (desired roles, asserted modes, pause, hold,
  the intent journal) into `<prefix>pairs/<pair>/state`, so the next leader finishes or
  rolls back a plan the last one left; each write is a compare-and-swap on its
  mod_revision;
- `may_act` is the fencing check before every irreversible step: a transaction comparing
  the leader key's value and mod_revision (the fencing token) that also writes the state
  (with the journal saying what is about to be sent). It fails, and nothing is sent, when
  the lease may have expired by our own clock, when the key is no longer ours, or when
  etcd does not answer.

Losing etcd never causes an action: a watcher without its lease does nothing automatic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..engine.state import StateDamaged, StateStore
from ..text import clean_text
from .config import CoordinationConfig
from .etcd import (
    KV,
    EtcdClient,
    EtcdError,
    LeaseGone,
    created_never,
    kvs_of,
    modified_at,
    put_op,
    range_op,
    value_is,
)
from .observers import Agreement, agreement

Say = Callable[..., None]
Role = Literal["leader", "follower", "lost"]


class Coordinator:
    """This process's etcd session (one lease) and its per-pair coordination."""

    def __init__(self, cfg: CoordinationConfig, name: str, say: Say,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic):
        self.cfg, self.etcd_cfg, self.name, self._say = cfg, cfg.etcd, name, say
        self.clock, self.monotonic = clock, monotonic
        self.client = EtcdClient(cfg.etcd)
        self.ttl = cfg.etcd.lease_ttl
        self.lease: int | None = None
        self.valid_until = 0.0  # monotonic: our lease is surely alive until then
        self.generation = 0  # a new lease: every leadership of the old one is gone
        self.error: str | None = None
        self._lock = asyncio.Lock()
        self.pairs: dict[str, PairCoordination] = {}

    def pair(self, pair: str, store: StateStore) -> PairCoordination:
        self.pairs[pair] = PairCoordination(self, pair, store)
        return self.pairs[pair]

    def alive(self, margin: float = 0.0) -> bool:
        return self.lease is not None and self.monotonic() + margin < self.valid_until

    def remaining(self) -> float:
        return max(0.0, self.valid_until - self.monotonic()) if self.lease else 0.0

    async def keep(self) -> bool:
        """Grant the lease, or refresh it; True when it is alive afterwards."""
        async with self._lock:
            sent = self.monotonic()
            try:
                if self.lease is not None and sent < self.valid_until:
                    ttl = await self.client.keepalive(self.lease)
                    if ttl > 0:
                        self.valid_until = sent + ttl
                        self.error = None
                        return True
                    self._say("warning", "lease-expired", f"etcd lease {self.lease:x} expired "
                              "(no keep-alive reached etcd in time): every leadership of this "
                              "watcher is gone; taking a new lease")
                    self.lease = None
                sent = self.monotonic()
                lease, ttl = await self.client.grant(self.ttl)
                self.lease, self.valid_until = lease, sent + ttl
                self.generation += 1
                self.error = None
                return True
            except EtcdError as exc:
                self.error = str(exc)
                if self.lease is not None and self.monotonic() >= self.valid_until:
                    self.lease = None  # by our own clock it is gone: never act on it
                return self.alive()

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the lease alive every ttl/3 until `stop` (its own task)."""
        while not stop.is_set():
            await self.keep()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.ttl / 3)

    async def aclose(self) -> None:
        """Revoke the lease: our keys go at once, another watcher takes over without waiting
        for the TTL."""
        if self.lease is not None:
            with contextlib.suppress(EtcdError):
                await self.client.revoke(self.lease)
            self.lease = None
        await self.client.aclose()


@dataclass(frozen=True)
class Round:
    """What coordination says this round, for the decision, the heartbeat and the log."""

    role: Role
    leader: str | None = None  # who leads (us, another watcher, or nobody known)
    leader_since: float | None = None
    observers: dict[str, dict[str, Any]] | None = None
    problem: str | None = None  # coordination lost: why

    def agreement(self, appliance: str) -> Agreement | None:
        return None if self.observers is None else agreement(self.observers, appliance)


def three_way(base: dict[str, Any], local: dict[str, Any], remote: dict[str, Any]
              ) -> tuple[dict[str, Any], list[str]]:
    """The shared record with this host's changes since `base` kept where the shared one did
    not change the same key (the pair record's keys, and those of its `automation`): a pause
    made on a follower's host survives the leader's write of something else. Returns the
    merged record and the keys both changed (the shared value wins those)."""
    merged = json.loads(json.dumps(remote))
    lost: list[str] = []
    for key in sorted(set(base) | set(local) | set(remote)):
        b, mine, theirs = base.get(key), local.get(key), remote.get(key)
        if mine == b:
            continue
        if key == "automation" and all(isinstance(x, dict) for x in (b or {}, mine, theirs)):
            inner, lost_inner = three_way(b or {}, mine, theirs or {})
            merged[key] = inner
            lost += [f"automation.{k}" for k in lost_inner]
        elif theirs == b:
            if mine is None:
                merged.pop(key, None)
            else:
                merged[key] = mine
        elif theirs != mine:
            lost.append(key)
    return merged, lost


class PairCoordination:
    def __init__(self, coordinator: Coordinator, pair: str, store: StateStore):
        self.c, self.pair, self.store = coordinator, pair, store
        base = f"{coordinator.etcd_cfg.prefix}pairs/{pair}/"
        self.base, self.leader_key, self.state_key = base, base + "leader", base + "state"
        self.observer_key = f"{base}observers/{coordinator.name}"
        self.held_rev: int | None = None  # our leader key's mod_revision: the fencing token
        self.held_generation = -1
        self.since: float | None = None
        self.state_rev = 0  # the shared state's mod_revision we last read or wrote
        self.synced: Any = None  # the pair record as it was last read from or written to etcd
        self.latest = Round("lost", problem="not started")
        self.lost_since: float | None = None

    # --- our value -----------------------------------------------------------------------

    def me(self) -> str:
        return json.dumps({"name": self.c.name, "host": socket.gethostname(),
                           "pid": os.getpid(), "lease": f"{self.c.lease or 0:x}",
                           "since": self.since}, sort_keys=True)

    @property
    def leads(self) -> bool:
        return self.held_rev is not None and self.held_generation == self.c.generation \
            and self.c.alive()

    def _drop(self, why: str | None) -> None:
        if self.held_rev is not None and why:
            self.c._say("error", "leadership-lost", f"no longer leads {self.pair}: {why}; "
                        "it acts on nothing from here", pair=self.pair)
        self.held_rev, self.since = None, None

    # --- the state file's pair record ------------------------------------------------------

    def local_entry(self) -> Any:
        return json.loads(json.dumps(self.store.read()["pairs"].get(self.pair)))

    def _apply(self, kv: KV | None) -> None:
        """The shared state into the local state file (only when it differs)."""
        if kv is None:
            return
        entry = kv.json()
        if not isinstance(entry, dict):
            return
        if self.local_entry() != entry:
            def change(data: dict[str, Any]) -> None:
                data["pairs"][self.pair] = entry
            self.store.update(change)
        self.state_rev, self.synced = kv.mod_revision, entry

    def _state_compare(self) -> dict[str, Any]:
        return modified_at(self.state_key, self.state_rev) if self.state_rev \
            else created_never(self.state_key)

    # --- one round -----------------------------------------------------------------------

    async def round(self, record: dict[str, Any]) -> Round:
        """Publish our view, take or keep the leader key, sync the shared state."""
        try:
            self.latest = await self._round(record)
        except EtcdError as exc:
            self._drop("etcd does not answer")
            self.latest = Round("lost", problem=clean_text(str(exc), 300, one_line=True))
        except StateDamaged:
            raise
        if self.latest.role == "lost":
            self.lost_since = self.lost_since or self.c.clock()
        else:
            self.lost_since = None
        return self.latest

    async def _round(self, record: dict[str, Any]) -> Round:
        c = self.c
        if not c.alive() and not await c.keep():
            self._drop("its lease could not be kept alive")
            return Round("lost", problem=f"no etcd lease: {c.error or 'expired'}")
        if self.held_rev is not None and self.held_generation != c.generation:
            self._drop("its lease expired (a new one was taken)")
        try:
            await c.client.put(self.observer_key, json.dumps(record), c.lease)
        except LeaseGone:
            c.lease = None  # revoked or expired behind our back: a new one, leadership gone
            self._drop("its etcd lease is gone")
            if not await c.keep():
                return Round("lost", problem=f"no etcd lease: {c.error or 'expired'}")
            await c.client.put(self.observer_key, json.dumps(record), c.lease)
        kvs, _ = await c.client.range(self.base, prefix=True)
        by_key = {kv.key: kv for kv in kvs}
        leader, state = by_key.get(self.leader_key), by_key.get(self.state_key)
        observers = {kv.key.rsplit("/", 1)[-1]: kv.json() or {} for kv in kvs
                     if kv.key.startswith(self.base + "observers/")}
        if self.held_rev is not None and (leader is None or leader.mod_revision != self.held_rev
                                          or leader.lease != c.lease):
            self._drop("the leader key is no longer ours" if leader else
                       "the leader key is gone")
        if self.held_rev is None and leader is None:
            await self._acquire(state)
            if self.held_rev is not None:
                kvs, _ = await c.client.range(self.base, prefix=True)
                by_key = {kv.key: kv for kv in kvs}
                leader, state = by_key.get(self.leader_key), by_key.get(self.state_key)
        if self.held_rev is None:
            await self._follow(state)
            info = leader.json() if leader is not None else None
            name = info.get("name") if isinstance(info, dict) else None
            since = info.get("since") if isinstance(info, dict) else None
            return Round("follower", clean_text(str(name), 63, one_line=True) if name else None,
                         since if isinstance(since, (int, float)) else None, observers)
        if state is not None and state.mod_revision != self.state_rev:
            self._apply(state)  # the last leader's (or a person's) newer state first
        elif state is None and self.state_rev == 0:
            await self.push()  # the first leader of this pair: our state is the state
        return Round("leader", c.name, self.since, observers)

    async def _acquire(self, state: KV | None) -> None:
        c = self.c
        self.since = c.clock()
        ok, responses, revision = await c.client.txn(
            [created_never(self.leader_key)], [put_op(self.leader_key, self.me(), c.lease)],
            [range_op(self.leader_key)])
        if not ok:
            self.since = None
            return
        self.held_rev, self.held_generation = revision, c.generation
        self.state_rev = 0  # read afresh: the last leader may have written it
        self._apply(state)
        c._say("warning", "leader", f"this watcher ({c.name}) now leads {self.pair} (etcd "
               f"lease {c.lease:x}, revision {revision})", pair=self.pair)

    async def _follow(self, state: KV | None) -> None:
        """A follower mirrors the leader's state, and sends up a person's change made on this
        host (a pause, a resume) with a compare-and-swap (`push`)."""
        local = self.local_entry()
        if state is not None and state.mod_revision != self.state_rev:
            remote = state.json()
            if self.synced is not None and local is not None and local != self.synced \
                    and isinstance(remote, dict):
                merged, lost = three_way(self.synced, local, remote)
                if lost:
                    self.c._say("warning", "state-conflict", f"{self.pair}: this host's "
                                f"change of {', '.join(lost)} met another change of the same "
                                "in the shared state; the shared one wins (if it was your "
                                "change, make it again)", pair=self.pair)
                self._apply(state)
                if merged != remote:  # this host's change of other keys goes up
                    def change(data: dict[str, Any]) -> None:
                        data["pairs"][self.pair] = merged
                    self.store.update(change)
                    await self.push()
                return
            self._apply(state)
        elif local is not None and local != self.synced:
            await self.push()

    def revert(self) -> None:
        """After a refused step: the local record back to the last shared one, so what this
        watcher was about to do is not taken for a person's change."""
        if self.synced is not None and self.local_entry() != self.synced:
            synced = self.synced

            def change(data: dict[str, Any]) -> None:
                data["pairs"][self.pair] = json.loads(json.dumps(synced))
            self.store.update(change)

    async def push(self, *, guard: bool = False) -> str | None:
        """Write the local pair record to the shared state when it changed (CAS on the
        state's mod_revision; for a leader also on the leader key). None when it is there
        now, else why not."""
        local = self.local_entry()
        if not guard and (local is None or local == self.synced):
            return None
        compare = [self._state_compare()]
        if guard or self.held_rev is not None:
            if self.held_rev is None:
                return "this watcher does not lead the pair"
            compare += [value_is(self.leader_key, self.me()),
                        modified_at(self.leader_key, self.held_rev)]
        success = [put_op(self.state_key, json.dumps(local, sort_keys=True))]
        if local is None or local == self.synced:  # a guard, nothing new: only compare
            success = [range_op(self.state_key)]
        ok, responses, revision = await self.c.client.txn(
            compare, success, [range_op(self.leader_key), range_op(self.state_key)])
        if ok:
            if local is not None and local != self.synced:
                self.state_rev, self.synced = revision, local
            return None
        leader = kvs_of(responses[0]) if responses else []
        state = kvs_of(responses[1]) if len(responses) > 1 else []
        if self.held_rev is not None and (not leader or leader[0].mod_revision != self.held_rev):
            self._drop("the leader key is no longer ours")
            return "the leader key is no longer ours (another watcher leads)"
        self._apply(state[0] if state else None)
        return "the shared state changed meanwhile (a person's change on another host?)"

    async def closed(self, plan_id: str) -> bool:
        """Whether a person's action closed this plan (its closed marker in etcd); on an
        etcd error, no: the plan is then resumed, as without the marker."""
        from .actionlock import closed_plan

        try:
            return await closed_plan(self.c.client, self.c.etcd_cfg.prefix, self.pair) \
                == plan_id
        except EtcdError:
            return False

    async def may_act(self, what: str) -> str | None:
        """The fencing check before an irreversible step; None: go on, else why not."""
        c = self.c
        if self.held_rev is None or self.held_generation != c.generation:
            return "this watcher does not lead the pair"
        margin = c.etcd_cfg.request_timeout
        if not c.alive(margin):
            self._drop("its lease may have expired")
            return (f"its etcd lease may have expired ({c.remaining():.1f}s left by this "
                    "host's clock)")
        try:
            why = await self.push(guard=True)
        except EtcdError as exc:
            return f"etcd does not confirm the lease: {clean_text(str(exc), 200, one_line=True)}"
        if why is None and not c.alive():
            return "its etcd lease expired during the check"
        return why

    def summary(self, now: float) -> dict[str, Any]:
        """For the heartbeat and `status --json`: who leads, since when, the observers."""
        r = self.latest
        out: dict[str, Any] = {"role": r.role, "name": self.c.name, "leader": r.leader,
                               "leader_since": r.leader_since,
                               "lease_left": round(self.c.remaining(), 1)}
        if r.problem:
            out["problem"] = r.problem
            out["lost_since"] = self.lost_since
        if r.observers is not None:
            out["observers"] = {n: {a: {"down": v.get("down"), "failure": v.get("failure")}
                                    for a, v in (rec.get("appliances") or {}).items()
                                    if isinstance(v, dict)}
                                for n, rec in r.observers.items() if isinstance(rec, dict)}
        return out

    def blockers(self, primary: str) -> tuple[Any, ...]:
        """What coordination adds to the leader's decision: the observers must agree."""
        from ..watch.decision import Blocker

        seen = self.latest.agreement(primary)
        if seen is None or seen.majority:
            return ()
        return (Blocker("observers-disagree", f"{seen.text()}: not a majority of the "
                        f"{seen.live} live observers, so this may be a path broken from "
                        "some hosts only; no failover"),)
