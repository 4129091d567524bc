"""A real 3-member etcd cluster on loopback for tests (etcd 3.4+, Debian `etcd-server`).

Use the `etcd_cluster` fixture, or `start_cluster(directory)` (the benchmark does). Members
listen on free ports of 127.0.0.1, keep their data in the test's temp dir, and are stopped
by PID; `kill(i)` takes a member away (two of three: the cluster loses its majority).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

START_TIMEOUT = 20.0


def etcd_binary() -> str | None:
    for path in (shutil.which("etcd"), "/usr/bin/etcd", "/usr/local/bin/etcd"):
        if path and Path(path).exists():
            return path
    return None


def _free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


@dataclass
class EtcdCluster:
    directory: Path
    client_ports: list[int]
    peer_ports: list[int]
    procs: list[subprocess.Popen | None] = field(default_factory=list)

    @property
    def endpoints(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.client_ports]

    def call(self, path: str, body: dict, member: int | None = None, timeout: float = 2.0
             ) -> dict:
        """One JSON gateway call that bypasses the code under test (first live member)."""
        members = [member] if member is not None else [i for i, p in enumerate(self.procs) if p]
        last: Exception | None = None
        for i in members:
            request = urllib.request.Request(
                f"{self.endpoints[i]}/v3/{path}", json.dumps(body).encode(),
                {"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=timeout) as answer:
                    return json.loads(answer.read())
            except OSError as exc:
                last = exc
        raise RuntimeError(f"no etcd member answered {path}: {last}")

    def healthy(self, member: int) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoints[member]}/health", timeout=1) as r:
                return json.loads(r.read()).get("health") == "true"
        except (OSError, ValueError):
            return False

    def kill(self, member: int) -> None:
        proc = self.procs[member]
        if proc is not None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            self.procs[member] = None

    def stop(self) -> None:
        for i in range(len(self.procs)):
            with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
                self.kill(i)


def start_cluster(directory: Path, binary: str, members: int = 3) -> EtcdCluster:
    ports = _free_ports(2 * members)
    cluster = EtcdCluster(directory, ports[:members], ports[members:])
    initial = ",".join(f"e{i}=http://127.0.0.1:{p}" for i, p in enumerate(cluster.peer_ports))
    for i in range(members):
        data = directory / f"e{i}"
        data.mkdir(parents=True, exist_ok=True, mode=0o700)
        client, peer = f"http://127.0.0.1:{cluster.client_ports[i]}", \
            f"http://127.0.0.1:{cluster.peer_ports[i]}"
        log = open(directory / f"e{i}.log", "wb")  # noqa: SIM115 - the process owns it
        cluster.procs.append(subprocess.Popen(
            [binary, "--name", f"e{i}", "--data-dir", str(data),
             "--listen-client-urls", client, "--advertise-client-urls", client,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", initial, "--initial-cluster-state", "new",
             "--initial-cluster-token", f"d42tui-test-{os.getpid()}",
             "--heartbeat-interval", "50", "--election-timeout", "500"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True))
        log.close()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if all(cluster.healthy(i) for i in range(members)):
            return cluster
        for i, proc in enumerate(cluster.procs):
            if proc is not None and proc.poll() is not None:
                cluster.stop()
                raise RuntimeError(f"etcd member e{i} exited {proc.returncode}: "
                                   + (directory / f"e{i}.log").read_text()[-2000:])
        time.sleep(0.1)
    cluster.stop()
    raise RuntimeError("the etcd cluster did not become healthy within "
                       f"{START_TIMEOUT:g}s: see {directory}")


@pytest.fixture
def etcd_cluster(tmp_path_factory):
    from tests.conftest import require_binary

    binary = require_binary("etcd", "/usr/bin/etcd")
    cluster = start_cluster(tmp_path_factory.mktemp("etcd"), binary)
    try:
        yield cluster
    finally:
        cluster.stop()
