"""EventRecorder: verdict changes the console saw, appended to events.jsonl off the UI loop.

`d42tui audit export --markdown` merges them with the audit log into one incident
timeline. One worker drains a queue, so records keep their order and the render path
never waits for an fsync.
"""

from __future__ import annotations

import asyncio
from typing import Any

from textual.app import App

from ..engine.audit import JsonlLog


class EventRecorder:
    def __init__(self, log: JsonlLog | None) -> None:
        self.log = log
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.failed = False

    def start(self, app: App) -> None:
        if self.log is not None:
            app.run_worker(self._drain(app), name="events.jsonl", group="events",
                           exit_on_error=False)

    def record(self, record: dict[str, Any]) -> None:
        if self.log is not None:
            self.queue.put_nowait(record)

    async def _drain(self, app: App) -> None:
        assert self.log is not None
        while True:
            record = await self.queue.get()
            try:
                await asyncio.to_thread(self.log.append, record)
            except OSError as exc:
                if not self.failed:  # said once: the board matters more than the file
                    self.failed = True
                    app.notify(f"cannot write {self.log.path}: {exc.strerror}",
                               title="events not recorded", severity="warning", timeout=10)
