"""`Simulator`: N simulated appliances served from one background thread and event loop.

The public methods are called from other threads (tests run their own loops); they
take `_lock` for state and hand socket work to the simulator's loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from .appliance import FAULT_KINDS, MAIN_API, MANAGER, SimAppliance, SimRequest, error_response
from .certs import SimCertificate, make_certificate, server_context
from .control import ControlApi
from .http import Listener, Outcome, Request

log = logging.getLogger("d42tui.simulator")

REQUEST_LOG_LIMIT = 100_000  # oldest records are dropped beyond this (a long demo polls a lot)
CALL_TIMEOUT = 30.0
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


@dataclass(frozen=True)
class ApplianceSettings:
    """How an appliance was added (its mode at creation; no password)."""

    name: str
    mode: str
    username: str
    backup_cron: str | None
    restore_cron: str | None
    restore_duration: float
    timezone: str
    health_auth: bool
    api: bool


@dataclass(eq=False)
class _Entry:
    appliance: SimAppliance
    settings: ApplianceSettings
    cert: SimCertificate | None
    listeners: dict[str, Listener] = field(default_factory=dict)  # "manager", "http", "api"
    sync_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _quiet_exceptions(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Clients that go away mid-handshake are normal for a simulator; keep them out of stderr."""
    if isinstance(context.get("exception"), (OSError, ssl.SSLError, asyncio.TimeoutError)):
        log.debug("simulator connection error: %s", context.get("message"))
        return
    loop.default_exception_handler(context)


