"""A `ConsoleTable` whose flexible columns share the width the others leave, and whose
optional columns show only where there is room, so that a table reads whole from 80 terminal
columns up. It keeps its rows, to lay them out again when the terminal is resized."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.coordinate import Coordinate

from exact_tui.ui.widgets.table import ConsoleTable

#: DataTable pads every cell with one space each side.
CELL_PADDING = 2
#: Room kept for the vertical scrollbar.
SCROLLBAR = 2


@dataclass(frozen=True)
class Col:
    label: str
    #: The width, or for a flexible column the least it gets.
    width: int
    #: Shares what the other columns leave.
    flex: bool = False
    #: Shown only in a table at least this wide.
    needs: int = 0
    #: A flexible column's share of the room left (a name column takes more than a note).
    weight: int = 1


def shown(columns: Sequence[Col], total: int) -> list[int]:
    """The indexes of the columns a table `total` cells wide shows."""
    return [i for i, c in enumerate(columns) if total >= c.needs]


def fit(columns: Sequence[Col], total: int) -> list[int]:
    """Each column's width for a table `total` cells wide (`columns` all shown)."""
    used = sum(c.width for c in columns) + CELL_PADDING * len(columns) + SCROLLBAR
    flexible = [i for i, c in enumerate(columns) if c.flex]
    widths = [c.width for c in columns]
    if flexible:
        room = max(0, total - used)
        weights = sum(columns[i].weight for i in flexible)
        for i in flexible:
            widths[i] += room * columns[i].weight // weights
        widths[flexible[-1]] += room - sum(room * columns[i].weight // weights for i in flexible)
    return widths


class FitTable(ConsoleTable):
    def __init__(
        self, columns: Sequence[Col], *, id: str | None = None, opens_rows: bool = False
    ) -> None:
        super().__init__(id=id, opens_rows=opens_rows)
        self._spec = list(columns)
        self._rows: list[list[Text]] = []
        self._laid_out: tuple[int, tuple[Col, ...]] | None = None
        self._shown: list[int] = list(range(len(columns)))

    def set_columns(self, columns: Sequence[Col]) -> None:
        """Other columns (the rows go: fill the table again)."""
        self._spec = list(columns)
        self._rows = []
        self._lay_out()

    def _width(self) -> int:
        return self.size.width or self.app.size.width

    def _lay_out(self) -> None:
        """Set the columns for the current width, and the kept rows again if they changed."""
        wanted = (self._width(), tuple(self._spec))
        if self._laid_out == wanted:
            return
        self._laid_out = wanted
        self._shown = shown(self._spec, wanted[0])
        columns = [self._spec[i] for i in self._shown]
        row = self.cursor_row
        with self.app.batch_update():
            self.clear(columns=True)
            for column, width in zip(columns, fit(columns, wanted[0]), strict=True):
                self.add_column(column.label, width=width)
            self.add_rows(self._cut(self._rows))
            if self._rows:
                self.move_cursor(row=min(row, len(self._rows) - 1), animate=False)

    def _cut(self, rows: Sequence[list[Text]]) -> list[list[Text]]:
        if len(self._shown) == len(self._spec):
            return list(rows)
        return [[row[i] for i in self._shown] for row in rows]

    def fill(self, rows: Sequence[list[Text]], *, cursor: int = 0) -> None:
        """Replace every row (one clear, one add_rows) and put the cursor on row `cursor`."""
        self._lay_out()
        self._rows = list(rows)
        with self.app.batch_update():
            self.clear()
            self.add_rows(self._cut(self._rows))
            if self._rows:
                self.move_cursor(row=max(0, min(cursor, len(self._rows) - 1)), animate=False)

    def append(self, rows: Sequence[list[Text]]) -> None:
        self._rows.extend(rows)
        self.add_rows(self._cut(rows))

    def set_cell(self, row: int, column: int, cell: Text) -> None:
        """Change one cell in place (kept for a later layout, drawn now if shown)."""
        if not 0 <= row < len(self._rows):
            return
        self._rows[row][column] = cell
        if column in self._shown:
            self.update_cell_at(Coordinate(row, self._shown.index(column)), cell)

    @property
    def rows_kept(self) -> int:
        return len(self._rows)

    def on_resize(self, event: events.Resize) -> None:
        self._lay_out()
