"""A coordinated watcher's round: publish, lead or observe, and act only while leading.

`coordinated_round` replaces the acting half of `PairWatch.round` when `coordination:` is
configured. A watcher that does not lead (another does, or etcd cannot be reached) still
polls, counts and says what it sees, but fences nothing, finishes no plan and starts none.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..actions.steps import NotPermitted
from ..config.durations import format_duration
from ..engine.pair import PairSnapshot
from .etcd import EtcdError
from .leader import Round
from .observers import view_record

if TYPE_CHECKING:
    from ..watch.decision import Decision
    from ..watch.watcher import PairWatch


async def coordinated_round(w: PairWatch, snap: PairSnapshot, witnesses: Any,
                            now: float) -> Decision:
    coord = w.coord
    assert coord is not None
    record = view_record(coord.c.name, w.views, w.policy.failure_threshold, now)
    r = await coord.round(record)
    if r.role != "leader":
        return await observe_only(w, w.poller.snapshot(), witnesses, now, r)
    if w.once("coord-role", "leader"):
        w.ctx.notice("coordination-leader", "info", f"watcher {coord.c.name} leads "
                     f"{w.pair.name} (etcd lease); it alone decides and acts")
    lost_notice(w, r)
    try:
        decision = await w.act(w.poller.snapshot(), witnesses, now)
    except NotPermitted as exc:
        coord.revert()
        await drop_plan(w)
        w.say("error", "fenced-off", f"nothing sent: {exc}; this watcher stops acting")
        return await observe_only(w, w.poller.snapshot(), witnesses, now,
                            Round("follower", None, None, coord.latest.observers))
    try:
        await coord.push()
    except EtcdError as exc:
        w.say("warning", "state-not-shared", f"the shared state could not be written ({exc}); "
              "tried again next round")
    return decision


async def drop_plan(w: PairWatch) -> None:
    """A watcher that does not lead lets go of a plan (and of the pair's action key): the
    leader finishes it from etcd."""
    if w.journal is not None:
        w.say("warning", "plan-left", f"{w.journal.describe()} is left to the pair's leader")
    w.journal = None
    await w._release()


def lost_notice(w: PairWatch, r: Round) -> None:
    coord = w.coord
    assert coord is not None
    lost = r.role == "lost"
    if w.once("coord-lost", lost):
        if lost:
            text = (f"coordination lost ({r.problem}): no automatic action at all for "
                    f"{w.pair.name} until etcd answers again; the console's own actions still "
                    "work, uncoordinated")
            w.say("warning", "coordination-lost", text)
            w.ctx.notice("coordination-lost", "warning", text)
        elif "coord-lost-seen" in w.memory:
            w.say("info", "coordination-regained", "coordination regained: etcd answers")
            w.ctx.notice("coordination-regained", "info", "coordination regained: etcd "
                         f"answers again for {w.pair.name}")
    if lost:
        w.memory["coord-lost-seen"] = True
    limit = coord.c.etcd_cfg.lost_critical_after
    long_lost = lost and coord.lost_since is not None and now_of(w) - coord.lost_since > limit
    if w.once("coord-lost-long", long_lost) and long_lost:
        w.ctx.notice("coordination-lost", "critical", f"coordination lost for more than "
                     f"{format_duration(limit)} ({r.problem}): automatic failover of "
                     f"{w.pair.name} does not work")


def now_of(w: PairWatch) -> float:
    return w.clock()


async def observe_only(w: PairWatch, snap: PairSnapshot, witnesses: Any, now: float,
                       r: Round) -> Decision:
    """Poll, count and say; never fence, plan or send."""
    from ..watch.decision import Blocker, decide

    coord = w.coord
    assert coord is not None
    await drop_plan(w)
    lost_notice(w, r)
    # a follower logs what it sees; the leader alone pages (one notice per event, not one
    # per watcher); with coordination lost there may be no leader: every watcher pages
    w.ctx.muted = r.role == "follower"
    try:
        w.note_verdict(snap)
        situation = w.situation(snap, witnesses, now)
        if r.role == "lost":
            blocker = Blocker("coordination-lost", f"coordination lost ({r.problem}): no "
                              "automatic action")
        else:
            who = r.leader or "another watcher"
            blocker = Blocker("not-leader", f"{who} leads this pair; this watcher "
                                            f"({coord.c.name}) observes")
            if w.once("coord-role", f"follower {who}"):
                w.say("info", "following", f"{who} leads {w.pair.name}: this watcher observes")
        situation = replace(situation, extra=situation.extra + (blocker,))
        decision = decide(situation)
        decision = replace(decision, act=False,
                           state="LOST" if r.role == "lost" else decision.state)
        w.latest = decision
        w.report(decision, situation)
    finally:
        w.ctx.muted = False
    w.heartbeat()
    return decision
