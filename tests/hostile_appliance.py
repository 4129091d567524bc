"""An appliance that says what the test tells it to: real HTTP on loopback, canned bytes.

The simulator is faithful, so it cannot lie; this one can: a 200 whose message says the
other mode or an error, a health body with a stray invalid byte. Everything else is the
real thing: the CLI in a subprocess, the watcher in-process, the client over TCP.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import sim_config_dict

HEALTH_PATH = "/healthstats/"
MODE_PATH = "/api/1.0/appliancemode/"

# The vendor's documented example, as bytes a test may then damage
HEALTH = json.dumps({
    "backup_status": [{"id": 1, "job_name": "Demo Backup",
                       "status": "good\n @ 2026-01-01 00:00:00"}],
    "cpu_used_percent": "2.51904", "dbsize": "84 MB", "disk_used_percent": "8",
    "memory_in_MB": {"buffers": 92, "cached": 254, "memfree": 1728, "memtotal": 3948,
                     "swapfree": 8187, "swaptotal": 8187},
    "version": "18.10.00.1690226275"}).encode()


def mode_message(text: str) -> bytes:
    return json.dumps({"msg": text}).encode()


class HostileAppliance:
    """Answers each (method, path) with the status and body it was given; records requests.
    A route set to None hangs up without a word (what a flapping appliance does)."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], tuple[int, bytes] | None] = {
            ("GET", HEALTH_PATH): (200, HEALTH)}
        self.requests: list[tuple[str, str, bytes]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with outer.lock:
                    outer.requests.append((self.command, self.path, body))
                    route = outer.routes.get((self.command, self.path), (404, b"{}"))
                self.close_connection = True
                if route is None:
                    return  # closes the connection with no answer at all
                status, payload = route
                self.wfile.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                                 % (status, len(payload)) + payload)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, method: str, path: str, status: int, body: bytes) -> None:
        with self.lock:
            self.routes[(method, path)] = (status, body)

    def hang_up(self, method: str, path: str) -> None:
        with self.lock:
            self.routes[(method, path)] = None

    def posts(self) -> list[bytes]:
        with self.lock:
            return [body for method, _, body in self.requests if method == "POST"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile():
    appliance = HostileAppliance()
    yield appliance
    appliance.close()


def with_hostile(data: dict, name: str, hostile: HostileAppliance) -> dict:
    """A config dict in which appliance `name` is the hostile one (plain HTTP)."""
    for entry in data["pairs"][0]["appliances"]:
        if entry["name"] == name:
            entry["url"] = hostile.url
            entry.pop("tls", None)
    return data


def write_hostile_config(sim, hostile: HostileAppliance, tmp_path: Path, name: str) -> Path:
    """The simulated pair, with `name` replaced by the hostile appliance."""
    path = tmp_path / "d42tui.yaml"
    path.write_text(yaml.safe_dump(with_hostile(sim_config_dict(sim, tmp_path), name, hostile)))
    path.chmod(0o600)
    return path
