"""DnsDialog: the DNS editor — the answer now, the proposed target, the typed name, the switch.

The target defaults to the production appliance; Ctrl+O switches to the other
appliance, or type an address. The TTL starts at the configured dns.ttl and may be
changed for this switch. Every change re-plans (`plan_dns`, pure); confirming runs the
plan through the same runner and result reporting as the other actions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Label, Static

from ...actions.planner import plan_dns
from ...config.models import PairConfig
from ...engine.pair import PairSnapshot
from ..text.paneltext import dns_lines
from ..widgets._tones import lines_content
from .action_dialog import ActionDialog

if TYPE_CHECKING:
    from ...dns import DnsAnswer


class DnsDialog(ActionDialog):
    """Point the pair's service name at an appliance (or an address)."""

    BINDINGS = [Binding("ctrl+o", "other", "other appliance")]
    FIXED_ROWS = ActionDialog.FIXED_ROWS + 5  # the answer now (up to 2), the target, the note

    DEFAULT_CSS = """
    DnsDialog #dns-now { height: auto; }
    DnsDialog #to-row { margin-top: 0; }
    DnsDialog #to-note { height: 1; color: $foreground 60%; }
    DnsDialog #to-row #ttl { width: 8; }
    DnsDialog #to-row #ttl-label { margin: 0 1 0 2; }
    """

    def __init__(self, pair: PairConfig, snap: PairSnapshot, answer: DnsAnswer | None,
                 production: str | None) -> None:
        super().__init__(None)
        assert pair.dns is not None
        self.pair = pair
        self.dns = pair.dns
        self.snap = snap  # the picture the plan is made on, kept while the target is edited
        self.answer = answer
        self.production = production
        names = list(self.dns.targets)
        self.default = production if production in self.dns.targets else (names[0] if names
                                                                         else "")

    def compose_top(self) -> ComposeResult:
        yield Static(id="dns-now", markup=False)
        with Horizontal(id="to-row", classes="row"):
            yield Label("Point it at:")
            yield Input(value=self.default, id="to", compact=True, select_on_focus=False)
            yield Label("TTL (s):", id="ttl-label")
            yield Input(value=str(self.dns.ttl), id="ttl", compact=True, restrict=r"[0-9]*",
                        max_length=5, select_on_focus=False)
        yield Static("Ctrl+O: the other appliance · Tab: type an address, or a TTL",
                     id="to-note", markup=False)

    def first_plan(self) -> None:
        self.query_one("#box").border_title = f"DNS · {self.dns.name} {self.dns.type}"
        self._replan()

    def _replan(self) -> None:
        self.query_one("#dns-now", Static).update(
            lines_content(dns_lines(self.dns, self.answer, self.production)))
        if self.phase != "confirm":
            return
        if self.answer is None:
            self.show_plan(None, "asking the authoritative servers what the name holds now…")
            return
        to = self.query_one("#to", Input).value.strip()
        ttl_text = self.query_one("#ttl", Input).value.strip()
        if not ttl_text:
            self.show_plan(None, "TTL: a number of seconds, such as 60")
            return
        try:
            plan = plan_dns(self.pair, self.snap, to, self.answer.values,
                            ", ".join(self.answer.values), ttl=int(ttl_text))
        except ValueError as exc:
            self.show_plan(None, str(exc))
            return
        self.show_plan(plan)

    @on(Input.Changed, "#to")
    @on(Input.Changed, "#ttl")
    def _to_changed(self) -> None:
        self._replan()

    def action_other(self) -> None:
        if self.phase != "confirm":
            return
        names = list(self.dns.targets)
        if not names:
            return
        field = self.query_one("#to", Input)
        now = field.value.strip()
        field.value = names[(names.index(now) + 1) % len(names)] if now in names else names[0]

    def show_running(self) -> None:
        self._show("#to-row", False)
        self._show("#to-note", False)
        super().show_running()

    def show_dns(self, pair: str, answer: DnsAnswer) -> None:
        """A fresh answer from the app's DNS watch."""
        if pair == self.pair.name:
            self.answer = answer
            self._replan()
