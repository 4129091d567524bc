"""The built-in simulator: Device42 appliances served over real HTTP(S) on 127.0.0.1.

Faithful to docs/appliance-api.md, with fault injection; used by the demo,
`d42tui simulate` and the tests. No Textual here.
"""

from .appliance import FAULT_KINDS, SimRequest
from .control import ControlClient, SimulatorError, SimulatorUnreachable
from .core import ApplianceSettings, Simulator

__all__ = [
    "FAULT_KINDS",
    "ApplianceSettings",
    "ControlClient",
    "SimRequest",
    "Simulator",
    "SimulatorError",
    "SimulatorUnreachable",
]
