"""The built-in simulator: Device42 appliances served over real HTTP(S) on 127.0.0.1.

Faithful to docs/appliance-api.md, with fault injection; used by the demo,
`d42tui simulate` and the tests. No Textual here.

The names below load on first use: `d42tui --demo` imports `simulator.process` to start
the simulator in its own process and must not pay for certificates and servers here.
"""

from .._lazy import lazy_attributes

_LAZY = {
    "FAULT_KINDS": "appliance", "SimRequest": "appliance",
    "ControlClient": "control", "SimulatorError": "control", "SimulatorUnreachable": "control",
    "ApplianceSettings": "core", "Simulator": "core",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "FAULT_KINDS",
    "ApplianceSettings",
    "ControlClient",
    "SimRequest",
    "Simulator",
    "SimulatorError",
    "SimulatorUnreachable",
]
