"""Master data: what was imported from Exact (divisions, journals, GL accounts, VAT codes, cost
centers, cost units), read-only and filterable, with when each list was last imported. It is
edited in Exact and retrieved again (Retrieve data on the Status screen)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from exact_tui.domain.text import cut
from exact_tui.services.admin.masterdata import MASTER_COLUMNS, MasterList, MasterPage, MasterRow
from exact_tui.services.status import ChangeMark
from exact_tui.ui.actions import Action, bindings
from exact_tui.ui.format import ago, stamp
from exact_tui.ui.render import Palette, join, plain
from exact_tui.ui.screens.admin_base import AdminScreen
from exact_tui.ui.widgets.fit_table import Col, FitTable
from exact_tui.ui.widgets.flash import FlashLine
from exact_tui.ui.widgets.footer import ConsoleFooter
from exact_tui.ui.widgets.header import ConsoleHeader
from exact_tui.ui.widgets.scope_bar import Scope, ScopeBar

#: `[` and `]` show in the footer as one key pair.
LIST = Binding.Group("other lists")
PAGE = 200
NEAR_END = 20
LISTS = list(MasterList)
#: How the fact columns (`MASTER_COLUMNS`) are laid out, per list: width, flexible, shown
#: from how many terminal columns.
FACT_LAYOUT: dict[MasterList, tuple[tuple[int, bool, int], ...]] = {
    MasterList.DIVISIONS: ((7, False, 0), (8, False, 0), (12, True, 0)),
    MasterList.JOURNALS: ((18, False, 0), (12, True, 0), (7, False, 0)),
    MasterList.GL_ACCOUNTS: ((14, True, 0), (11, False, 0), (11, False, 100), (7, False, 0)),
    MasterList.VAT_CODES: ((8, False, 0), (18, False, 0), (7, False, 0)),
    MasterList.COST_CENTERS: ((10, False, 0), (8, False, 0)),
    MasterList.COST_UNITS: ((10, False, 0), (8, False, 0)),
}


def master_cells(row: MasterRow, palette: Palette) -> list[Text]:
    style = palette.muted if row.unusable else ""
    return [
        plain(row.code, palette.strong),
        plain(row.description, style),
        *(plain(fact, palette.warning if fact in ("blocked", "inactive") else style)
          for fact in row.facts),
    ]  # fmt: skip


def _filtered(screen: MasterDataScreen) -> bool:
    return bool(screen.query_one(ScopeBar).scope.text)


MASTER_ACTIONS: tuple[Action[MasterDataScreen], ...] = (
    Action(
        "master.filter",
        "slash",
        "Filter",
        "Filter the list by code or description",
        run=lambda screen: screen.query_one(ScopeBar).focus_text(),
    ),
    Action(
        "master.previous",
        "left_square_bracket",
        "Previous list",
        "The previous list (divisions, journals, GL accounts, …)",
        run=lambda screen: screen.step(-1),
        group=LIST,
    ),
    Action(
        "master.next",
        "right_square_bracket",
        "Next list",
        "The next list",
        run=lambda screen: screen.step(1),
        group=LIST,
    ),
    Action(
        "master.clear",
        "escape",
        "Clear filter",
        "Show the whole list again",
        run=lambda screen: screen.clear(),
        applies=_filtered,
        when="with a filter set",
        palette=False,
        tight=True,
    ),
)


class MasterDataScreen(AdminScreen):
    """Master data, read-only."""

    TITLE = "Master data"
    AUTO_FOCUS = "#master"
    ACTIONS = MASTER_ACTIONS
    BINDINGS = bindings(MASTER_ACTIONS)

    def __init__(self) -> None:
        super().__init__()
        self.page: MasterPage | None = None
        self.rows: list[MasterRow] = []
        self._shown: MasterList | None = None
        self._loading_more = False

    def compose(self) -> ComposeResult:
        yield ConsoleHeader(self.TITLE)
        yield ScopeBar(
            placeholder="code or description",
            choices=[(which.label, which.value) for which in MasterList],
            choice=self.console.master_list.value,
        )
        yield Static("Reading the store…", id="master-summary", classes="summary")
        yield FitTable((Col("Code", 8), Col("Description", 16, flex=True)), id="master")
        yield FlashLine()
        yield ConsoleFooter()

    def on_mount(self) -> None:
        self.watch(self.console, "master_list", self._list_changed, init=False)

    @property
    def which(self) -> MasterList:
        return self.console.master_list

    # ------------------------------------------------------------ reading

    def reload(self) -> None:
        which, division = self.which, self.division
        text = self.query_one(ScopeBar).scope.text or None
        services = self.services
        self._loading_more = False
        self.read("read the list", lambda: services.master_page(which, division, text), self._show)

    def _more(self) -> None:
        page = self.page
        if page is None or page.next_after is None or self._loading_more:
            return
        self._loading_more = True
        which, division, after = page.which, page.division, page.next_after
        text = self.query_one(ScopeBar).scope.text or None
        services = self.services
        self.read(
            "read more of the list",
            lambda: services.master_page(which, division, text, after=after),
            self._append,
            done=self._more_read,
        )

    def _more_read(self) -> None:
        self._loading_more = False

    def store_changed(self, before: ChangeMark, after: ChangeMark) -> None:
        # Only an import changes what this screen shows.
        if after.imports != before.imports:
            self.reload()

    def _set_columns(self, which: MasterList) -> None:
        if self._shown is not which:
            self._shown = which
            facts = [
                Col(label, width, flex, needs)
                for label, (width, flex, needs) in zip(
                    MASTER_COLUMNS[which], FACT_LAYOUT[which], strict=True
                )
            ]
            columns = (Col("Code", 8), Col("Description", 16, flex=True), *facts)
            self.query_one("#master", FitTable).set_columns(columns)

    def _show(self, page: MasterPage) -> None:
        if page.which is not self.which:
            return
        self.page = page
        self.rows = list(page.rows)
        self._set_columns(page.which)
        self.query_one("#master", FitTable).fill(
            [master_cells(row, self.palette) for row in self.rows]
        )
        self._show_summary()

    def _append(self, page: MasterPage) -> None:
        if self.page is None or page.which is not self.page.which:
            return
        self.page = page
        self.rows.extend(page.rows)
        self.query_one("#master", FitTable).append(
            [master_cells(row, self.palette) for row in page.rows]
        )
        self._show_summary()

    def _show_summary(self) -> None:
        page, palette = self.page, self.palette
        if page is None:
            return
        now, zone = self.services.now(), self.services.timezone
        if page.division is None and page.which is not MasterList.DIVISIONS:
            self.query_one("#master-summary", Static).update(
                Text(
                    f"No {page.which.noun} to show: no division has been imported yet. "
                    "Connect (c on Status), then Retrieve data (r).",
                    palette.muted,
                )
            )
            return
        where = "" if page.which is MasterList.DIVISIONS else f" of division {page.division}"
        parts: list[Text | str] = [
            Text(f"{page.which.label}{where}", palette.strong),
            f"{len(self.rows):,}{'+' if page.next_after else ''} shown",
        ]
        imported = page.imported
        if imported.last_ok_at is None:
            parts.append(Text("never imported", palette.warning))
        else:
            when = imported.last_ok_at
            parts.append(f"imported {ago(when, now)} ({stamp(when, zone, now)})")
        if imported.error:
            parts.append(
                join(
                    Text("⚠ last import failed: ", palette.warning), plain(cut(imported.error, 120))
                )
            )
        line = join(*parts, separator="  ·  ")
        line.append("\n")
        line.append(
            Text(
                "Read-only: edited in Exact, then retrieved (r on Status)",
                palette.muted,
            )
        )
        if not self.rows:
            line.append("\n")
            line.append(Text(f"No {page.which.noun} match.", palette.muted))
        self.query_one("#master-summary", Static).update(line)

    @on(DataTable.RowHighlighted, "#master")
    def _highlighted(self) -> None:
        table = self.query_one("#master", FitTable)
        if table.cursor_row >= table.row_count - NEAR_END:
            self._more()

    # ------------------------------------------------------------ scope

    @on(ScopeBar.Changed)
    def _scope_changed(self, event: ScopeBar.Changed) -> None:
        self.scope_division(event.scope.division)
        chosen = MasterList(event.scope.choice) if event.scope.choice else self.which
        if chosen is not self.which:
            self.console.master_list = chosen
        else:
            self.reload()

    def _list_changed(self, which: MasterList) -> None:
        bar = self.query_one(ScopeBar)
        bar.show(Scope(bar.scope.division, which.value, bar.scope.text))
        self.reload()

    @on(ScopeBar.Left)
    def _left_bar(self) -> None:
        self.query_one("#master", FitTable).focus()

    def step(self, step: int) -> None:
        self.console.master_list = LISTS[(LISTS.index(self.which) + step) % len(LISTS)]

    def clear(self) -> None:
        bar = self.query_one(ScopeBar)
        bar.show(Scope(bar.scope.division, bar.scope.choice, ""))
        self.reload()
