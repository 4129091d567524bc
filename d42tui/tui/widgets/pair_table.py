"""PairTable: one row per pair with its verdict, for configs with several pairs.

Enter on a row posts `PairTable.PairChosen`; cells are rewritten only when their
text changed. The summary takes the room the other columns leave and ends with "…"
when it needs more (the pair's board has it whole): the table never cuts unmarked.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from ..text.boardtext import PairRow

COLUMNS = (("pair", "Pair"), ("verdict", "Verdict"), ("automation", "Auto"),
           ("production", "Production"), ("standby", "Standby"), ("summary", "Summary"))


class PairTable(DataTable):
    """The compact many-pairs list."""

    # DataTable's own Enter is hidden from the footer, and shadows the screen's: say it here.
    BINDINGS = [Binding("enter", "select_cursor", "open pair",
                        tooltip="open the board of the pair under the cursor")]

    DEFAULT_CSS = """
    PairTable { height: auto; max-height: 1fr; overflow-x: hidden; }
    """

    class PairChosen(Message):
        def __init__(self, pair: str) -> None:
            super().__init__()
            self.pair = pair

    def __init__(self, pairs: list[str], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self._pairs = pairs
        self._rows: dict[str, PairRow] = {}
        # Rows exist from the start: a snapshot may arrive before the table is mounted.
        for key, label in COLUMNS:
            self.add_column(label, key=key)
        for name in self._pairs:
            self.add_row(name, "? UNKNOWN", "-", "-", "-", "waiting for the first poll",
                         key=name)

    def show_row(self, row: PairRow) -> None:
        old = self._rows.get(row.pair)
        if old == row:
            return
        self._rows[row.pair] = row
        for key, _ in COLUMNS:
            value = getattr(row, key)
            if key == "summary":
                value = self._fit(value)
            if old is None or getattr(old, key) != getattr(row, key):
                self.update_cell(row.pair, key, value, update_width=True)

    def _fit(self, text: str) -> str:
        width = self.size.width
        if width <= 0:  # not laid out yet: fitted once it is
            self.call_after_refresh(self._refit)
            return text
        others = sum(self.columns[key].get_render_width(self) for key, _ in COLUMNS
                     if key != "summary")
        room = max(8, width - others - 2 * self.cell_padding - 1)
        return text if cell_len(text) <= room else text[:room - 1].rstrip() + "…"

    def on_resize(self) -> None:
        self._refit()

    def _refit(self) -> None:
        for name, row in self._rows.items():
            self.update_cell(name, "summary", self._fit(row.summary), update_width=True)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.PairChosen(str(event.row_key.value)))
