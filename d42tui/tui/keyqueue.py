"""KeyQueue: keystrokes in the order typed, each to what has the focus once the one before
it has been handled.

Textual picks a key's target when the key arrives, not when the keys before it have
been handled: a name typed right after `D` went to the board under the dialog the `D`
was opening, and a key typed while a dialog moved its focus went to the old widget. So
the console holds each key until the previous one, and what it set off, has been handled:
a marker follows the key along its path (the widget it went to, then up to the app), and
goes round again while messages the key set off (a chooser's answer, the palette's
command, a focus change) are still queued anywhere on screen. A marker lost with a
closing widget is waited for at most `STUCK_AFTER`; a key is late then, never lost.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from textual import events
from textual.message import Message

if TYPE_CHECKING:
    from textual.app import App
    from textual.message_pump import MessagePump
    from textual.timer import Timer

STUCK_AFTER = 0.5  # seconds: a marker not back by then was dropped with a closing widget
MAX_ROUNDS = 8  # a screen that never settles (a busy timer) still gets its keys


class KeyHandled(Message):
    """The marker: everything queued before it on its way up has been handled."""

    def __init__(self, token: int, round: int) -> None:
        super().__init__()
        self.token = token
        self.round = round


class KeyQueue:
    """One per app: `arrive` takes every key and paste the terminal sends, `came_back`
    every marker that reached the app."""

    def __init__(self, app: App, deliver: Callable[[events.Event], Awaitable[None]]) -> None:
        self.app = app
        self.deliver = deliver  # Textual's own routing of one input event
        self.waiting: deque[events.Event] = deque()
        self.in_flight: int | None = None  # the marker token of the key being handled
        self._target: MessagePump | None = None  # where the key in flight was sent
        self._token = 0
        self._watchdog: Timer | None = None

    async def arrive(self, event: events.Event) -> None:
        self.waiting.append(event)
        if self.in_flight is None:
            await self._release()
        elif self._watchdog is None:
            self._watch(self.in_flight)

    async def came_back(self, marker: KeyHandled) -> None:
        if marker.token != self.in_flight:
            return  # a late marker, after the watchdog let the next key go
        if (marker.round < MAX_ROUNDS and not self._settled()
                and self._send_marker(marker.token, marker.round + 1, self._focus())):
            if self.waiting:
                self._watch(marker.token)
            return
        self._done()
        await self._release()

    def _focus(self) -> MessagePump:
        app = self.app
        return (app.focused or app.screen) if app.screen_stack else app

    async def _release(self) -> None:
        while self.waiting and self.in_flight is None:
            if not self.app.screen_stack:  # the console is closing: nothing takes keys now
                self.waiting.clear()
                return
            event = self.waiting.popleft()
            self._target = self._focus()  # where Textual is about to send it
            await self.deliver(event)
            self._token += 1
            if self._send_marker(self._token, 1, self._target):
                self.in_flight = self._token
                if self.waiting:
                    self._watch(self._token)

    def _settled(self) -> bool:
        """Nothing queued on the screens or in the app: what the key set off is done."""
        app = self.app
        if app.message_queue_size:
            return False
        return not any(node.message_queue_size for screen in app.screen_stack
                       for node in screen.walk_children(with_self=True))

    def _send_marker(self, token: int, round: int, first: MessagePump | None) -> bool:
        """Behind the key on its path (or, in later rounds, the path the next key takes);
        a widget that closed meanwhile takes no marker, and then the focus does."""
        for target in (first, self._focus()):
            if target is None:
                continue
            marker = KeyHandled(token, round)
            # A message stops bubbling at its sender: the target sends it, so it reaches us.
            marker.set_sender(target)
            if target.post_message(marker):
                return True
        return False

    def _watch(self, token: int) -> None:
        if self._watchdog is not None:
            self._watchdog.stop()
        self._watchdog = self.app.set_timer(STUCK_AFTER, lambda: self._stuck(token))

    def _done(self) -> None:
        self.in_flight = None
        if self._watchdog is not None:
            self._watchdog.stop()
            self._watchdog = None

    async def _stuck(self, token: int) -> None:
        if self.in_flight == token:
            self._done()
            await self._release()
