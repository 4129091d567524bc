"""PairView: what the app needs of a screen that shows pairs (the board, the pair list)."""

from __future__ import annotations

from ..engine.pair import PairSnapshot
from .timeline_events import TimelineEvent


class PairView:
    """Mixed into screens; the app hands every snapshot and timeline event to each one."""

    def show_snapshot(self, snap: PairSnapshot) -> None:
        raise NotImplementedError

    def add_events(self, events: list[TimelineEvent]) -> None:
        raise NotImplementedError
