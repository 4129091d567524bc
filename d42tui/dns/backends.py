"""The backend a `dns:` section names: RFC 2136 with TSIG, or the site's own command."""

from __future__ import annotations

from .backend import DnsBackend
from .command import CommandUpdater
from .config import DnsConfig, Rfc2136Backend
from .rfc2136 import Rfc2136Updater


def make_backend(cfg: DnsConfig) -> DnsBackend:
    """The backend the config names."""
    if isinstance(cfg.backend, Rfc2136Backend):
        return Rfc2136Updater(cfg)
    return CommandUpdater(cfg)
