"""The action kinds and the one table of what each is called where: the CLI's verbs, the
console's keys, its palette and help, and the read-only refusals are all read from it.

Pure data, imported by `--help` and by the console before anything else of the actions
layer loads.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ActionKind(str, enum.Enum):
    PROMOTE = "promote"
    DEMOTE = "demote"
    FAILOVER = "failover"
    FAILBACK = "failback"
    REASSERT = "reassert"
    DNS_SET = "dns-set"
    SWITCHOVER = "switchover"  # a planned move of production, on a HEALTHY pair only


@dataclass(frozen=True)
class ActionSpec:
    """One thing a person may do that changes an appliance, DNS or what the watcher may do."""

    name: str  # the console's action name (and the CLI verb, when there is one)
    key: str  # the console key that opens its guarded dialog
    label: str  # the key's word in the footer and the help
    title: str  # the palette's name for it
    what: str  # what it does, for the help and the read-only refusal
    kind: ActionKind | None = None  # the plan it makes (None: not a plan of the engine)
    verb: str | None = None  # the dialog's button (default: the title)
    cli_help: str | None = None  # the headless command's help; None: no verb of this name
    per_appliance: bool = False  # names an appliance (a chooser in the console), not a pair

    @property
    def button(self) -> str:
        return self.verb or self.title


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("promote", "P", "promote", "Promote", "promote an appliance to production",
               ActionKind.PROMOTE, cli_help="make an appliance production", per_appliance=True),
    ActionSpec("demote", "D", "demote", "Demote", "demote an appliance to standby",
               ActionKind.DEMOTE, cli_help="put an appliance in standby", per_appliance=True),
    ActionSpec("failover", "F", "failover", "Fail over",
               "fail over: promote the standby, demote the old primary, move DNS",
               ActionKind.FAILOVER, cli_help="promote the standby, demote the old primary"),
    ActionSpec("failback", "B", "failback", "Fail back", "fail back to the original primary",
               ActionKind.FAILBACK, cli_help="fail over back to the preferred primary"),
    ActionSpec("switchover", "S", "switchover", "Switch over",
               "planned switchover to the standby, demoting first",
               ActionKind.SWITCHOVER,
               cli_help="planned switchover to the standby, now or scheduled (see its --help)"),
    ActionSpec("reassert", "R", "re-assert", "Re-assert",
               "re-assert an appliance's desired role (fencing)", ActionKind.REASSERT,
               cli_help="send an appliance's asserted mode again (fencing)",
               per_appliance=True),
    ActionSpec("dns", "N", "DNS", "DNS target", "edit the DNS target", ActionKind.DNS_SET,
               verb="Switch DNS"),  # headless: `d42tui dns set`
    ActionSpec("automation", "A", "automation", "Automation: pause / resume",
               "pause / resume automatic failover (watch mode) for the pair"),
)

BY_NAME: dict[str, ActionSpec] = {spec.name: spec for spec in ACTIONS}
BY_KIND: dict[ActionKind, ActionSpec] = {spec.kind: spec for spec in ACTIONS if spec.kind}
