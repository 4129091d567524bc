"""Demo faults: which keys inject which simulator fault, and the adapter the app calls.

The app runs `DemoControl.set_fault` in a thread worker; nothing here imports the
simulator, so the console stays the same program with or without `--demo`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

SLOW_MS = 700  # slower than the poll timeout would be a black hole; this shows as latency
FLIP_MODE = "flip-mode"  # not a simulator fault: the mode changed outside the console

FAULTS: tuple[tuple[str, str], ...] = (
    ("down", "kill it (connection refused)"),
    ("blackhole", "black-hole it (never answers)"),
    ("slow", f"slow it ({SLOW_MS} ms answers)"),
    ("flap", "flap it (every other poll fails)"),
    ("backup-failing", "break its backup"),
    ("error500", "make it answer 500 Internal Server Error"),
    ("unauthorized", "make it reject the credentials (401)"),
    ("garbage", "make it answer an HTML page, not JSON"),
    (FLIP_MODE, "flip its mode by hand, as someone in its own UI"),
)

# key -> (fault kind, label), for the appliance the menu targets (Tab switches it).
FAULT_KEYS: dict[str, tuple[str, str]] = {
    str(number): fault for number, fault in enumerate(FAULTS, start=1)}


@dataclass(frozen=True)
class FaultChoice:
    appliance: str | None  # None: every appliance
    kind: str  # a simulator fault kind; "none" clears


def fault_menu_lines(appliances: list[str], target: int | None = 0) -> list[str]:
    """The menu: which appliance the digits act on (None: the help screen's neutral
    wording), the faults, and the keys that are not digits."""
    lines: list[str] = []
    if target is None:
        lines.append(f"digits act on {appliances[0]}; Tab switches to "
                     f"{' / '.join(appliances[1:2]) or 'the other appliance'}")
    else:
        marks = [f"▶ {name} ◀" if i == target else f"  {name}  "
                 for i, name in enumerate(appliances[:2])]
        lines.append("target: " + "   ".join(marks) + "   (Tab: the other)")
    lines.append("")
    lines += [f"  {key}  {label}" for key, (_kind, label) in FAULT_KEYS.items()]
    lines += ["", "c  clear every fault        Esc  close"]
    return lines


class DemoControl(Protocol):
    appliances: list[str]

    def set_fault(self, appliance: str, kind: str, ms: int | None = None) -> object: ...

    def set_mode_by_hand(self, appliance: str, mode: str) -> object: ...


@dataclass
class SimulatorDemo:
    """Wraps the in-process simulator's `set_fault` for the console."""

    appliances: list[str]
    _set_fault: Callable[..., object]
    _set_mode_by_hand: Callable[[str, str], object]

    def set_fault(self, appliance: str, kind: str, ms: int | None = None) -> object:
        return self._set_fault(appliance, kind, ms=ms)

    def set_mode_by_hand(self, appliance: str, mode: str) -> object:
        return self._set_mode_by_hand(appliance, mode)
