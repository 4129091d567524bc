"""The built-in simulator: Device42 appliances served over real HTTP(S) on 127.0.0.1.

Faithful to docs/appliance-api.md, with fault injection; used by the demo,
`d42tui simulate` and the tests. No Textual here.

The names below load on first use: `d42tui --demo` imports `simulator.process` to start
the simulator in its own process and must not pay for certificates and servers here.
"""

import importlib
from typing import Any

_LAZY = {
    "FAULT_KINDS": "appliance", "SimRequest": "appliance",
    "ControlClient": "control", "SimulatorError": "control", "SimulatorUnreachable": "control",
    "ApplianceSettings": "core", "Simulator": "core",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "FAULT_KINDS",
    "ApplianceSettings",
    "ControlClient",
    "SimRequest",
    "Simulator",
    "SimulatorError",
    "SimulatorUnreachable",
]
