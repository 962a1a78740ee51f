"""The Fleet screen (docs/tenants.md §Fleet): every tenant with its status, queue, what fails
most and its oldest waiting document, worst first and filterable. Enter opens the tenant's
console; leaving that console comes back here. It is an app of its own: the tenant's console
is built for one tenant's services, as it always was."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import PurePath
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.widgets import DataTable, Footer, Input, Static

from exact_tui.domain.text import clean_text
from exact_tui.services.fleet import FleetServices
from exact_tui.services.tenants import FleetRow
from exact_tui.ui.format import span
from exact_tui.ui.render import Palette, join, plain
from exact_tui.ui.screens.fleet_failures import FleetFailuresScreen
from exact_tui.ui.widgets.fit_table import Col, FitTable
from exact_tui.ui.widgets.header import ConsoleHeader

STYLES = PurePath(__file__).parent / "styles"

#: How often the list is read again.
POLL_SECONDS = 5.0
#: Failing most shows from 100 columns; narrower, the line under the list has it.
COLUMNS = (
    Col("", 2),
    Col("Tenant", 10, flex=True),
    Col("Status", 12, flex=True, weight=2),
    Col("Waiting", 7),
    Col("Failed", 6),
    Col("Mapping", 7),
    Col("Oldest", 6),
    Col("Lag", 6),
    Col("Failing most", 20, flex=True, weight=3, needs=100),
)


def _when(at: dt.datetime | None, now: dt.datetime) -> str:
    if at is None:
        return ""
    minutes = int((now - at).total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 0)} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} d"


def lag_words(row: FleetRow) -> str:
    """How long its oldest due job has waited for a worker ("" when none is due)."""
    if row.lag_seconds is None:
        return ""
    return "0 min" if row.lag_seconds < 60 else span(row.lag_seconds).replace(" 00 min", "")


def _count(n: int) -> Text:
    return Text(f"{n:,}" if n else "·")


def fleet_cells(row: FleetRow, now: dt.datetime, palette: Palette) -> list[Text]:
    tenant = row.tenant
    cause = f"{row.top_cause} ({row.top_cause_jobs})" if row.top_cause else ""
    lag = Text(lag_words(row))
    if row.lag_seconds is not None and not row.workers:
        lag.stylize(palette.warning)
    return [
        Text(tenant.mark),
        plain(tenant.code, palette.strong),
        plain(tenant.status),
        _count(tenant.waiting),
        _count(row.failed),
        _count(row.needs_mapping),
        Text(_when(row.oldest_waiting, now)),
        lag,
        plain(cause),
    ]


def fleet_detail(row: FleetRow, now: dt.datetime) -> Text:
    """The selected tenant whole: what the narrow columns leave out."""
    tenant = row.tenant
    parts: list[Text | str] = [plain(f"{tenant.code} · {tenant.name}: {tenant.status}")]
    if row.top_cause:
        parts.append(join("failing most: ", plain(row.top_cause), f" ({row.top_cause_jobs:,})"))
    if row.oldest_waiting is not None:
        parts.append(f"oldest waiting {_when(row.oldest_waiting, now)}")
    if row.lag_seconds is not None:
        worker = "" if row.workers else " (no worker is running)"
        parts.append(f"oldest due job waited {lag_words(row)}{worker}")
    return join(*parts, separator="\n")


def matches(row: FleetRow, text: str) -> bool:
    """Whether the filter `text` is in the tenant's code, name, status or top cause."""
    wanted = text.strip().lower()
    if not wanted:
        return True
    fields = (row.tenant.code, row.tenant.name, row.tenant.status, row.top_cause or "")
    return any(wanted in field.lower() for field in fields)


class FleetCommands(Provider):
    """The Fleet's palette: the failures by cause across tenants, and each tenant to open."""

    def _commands(self) -> Iterable[tuple[str, str, Callable[[], object]]]:
        app = self.app
        assert isinstance(app, FleetApp)
        if app.services is not None:
            yield (
                "Failures by cause, every tenant",
                "Every tenant's failures grouped by cause; retry a cause in every tenant (g)",
                app.action_failures,
            )
        yield "Refresh", "Read the fleet again (r)", app.action_refresh
        for row in app.rows:
            code = clean_text(row.tenant.code)
            yield (
                f"Open tenant {code}",
                f"{clean_text(row.tenant.name)}: {clean_text(row.tenant.status)}",
                partial(app.open_tenant, row.tenant.code),
            )

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(f"{name} {help_text}")
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


