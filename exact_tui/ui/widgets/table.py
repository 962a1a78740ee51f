"""A row-cursor DataTable with the vi keys operators expect; enter opens the row (the screen
handles `DataTable.RowSelected`)."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable


class ConsoleTable(DataTable[object]):
    DEFAULT_CSS = """
    ConsoleTable {
        height: 1fr;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", id="table.open"),
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
    ]

    def __init__(self, *, id: str | None = None, opens_rows: bool = True) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.opens_rows = opens_rows

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "select_cursor" and not self.opens_rows:
            return False
        return super().check_action(action, parameters)
