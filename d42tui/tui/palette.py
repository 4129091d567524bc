"""The command palette's entries: every key's action, themes, re-assert offers, demo faults.

Mutating entries go through `App.run_action`, so read-only refuses them exactly as it
refuses their keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.screen import Screen

from .demo import FAULTS, FaultChoice
from .policy import MUTATING, TITLES
from .screens.board import BoardScreen
from .text.boardtext import fencing_due

if TYPE_CHECKING:
    from .app import ConsoleApp


def system_commands(app: ConsoleApp, screen: Screen) -> Iterator[SystemCommand]:
    def run(action: str) -> Callable[[], object]:
        # The palette already calls it later, once it has closed; a second deferral would
        # let keys typed right after Enter reach the board before the dialog opens.
        return partial(app.run_action, action)

    yield SystemCommand("Poll now", "poll every appliance now (r)", run("poll_now"))
    yield SystemCommand("Pause / resume polling", "p", run("toggle_pause"))
    yield SystemCommand("Keys", "show every key (? or F1)", run("help"))
    yield SystemCommand("Next theme", "t", run("cycle_theme"))
    for name in app.theme_names:
        yield SystemCommand(f"Theme: {name}", "switch theme",
                            partial(setattr, app, "theme", name), discover=False)
    if isinstance(screen, BoardScreen):
        yield SystemCommand("Timeline: maximize / restore", "l",
                            partial(app.call_later, screen.run_action, "toggle_timeline"))
    for action, what in MUTATING.items():
        refused = app.policy.refusal(action)
        yield SystemCommand(TITLES[action] + (" (refused: read-only)" if refused else ""),
                            what, run(action))
    if isinstance(screen, BoardScreen) and (snap := app.snapshots.get(screen.pair.name)):
        for name in snap.order:
            if fencing_due(snap, name):
                refused = " (refused: read-only)" if app.policy.refusal("reassert") else ""
                yield SystemCommand(f"Re-assert standby on {name}{refused}",
                                    f"{name} came back while desired standby: fence it (R)",
                                    run(f"reassert('{name}')"))
    if app.demo is not None:
        for name in app.demo.appliances:
            for kind, label in FAULTS:
                yield SystemCommand(f"Demo: {name}: {label}", "inject a simulator fault",
                                    partial(app.inject_fault, FaultChoice(name, kind)),
                                    discover=False)
        yield SystemCommand("Demo: clear every fault", "c in the fault menu",
                            partial(app.inject_fault, FaultChoice(None, "none")))
    yield SystemCommand("Quit", "q", run("request_quit"))
