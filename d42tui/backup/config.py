"""The `backup:` section of a pair (issue 6 fills this in)."""

from __future__ import annotations

from ..configtypes import StrictModel


class BackupConfig(StrictModel):
    kind: str
