"""DNS target of a pair: query the authoritative servers, update through a backend.

The CLI and the TUI use only these names; the modules behind them are the machinery.
"""

import importlib
from typing import Any

# Loaded on first use: the config imports d42tui.dns.config on every start, and the
# query/update machinery (dnspython's async stack) is only needed when DNS is touched.
_WHERE = {
    "DnsBackend": "backend", "DnsUpdateResult": "backend", "UpdateOutcome": "backend",
    "make_backend": "backend",
    "CommandBackend": "config", "DnsConfig": "config", "Endpoint": "config",
    "Rfc2136Backend": "config", "check_targets": "config", "dns_warnings": "config",
    "normalize_value": "config",
    "DnsAnswer": "query", "ServerAnswer": "query", "dns_mismatch": "query",
    "dns_summary": "query", "query": "query", "which_appliance": "query",
    "DnsSwitchResult": "switch", "SwitchOutcome": "switch", "resolve_target": "switch",
    "switch": "switch",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CommandBackend", "DnsAnswer", "DnsBackend", "DnsConfig", "DnsSwitchResult",
    "DnsUpdateResult", "Endpoint", "Rfc2136Backend", "ServerAnswer", "SwitchOutcome",
    "UpdateOutcome", "check_targets", "dns_mismatch", "dns_summary", "dns_warnings",
    "make_backend", "normalize_value", "query", "resolve_target", "switch", "which_appliance",
]
