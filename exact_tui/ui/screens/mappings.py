"""Mappings: per division, every platform code in use with its Exact target or ⚠ missing and
the documents it blocks, and the division's settings (journals, receivables, write-off and
collection-costs GL accounts). Targets are picked from the imported master data, valid ones
only; saving sends what it unblocks back to pending and says how many."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from exact_tui.domain.states import MappingKind
from exact_tui.domain.text import counted
from exact_tui.services.admin.blockers import Blocker, BlockerKind
from exact_tui.services.admin.mappings import MappingInfo, MappingsView, SettingInfo, TargetChoice
from exact_tui.ui.actions import Action, bindings
from exact_tui.ui.format import stamp
from exact_tui.ui.render import Palette, join, plain
from exact_tui.ui.screens.admin_base import AdminScreen
from exact_tui.ui.screens.picker import Choice, PickerScreen
from exact_tui.ui.widgets.fit_table import Col, FitTable
from exact_tui.ui.widgets.flash import FlashLine
from exact_tui.ui.widgets.footer import ConsoleFooter
from exact_tui.ui.widgets.header import ConsoleHeader
from exact_tui.ui.widgets.scope_bar import Scope, ScopeBar
from exact_tui.ui.widgets.table import ConsoleTable

#: What the target picker offers, said up front.
TARGET_HINTS = {
    MappingKind.GL: "Revenue GL accounts (type 110) that are not blocked: mapped GL codes go "
    "on sales lines, and Exact refuses any other type there.",
    MappingKind.VAT: "VAT codes for sales that are not blocked.",
    MappingKind.COST_CENTER: "Active cost centers: not ended, not inactive.",
    MappingKind.COST_UNIT: "Active cost units: not ended, not inactive.",
}
SETTING_HINTS = {
    "sales_journal": "Sales journals (type 20) that are not blocked: invoices go there.",
    "general_journal": "General journals (type 90) that are not blocked: write-offs and "
    "collection costs go there.",
    "receivables_gl": "Receivables GL accounts (type 20) that are not blocked.",
    "write_off_gl": "GL accounts that are not blocked: the cost side of a write-off.",
    "collection_costs_gl": "GL accounts that are not blocked: where collection costs are booked.",
}


def blocks_text(count: int, palette: Palette) -> Text:
    if not count:
        return Text("—", style=palette.muted, justify="right")
    return Text(f"{count:,}", style=palette.warning, justify="right")


def target_text(
    code: str | None, description: str | None, palette: Palette, *, blocks: bool = True
) -> Text:
    if code is None:
        if blocks:
            return Text("⚠ missing", style=palette.warning)
        return Text("not mapped", style=palette.muted)
    return join(plain(code, palette.strong), "  ", plain(description or ""))


def mapping_cells(row: MappingInfo, palette: Palette, zone: Any) -> list[Text]:
    if row.problem:
        note = join(Text("⚠ ", palette.warning), plain(row.problem, palette.warning))
    elif row.missing and row.blocked:
        note = Text("choose a target (enter)", style=palette.muted)
    elif row.missing:
        note = Text("on invoice lines; nothing waits for it", style=palette.muted)
    else:
        note = join(
            Text("by ", palette.muted),
            plain(row.updated_by or "?", palette.muted),
            Text(f" {stamp(row.updated_at, zone)}", palette.muted),
        )
        if not row.in_use:
            note.append("  · on no invoice line", style=palette.muted)
    return [
        Text(row.kind.label),
        plain(row.platform_code, palette.strong),
        target_text(row.exact_code, row.target_description, palette, blocks=row.blocked > 0),
        blocks_text(row.blocked, palette),
        note,
    ]


def setting_cells(row: SettingInfo, palette: Palette) -> list[Text]:
    if row.problem:
        note = join(Text("⚠ ", palette.warning), plain(row.problem, palette.warning))
    elif row.value is None:
        note = Text("choose one (enter)", style=palette.muted)
    else:
        note = Text("")
    return [
        Text(row.label),
        target_text(row.value, row.description, palette),
        blocks_text(row.blocked, palette),
        note,
    ]


def summary_text(view: MappingsView, description: str, palette: Palette) -> Text:
    head = join(Text(f"Division {view.division} ", palette.strong), plain(description))
    parts: list[Text | str] = [head]
    problems = []
    if view.missing:
        problems.append(f"{counted(view.missing, 'code')} missing")
    if view.stale:
        problems.append(f"{view.stale} stale")
    settings = sum(1 for s in view.settings if s.needs_work)
    if settings:
        problems.append(f"{counted(settings, 'setting')} to fix")
    if problems:
        parts.append(Text("⚠ " + ", ".join(problems), palette.warning))
    else:
        parts.append(Text("✔ nothing waits for a mapping", palette.success))
    if view.unmapped:
        parts.append(Text(f"{counted(view.unmapped, 'code')} not mapped", palette.muted))
    if view.blocked:
        parts.append(f"{counted(view.blocked, 'document')} wait for one")
    line = join(*parts, separator="  ·  ")
    for other in view.other:
        line.append("\n")
        line.append_text(
            join(
                Text("no mapping fixes this: ", palette.muted),
                plain(other.detail, palette.warning),
                f" ({counted(other.blocked, 'document')}; change the lines on the platform)",
            )
        )
    if view.truncated:
        line.append("\n")
        line.append("more codes are in use than one list shows: filter by kind or code")
    return line


MAPPING_COLUMNS = (
    Col("Kind", 11),
    Col("Platform code", 10, flex=True),
    Col("Exact target", 18, flex=True),
    Col("Blocks", 6),
    Col("Note", 18, flex=True),
)
SETTING_COLUMNS = (
    Col("Setting", 27),
    Col("Exact", 20, flex=True),
    Col("Blocks", 6),
    Col("Note", 14, flex=True),
)


def _can_choose(screen: MappingsScreen) -> bool:
    if screen.focused_table() == "settings":
        return screen.selected_setting() is not None
    return screen.selected_mapping() is not None


def _narrowed(screen: MappingsScreen) -> bool:
    scope = screen.query_one(ScopeBar).scope
    return bool(scope.text or scope.choice)


MAPPING_ACTIONS: tuple[Action[MappingsScreen], ...] = (
    Action(
        "mappings.choose",
        "enter",
        "Map…",
        "Choose the Exact target of the selected code, or the selected division setting; "
        "saving sends on what it unblocks",
        run=lambda screen: screen.choose_selected(),
        writes="save_mapping",
        applies=_can_choose,
        when="on a code or a setting",
        describe=lambda screen: "Set…" if screen.focused_table() == "settings" else "Map…",
    ),
    Action(
        "mappings.filter",
        "slash",
        "Filter",
        "Filter by platform code, kind or division",
        run=lambda screen: screen.query_one(ScopeBar).focus_text(),
    ),
    Action(
        "mappings.clear",
        "escape",
        "Clear filter",
        "Show every code of the division again",
        run=lambda screen: screen.clear(),
        applies=_narrowed,
        when="with a filter set",
        palette=False,
        tight=True,
    ),
)


class MappingsScreen(AdminScreen):
    """Mappings and division settings."""

    TITLE = "Mappings"
    AUTO_FOCUS = "#mappings"
    JUMPS = frozenset({BlockerKind.MAPPING, BlockerKind.SETTING})
    ACTIONS = MAPPING_ACTIONS
    BINDINGS = bindings(MAPPING_ACTIONS)

    def __init__(self) -> None:
        super().__init__()
        self.view: MappingsView | None = None
        #: The row to select once the view is read: (kind, platform code) or a setting name.
        self._select: tuple[MappingKind, str] | str | None = None

    def compose(self) -> ComposeResult:
        yield ConsoleHeader(self.TITLE)
        yield ScopeBar(
            placeholder="platform code",
            choices=[(kind.label, kind.value) for kind in MappingKind],
            choice_prompt="every kind",
            choice=self.console.mapping_kind,
        )
        yield Static("Reading the store…", id="mappings-summary", classes="summary")
        yield FitTable(MAPPING_COLUMNS, id="mappings")
        yield FitTable(SETTING_COLUMNS, id="settings")
        yield FlashLine()
        yield ConsoleFooter()

    def on_mount(self) -> None:
        self.query_one("#mappings").border_title = "Platform codes → Exact"
        self.query_one("#settings").border_title = "Division settings"
        self.watch(self.console, "mapping_kind", self._kind_changed, init=False)

    # ------------------------------------------------------------ reading

    def reload(self) -> None:
        division = self.division
        if division is None:
            self.query_one("#mappings-summary", Static).update(
                Text("No divisions imported yet: connect, then Retrieve data.", self.palette.muted)
            )
            return
        scope = self.query_one(ScopeBar).scope
        kind = MappingKind(scope.choice) if scope.choice else None
        text = scope.text or None
        self.read(
            "read the mappings", lambda: self.services.mappings(division, kind, text), self._show
        )

    def _description(self, division: int) -> str:
        return next((d.description for d in self.division_choices if d.code == division), "")

    def _show(self, view: MappingsView) -> None:
        if view.division != self.division:
            return
        keep = self._select or self._selected_key()
        self.view = view
        palette, zone = self.palette, self.services.timezone
        self.query_one("#mappings-summary", Static).update(
            summary_text(view, self._description(view.division), palette)
        )
        mappings = self.query_one("#mappings", FitTable)
        settings = self.query_one("#settings", FitTable)
        on_setting = isinstance(keep, str)
        mapping_row = next(
            (i for i, r in enumerate(view.rows) if (r.kind, r.platform_code) == keep), 0
        )
        setting_row = next((i for i, r in enumerate(view.settings) if r.name == keep), 0)
        mappings.fill([mapping_cells(row, palette, zone) for row in view.rows], cursor=mapping_row)
        settings.fill([setting_cells(row, palette) for row in view.settings], cursor=setting_row)
        if self._select is not None:
            (settings if on_setting else mappings).focus()
        self._select = None
        self.bindings_may_change()

    # ------------------------------------------------------------ selection

    def focused_table(self) -> str | None:
        focused = self.focused
        return focused.id if isinstance(focused, ConsoleTable) else None

    def selected_mapping(self) -> MappingInfo | None:
        table = self.query_one("#mappings", ConsoleTable)
        if self.view is None or not 0 <= table.cursor_row < len(self.view.rows):
            return None
        return self.view.rows[table.cursor_row]

    def selected_setting(self) -> SettingInfo | None:
        table = self.query_one("#settings", ConsoleTable)
        if self.view is None or not 0 <= table.cursor_row < len(self.view.settings):
            return None
        return self.view.settings[table.cursor_row]

    def _selected_key(self) -> tuple[MappingKind, str] | str | None:
        if self.focused_table() == "settings":
            setting = self.selected_setting()
            return setting.name if setting else None
        row = self.selected_mapping()
        return (row.kind, row.platform_code) if row else None

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.bindings_may_change()

    # ------------------------------------------------------------ scope

    @on(ScopeBar.Changed)
    def _scope_changed(self, event: ScopeBar.Changed) -> None:
        self.scope_division(event.scope.division)
        if event.scope.choice != self.console.mapping_kind:
            self.console.mapping_kind = event.scope.choice
        self.reload()

    def _kind_changed(self, kind: str | None) -> None:
        bar = self.query_one(ScopeBar)
        if bar.scope.choice != kind:
            bar.show(Scope(bar.scope.division, kind, bar.scope.text))
            self.reload()

    @on(ScopeBar.Left)
    def _left_bar(self) -> None:
        self.query_one("#mappings", ConsoleTable).focus()

    def clear(self) -> None:
        bar = self.query_one(ScopeBar)
        bar.show(Scope(bar.scope.division, None, ""))
        self.console.mapping_kind = None
        self.reload()

    def apply_jump(self, blocker: Blocker) -> None:
        bar = self.query_one(ScopeBar)
        if blocker.kind is BlockerKind.SETTING and blocker.code:
            self._select = blocker.code
            kind = None
        elif blocker.mapping_kind is not None and blocker.code:
            self._select = (blocker.mapping_kind, blocker.code)
            kind = None
        else:
            kind = blocker.mapping_kind.value if blocker.mapping_kind else None
        self.console.mapping_kind = kind
        bar.show(Scope(bar.scope.division, kind, ""))
        self.reload()

    # ------------------------------------------------------------ choosing targets

    def choose_selected(self) -> None:
        division = self.division
        if division is None:
            return
        if self.focused_table() == "settings":
            setting = self.selected_setting()
            if setting is not None:
                self._set(setting, division)
            return
        row = self.selected_mapping()
        if row is not None:
            self._map(row, division)

    def _choices(self, targets: list[TargetChoice], current: str | None) -> list[Choice]:
        palette = self.palette
        return [
            Choice(
                target.code,
                join(
                    plain(target.code, palette.strong),
                    "  ",
                    plain(target.description),
                    Text("  (now)", palette.success) if target.code == current else "",
                ),
                plain(target.detail, palette.muted),
            )
            for target in targets
        ]

    @work(group="map", exclusive=True, exit_on_error=False)
    async def _map(self, row: MappingInfo, division: int) -> None:
        save = self.services.actions.save_mapping
        if save is None:
            return
        find = self.services.mapping_targets
        kind, code = row.kind, row.platform_code
        title = join(
            f"Map {kind.label} ",
            plain(code, self.palette.strong),
            f" in division {division} to…",
        )
        chosen = await self.app.push_screen_wait(
            PickerScreen(
                title,
                TARGET_HINTS[kind],
                lambda text: self._choices(find(division, kind, text or None), row.exact_code),
                placeholder="Exact code or description",
                empty="Nothing in the imported master data fits: check it in Exact, then "
                "Retrieve data.",
            )
        )
        if chosen is not None:
            self.act(f"map {kind.label} {code}", lambda: save(division, kind, code, chosen))

    @work(group="map", exclusive=True, exit_on_error=False)
    async def _set(self, row: SettingInfo, division: int) -> None:
        save = self.services.actions.save_setting
        if save is None:
            return
        find = self.services.setting_targets
        name = row.name
        chosen = await self.app.push_screen_wait(
            PickerScreen(
                f"The {row.label} of division {division}",
                SETTING_HINTS[name],
                lambda text: self._choices(find(division, name, text or None), row.value),
                placeholder="Exact code or description",
                empty="Nothing in the imported master data fits: check it in Exact, then "
                "Retrieve data.",
            )
        )
        if chosen is not None:
            self.act(f"set the {row.label}", lambda: save(division, name, chosen))
