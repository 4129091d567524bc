"""The `dns:` section of a pair (issue 5 fills this in)."""

from __future__ import annotations

from ..configtypes import StrictModel


class DnsConfig(StrictModel):
    name: str
