"""Demo faults: which keys inject which simulator fault, and the adapter the app calls.

The app runs `DemoControl.set_fault` in a thread worker; nothing here imports the
simulator, so the console stays the same program with or without `--demo`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

SLOW_MS = 700  # slower than the poll timeout would be a black hole; this shows as latency

FAULTS: tuple[tuple[str, str], ...] = (
    ("down", "kill it (connection refused)"),
    ("blackhole", "black-hole it (never answers)"),
    ("slow", f"slow it ({SLOW_MS} ms answers)"),
    ("flap", "flap it (every other poll fails)"),
    ("backup-failing", "break its backup"),
)

# key -> (appliance index, fault kind, label): 1-5 the first appliance, 6-0 the second.
FAULT_KEYS: dict[str, tuple[int, str, str]] = {}
for _index, _keys in ((0, "12345"), (1, "67890")):
    for _key, (_kind, _label) in zip(_keys, FAULTS):
        FAULT_KEYS[_key] = (_index, _kind, _label)


@dataclass(frozen=True)
class FaultChoice:
    appliance: str | None  # None: every appliance
    kind: str  # a simulator fault kind; "none" clears


def fault_menu_lines(appliances: list[str]) -> list[str]:
    lines: list[str] = []
    for index, name in enumerate(appliances[:2]):
        lines.append(f"{name}:")
        for key, (i, _kind, label) in FAULT_KEYS.items():
            if i == index:
                lines.append(f"  {key}  {label}")
    lines += ["", "c  clear every fault        Esc  close"]
    return lines


class DemoControl(Protocol):
    appliances: list[str]

    def set_fault(self, appliance: str, kind: str, ms: int | None = None) -> object: ...


@dataclass
class SimulatorDemo:
    """Wraps the in-process simulator's `set_fault` for the console."""

    appliances: list[str]
    _set_fault: Callable[..., object]

    def set_fault(self, appliance: str, kind: str, ms: int | None = None) -> object:
        return self._set_fault(appliance, kind, ms=ms)