class Simulator:
    """Simulated Device42 appliances on 127.0.0.1, each with its own certificate and ports.

    TLS listeners complete the handshake even under the `blackhole` fault: the black
    hole accepts, handshakes, reads the request and never answers, as a hung
    application behind a live TLS terminator would.
    """

    def __init__(self, tls: bool = True, http: bool = False,
                 clock: Callable[[], float] | None = None):
        self.tls = tls
        self.http = http
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._log: deque[SimRequest] = deque(maxlen=REQUEST_LOG_LIMIT)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._control: Listener | None = None
        self._state = "new"  # new → running → stopped

    # --- lifecycle -------------------------------------------------------------------

    def add_appliance(self, name: str, mode: str = "production", username: str = "d42admin",
                      password: str = "default", backup_cron: str | None = None,
                      restore_cron: str | None = None, restore_duration: float = 1800,
                      timezone: str = "UTC", health_auth: bool = False, api: bool = False) -> None:
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ValueError(f"'{name}' is not a usable appliance name (letters, digits, . _ -)")
        if self._state == "stopped":
            raise RuntimeError("the simulator is stopped")
        appliance = SimAppliance(
            name=name, mode=mode, username=username, password=password, backup_cron=backup_cron,
            restore_cron=restore_cron, restore_duration=float(restore_duration),
            timezone=timezone, health_auth=health_auth, api=api, clock=self._clock,
            lock=self._lock, record=self._record)
        settings = ApplianceSettings(name, mode, username, backup_cron, restore_cron,
                                     float(restore_duration), timezone, health_auth, api)
        cert = make_certificate(name) if self.tls else None
        context = server_context(cert) if cert else None
        entry = _Entry(appliance, settings, cert)
        entry.listeners[MANAGER] = self._listener(appliance, MANAGER, context)
        if self.http:
            entry.listeners["http"] = self._listener(appliance, MANAGER, None)
        if api:
            entry.listeners[MAIN_API] = self._listener(appliance, MAIN_API, context)
        with self._lock:
            if name in self._entries:
                raise ValueError(f"appliance '{name}' already exists")
            self._entries[name] = entry
        if self._state == "running":
            self._call(self._sync_listeners(entry))

    def start(self) -> Simulator:
        """Start the loop thread; returns once every listener is bound."""
        if self._state != "new":
            raise RuntimeError(f"the simulator cannot start: it is {self._state}")
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(_quiet_exceptions)
        self._thread = threading.Thread(target=self._run, name="d42tui-simulator", daemon=True)
        self._thread.start()
        self._state = "running"
        try:
            self._call(self._open_all())
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Close listeners and connections, stop the loop, join the thread. Idempotent."""
        if self._state != "running":
            self._state = "stopped"
            return
        self._state = "stopped"
        assert self._loop is not None and self._thread is not None
        try:
            self._call(self._close_all())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(CALL_TIMEOUT)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- addresses -------------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._entries)

    def settings(self, name: str) -> ApplianceSettings:
        return self._entry(name).settings

    def url(self, name: str) -> str:
        return self._bound(self._entry(name).listeners[MANAGER]).url

    def http_url(self, name: str) -> str | None:
        listener = self._entry(name).listeners.get("http")
        return self._bound(listener).url if listener else None

    def api_url(self, name: str) -> str | None:
        listener = self._entry(name).listeners.get(MAIN_API)
        return self._bound(listener).url if listener else None

    def fingerprint(self, name: str) -> str | None:
        """SHA-256 of the certificate's DER as "AB:CD:…"; None when running without TLS."""
        cert = self._entry(name).cert
        return cert.fingerprint_sha256 if cert else None

    def cert_pem(self, name: str) -> str | None:
        cert = self._entry(name).cert
        return cert.cert_pem if cert else None

    @property
    def control_url(self) -> str:
        if self._control is None or self._control.port is None:
            raise RuntimeError("the simulator is not started")
        return self._control.url

    # --- faults, truth, request log ----------------------------------------------------

    def set_fault(self, name: str, kind: str, ms: int | None = None,
                  source: str | None = None) -> None:
        """Inject a fault (see FAULT_KINDS); `ms` is the delay of `slow` (default 2000).
        With `source`, only clients from that address see it (`down` hangs up on them: the
        sockets stay open for everyone else); `none` clears it."""
        entry = self._entry(name)
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind '{kind}' (one of {', '.join(FAULT_KINDS)})")
        source = _address(source)
        with self._lock:
            entry.appliance.set_fault(kind, ms, source)
        if self._state == "running" and source is None:
            self._call(self._sync_listeners(entry))

    async def set_fault_async(self, name: str, kind: str, ms: int | None = None,
                              source: str | None = None) -> None:
        """`set_fault` for code running on the simulator's own loop (the control API)."""
        entry = self._entry(name)
        source = _address(source)
        with self._lock:
            entry.appliance.set_fault(kind, ms, source)
        if source is None:
            await self._sync_listeners(entry)

    def set_version(self, name: str, version: str) -> None:
        """The version the appliance reports (an upgrade of one side of the pair)."""
        entry = self._entry(name)
        with self._lock:
            entry.appliance.set_version(version)

    def set_mode_by_hand(self, name: str, mode: str) -> None:
        """The mode changed in the appliance's own UI, as a person would change it: no
        request through the API (and so nothing any console sent or saw)."""
        if mode not in ("production", "standby"):
            raise ValueError(f"mode must be production or standby, not {mode!r}")
        entry = self._entry(name)
        with self._lock:
            entry.appliance.set_mode(mode, self._clock())

    async def set_mode_by_hand_async(self, name: str, mode: str) -> None:
        """`set_mode_by_hand` for the control API (nothing to await: no listener changes)."""
        self.set_mode_by_hand(name, mode)

    def truth(self) -> dict[str, dict[str, dict[str, str]]]:
        """What is really true: `{"appliances": {name: {"mode": …, "fault": …}}}`."""
        with self._lock:
            return {"appliances": {n: e.appliance.truth() for n, e in self._entries.items()}}

    def restoring(self, name: str) -> bool:
        entry = self._entry(name)
        now = self._clock()
        with self._lock:
            return entry.appliance.restoring(now)

    def requests(self, name: str | None = None) -> list[SimRequest]:
        if name is not None:
            self._entry(name)
        with self._lock:
            return [r for r in self._log if name is None or r.appliance == name]

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    # --- internals ---------------------------------------------------------------------

    def _record(self, request: SimRequest) -> None:
        with self._lock:
            self._log.append(request)

    def _entry(self, name: str) -> _Entry:
        with self._lock:
            entry = self._entries.get(name)
        if entry is None:
            raise ValueError(f"unknown appliance '{name}'")
        return entry

    @staticmethod
    def _bound(listener: Listener) -> Listener:
        if listener.port is None:
            raise RuntimeError("the simulator is not started: ports are bound by start()")
        return listener

    @staticmethod
    def _listener(appliance: SimAppliance, kind: str, context: ssl.SSLContext | None) -> Listener:
        async def handler(request: Request) -> Outcome:
            return await appliance.handle(request, kind)

        return Listener(handler, context, on_error=error_response)

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run `coro` on the simulator's loop and wait for it (from any other thread)."""
        assert self._loop is not None and self._thread is not None
        if not self._thread.is_alive():
            coro.close()
            raise RuntimeError("the simulator's loop is not running")
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("this Simulator method blocks; on the simulator's loop use "
                               "the *_async variant")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(CALL_TIMEOUT)

    def _run(self) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _open_all(self) -> None:
        self._control = Listener(ControlApi(self).handle)
        await self._control.open()
        with self._lock:
            entries = list(self._entries.values())
        await asyncio.gather(*(self._sync_listeners(e) for e in entries))

    async def _close_all(self) -> None:
        with self._lock:
            entries = list(self._entries.values())
        listeners = [lis for e in entries for lis in e.listeners.values()]
        if self._control is not None:
            listeners.append(self._control)
        await asyncio.gather(*(lis.close() for lis in listeners), return_exceptions=True)

    async def _sync_listeners(self, entry: _Entry) -> None:
        """Make the sockets match the fault: `down` closes them, anything else (re)binds.

        Ports are reserved on first bind and reused, so an appliance that comes back
        from `down` answers on the same URL.
        """
        async with entry.sync_lock:
            with self._lock:
                want_open = entry.appliance.fault != "down"
            for listener in entry.listeners.values():
                if listener.port is None:
                    await listener.open()
                if want_open:
                    await listener.open()
                else:
                    await listener.close()


def _address(source: str | None) -> str | None:
    """A client address as the server sees it (ValueError for anything else)."""
    if source is None:
        return None
    import ipaddress

    try:
        return str(ipaddress.ip_address(str(source).strip()))
    except ValueError:
        raise ValueError(f"'from' must be an IP address such as 127.0.0.2, not "
                         f"{str(source)[:40]!r}") from None
