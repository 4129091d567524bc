"""The few etcd v3 calls coordination needs, over etcd's JSON gateway (`/v3/...`) with httpx.

Keys and values travel base64-encoded; 64-bit numbers arrive as strings; fields at their
default value (`succeeded: false`, a lease's `TTL: 0`) are left out of the answer. Every
call goes to the member that answered last and moves on to the next on a connection error,
a timeout or a 5xx, so one dead member costs one timeout. A member that has lost its
cluster's majority does not answer linearizable requests in time: that is `EtcdError`,
which the caller reads as "coordination lost".

Why httpx on the gateway rather than a client library: etcd3gw (the maintained gateway
client) is synchronous (requests), so each call would need a thread beside the asyncio
watcher, and its lease refresh thread would keep a SIGSTOPped-then-resumed process's lease
in a state we do not see; the gRPC client (python-etcd3) is unmaintained and pins old
protobuf. The gateway is a stable, documented part of etcd 3.4+, and Patroni's
`patroni/dcs/etcd3.py` speaks it the same way.
"""

from __future__ import annotations

import base64
import json
import ssl
from dataclasses import dataclass
from typing import Any

from ..appliance._httpx import httpx
from ..appliance.failures import classify_exception
from .config import EtcdConfig


class EtcdError(Exception):
    """No member answered, or the answer was an error: coordination is not available."""


class LeaseGone(EtcdError):
    """etcd no longer knows the lease (expired, or revoked): every key on it is gone."""


@dataclass(frozen=True)
class KV:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int
    lease: int

    def json(self) -> Any:
        try:
            return json.loads(self.value)
        except ValueError:
            return None


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


def prefix_end(prefix: str) -> str:
    """The range_end that selects every key starting with `prefix`."""
    raw = bytearray(prefix.encode())
    raw[-1] += 1
    return b64(bytes(raw))


def _kv(raw: dict[str, Any]) -> KV:
    return KV(base64.b64decode(raw.get("key", "")).decode(errors="replace"),
              base64.b64decode(raw.get("value", "")), int(raw.get("create_revision", 0)),
              int(raw.get("mod_revision", 0)), int(raw.get("lease", 0)))


def _context(cfg: EtcdConfig) -> ssl.SSLContext | bool:
    if cfg.tls is None:
        return True
    context = ssl.create_default_context(cafile=str(cfg.tls.ca_file) if cfg.tls.ca_file else None)
    if cfg.tls.cert_file is not None:
        context.load_cert_chain(str(cfg.tls.cert_file), str(cfg.tls.key_file))
    return context


