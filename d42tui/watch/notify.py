"""Notifications: a JSON webhook (Slack-compatible `text`) and/or a command fed JSON on stdin.

Each is sent in the background with retries and backoff: a slow or failing receiver never
blocks or delays a failover. The webhook URL is a secret and is never logged (only its host).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..appliance._httpx import httpx
from ..config.secrets import SecretError
from ._schedule import iso
from .config import SEVERITY_ORDER, NotifyConfig, Severity, check_webhook_url

Say = Callable[[str, str], None]  # (level, text): the watcher's own log


@dataclass(frozen=True)
class Notice:
    """One event people should hear about."""

    event: str  # failover-done, fence-done, dns-failed, would-fail-over, isolated, ...
    severity: Severity
    pair: str
    text: str
    at: float
    details: Mapping[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return {"text": f"[d42tui {self.severity.upper()}] {self.pair}: {self.text}",
                "event": self.event, "severity": self.severity, "pair": self.pair,
                "time": iso(self.at), "host": socket.gethostname(),
                "details": dict(self.details)}


class Notifier:
    """Sends notices in background tasks; `drain` waits for them when the watcher stops."""

    def __init__(self, cfg: NotifyConfig | None, say: Say,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.cfg = cfg
        self.say = say
        self.sleep = sleep
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    def send(self, notice: Notice) -> None:
        cfg = self.cfg
        if cfg is None or SEVERITY_ORDER[notice.severity] < SEVERITY_ORDER[cfg.min_severity]:
            return
        body = json.dumps(notice.payload(), ensure_ascii=False, default=str).encode()
        if cfg.webhook is not None:
            self._spawn(self._deliver("webhook", notice, lambda: self._post(body)))
        if cfg.command is not None:
            self._spawn(self._deliver(f"command {cfg.command[0]}", notice,
                                      lambda: self._run(body)))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, channel: str, notice: Notice,
                       attempt: Callable[[], Awaitable[str | None]]) -> None:
        assert self.cfg is not None
        delay = self.cfg.backoff
        for tries in range(1, self.cfg.retries + 2):
            try:
                problem = await attempt()
            except Exception as exc:  # a notification must never take the watcher down
                problem = exc.__class__.__name__
            if problem is None:
                return
            if tries > self.cfg.retries:
                self.say("warning", f"notification {notice.event} via {channel} failed after "
                                    f"{tries} attempts: {problem}")
                return
            await self.sleep(delay)
            delay *= 2

    async def _post(self, body: bytes) -> str | None:
        webhook = self.cfg.webhook if self.cfg else None
        assert webhook is not None
        try:
            url = check_webhook_url(webhook.secret().value())
        except (SecretError, ValueError) as exc:
            return str(exc)
        host = urlsplit(url).hostname
        if self._client is None:
            self._client = httpx.AsyncClient(trust_env=False, follow_redirects=False)
        try:
            response = await self._client.post(url, content=body, timeout=webhook.timeout,
                                               headers={"Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            return f"{host}: {exc.__class__.__name__}"  # never the URL: its path is a token
        if 200 <= response.status_code < 300:
            return None
        return f"{host} answered HTTP {response.status_code}"

    async def _run(self, body: bytes) -> str | None:
        assert self.cfg is not None and self.cfg.command is not None
        argv = self.cfg.command
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            return f"cannot run {argv[0]}: {exc.strerror or exc}"
        try:
            _, err = await asyncio.wait_for(proc.communicate(body), self.cfg.command_timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return f"{argv[0]} did not finish within {self.cfg.command_timeout:g}s"
        if proc.returncode == 0:
            return None
        last = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return f"{argv[0]} exited {proc.returncode}: {last[0][:200]}"

    async def drain(self, timeout: float) -> None:
        """Give pending notices up to `timeout` seconds, then cancel what is left."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
