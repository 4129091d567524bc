"""Helpers for the watch-mode tests: a fake clock, a real webhook receiver, a watcher harness.

The watcher runs in-process on the real simulator (HTTPS), real BIND and a real HTTP
receiver; only time is injected, so a 3-poll hysteresis costs milliseconds, not seconds.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from d42tui.config.models import load_config, state_dir
from d42tui.engine.audit import JsonlLog
from d42tui.engine.state import StateStore
from d42tui.watch.service import Watcher

from .conftest import sim_config_dict

TARGETS = {"d42-a": "10.0.0.1", "d42-b": "10.0.0.2"}
FAST_POLL = {"interval": "1s", "timeout": "300ms", "failure_threshold": 3,
             "recovery_threshold": 2}


def far_restore_cron() -> str:
    """A daily restore 12 hours away: no test runs inside its window by accident. At half
    past: on the hour it would clash, one hour in four, with the 4-hourly backup."""
    return f"30 {(datetime.now(UTC).hour + 12) % 24} * * *"


class FakeClock:
    """Wall time that moves only when the code under test sleeps (or the test says so)."""

    def __init__(self, start: float | None = None):
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


class Receiver:
    """A real HTTP server on loopback that records JSON webhooks; can fail the first N."""

    def __init__(self, fail_first: int = 0):
        self.bodies: list[dict[str, Any]] = []
        self.attempts = 0
        self.fail_first = fail_first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                outer.attempts += 1
                if outer.attempts <= outer.fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                outer.bodies.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/SECRET-TOKEN"

    def events(self) -> list[str]:
        return [b["event"] for b in self.bodies]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def watch_config_dict(sim, tmp_path: Path, *, automation: dict | None = None, named=None,
                      poll: dict | None = None, dns: dict | None = None,
                      passwords: dict | None = None) -> dict:
    data = sim_config_dict(sim, tmp_path, poll=poll or dict(FAST_POLL), passwords=passwords)
    pair = data["pairs"][0]
    pair["restore_cron"] = far_restore_cron()
    pair["restore_duration"] = "30m"
    pair["automation"] = automation or {}
    if named is not None:
        pair["dns"] = dns or named.dns_section(TARGETS)
    return data


def write_watch_config(sim, tmp_path: Path, edit: Any = None, **kwargs: Any) -> Path:
    """The config file; `edit(data)` may change the dict before it is written."""
    path = tmp_path / "watch.yaml"
    data = watch_config_dict(sim, tmp_path, **kwargs)
    if edit is not None:
        edit(data)
    path.write_text(yaml.safe_dump(data))
    path.chmod(0o600)
    return path


class Harness:
    """One in-process watcher on the simulated pair, driven round by round."""

    def __init__(self, sim, tmp_path: Path, *, clock: FakeClock | None = None,
                 dry_run: bool = False, client_factory: Any = None, **kwargs: Any):
        self.sim = sim
        self.tmp_path = tmp_path
        self.named = kwargs.get("named")
        self.path = write_watch_config(sim, tmp_path, **kwargs)
        self.config = load_config(self.path).config
        self.pair = self.config.pairs[0]
        self.clock = clock or FakeClock()
        self.logs: list[dict[str, Any]] = []
        self.dry_run = dry_run
        self.client_factory = client_factory
        self.store = StateStore(state_dir(self.config))
        self.audit = JsonlLog(self.store.directory / "audit.jsonl")
        self.watcher = self.new_watcher()

    def new_watcher(self) -> Watcher:
        extra = {"client_factory": self.client_factory} if self.client_factory else {}
        return Watcher(self.config, dry_run=self.dry_run, say=self.say, clock=self.clock,
                       sleep=self.clock.sleep, store=self.store, **extra)

    def killed(self) -> None:
        """What the kernel does for a SIGKILLed watcher: its locks go, nothing else runs."""
        self.watcher._locks.close()
        for watch in self.watcher.pairs.values():
            watch._release_lock()

    def say(self, level: str, event: str, text: str, pair: str | None = None,
            **fields: Any) -> None:
        self.logs.append({"level": level, "event": event, "text": text, "pair": pair, **fields})

    async def rounds(self, count: int = 1) -> Any:
        decision = None
        for _ in range(count):
            decision = (await self.watcher.round())["main"]
            self.clock.now += self.pair.poll.interval
        return decision

    async def until(self, predicate, limit: int = 30) -> int:
        """Rounds until `predicate()` holds; returns how many it took."""
        for n in range(1, limit + 1):
            await self.rounds()
            if predicate():
                return n
        raise AssertionError(f"not reached in {limit} rounds; log: {self.events()[-10:]}")

    async def settle(self) -> None:
        """Let background notifications finish."""
        await self.watcher.notifiers["main"].drain(10)

    def events(self, name: str | None = None) -> list[str]:
        return [f"{r['event']}: {r['text']}" for r in self.logs if name in (None, r["event"])]

    def modes(self) -> dict[str, str]:
        return {n: a["mode"] for n, a in self.sim.truth()["appliances"].items()}

    def posts(self, name: str | None = None) -> list[tuple[str, str]]:
        return [(r.appliance, r.form.get("appliance_mode", "")) for r in self.sim.requests(name)
                if r.method == "POST"]

    def records(self) -> list[dict[str, Any]]:
        return list(self.audit.records())

    def everything_written(self) -> str:
        """Every byte the watcher wrote: logs, audit, events, state, heartbeat."""
        parts = [json.dumps(self.logs, default=str)]
        for path in self.store.directory.rglob("*"):
            if path.is_file():
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)


def failover_journal(pair, plan_id: str, now: float):
    """A journaled failover d42-a → d42-b as the engine writes one for a dead d42-a."""
    from d42tui.engine.journal import JournalStep, StepKind, new_journal

    return new_journal(plan_id=plan_id, kind="failover", pair=pair.name, source="d42-a",
                       target="d42-b", started_at=now, new_production="d42-b", by="watcher",
                       steps=(JournalStep(StepKind.PROMOTE, "d42-b",
                                          "POST appliance_mode=production to d42-b", ref=0),
                              JournalStep(StepKind.DEMOTE, "d42-a", "POST appliance_mode="
                                          "standby to d42-a (if it answers)", optional=True,
                                          ref=1),
                              JournalStep(StepKind.CONFIRM, "d42-b",
                                          "confirm d42-b answers health")))
