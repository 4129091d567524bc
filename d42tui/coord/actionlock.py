"""The per-pair action key: one plan at a time per pair, across every host.

`<prefix>pairs/<pair>/action` is held for the whole life of a plan by whoever carries it
out: a person's CLI or console (`person_action_key`, its own lease, kept alive while the
plan runs) or the pair's leading watcher (`take_for_watcher`, on the watcher's session
lease, taken only while the leader key is still ours). It is taken with a transaction on
`create_revision == 0`, so a person's failover and a watcher on another host can never
both run a plan; the local `pair_lock` still serialises the processes of one host.

A person is never stopped by etcd being away: when no member answers (or there is no
quorum) the action runs uncoordinated and says so. A holder keeps the key until its plan
closes; when its keep-alive fails mid-plan the plan goes on, as the engine would, and the
result says that coordination was lost mid-plan. A watcher never acts without the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..actions.runner import ActionBusy
from ..actions.steps import NotPermitted
from ..engine.audit import user_name
from ..text import clean_text
from .config import CoordinationConfig
from .etcd import (
    KV,
    EtcdClient,
    EtcdError,
    LeaseGone,
    created_never,
    delete_op,
    kvs_of,
    modified_at,
    put_op,
    range_op,
    value_is,
)

if TYPE_CHECKING:
    from .leader import PairCoordination


def action_key(prefix: str, pair: str) -> str:
    return f"{prefix}pairs/{pair}/action"


def closed_key(prefix: str, pair: str) -> str:
    """The last plan a person's action closed: written before its action key goes, so a
    leader that takes the key next never resumes that plan from a shared state that has not
    caught up with its close yet."""
    return f"{prefix}pairs/{pair}/closed"


async def closed_plan(client: EtcdClient, prefix: str, pair: str) -> str | None:
    kvs, _ = await client.range(closed_key(prefix, pair))
    data = kvs[0].json() if kvs else None
    return str(data.get("plan_id")) if isinstance(data, dict) and data.get("plan_id") else None


@dataclass(frozen=True)
class Holder:
    """Who holds a pair's action key, as written in its value."""

    action: str
    by: str  # cli, console, watcher
    name: str  # the user, or the watcher's --name
    host: str
    pid: int
    since: float
    plan_id: str = ""

    def value(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @property
    def person(self) -> bool:
        return self.by != "watcher"

    @classmethod
    def of(cls, kv: KV) -> Holder | None:
        data = kv.json()
        if not isinstance(data, dict):
            return None
        try:
            return cls(clean_text(str(data.get("action", "?")), 40, one_line=True),
                       clean_text(str(data.get("by", "?")), 20, one_line=True),
                       clean_text(str(data.get("name", "?")), 63, one_line=True),
                       clean_text(str(data.get("host", "?")), 63, one_line=True),
                       int(data.get("pid", 0)), float(data.get("since", 0)),
                       clean_text(str(data.get("plan_id", "")), 40, one_line=True))
        except (TypeError, ValueError):
            return None

    def text(self) -> str:
        at = datetime.fromtimestamp(self.since).strftime("%H:%M") if self.since else "?"
        who = f"watcher {self.name}" if self.by == "watcher" else f"{self.name} ({self.by})"
        return f"{self.action} by {who} on {self.host} since {at}"


class ActionKeyHeld(ActionBusy):
    """Someone else holds the pair's action key: nothing was sent."""

    def __init__(self, pair: str, holder: Holder | None, *, for_watcher: bool = False):
        self.holder = holder
        what = holder.text() if holder else "its holder wrote an unreadable record"
        if for_watcher and (holder is None or holder.person):
            text = f"a person's action on pair {pair} is in progress ({what})"
        elif for_watcher:
            text = f"an action on pair {pair} is in progress ({what})"
        else:
            text = f"an action on pair {pair} is in progress: {what}"
        super().__init__(text)


def _holder_of(responses: list[dict[str, Any]]) -> KV | None:
    kvs = kvs_of(responses[0]) if responses else []
    return kvs[0] if kvs else None


# --- a person's action (CLI, console) ------------------------------------------------------

@dataclass
class Guard:
    """What the runner hears from the action key while a plan runs."""

    key: str
    uncoordinated: str | None = None  # why the plan runs without the key
    lost: str | None = None  # the key's lease was lost mid-plan
    on_lost: Callable[[str], None] | None = None  # the runner's: into the plan's warnings
    say: Callable[[str], None] | None = None  # the driver's warning line

    @property
    def record(self) -> str:
        """For the audit record."""
        if self.uncoordinated:
            return f"uncoordinated: {self.uncoordinated}"
        return f"coordinated: holds {self.key}"

    def uncoordinated_text(self) -> str | None:
        if self.uncoordinated is None:
            return None
        return (f"ran uncoordinated: {self.uncoordinated}; a watcher on another host is not "
                "kept from acting on this pair meanwhile")

    def lost_text(self) -> str:
        return (f"coordination lost mid-plan: {self.lost}; the plan went on to its end, as "
                "the engine would, but another host may have been free to act meanwhile")


@contextlib.asynccontextmanager
async def person_action_key(cfg: CoordinationConfig, pair: str, action: str, by: str,
                            plan_id: str, clock: Callable[[], float] = time.time
                            ) -> AsyncIterator[Guard]:
    """Hold the pair's action key for the block (raises ActionKeyHeld, nothing taken); when
    etcd does not answer, the block runs anyway and the guard says it is uncoordinated."""
    etcd = cfg.etcd
    key = action_key(etcd.prefix, pair)
    guard = Guard(key)
    client = EtcdClient(etcd)
    lease: int | None = None
    keeper: asyncio.Task[None] | None = None
    try:
        holder = Holder(action, by, user_name(), socket.gethostname(), os.getpid(), clock(),
                        plan_id)
        try:
            sent = time.monotonic()
            lease, ttl = await client.grant(etcd.lease_ttl)
            ok, responses, _ = await client.txn([created_never(key)],
                                                [put_op(key, holder.value(), lease)],
                                                [range_op(key)])
        except EtcdError as exc:
            guard.uncoordinated = ("etcd did not answer ("
                                   f"{clean_text(str(exc), 200, one_line=True)})")
            ok, responses = True, []
        if not ok:
            held = _holder_of(responses)
            raise ActionKeyHeld(pair, Holder.of(held) if held else None)
        if lease is not None and guard.uncoordinated is None:
            keeper = asyncio.create_task(_keep(client, lease, sent + ttl, etcd.lease_ttl,
                                               guard))
        yield guard
        if lease is not None and guard.uncoordinated is None and plan_id:
            # closed normally (an exception or an abandon leaves it open: the leader takes
            # it up); said before the key goes, so whoever takes the key next knows
            with contextlib.suppress(EtcdError):
                await client.put(closed_key(etcd.prefix, pair),
                                 json.dumps({"plan_id": plan_id, "at": clock()}))
    finally:
        if keeper is not None:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        if lease is not None:  # revoking the lease deletes the key (ours only: on our lease)
            with contextlib.suppress(EtcdError):
                await client.revoke(lease)
        await client.aclose()


async def _keep(client: EtcdClient, lease: int, valid_until: float, ttl: float,
                guard: Guard) -> None:
    """Keep the key's lease alive every ttl/3 (sooner after a failed try); on losing it,
    tell the guard once and stop."""
    problem = ""
    while True:
        await asyncio.sleep(ttl / 3 if not problem else min(ttl / 6, 1.0))
        sent = time.monotonic()
        try:
            left = await client.keepalive(lease)
        except LeaseGone:
            left = 0
        except EtcdError as exc:
            problem = clean_text(str(exc), 200, one_line=True)
            if time.monotonic() < valid_until:
                continue
            guard.lost = f"etcd did not answer the action key's keep-alive ({problem})"
        else:
            if left > 0:
                valid_until, problem = sent + left, ""
                continue
            guard.lost = "the action key's lease expired"
        if guard.on_lost is not None:
            guard.on_lost(guard.lost_text())
        return


# --- the leading watcher -------------------------------------------------------------------

@dataclass
class WatcherHold:
    """The action key as the leading watcher holds it (on its session lease)."""

    pc: PairCoordination
    key: str
    value: str

    async def release(self) -> None:
        """Delete the key if it is still this value (never another holder's)."""
        c = self.pc.c
        try:
            await c.client.txn([value_is(self.key, self.value)], [delete_op(self.key)])
        except EtcdError as exc:
            c._say("warning", "action-key-kept", f"the action key of {self.pc.pair} could not "
                   f"be deleted ({clean_text(str(exc), 200, one_line=True)}); it goes with "
                   "this watcher's lease", pair=self.pc.pair)


async def take_for_watcher(pc: PairCoordination, action: str, plan_id: str = ""
                           ) -> WatcherHold:
    """The pair's action key for the leader's plan: only while the leader key is still ours
    (NotPermitted otherwise); ActionKeyHeld when someone else holds it."""
    c = pc.c
    if pc.held_rev is None or pc.held_generation != c.generation or not c.alive():
        raise NotPermitted(f"{action}: this watcher does not lead the pair")
    key = action_key(c.etcd_cfg.prefix, pc.pair)
    value = Holder(action, "watcher", c.name, socket.gethostname(), os.getpid(), c.clock(),
                   plan_id).value()
    leads = [value_is(pc.leader_key, pc.me()), modified_at(pc.leader_key, pc.held_rev)]
    try:
        ok, responses, _ = await c.client.txn(
            [created_never(key), *leads], [put_op(key, value, c.lease)],
            [range_op(key), range_op(pc.leader_key)])
        if not ok:
            held = _holder_of(responses)
            if held is not None and held.lease == c.lease:  # ours, left by an earlier plan
                ok, responses, _ = await c.client.txn(
                    [modified_at(key, held.mod_revision), *leads],
                    [put_op(key, value, c.lease)], [range_op(key), range_op(pc.leader_key)])
                held = _holder_of(responses)
    except EtcdError as exc:
        raise ActionBusy(f"etcd did not answer when the action key of pair {pc.pair} was "
                         f"taken ({clean_text(str(exc), 200, one_line=True)}); nothing "
                         "sent") from None
    if ok:
        return WatcherHold(pc, key, value)
    if held is not None:
        raise ActionKeyHeld(pc.pair, Holder.of(held), for_watcher=True)
    pc._drop("the leader key is no longer ours")
    raise NotPermitted(f"{action}: the leader key is no longer ours (another watcher leads)")
