"""d42tui: terminal control console for a Device42 warm HA pair."""

__version__ = "0.1.0"
