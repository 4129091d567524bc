"""DNS target of a pair: query the authoritative servers, update through a backend.

The CLI and the TUI use only these names; the modules behind them are the machinery.
"""

from .._lazy import lazy_attributes
from .config import (
    CommandBackend,
    DnsConfig,
    Endpoint,
    Rfc2136Backend,
    check_targets,
    dns_warnings,
    normalize_value,
)

# The config is needed on every start; the query/update machinery (dnspython's async
# stack, ~40 ms to import) only when DNS is touched. No submodule shares a name with
# a function here, so loading on first use cannot hand out a module by mistake.
_LAZY = {
    "DnsBackend": "backend", "DnsUpdateResult": "backend", "UpdateOutcome": "backend",
    "make_backend": "backends",
    "DnsAnswer": "lookup", "ServerAnswer": "lookup", "dns_mismatch": "lookup", "DnsProblem": "lookup",
    "DnsProblemKind": "lookup",
    "dns_summary": "lookup", "query": "lookup", "which_appliance": "lookup",
    "DnsSwitchResult": "switchover", "SwitchOutcome": "switchover",
    "resolve_target": "switchover", "switch": "switchover",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "CommandBackend", "DnsAnswer", "DnsBackend", "DnsConfig", "DnsSwitchResult",
    "DnsUpdateResult", "Endpoint", "Rfc2136Backend", "ServerAnswer", "SwitchOutcome",
    "UpdateOutcome", "check_targets", "DnsProblem", "DnsProblemKind", "dns_mismatch", "dns_summary", "dns_warnings",
    "make_backend", "normalize_value", "query", "resolve_target", "switch", "which_appliance",
]