class FleetApp(App[str | None]):
    """Returns the code of the tenant to open, or None to leave."""

    TITLE = "exact-tui"
    CSS_PATH: ClassVar[list[str | PurePath]] = [
        STYLES / name for name in ("app.tcss", "modals.tcss")
    ]
    COMMANDS: ClassVar[set[Any]] = {FleetCommands}
    CSS = """
    #fleet-filter { height: 3; }
    #fleet-summary { height: 1; padding: 0 1; color: $text-muted; }
    #fleet-table { height: 1fr; }
    #fleet-detail { height: auto; max-height: 5; padding: 0 1; border-top: solid $primary; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("escape", "clear", "Clear filter", show=False),
        Binding("g", "failures", "Failures by cause"),
        Binding("r", "refresh", "Refresh"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        read_rows: Callable[[], list[FleetRow]],
        *,
        now: Callable[[], dt.datetime],
        ansi: bool = False,
        poll_seconds: float = POLL_SECONDS,
        services: FleetServices | None = None,
        read_only: bool = False,
    ) -> None:
        super().__init__(ansi_color=ansi)
        self._read_rows = read_rows
        self._now = now
        self._rows: list[FleetRow] = []
        #: The rows the filter lets through, as the table shows them.
        self._shown: list[FleetRow] = []
        self._poll_seconds = poll_seconds
        #: Failures by cause across tenants and the retry by cause; None: not offered.
        self.services = services
        self.read_only = read_only
        self._palettes: dict[str, Palette] = {}
        if ansi:
            self.theme = "ansi-dark"

    @property
    def rows(self) -> list[FleetRow]:
        """The tenants as last read."""
        return list(self._rows)

    @property
    def palette(self) -> Palette:
        if self.theme not in self._palettes:
            self._palettes[self.theme] = Palette.from_theme(self.theme_variables)
        return self._palettes[self.theme]

    def say(self, message: str | Text, *, severity: Any = "information") -> None:
        """What just happened, for a while (never parsed as markup)."""
        text = message if isinstance(message, Text) else plain(message)
        self.notify(text.plain, severity=severity, markup=False)

    def open_tenant(self, code: str) -> None:
        self.exit(code)

    def refresh_status(self) -> None:
        self.action_refresh()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The list's keys work on the list only (not under the failures screen).
        if action in ("filter", "clear", "refresh", "failures") and len(self.screen_stack) > 1:
            return False
        if action == "failures":
            return self.services is not None
        return True

    def action_failures(self) -> None:
        if self.services is not None and not isinstance(self.screen, FleetFailuresScreen):
            self.push_screen(FleetFailuresScreen(self.services))

    def compose(self) -> ComposeResult:
        yield ConsoleHeader("Fleet")
        yield Input(placeholder="/ filter: tenant, name, status or cause", id="fleet-filter")
        yield Static("", id="fleet-summary")
        yield FitTable(COLUMNS, id="fleet-table", opens_rows=True)
        yield Static("", id="fleet-detail")
        yield Footer()

    def _table(self) -> FitTable:
        return self.query_one("#fleet-table", FitTable)

    def on_mount(self) -> None:
        self._table().focus()
        self.action_refresh()
        self.set_interval(self._poll_seconds, self.action_refresh)

    def action_refresh(self) -> None:
        self.run_worker(self._read, thread=True, exclusive=True, group="fleet")

    def _read(self) -> None:
        rows = self._read_rows()
        self.call_from_thread(self._show, rows)

    def _show(self, rows: list[FleetRow]) -> None:
        self._rows = rows
        self._fill()

    def _fill(self) -> None:
        chosen = self._chosen()
        text = self.query_one("#fleet-filter", Input).value
        self._shown = [row for row in self._rows if matches(row, text)]
        now = self._now()
        codes = [row.tenant.code for row in self._shown]
        self._table().fill(
            [fleet_cells(row, now, self.palette) for row in self._shown],
            cursor=codes.index(chosen) if chosen in codes else 0,
        )
        troubled = sum(1 for row in self._rows if row.trouble[0] < 4)
        summary = Text(f"{len(self._rows)} tenants, {troubled} in trouble")
        if text.strip():
            summary.append(f"; {len(self._shown)} match the filter")
        workers = max((row.workers for row in self._rows), default=0)
        if not workers:
            summary.append("  ·  ⚠ no worker is running", style=self.palette.warning)
        else:
            summary.append(f"  ·  {workers} worker{'s' if workers != 1 else ''} running")
        self.query_one("#fleet-summary", Static).update(summary)
        self._show_detail()

    def _show_detail(self) -> None:
        row = self._selected()
        detail = self.query_one("#fleet-detail", Static)
        detail.update(fleet_detail(row, self._now()) if row is not None else "")

    @on(DataTable.RowHighlighted, "#fleet-table")
    def _highlighted(self) -> None:
        self._show_detail()

    def _selected(self) -> FleetRow | None:
        row = self._table().cursor_row
        return self._shown[row] if 0 <= row < len(self._shown) else None

    def _chosen(self) -> str | None:
        selected = self._selected()
        return selected.tenant.code if selected is not None else None

    def on_input_changed(self, _event: Input.Changed) -> None:
        self._fill()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self._table().focus()

    def action_filter(self) -> None:
        self.query_one("#fleet-filter", Input).focus()

    def action_clear(self) -> None:
        self.query_one("#fleet-filter", Input).value = ""
        self._table().focus()

    @on(DataTable.RowSelected, "#fleet-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        """Enter on a tenant opens it. The table's own enter, not a priority key of the app:
        that one ran before the cursor keys typed ahead of it had moved the cursor."""
        event.stop()
        chosen = self._chosen()
        if chosen is not None:
            self.exit(chosen)

    async def action_quit(self) -> None:
        self.exit(None)


def run_fleet(
    services: FleetServices,
    open_tenant: Callable[[str], str | None],
    *,
    ansi: bool = False,
    read_only: bool = False,
) -> None:
    """Fleet, then the console of the tenant chosen (`open_tenant` runs it), until Fleet is
    left. A tenant's console leaves with the tenant to open next (switch tenant) or None:
    back to Fleet."""
    code: str | None = None
    while True:
        if code is None:
            code = FleetApp(
                services.rows, now=services.now, ansi=ansi, services=services, read_only=read_only
            ).run()
            if code is None:
                return
        code = open_tenant(code)
