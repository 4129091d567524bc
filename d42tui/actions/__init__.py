"""Every action, whoever starts it: the pure planner, the one journaled engine that carries
a plan out step by step, the preflight, and the console's and the CLI's driver.

`kinds` (the table of action kinds) is pure data and loads alone; the planner loads on first
use of one of its names.
"""

from .._lazy import lazy_attributes
from .kinds import ACTIONS, ActionKind, ActionSpec

__getattr__ = lazy_attributes(__name__, {
    name: "planner" for name in ("Plan", "Step", "plan_action", "plan_dns")})
__all__ = ["ACTIONS", "ActionKind", "ActionSpec", "Plan", "Step", "plan_action", "plan_dns"]
