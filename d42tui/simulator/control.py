"""The simulator's control API (plain HTTP, JSON) and a small synchronous client for it.

`d42tui simulate fault/truth`, the demo and practice sessions use it to inject
faults into a simulator running in another process and to read what is really true.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from ..appliance._httpx import httpx
from .appliance import FAULT_KINDS
from .http import Request, Response

if TYPE_CHECKING:
    from .core import Simulator


class SimulatorError(Exception):
    """The simulator's control API refused a request or answered something unexpected."""


class SimulatorUnreachable(SimulatorError):
    """Nothing answers at the control URL (refused or timed out): is the simulator running?"""


def _error(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response.json(status, {"error": message}, headers)


class ControlApi:
    """Routes: GET /truth, POST /fault, POST /mode (by hand, in the appliance's own UI),
    GET|DELETE /requests, GET /appliances."""

    def __init__(self, sim: Simulator):
        self.sim = sim

    async def handle(self, request: Request) -> Response:
        routes = {
            "/truth": {"GET": self._truth},
            "/fault": {"POST": self._fault},
            "/mode": {"POST": self._mode},
            "/version": {"POST": self._version},
            "/requests": {"GET": self._requests, "DELETE": self._clear},
            "/appliances": {"GET": self._appliances},
        }
        methods = routes.get(request.path.rstrip("/") or "/")
        if methods is None:
            return _error(404, f"no such control endpoint: {request.path[:100]}")
        action = methods.get(request.method)
        if action is None:
            allow = ", ".join(methods)
            return _error(405, f"{request.method} is not allowed here (allowed: {allow})",
                          [("Allow", allow)])
        return await action(request)

    async def _truth(self, request: Request) -> Response:
        return Response.json(200, self.sim.truth())

    async def _fault(self, request: Request) -> Response:
        try:
            payload = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            return _error(400, "the body must be JSON: {\"appliance\": NAME, \"kind\": KIND}")
        if not isinstance(payload, dict):
            return _error(400, "the body must be a JSON object: "
                               "{\"appliance\": NAME, \"kind\": KIND}")
        name, kind, ms = payload.get("appliance"), payload.get("kind"), payload.get("ms")
        source = payload.get("from")
        if not isinstance(name, str) or name not in self.sim.names:
            return _error(400, f"unknown appliance {name!r} (known: {', '.join(self.sim.names)})")
        if kind not in FAULT_KINDS:
            return _error(400, f"unknown fault kind {kind!r} (one of {', '.join(FAULT_KINDS)})")
        try:
            await self.sim.set_fault_async(name, kind, ms, source)
        except ValueError as exc:
            return _error(400, str(exc))
        return Response.json(200, self.sim.truth())

    def _appliance_call(self, request: Request, key: str, shape: str
                        ) -> tuple[str, object] | Response:
        """(appliance, the value of `key`) from a JSON body, or the 400 that says why not."""
        try:
            payload = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict):
            return _error(400, "the body must be a JSON object: "
                               f"{{\"appliance\": NAME, \"{key}\": {shape}}}")
        name = payload.get("appliance")
        if not isinstance(name, str) or name not in self.sim.names:
            return _error(400, f"unknown appliance {name!r} (known: {', '.join(self.sim.names)})")
        return name, payload.get(key)

    async def _mode(self, request: Request) -> Response:
        call = self._appliance_call(request, "mode", "\"production\"|\"standby\"")
        if isinstance(call, Response):
            return call
        name, mode = call
        try:
            await self.sim.set_mode_by_hand_async(name, mode)  # type: ignore[arg-type]
        except ValueError as exc:
            return _error(400, str(exc))
        return Response.json(200, self.sim.truth())

    async def _version(self, request: Request) -> Response:
        call = self._appliance_call(request, "version", "VERSION")
        if isinstance(call, Response):
            return call
        name, version = call
        try:
            self.sim.set_version(name, version)  # type: ignore[arg-type]
        except ValueError as exc:
            return _error(400, str(exc))
        return Response.json(200, {"appliance": name, "version": version})

    async def _requests(self, request: Request) -> Response:
        name = dict(parse_qsl(request.query)).get("appliance")
        try:
            records = self.sim.requests(name)
        except ValueError as exc:
            return _error(400, str(exc))
        return Response.json(200, [asdict(r) for r in records])

    async def _clear(self, request: Request) -> Response:
        self.sim.clear_requests()
        return Response.json(200, {"cleared": True})

    async def _appliances(self, request: Request) -> Response:
        return Response.json(200, {
            name: {"url": self.sim.url(name), "http_url": self.sim.http_url(name),
                   "api_url": self.sim.api_url(name),
                   "fingerprint_sha256": self.sim.fingerprint(name)}
            for name in self.sim.names})


class ControlClient:
    """Synchronous client of a running simulator's control API.

    Raises `SimulatorUnreachable` when nothing listens, `ValueError` for an unknown
    appliance or fault kind (as `Simulator.set_fault` does), `SimulatorError` otherwise.
    """

    def __init__(self, control_url: str, timeout: float = 5):
        self.control_url = control_url.rstrip("/")
        # trust_env=False: a proxy from the environment must never sit in front of loopback
        self._client = httpx.Client(base_url=self.control_url, timeout=timeout, trust_env=False)

    def truth(self) -> dict[str, Any]:
        return self._call("GET", "/truth")

    def set_mode_by_hand(self, name: str, mode: str) -> dict[str, Any]:
        """Change an appliance's mode as a person in its own UI would; returns the truth."""
        return self._call("POST", "/mode", json={"appliance": name, "mode": mode})

    def set_version(self, name: str, version: str) -> dict[str, Any]:
        """Make the appliance report `version` (as after an upgrade of that side only)."""
        return self._call("POST", "/version", json={"appliance": name, "version": version})

    def set_fault(self, name: str, kind: str, ms: int | None = None,
                  source: str | None = None) -> dict[str, Any]:
        """Inject a fault (only for clients from `source`, if given); returns the truth."""
        body: dict[str, Any] = {"appliance": name, "kind": kind}
        if ms is not None:
            body["ms"] = ms
        if source is not None:
            body["from"] = source
        return self._call("POST", "/fault", json=body)

    def appliances(self) -> dict[str, dict[str, str | None]]:
        return self._call("GET", "/appliances")

    def requests(self, name: str | None = None) -> list[dict[str, Any]]:
        return self._call("GET", "/requests", params={"appliance": name} if name else None)

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.TimeoutException) as exc:
            raise SimulatorUnreachable(
                f"no simulator answers at {self.control_url} ({exc.__class__.__name__}); "
                "is `d42tui simulate` running?") from None
        except httpx.HTTPError as exc:
            raise SimulatorError(f"simulator at {self.control_url}: {exc.__class__.__name__}: "
                                 f"{exc}") from None
        try:
            payload = response.json()
        except ValueError:
            raise SimulatorError(f"{self.control_url}{path} answered {response.status_code} with "
                                 "a body that is not JSON: is this a d42tui simulator?") from None
        message = payload.get("error") if isinstance(payload, dict) else None
        if response.status_code == 400:
            raise ValueError(message or "the simulator rejected the request")
        if response.status_code != 200:
            raise SimulatorError(f"{method} {path} answered {response.status_code}: {message}")
        return payload
