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
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.widgets import DataTable, Footer, Input, Static

from exact_tui.domain.text import clean_text, cut
from exact_tui.services.fleet import FleetServices
from exact_tui.services.tenants import FleetRow
from exact_tui.ui.render import Palette, plain
from exact_tui.ui.screens.fleet_failures import FleetFailuresScreen
from exact_tui.ui.widgets.header import ConsoleHeader

STYLES = PurePath(__file__).parent / "styles"

#: How often the list is read again.
POLL_SECONDS = 5.0
COLUMNS = ("", "Tenant", "Status", "Waiting", "Failed", "Mapping", "Oldest waiting", "Failing most")


def _when(at: dt.datetime | None, now: dt.datetime) -> str:
    if at is None:
        return ""
    minutes = int((now - at).total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 0)} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} d"


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
    DataTable { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open tenant", priority=True),
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
        if (
            action in ("open", "filter", "clear", "refresh", "failures")
            and len(self.screen_stack) > 1
        ):
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
        table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=False)
        table.add_columns(*COLUMNS)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
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
        table = self.query_one(DataTable)
        chosen = self._chosen()
        text = self.query_one("#fleet-filter", Input).value
        shown = [row for row in self._rows if matches(row, text)]
        table.clear()
        now = self._now()
        for row in shown:
            tenant = row.tenant
            cause = f"{row.top_cause} ({row.top_cause_jobs})" if row.top_cause else ""
            table.add_row(
                tenant.mark,
                cut(clean_text(tenant.code), 20),
                cut(clean_text(tenant.status), 30),
                str(tenant.waiting),
                str(row.failed),
                str(row.needs_mapping),
                _when(row.oldest_waiting, now),
                cut(clean_text(cause), 60),
                key=tenant.code,
            )
        if chosen is not None and chosen in {row.tenant.code for row in shown}:
            table.move_cursor(row=table.get_row_index(chosen))
        troubled = sum(1 for row in self._rows if row.trouble[0] < 4)
        summary = f"{len(self._rows)} tenants, {troubled} in trouble"
        if text.strip():
            summary += f"; {len(shown)} match the filter"
        self.query_one("#fleet-summary", Static).update(summary)

    def _chosen(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return str(key.value) if key.value is not None else None

    def on_input_changed(self, _event: Input.Changed) -> None:
        self._fill()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.query_one(DataTable).focus()

    def action_filter(self) -> None:
        self.query_one("#fleet-filter", Input).focus()

    def action_clear(self) -> None:
        self.query_one("#fleet-filter", Input).value = ""
        self.query_one(DataTable).focus()

    def action_open(self) -> None:
        if self.focused is self.query_one("#fleet-filter", Input):
            self.query_one(DataTable).focus()
            return
        chosen = self._chosen()
        if chosen is not None:
            self.exit(chosen)

    async def action_quit(self) -> None:
        self.exit(None)
