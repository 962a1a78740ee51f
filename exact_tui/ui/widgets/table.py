"""A row-cursor DataTable with the keys operators bring from k9s and lazygit: j / k, home and
end to the first and last row (not sideways), enter opens the row (the screen handles
`DataTable.RowSelected`)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.widgets import DataTable

from exact_tui.ui.actions import Action, Acts, bindings


def _opens(table: ConsoleTable) -> bool:
    return table.opens_rows and table.row_count > 0


class ConsoleTable(Acts, DataTable[object]):
    DEFAULT_CSS = """
    ConsoleTable {
        height: 1fr;
    }
    """

    ACTIONS: ClassVar[tuple[Action[ConsoleTable], ...]] = (
        Action(
            "table.open",
            "enter",
            "Open",
            "Open the selected row",
            run=lambda table: table.action_select_cursor(),
            applies=_opens,
            when="on a row",
            palette=False,
            tight=True,
        ),
        Action(
            "table.down",
            "j",
            "Down",
            "The next row (also ↓)",
            run=lambda table: table.action_cursor_down(),
            show=False,
            palette=False,
        ),
        Action(
            "table.up",
            "k",
            "Up",
            "The previous row (also ↑)",
            run=lambda table: table.action_cursor_up(),
            show=False,
            palette=False,
        ),
        Action(
            "table.first",
            "home",
            "First row",
            "The first row: the newest, in the Export log",
            run=lambda table: table.first_row(),
            show=False,
            palette=False,
        ),
        Action(
            "table.last",
            "end",
            "Last row",
            "The last row read so far",
            run=lambda table: table.last_row(),
            show=False,
            palette=False,
        ),
    )
    BINDINGS = bindings(ACTIONS)

    def __init__(self, *, id: str | None = None, opens_rows: bool = True) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.opens_rows = opens_rows

    def first_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=0, animate=False)

    def last_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)

    def offered(self, action: Action[Any]) -> bool:
        return self.opens_rows or action.id != "table.open"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "select_cursor" and not self.opens_rows:
            return False
        return super().check_action(action, parameters)
