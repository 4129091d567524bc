"""DNS target of a pair: query the authoritative servers, update through a backend.

The CLI and the TUI use only these names; the modules behind them are the machinery.
"""

from .backend import DnsBackend, DnsUpdateResult, UpdateOutcome, make_backend
from .config import (
                     CommandBackend,
                     DnsConfig,
                     Endpoint,
                     Rfc2136Backend,
                     check_targets,
                     dns_warnings,
                     normalize_value,
)
from .query import DnsAnswer, ServerAnswer, dns_mismatch, dns_summary, query, which_appliance
from .switch import DnsSwitchResult, SwitchOutcome, resolve_target, switch

__all__ = [
    "CommandBackend", "DnsAnswer", "DnsBackend", "DnsConfig", "DnsSwitchResult",
    "DnsUpdateResult", "Endpoint", "Rfc2136Backend", "ServerAnswer", "SwitchOutcome",
    "UpdateOutcome", "check_targets", "dns_mismatch", "dns_summary", "dns_warnings",
    "make_backend", "normalize_value", "query", "resolve_target", "switch", "which_appliance",
]
