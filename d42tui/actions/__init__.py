"""Every action, whoever starts it: the pure planner, the one journaled engine that carries
a plan out step by step, the preflight, and the console's and the CLI's driver."""

from .planner import ActionKind, Plan, Step, plan_action, plan_dns

__all__ = ["ActionKind", "Plan", "Step", "plan_action", "plan_dns"]
