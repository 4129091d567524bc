"""Witness checks: can this host still reach things other than the pair (DNS server, gateway)?

A TCP witness answers when a connection opens; a URL witness when any HTTP answer comes back.
All run concurrently with the poll round, each under a hard deadline.
"""

from __future__ import annotations

import asyncio
import contextlib

from ..appliance._httpx import httpx
from .config import Witness
from .decision import WitnessRound


class WitnessChecker:
    def __init__(self, witnesses: tuple[Witness, ...], timeout: float,
                 source_address: str | None = None):
        self.witnesses = witnesses
        self.timeout = timeout
        self.source_address = source_address  # checks leave from where the polls leave
        self._client: httpx.AsyncClient | None = None

    async def check(self) -> WitnessRound:
        if not self.witnesses:
            return WitnessRound()
        results = await asyncio.gather(*(self._one(w) for w in self.witnesses))
        failures = tuple(f"{w}: {problem}" for w, problem in zip(self.witnesses, results)
                         if problem is not None)
        return WitnessRound(len(self.witnesses), len(self.witnesses) - len(failures), failures)

    async def _one(self, witness: Witness) -> str | None:
        """None when it answered, else what went wrong (never raises)."""
        try:
            async with asyncio.timeout(self.timeout):
                if witness.kind == "tcp":
                    _, writer = await asyncio.open_connection(
                        witness.host, witness.port,
                        local_addr=(self.source_address, 0) if self.source_address else None)
                    writer.close()
                    with contextlib.suppress(OSError):
                        await writer.wait_closed()
                    return None
                if self._client is None:
                    transport = httpx.AsyncHTTPTransport(local_address=self.source_address) \
                        if self.source_address else None
                    self._client = httpx.AsyncClient(trust_env=False, follow_redirects=False,
                                                     transport=transport)
                await self._client.get(witness.url or "", timeout=self.timeout)
                return None
        except TimeoutError:
            return "no answer in time"
        except ConnectionRefusedError:
            return "connection refused"
        except (OSError, httpx.HTTPError) as exc:
            return exc.__class__.__name__

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
