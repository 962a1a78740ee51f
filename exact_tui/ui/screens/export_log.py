"""Export log: the live event log, newest first, paged from the store, with filters and a view
of failures grouped by cause.

Each row says what happened (the event, when it was written) apart from where its job is now
(the Now column, kept current as the worker goes on). A filter selects jobs by where they are
now; rows already shown stay, with their Now updated, when an action moves their job out of
the filter, and go on receiving that job's new events.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from exact_tui.domain.refusals import explain
from exact_tui.domain.states import JobState
from exact_tui.domain.text import counted, cut
from exact_tui.domain.transitions import EventOutcome
from exact_tui.services.console import DivisionChoice
from exact_tui.services.export_log import (
    RETRIED_STATES,
    EventPage,
    EventTail,
    FailureGroup,
    JobBrief,
    LogEvent,
    RetryPreview,
)
from exact_tui.services.jobs import JobFilter
from exact_tui.services.status import ChangeMark
from exact_tui.ui.actions import Action, bindings
from exact_tui.ui.format import short_stamp
from exact_tui.ui.render import Palette, join, level_style, plain, state_text
from exact_tui.ui.screens.confirm import ConfirmScreen
from exact_tui.ui.screens.job_actions import JOB_ACTIONS, JobScreen
from exact_tui.ui.screens.job_detail import JobDetailScreen
from exact_tui.ui.widgets.filter_bar import FilterBar
from exact_tui.ui.widgets.fit_table import Col, FitTable
from exact_tui.ui.widgets.flash import FlashLine
from exact_tui.ui.widgets.footer import ConsoleFooter
from exact_tui.ui.widgets.header import ConsoleHeader

PAGE = 100
#: Rows the table keeps; the oldest go when the live tail pushes past it (page back to see them).
MAX_ROWS = 1_000
#: Fetch the next page when the cursor comes this close to the last row.
NEAR_END = 10
#: Customer and division show from these widths; narrower, the line under the table has them.
EVENT_COLUMNS = (
    Col("Time", 11),
    Col("What happened", 22, flex=True, weight=3),
    Col("Document", 16, flex=True),
    Col("Now", 12),
    Col("Customer", 16, needs=110),
    Col("Division", 8, needs=100),
)
NOW = 3
GROUP_COLUMNS = (
    Col("Jobs", 6),
    Col("Category", 11),
    Col("Cause", 30, flex=True),
    Col("Now", 18, needs=100),
)


@dataclass(frozen=True)
class Tick:
    tail: EventTail
    briefs: dict[int, JobBrief]


def describe(flt: JobFilter) -> Text:
    parts: list[Text | str] = []
    if flt.state:
        parts.append(f"now {flt.state.label}")
    if flt.category:
        parts.append(f"category {flt.category.label}")
    if flt.kind:
        parts.append(f"{flt.kind.label}s")
    if flt.division is not None:
        parts.append(f"division {flt.division}")
    if flt.text:
        parts.append(join("text “", plain(flt.text), "”"))
    if flt.cause is not None:
        parts.append(join("cause “", plain(flt.cause), "”"))
    return join(*parts, separator=" · ")


def filter_line(flt: JobFilter, palette: Palette, grouped: bool) -> Text:
    what = Text("Failures by cause" if grouped else "Events, newest first, live", palette.strong)
    if flt.is_empty:
        return join(what, "  ·  / filter  ·  g by cause")
    return join(what, "  ·  ", describe(flt), "  ·  esc clears")


def happened(event: LogEvent, palette: Palette) -> Text:
    """What the event says happened. A warning or an error leads with its outcome in words
    (and Exact's HTTP status): "failed 500 Ongeldig: …", "blocked customer …"; the worker's
    other events are sentences that say it themselves ("posted as entry 26001")."""
    if event.level not in ("warning", "error") and event.message:
        style = palette.success if event.outcome == EventOutcome.POSTED else ""
        return plain(cut(event.message, 300), style)
    head = EventOutcome.label_of(event.outcome)
    if event.http_status:
        head += f" {event.http_status}"
    return join(plain(head, level_style(event.level, palette)), " ", plain(cut(event.message, 300)))


def event_cells(event: LogEvent, palette: Palette, zone: Any, now: Any) -> list[Text]:
    return [
        Text(short_stamp(event.at, zone, now), style=palette.muted),
        happened(event, palette),
        join(f"{event.kind.short} ", plain(event.number)),
        state_text(event.state, palette),
        plain(event.customer or ""),
        Text(str(event.division or "—")),
    ]


def event_detail(event: LogEvent, palette: Palette) -> Text:
    """The selected event whole, what fixes a refusal, and what the narrow columns leave out."""
    lines: list[Text | str] = [happened(event, palette)]
    if event.state is JobState.FAILED:
        for guidance in explain(event.message)[:1]:
            lines.append(join(Text("fix: ", palette.warning), plain(guidance.line())))
    where = join(
        Text(f"{event.kind.label} ", palette.muted),
        plain(event.number, palette.strong),
        Text(" · now ", palette.muted),
        state_text(event.state, palette),
    )
    if event.category is not None and not event.state.is_final:
        where.append(f" ({event.category.label})", style=palette.muted)
    if event.division is not None:
        where.append(f" · division {event.division}", style=palette.muted)
    if event.customer:
        where.append_text(join(Text(" · ", palette.muted), plain(event.customer)))
    lines.append(where)
    return join(*lines, separator="\n")


def group_cells(group: FailureGroup, palette: Palette) -> list[Text]:
    states = ", ".join(
        f"{count:,} {state.label}"
        for state, count in sorted(group.states.items(), key=lambda item: -item[1])
    )
    return [
        Text(f"{group.count:,}", style=palette.strong, justify="right"),
        plain(group.category.label if group.category else "—"),
        plain(group.cause or "(no cause recorded)"),
        Text(states, style=palette.muted),
    ]


def retry_question(flt: JobFilter, preview: RetryPreview) -> Text:
    """What "retry all" will do, counted, per kind of job."""
    moved = preview.count(*RETRIED_STATES)
    lines: list[Text | str] = [
        join(f"Retry {counted(moved, 'job')} in this filter (", describe(flt), ")?"),
        *retry_lines(preview),
    ]
    return join(*lines, separator="\n")


def retry_lines(preview: RetryPreview) -> list[str]:
    """What a retry does to each kind of job it matches, counted (a retry in one tenant's
    filter, or of a cause across tenants)."""
    again = preview.count(JobState.FAILED, JobState.NEEDS_MAPPING, JobState.RETRY_WAIT)
    lookups = preview.count(JobState.UNKNOWN)
    left = sum(preview.states.values()) - again - lookups
    lines: list[str] = []
    failed = preview.count(JobState.FAILED)
    if failed:
        line = f"  {counted(failed, 'failed job')}: sent again"
        if preview.unchanged:
            line += (
                f" ({preview.unchanged:,} of them refused by Exact with nothing changed "
                "since: most likely refused again)"
            )
        lines.append(line)
    blocked = preview.count(JobState.NEEDS_MAPPING)
    if blocked:
        lines.append(
            f"  {counted(blocked, 'blocked job')}: checked again, and sent once what blocks "
            "them is fixed"
        )
    waiting = preview.count(JobState.RETRY_WAIT)
    if waiting:
        lines.append(f"  {counted(waiting, 'waiting job')}: sent now instead of after the wait")
    if lookups:
        lines.append(
            f"  {counted(lookups, 'unknown job')}: looked up in Exact first, never sent blind"
        )
    if left:
        lines.append(f"  {counted(left, 'other job')} (posted, pending, skipped): left as they are")
    lines.append("The worker sends them at the pace Exact's limits allow.")
    return lines


def _grouped(screen: ExportLogScreen) -> bool:
    return screen.grouped


def _filtered(screen: ExportLogScreen) -> bool:
    return not screen.filter.is_empty


def _may_go_back(screen: ExportLogScreen) -> bool:
    return screen.grouped or not screen.filter.is_empty


LOG_ACTIONS: tuple[Action[ExportLogScreen], ...] = (
    Action(
        "log.filter",
        "slash",
        "Filter",
        "Filter by text (as you type), state, category, kind or division",
        run=lambda screen: screen.open_filter(),
    ),
    Action(
        "log.groups",
        "g",
        "By cause",
        "Switch between the events and the failures grouped by cause",
        run=lambda screen: screen.toggle_groups(),
        tight=True,
    ),
    Action(
        "log.back",
        "escape",
        "Clear filter",
        "Back to every event: leave the groups, clear the filter",
        run=lambda screen: screen.back(),
        applies=_may_go_back,
        when="with a filter set or the groups shown",
        palette=False,
        tight=True,
    ),
    Action(
        "log.every_tenant",
        "F",
        "Every tenant",
        "Failures by cause in every tenant; retry a cause across tenants (counted, confirmed)",
        run=lambda screen: screen.console.show_fleet_failures(),
        needs=lambda node: node.services.fleet is not None,
        anywhere=True,
        tight=True,
    ),
    Action(
        "log.retry_all",
        "R",
        "Retry all in filter",
        "Retry every failed, blocked or waiting job the filter matches (asks first, counted)",
        run=lambda screen: screen.retry_filtered(),
        writes="retry_filtered",
        applies=_filtered,
        when="with a filter set",
    ),
)


class ExportLogScreen(JobScreen):
    """What the worker did, as it does it."""

    TITLE = "Export log"
    AUTO_FOCUS = "#events"
    READS = frozenset({"read the log", "read the failures"})
    ACTIONS: ClassVar[tuple[Action[Any], ...]] = (*LOG_ACTIONS, *JOB_ACTIONS)
    BINDINGS = bindings(ACTIONS)

    def __init__(self) -> None:
        super().__init__()
        self._events: list[LogEvent] = []
        self._older: int | None = None
        self._high_water = 0
        self._loading_older = False
        self.grouped = False
        self._groups: list[FailureGroup] = []
        self._page_ready = False
        self._divisions: list[DivisionChoice] | None = None
        #: Events that arrived above the rows in view since the cursor left the newest.
        self._unseen = 0

    def compose(self) -> ComposeResult:
        yield ConsoleHeader(self.TITLE)
        # The filter bar is mounted on first use: its selects are the screen's heaviest part.
        yield Static("", id="log-summary")
        yield FitTable(EVENT_COLUMNS, id="events", opens_rows=True)
        yield FitTable(GROUP_COLUMNS, id="groups", opens_rows=True)
        yield Static("", id="event-detail")
        yield FlashLine()
        yield ConsoleFooter()

    def on_mount(self) -> None:
        self.grouped = self.console.log_grouped
        self._show_view()
        self.watch(self.console, "log_filter", self._filter_changed, init=False)
        self.watch(self.console, "log_grouped", self._grouped_changed, init=False)
        self.read("read the divisions", self.services.divisions, self._got_divisions)
        self._reload()
        self.set_timer(self.console.tail_seconds, self._tick)

    # ------------------------------------------------------------ loading

    @property
    def filter(self) -> JobFilter:
        return self.console.log_filter

    def _got_divisions(self, divisions: list[DivisionChoice]) -> None:
        self._divisions = divisions
        bar = self._bar()
        if bar is not None:
            bar.set_divisions(divisions, self.filter.division)

    def _reload(self) -> None:
        flt = self.filter
        if self.grouped:
            self.read(
                "read the failures", lambda: self.services.failure_groups(flt), self._show_groups
            )
        else:
            self._page_ready = False
            self.read(
                "read the log",
                lambda: self.services.log_page(flt, limit=PAGE),
                self._show_first_page,
            )

    def _load_older(self) -> None:
        if self._older is None or self._loading_older or not self._page_ready:
            return
        self._loading_older = True
        flt, before = self.filter, self._older
        self.read(
            "read older events",
            lambda: self.services.log_page(flt, before_id=before, limit=PAGE),
            self._append_page,
            done=self._older_read,
        )

    def _older_read(self) -> None:
        self._loading_older = False
        self._maybe_more()

    def _tick(self) -> None:
        """One beat of the live log: new events and the current state of the rows shown.
        The next beat is scheduled when this one has finished."""
        if not self.app.screen_stack:  # shutting down
            return
        if isinstance(self.app.screen, ModalScreen) or not self.is_current or not self._page_ready:
            self.set_timer(self.console.tail_seconds, self._tick)
            return
        flt, after = self.filter, self._high_water
        shown = {event.job_id for event in self._events[: PAGE * 2]}
        services = self.services

        def tick() -> Tick:
            return Tick(services.log_tail(flt, after, shown), services.job_briefs(shown))

        self.read("follow the log", tick, self._apply_tick, done=self._next_tick)

    def _next_tick(self) -> None:
        self.set_timer(self.console.tail_seconds, self._tick)

    # ------------------------------------------------------------ events table

    def _table(self) -> FitTable:
        return self.query_one("#groups" if self.grouped else "#events", FitTable)

    def _events_table(self) -> FitTable:
        return self.query_one("#events", FitTable)

    def _cells(self, event: LogEvent) -> list[Text]:
        return event_cells(event, self.palette, self.services.timezone, self.services.now())

    def _fill(self, *, keep: int | None = None) -> None:
        """Redraw the table from `_events`, keeping the cursor on the same event unless it
        was on the newest (then it follows the newest)."""
        index = next((i for i, e in enumerate(self._events) if e.id == keep), 0)
        self._events_table().fill([self._cells(event) for event in self._events], cursor=index)
        self._show_summary()
        self._show_detail()
        self.bindings_may_change()

    def _show_first_page(self, page: EventPage) -> None:
        self._events = list(page.events)
        self._older = page.next_before_id
        self._high_water = page.high_water
        self._page_ready = True
        self._unseen = 0
        self._fill()
        self._maybe_more()

    def _append_page(self, page: EventPage) -> None:
        known = {event.id for event in self._events}
        fresh = [event for event in page.events if event.id not in known]
        self._older = page.next_before_id
        if fresh:
            self._events_table().append([self._cells(event) for event in fresh])
            self._events.extend(fresh)

    def _apply_tick(self, tick: Tick) -> None:
        if tick.tail.gap:
            self._reload()
            return
        self._high_water = tick.tail.high_water
        if tick.tail.events:
            table = self._events_table()
            selected = self._selected_event()
            following = table.cursor_row <= 0
            self._events = (tick.tail.events + self._events)[:MAX_ROWS]
            if len(self._events) == MAX_ROWS:
                self._older = self._events[-1].id
            if not following:
                self._unseen += len(tick.tail.events)
            self._fill(keep=None if following or selected is None else selected.id)
        self._update_states(tick.briefs)

    def _update_states(self, briefs: dict[int, JobBrief]) -> None:
        """Rows already on screen show their job's state now, updated in place."""
        table = self._events_table()
        changed = False
        for index, event in enumerate(self._events):
            brief = briefs.get(event.job_id)
            if brief is None or (brief.state, brief.category) == (event.state, event.category):
                continue
            self._events[index] = event = replace(event, state=brief.state, category=brief.category)
            table.set_cell(index, NOW, state_text(event.state, self.palette))
            changed = True
        if changed:
            self._show_detail()
            self.bindings_may_change()

    def _maybe_more(self) -> None:
        """Fetch older events when the cursor nears the end, or the page left the table short
        (a broad filter whose events lie far back answers with short pages)."""
        table = self._events_table()
        if self._older is None or self.grouped:
            return
        if table.cursor_row >= table.row_count - NEAR_END or table.row_count < PAGE // 2:
            self._load_older()

    def _selected_event(self) -> LogEvent | None:
        table = self._events_table()
        if self.grouped or not self._events or not 0 <= table.cursor_row < len(self._events):
            return None
        return self._events[table.cursor_row]

    def selected_job(self) -> JobBrief | None:
        event = self._selected_event()
        if event is None:
            return None
        return JobBrief(event.job_id, event.state, event.category, None, event.kind, event.number)

    def job_moved(self) -> None:
        """The tick reads the rows' states; read it now rather than in a second."""

    def _show_detail(self) -> None:
        detail = self.query_one("#event-detail", Static)
        event = self._selected_event()
        detail.display = event is not None
        if event is not None:
            detail.update(event_detail(event, self.palette))

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_selected()

    @on(DataTable.RowHighlighted, "#events")
    def _row_highlighted(self) -> None:
        if self._unseen and self._events_table().cursor_row == 0:
            self._unseen = 0
            self._show_summary()
        self._show_detail()
        self.bindings_may_change()
        self._maybe_more()

    # ------------------------------------------------------------ groups table

    def store_changed(self, before: ChangeMark, after: ChangeMark) -> None:
        """The live tail keeps the events current; the groups are read again (a retry, here
        or across tenants, or the worker, moved jobs between causes)."""
        if self.grouped:
            self._reload()

    def _show_groups(self, groups: list[FailureGroup]) -> None:
        self._groups = groups
        table = self.query_one("#groups", FitTable)
        table.fill([group_cells(group, self.palette) for group in groups], cursor=table.cursor_row)
        self._show_summary()

    # ------------------------------------------------------------ filter

    def _show_summary(self) -> None:
        palette = self.palette
        line = filter_line(self.filter, palette, self.grouped)
        if self._unseen and not self.grouped:
            line.append("  ")
            line.append(
                f"▲ {counted(self._unseen, 'new event')} above · home",
                style=palette.accent + palette.strong,
            )
        empty: str | None = None
        if not self.grouped and self._page_ready and not self._events:
            if self.filter.is_empty:
                empty = (
                    "No events yet: nothing has been exported. Documents arrive with "
                    "`exact-tui ingest`; a running worker exports them."
                )
            else:
                empty = "No events of jobs that match this filter · esc clears it"
        elif self.grouped and not self._groups:
            empty = "No failures: nothing waits on a person."
        if empty:
            line.append("\n")
            line.append(Text(empty, style=palette.muted))
        self.query_one("#log-summary", Static).update(line)

    def _filter_changed(self, flt: JobFilter) -> None:
        bar = self._bar()
        if bar is not None:
            bar.show_filter(flt)
        self._reload()

    def _bar(self) -> FilterBar | None:
        bars = self.query(FilterBar)
        return bars.first() if bars else None

    @on(FilterBar.Changed)
    def _bar_changed(self, event: FilterBar.Changed) -> None:
        self.console.log_filter = event.filter

    @on(FilterBar.Closed)
    def _bar_closed(self) -> None:
        self.with_rows(self._close_bar)

    def _close_bar(self) -> None:
        bar = self._bar()
        if bar is not None:
            bar.remove_class("-shown")
        self._table().focus()

    # ------------------------------------------------------------ actions

    async def open_filter(self) -> None:
        bar = self._bar()
        if bar is None:
            bar = FilterBar(self.filter)
            await self.mount(bar, before="#log-summary")
            if self._divisions is not None:
                bar.set_divisions(self._divisions, self.filter.division)
        bar.add_class("-shown")
        bar.query_one("#filter-text").focus()

    def toggle_groups(self) -> None:
        self.console.log_grouped = not self.grouped

    def _grouped_changed(self, grouped: bool) -> None:
        if grouped != self.grouped:
            self.grouped = grouped
            self._show_view()
            self._reload()

    def _show_view(self) -> None:
        self.query_one("#events").display = not self.grouped
        self.query_one("#groups").display = self.grouped
        self._table().focus()
        self._show_summary()
        self._show_detail()
        self.bindings_may_change()

    def open_selected(self) -> None:
        if self.grouped:
            table = self.query_one("#groups", FitTable)
            if 0 <= table.cursor_row < len(self._groups):
                group = self._groups[table.cursor_row]
                self.grouped = False
                self._show_view()
                self.console.log_grouped = False
                self.console.log_filter = JobFilter(category=group.category, cause=group.cause)
            return
        event = self._selected_event()
        if event is not None:
            self.app.push_screen(JobDetailScreen(event.job_id))

    def back(self) -> None:
        if self.grouped:
            self.console.log_grouped = False
        elif not self.filter.is_empty:
            self.console.log_filter = JobFilter()

    def retry_filtered(self) -> None:
        flt = self.filter
        self.read(
            "count what retry all would do",
            lambda: self.services.retry_preview(flt),
            lambda preview: self._confirm_retry_all(flt, preview),
        )

    def _confirm_retry_all(self, flt: JobFilter, preview: RetryPreview) -> None:
        retry_all = self.services.actions.retry_filtered
        if retry_all is None:
            return
        movable = preview.count(
            JobState.FAILED, JobState.NEEDS_MAPPING, JobState.RETRY_WAIT, JobState.UNKNOWN
        )
        if not movable:
            self.console.say(
                "Nothing to retry in this filter: no failed, blocked, waiting or unknown job.",
                severity="warning",
            )
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                # The rows stay: the tick shows where their jobs are now, and their new events.
                self.act("retry all in the filter", lambda: retry_all(flt))

        self.app.push_screen(
            ConfirmScreen(retry_question(flt, preview), f"Retry {movable:,}"), confirmed
        )
