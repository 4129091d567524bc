"""HelpScreen: every key of the screen underneath, what it does, and whether it is refused."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from ..demo import fault_menu_lines
from ..policy import MUTATING
from ..text.boardtext import Line
from ..text.wrap import wrap_line
from ..widgets._tones import line_content

if TYPE_CHECKING:
    from ..app import ConsoleApp

HIDDEN_ACTIONS = {"help_quit"}
# Keys every Textual widget brings (scrolling, focus, copy) are summed up in one line.
GENERIC = ("Tab / Shift+Tab move the focus (a focused card is the appliance P, D and R act "
           "on); ↑ ↓ PgUp PgDn Home End scroll the focused pane; in the list of pairs, ↑ ↓ "
           "choose and Enter opens.")


def _own_actions(node: object) -> set[str]:
    """Actions bound by d42tui's own classes (not the ones Textual's bases add)."""
    out: set[str] = set()
    for cls in type(node).__mro__:
        if not cls.__module__.startswith("d42tui"):
            continue
        for binding in cls.__dict__.get("BINDINGS", ()):
            action = binding.action if isinstance(binding, Binding) else binding[1]
            out.add(action.split(".")[-1])
    return out


def key_rows(app: ConsoleApp, below: Screen) -> list[tuple[str, str, str]]:
    """(keys, what it does, state) for every binding active on `below`, grouped by action."""
    by_action: dict[str, tuple[list[str], str, str]] = {}
    for active in below.active_bindings.values():
        binding = active.binding
        action = binding.action.split(".")[-1]
        if action in HIDDEN_ACTIONS or action not in _own_actions(active.node):
            continue
        what = binding.tooltip or binding.description or action
        if action in MUTATING:
            what = MUTATING[action]
        state = ""
        if action in MUTATING:
            state = app.policy.refusal(action) and "refused: read-only" or "asks first"
        elif not active.enabled:
            state = "not available here"
        keys, _, _ = by_action.setdefault(action, ([], what, state))
        shown = app.get_key_display(binding)
        if shown not in keys:
            keys.append(shown)
    return [(" ".join(keys), what, state) for keys, what, state in by_action.values()]


class HelpScreen(ModalScreen[None]):
    """Every key, generated from the live bindings so it cannot go stale."""

    BINDINGS = [Binding("escape,question_mark,f1,q", "close", "close help")]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 78; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, below: Screen) -> None:
        super().__init__()
        self.below = below

    @property
    def console(self) -> ConsoleApp:
        return cast("ConsoleApp", self.app)

    def text(self) -> Content:
        rows = key_rows(self.console, self.below)
        if self.console.ENABLE_COMMAND_PALETTE:
            rows.append((self.console.get_key_display(Binding("ctrl+p", "command_palette")),
                         "command palette: every action, the themes, the demo faults", ""))
        keys_width = max(len(k) for k, _, _ in rows) + 2
        # The box is 78 wide at most: its border and padding take 4.
        width = min(78, self.console.size.width) - 4
        parts: list[Content] = [Content.styled(GENERIC, "dim"), Content("")]
        for keys, what, state in rows:
            line: Line = ((keys.ljust(keys_width), "strong"), (what, ""))
            tag = (f"  [{state}]", "dim") if state else None  # kept whole, never split
            parts += [line_content(row) for row in wrap_line(line, width, keys_width, tag)]
        demo = self.console.demo
        if demo is not None:
            parts.append(Content(""))
            parts.append(Content.styled("Demo faults (x opens the menu, then):", "bold"))
            parts += [Content("  " + line) for line in fault_menu_lines(demo.appliances, None)
                      if line and not line.startswith("c ")]
            parts.append(Content("  c  clear every fault"))
        if self.console.policy.read_only:
            parts.append(Content(""))
            parts.append(Content.styled("READ-ONLY: promote, demote, failover, failback, "
                                        "switchover, re-assert, DNS and pausing or resuming "
                                        "automation are refused.", "bold"))
        return Content("\n").join(parts)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "keys · Esc closes"
            yield Static(self.text())

    def action_close(self) -> None:
        self.dismiss(None)
