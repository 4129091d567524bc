"""ActionKeys: the console's guarded-action keys and the dialogs' messages, for the app.

Mixed into `ConsoleApp`: the keys (P D F B R N A) name an action, `ActionDesk` opens
its dialog and runs it; the pair is the board's, or the row under the cursor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config.models import PairConfig
from .screens.action_dialog import ActionDialog
from .screens.board import BoardScreen

if TYPE_CHECKING:
    from textual.screen import Screen

    from ..config.models import Config
    from .desk import ActionDesk


class ActionKeys:
    desk: ActionDesk
    config: Config
    screen: Screen
    screen_stack: list[Screen]

    def current_pair(self) -> PairConfig | None:
        """The pair the keys act on: the board's, or the row under the cursor in the list."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, BoardScreen):
                return screen.pair
            selected = getattr(screen, "selected_pair", None)
            if selected is not None:
                name = selected()
                return self.config.pair(name) if name else None
        return None

    def focused_appliance(self) -> str | None:
        screen = self.screen
        return screen.focused_appliance() if isinstance(screen, BoardScreen) else None

    def action_promote(self) -> None:
        self.desk.open("promote")

    def action_demote(self) -> None:
        self.desk.open("demote")

    def action_failover(self) -> None:
        self.desk.open("failover")

    def action_failback(self) -> None:
        self.desk.open("failback")

    def action_switchover(self) -> None:
        self.desk.open("switchover")

    def action_reassert(self, target: str | None = None) -> None:
        self.desk.open("reassert", target)

    def action_dns(self) -> None:
        self.desk.open_dns()

    def action_automation(self) -> None:
        self.desk.open_automation()

    def on_action_dialog_confirmed(self, message: ActionDialog.Confirmed) -> None:
        self.desk.start(message.dialog, message.plan, message.force)

    def on_action_dialog_force_asked(self, message: ActionDialog.ForceAsked) -> None:
        self.desk.ask_force(message.dialog, message.plan)

    def on_action_dialog_ended(self, message: ActionDialog.Ended) -> None:
        self.desk.ended(message.plan, message.outcome, message.detail)
