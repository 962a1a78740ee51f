"""Failures by cause across tenants (docs/tenants.md §Failures by cause, every tenant): every
tenant's jobs waiting on something, grouped by cause as a tenant's Export log groups them,
largest first, with since when the cause has held them and in how many tenants. Enter shows
a cause's tenants with their counts (enter on one opens its console); R retries the cause in
every tenant, counted and confirmed.

The screen serves the Fleet and a tenant's console opened from it: it reads through the
`FleetServices` it is given, and asks its app only for the palette, `say`, `read_only` and
`open_tenant`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Static

from exact_tui.domain.states import JobState
from exact_tui.domain.text import counted
from exact_tui.services.export_log import CauseAcrossTenants, RetryAcrossTenants, TenantFailures
from exact_tui.services.fleet import FleetServices
from exact_tui.ui.actions import Action, Acts, bindings
from exact_tui.ui.format import minute_stamp
from exact_tui.ui.render import Palette, join, plain
from exact_tui.ui.screens.confirm import ConfirmScreen
from exact_tui.ui.screens.export_log import retry_lines
from exact_tui.ui.widgets.fit_table import Col, FitTable
from exact_tui.ui.widgets.footer import ConsoleFooter
from exact_tui.ui.widgets.header import ConsoleHeader
from exact_tui.ui.workers import Reads

#: How often the groups are read again while the screen is shown.
POLL_SECONDS = 5.0
CAUSE_COLUMNS = (
    Col("Jobs", 6),
    Col("Tenants", 7),
    Col("Category", 11, needs=90),
    Col("Cause", 24, flex=True),
    Col("Since", 11),
)
TENANT_COLUMNS = (
    Col("Jobs", 6),
    Col("Tenant", 14),
    Col("Name", 16, flex=True, needs=90),
    Col("Now", 20, flex=True),
    Col("Since", 11),
)


class FleetHost(Protocol):
    """What the screen asks of the app it is in (the Fleet, or a tenant's console)."""

    read_only: bool

    @property
    def palette(self) -> Palette: ...

    def say(self, message: str | Text, *, severity: Any = "information") -> None: ...

    def open_tenant(self, code: str) -> None: ...

    def refresh_status(self) -> None:
        """Read again what the app shows beside this screen (after a write)."""


def states_words(states: dict[JobState, int]) -> str:
    return ", ".join(
        f"{count:,} {state.label}" for state, count in sorted(states.items(), key=lambda i: -i[1])
    )


def headline(cause: CauseAcrossTenants, services: FleetServices) -> Text:
    """ "503 from Exact since 02:10: 312 jobs in 41 tenants"."""
    group = cause.group
    since = ""
    if group.since is not None:
        since = f" since {minute_stamp(group.since, services.timezone, services.now())}"
    return join(
        plain(group.cause or "(no cause recorded)"),
        f"{since}: {counted(group.count, 'job')} in {counted(len(cause.tenants), 'tenant')}",
    )


def cause_cells(cause: CauseAcrossTenants, services: FleetServices, palette: Palette) -> list[Text]:
    group = cause.group
    return [
        Text(f"{group.count:,}", style=palette.strong, justify="right"),
        Text(f"{len(cause.tenants):,}", justify="right"),
        plain(group.category.label if group.category else "—"),
        plain(group.cause or "(no cause recorded)"),
        Text(minute_stamp(group.since, services.timezone, services.now()), style=palette.muted),
    ]


def tenant_cells(row: TenantFailures, services: FleetServices, palette: Palette) -> list[Text]:
    return [
        Text(f"{row.count:,}", style=palette.strong, justify="right"),
        plain(row.code),
        plain(row.name),
        Text(states_words(row.states), style=palette.muted),
        Text(minute_stamp(row.since, services.timezone, services.now()), style=palette.muted),
    ]


def retry_question(cause: CauseAcrossTenants, preview: RetryAcrossTenants) -> Text:
    """ "Retry 312 jobs in 41 tenants?", then what happens to each kind of job."""
    jobs = counted(preview.jobs, "job")
    head = join(
        f"Retry {jobs} in {counted(preview.tenants, 'tenant')}?\n",
        Text("Cause: ", style="dim"),
        plain(cause.group.cause or "(no cause recorded)"),
    )
    lines: list[Text | str] = [head, *retry_lines(preview.preview)]
    if preview.disabled_jobs:
        lines.append(
            f"{counted(preview.disabled_jobs, 'job')} of them in "
            f"{counted(len(preview.disabled_ids), 'disabled tenant')}: "
            "they wait until the tenant is enabled."
        )
    lines.append("Each tenant's jobs are retried in that tenant, with an audit row there.")
    return join(*lines, separator="\n")


def _on_causes(screen: FleetFailuresScreen) -> bool:
    return screen.chosen is None


def _on_tenants(screen: FleetFailuresScreen) -> bool:
    return screen.chosen is not None


def _has_cause(screen: FleetFailuresScreen) -> bool:
    return screen.selected_cause() is not None


ACTIONS: tuple[Action[FleetFailuresScreen], ...] = (
    Action(
        "fleet_failures.retry",
        "R",
        "Retry cause",
        "Retry the selected cause's jobs in every tenant (asks first, counted)",
        run=lambda screen: screen.retry_cause(),
        writes="retry_cause",
        applies=_has_cause,
        when="on a cause",
    ),
    Action(
        "fleet_failures.back",
        "escape",
        "Back",
        "From a cause's tenants back to the causes; from the causes, leave",
        run=lambda screen: screen.back(),
        palette=False,
    ),
    Action(
        "fleet_failures.refresh",
        "r",
        "Refresh",
        "Read the failures again",
        run=lambda screen: screen.reload(),
        tight=True,
    ),
)


class FleetFailuresScreen(Acts, Reads, Screen[None]):
    """Failures by cause, every tenant."""

    TITLE = "Failures by cause, every tenant"
    AUTO_FOCUS = "#causes"
    DEFAULT_CSS = """
    FleetFailuresScreen #fleet-failures-summary {
        height: auto;
        padding: 0 1;
        background: $boost;
    }
    FleetFailuresScreen #fleet-failures-detail {
        height: auto;
        max-height: 4;
        padding: 0 1;
        border-top: solid $primary;
    }
    """
    ACTIONS: ClassVar[tuple[Action[Any], ...]] = ACTIONS
    BINDINGS = bindings(ACTIONS)

    def __init__(self, services: FleetServices, *, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__()
        self.services = services
        self._poll_seconds = poll_seconds
        self._causes: list[CauseAcrossTenants] = []
        #: The cause whose tenants are shown (by its category and cause); None: the causes.
        self.chosen: tuple[Any, str | None] | None = None
        #: What the last retry did, shown under the table until the next one.
        self._result: str | None = None
        self._ready = False

    @property
    def host(self) -> FleetHost:
        return cast(FleetHost, self.app)

    def offered(self, action: Action[Any]) -> bool:
        if action.writes is not None:
            wired = getattr(self.services, action.writes, None) is not None
            return wired and not self.host.read_only
        return True

    def compose(self) -> ComposeResult:
        yield ConsoleHeader(self.TITLE)
        yield Static("", id="fleet-failures-summary")
        yield FitTable(CAUSE_COLUMNS, id="causes", opens_rows=True)
        yield FitTable(TENANT_COLUMNS, id="tenants", opens_rows=True)
        yield Static("", id="fleet-failures-detail")
        yield ConsoleFooter()

    def on_mount(self) -> None:
        self._show_view()
        self.reload()
        self.set_interval(self._poll_seconds, self._poll)

    # ------------------------------------------------------------ reading

    def reload(self) -> None:
        self.read("read the failures across tenants", self.services.failures, self._got)

    def _poll(self) -> None:
        if self.is_current:
            self.reload()

    def _got(self, causes: list[CauseAcrossTenants]) -> None:
        self._causes = causes
        self._ready = True
        self._fill()

    # ------------------------------------------------------------ drawing

    def _fill(self) -> None:
        palette = self.host.palette
        table = self.query_one("#causes", FitTable)
        index = self._index_of(self.chosen) if self.chosen else table.cursor_row
        table.fill(
            [cause_cells(cause, self.services, palette) for cause in self._causes],
            cursor=index if index is not None else 0,
        )
        cause = self._chosen_cause()
        if self.chosen is not None and cause is None:
            self.chosen = None  # the cause is gone (retried, or fixed meanwhile)
            self._show_view()
        tenants = self.query_one("#tenants", FitTable)
        if cause is not None:
            tenants.fill(
                [tenant_cells(row, self.services, palette) for row in cause.tenants],
                cursor=tenants.cursor_row,
            )
        self._show_text()
        self.refresh_bindings()

    def _index_of(self, key: tuple[Any, str | None] | None) -> int | None:
        return next(
            (
                i
                for i, cause in enumerate(self._causes)
                if (cause.group.category, cause.group.cause) == key
            ),
            None,
        )

    def _chosen_cause(self) -> CauseAcrossTenants | None:
        index = self._index_of(self.chosen) if self.chosen else None
        return self._causes[index] if index is not None else None

    def selected_cause(self) -> CauseAcrossTenants | None:
        """The cause shown (its tenants), or the one under the cursor."""
        if self.chosen is not None:
            return self._chosen_cause()
        table = self.query_one("#causes", FitTable)
        if 0 <= table.cursor_row < len(self._causes):
            return self._causes[table.cursor_row]
        return None

    def _show_view(self) -> None:
        on_tenants = self.chosen is not None
        self.query_one("#causes").display = not on_tenants
        self.query_one("#tenants").display = on_tenants
        self.query_one("#tenants" if on_tenants else "#causes").focus()
        self._show_text()
        self.refresh_bindings()

    def _show_text(self) -> None:
        palette = self.host.palette
        cause = self.selected_cause()
        if self.chosen is not None and cause is not None:
            summary = join(
                Text("Tenants of ", palette.strong),
                headline(cause, self.services),
                Text("  ·  enter opens one  ·  esc back", palette.muted),
            )
        else:
            jobs = sum(c.group.count for c in self._causes)
            tenants = {t.code for c in self._causes for t in c.tenants}
            summary = join(
                Text(
                    f"{counted(jobs, 'job')} in {counted(len(tenants), 'tenant')} "
                    f"{'waits' if jobs == 1 else 'wait'} on {counted(len(self._causes), 'cause')}",
                    palette.strong,
                ),
                Text("  ·  enter: a cause's tenants", palette.muted),
            )
            if self._ready and not self._causes:
                summary.append("\nNo failures in any tenant: nothing waits on a person.")
        self.query_one("#fleet-failures-summary", Static).update(summary)
        lines: list[Text | str] = []
        if cause is not None and self.chosen is None:
            lines.append(headline(cause, self.services))
        if self._result:
            lines.append(Text(f"✔ {self._result}", palette.success))
        detail = self.query_one("#fleet-failures-detail", Static)
        detail.display = bool(lines)
        detail.update(join(*lines, separator="\n"))

    @on(DataTable.RowHighlighted, "#causes")
    def _highlighted(self) -> None:
        self._show_text()
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self.chosen is None:
            cause = self.selected_cause()
            if cause is None:
                return
            self.chosen = (cause.group.category, cause.group.cause)
            self.query_one("#tenants", FitTable).fill(
                [tenant_cells(row, self.services, self.host.palette) for row in cause.tenants]
            )
            self._show_view()
            return
        cause = self._chosen_cause()
        table = self.query_one("#tenants", FitTable)
        if cause is not None and 0 <= table.cursor_row < len(cause.tenants):
            self.host.open_tenant(cause.tenants[table.cursor_row].code)

    # ------------------------------------------------------------ actions

    def back(self) -> None:
        if self.chosen is not None:
            self.chosen = None
            self._show_view()
            return
        self.dismiss()

    def retry_cause(self) -> None:
        cause = self.selected_cause()
        if cause is None:
            return
        flt = cause.filter
        self.read(
            "count what the retry across tenants would do",
            lambda: self.services.retry_preview(flt),
            lambda preview: self._confirm(cause, preview),
        )

    def _confirm(self, cause: CauseAcrossTenants, preview: RetryAcrossTenants) -> None:
        retry = self.services.retry_cause
        if retry is None:
            return
        if not preview.jobs:
            self.host.say(
                "Nothing to retry for this cause now: no failed, blocked, waiting or unknown job.",
                severity="warning",
            )
            self.reload()
            return
        flt = cause.filter

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.read(
                    "retry the cause across tenants", lambda: retry(flt, preview), self._retried
                )

        self.app.push_screen(
            ConfirmScreen(retry_question(cause, preview), f"Retry {preview.jobs:,}"), confirmed
        )

    def _retried(self, message: str) -> None:
        self._result = message
        self.host.say(message)
        self.host.refresh_status()
        self.reload()