class EtcdClient:
    def __init__(self, cfg: EtcdConfig):
        self.cfg = cfg
        self.endpoints = list(cfg.endpoints)
        self._good = 0  # the member that answered last
        self._token: str | None = None
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(cfg.request_timeout),
                                       verify=_context(cfg), trust_env=False,
                                       follow_redirects=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _authenticate(self, endpoint: str) -> None:
        secret = self.cfg.secret()
        assert secret is not None and self.cfg.username is not None
        try:
            password = secret.value()
        except Exception as exc:  # SecretError: its text names the source, never the value
            raise EtcdError(f"the etcd password cannot be read: {exc}") from None
        answer = await self._http.post(f"{endpoint}/v3/auth/authenticate",
                                       json={"name": self.cfg.username, "password": password})
        if answer.status_code != 200:
            raise EtcdError(f"etcd refused the user {self.cfg.username!r} "
                            f"({answer.status_code})")
        self._token = answer.json().get("token")

    async def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        problems = []
        n = len(self.endpoints)
        for step in range(n):
            i = (self._good + step) % n
            endpoint = self.endpoints[i]
            try:
                if self.cfg.username is not None and self._token is None:
                    await self._authenticate(endpoint)
                headers = {"Authorization": self._token} if self._token else {}
                answer = await self._http.post(f"{endpoint}/v3/{path}", json=body,
                                               headers=headers)
                if answer.status_code == 401 and self.cfg.username is not None:
                    self._token = None  # expired token: once more with a new one
                    await self._authenticate(endpoint)
                    answer = await self._http.post(f"{endpoint}/v3/{path}", json=body,
                                                   headers={"Authorization": self._token or ""})
            except httpx.TimeoutException:
                problems.append(f"{endpoint}: no answer in time")
                continue
            except httpx.HTTPError as exc:  # said in the same words as an appliance's
                problems.append(f"{endpoint}: {classify_exception(exc)}")
                continue
            if answer.status_code >= 500 or answer.status_code in (408, 429):
                problems.append(f"{endpoint}: {answer.status_code} {_message(answer)}")
                continue
            if answer.status_code != 200 and "lease not found" in _message(answer):
                raise LeaseGone(f"{endpoint}/v3/{path}: {_message(answer)}")
            if answer.status_code != 200:
                raise EtcdError(f"{endpoint}/v3/{path}: {answer.status_code} {_message(answer)}")
            try:
                payload = answer.json()
            except ValueError:
                problems.append(f"{endpoint}: an answer that is not JSON")
                continue
            self._good = i
            return payload
        raise EtcdError("no etcd member answered: " + "; ".join(problems))

    # --- leases ------------------------------------------------------------------------

    async def grant(self, ttl: float) -> tuple[int, int]:
        answer = await self.call("lease/grant", {"TTL": max(1, round(ttl))})
        if "ID" not in answer or not int(answer.get("TTL", 0)):
            raise EtcdError(f"lease grant answered {answer.get('error', answer)!r:.200}")
        return int(answer["ID"]), int(answer["TTL"])

    async def keepalive(self, lease: int) -> int:
        """The lease's TTL after the refresh; 0 when it has already expired."""
        answer = await self.call("lease/keepalive", {"ID": str(lease)})
        return int(answer.get("result", {}).get("TTL", 0))

    async def revoke(self, lease: int) -> None:
        await self.call("lease/revoke", {"ID": str(lease)})

    # --- keys --------------------------------------------------------------------------

    async def range(self, key: str, *, prefix: bool = False) -> tuple[list[KV], int]:
        """The key (or every key under the prefix) and the store's revision."""
        body = {"key": b64(key)}
        if prefix:
            body["range_end"] = prefix_end(key)
        answer = await self.call("kv/range", body)
        return [_kv(k) for k in answer.get("kvs", [])], \
            int(answer.get("header", {}).get("revision", 0))

    async def put(self, key: str, value: str, lease: int | None = None) -> int:
        body: dict[str, Any] = {"key": b64(key), "value": b64(value)}
        if lease:
            body["lease"] = str(lease)
        answer = await self.call("kv/put", body)
        return int(answer.get("header", {}).get("revision", 0))

    async def txn(self, compare: list[dict[str, Any]], success: list[dict[str, Any]],
                  failure: list[dict[str, Any]] | None = None
                  ) -> tuple[bool, list[dict[str, Any]], int]:
        answer = await self.call("kv/txn", {"compare": compare, "success": success,
                                            "failure": failure or []})
        return bool(answer.get("succeeded", False)), answer.get("responses", []), \
            int(answer.get("header", {}).get("revision", 0))


# --- building blocks of transactions -------------------------------------------------------

def created_never(key: str) -> dict[str, Any]:
    return {"key": b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}


def value_is(key: str, value: str) -> dict[str, Any]:
    return {"key": b64(key), "target": "VALUE", "result": "EQUAL", "value": b64(value)}


def modified_at(key: str, revision: int) -> dict[str, Any]:
    return {"key": b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": str(revision)}


def put_op(key: str, value: str, lease: int | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"key": b64(key), "value": b64(value)}
    if lease:
        op["lease"] = str(lease)
    return {"request_put": op}


def delete_op(key: str) -> dict[str, Any]:
    return {"request_delete_range": {"key": b64(key)}}


def range_op(key: str, prefix: bool = False) -> dict[str, Any]:
    op = {"key": b64(key)}
    if prefix:
        op["range_end"] = prefix_end(key)
    return {"request_range": op}


def kvs_of(response: dict[str, Any]) -> list[KV]:
    return [_kv(k) for k in response.get("response_range", {}).get("kvs", [])]


def _message(answer: Any) -> str:
    try:
        payload = answer.json()
    except ValueError:
        return ""
    text = payload.get("message") or payload.get("error") or ""
    return str(text)[:200]
