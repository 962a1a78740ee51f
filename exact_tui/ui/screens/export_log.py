"""Export log: the live event log, newest first, paged from the store, with filters and a view
of failures grouped by cause."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static
from textual.widgets.data_table import RowKey

from exact_tui.domain.states import JobState
from exact_tui.services.admin.blockers import fixable
from exact_tui.services.console import DivisionChoice
from exact_tui.services.export_log import (
    EventPage,
    EventTail,
    FailureGroup,
    JobBrief,
    LogEvent,
    LogFilter,
)
from exact_tui.ui.format import stamp
from exact_tui.ui.render import Palette, join, plain, state_label, state_text
from exact_tui.ui.screens.base import ConsoleScreen
from exact_tui.ui.screens.confirm import ConfirmScreen
from exact_tui.ui.screens.job_detail import JobDetailScreen
from exact_tui.ui.widgets.filter_bar import FilterBar
from exact_tui.ui.widgets.footer import ConsoleFooter
from exact_tui.ui.widgets.header import ConsoleHeader
from exact_tui.ui.widgets.table import ConsoleTable
from exact_tui.ui.workers import fetch

PAGE = 100
#: Rows the table keeps; the oldest go when the live tail pushes past it (page back to see them).
MAX_ROWS = 1_000
#: Fetch the next page when the cursor comes this close to the last row.
NEAR_END = 10
MESSAGE_WIDTH = 36
KIND_SHORT = {"invoice": "inv", "payment": "pay", "write_off": "w/o"}


@dataclass(frozen=True)
class Tick:
    tail: EventTail
    briefs: dict[int, JobBrief]


def describe(flt: LogFilter) -> Text:
    parts: list[Text | str] = []
    if flt.state:
        parts.append(f"state {state_label(flt.state)}")
    if flt.category:
        parts.append(f"category {flt.category.value.replace('_', ' ')}")
    if flt.kind:
        parts.append(f"kind {flt.kind.value.replace('_', ' ')}")
    if flt.division is not None:
        parts.append(f"division {flt.division}")
    if flt.text:
        parts.append(join("text “", plain(flt.text), "”"))
    if flt.cause is not None:
        parts.append(join("cause “", plain(flt.cause), "”"))
    return join(*parts, separator=" · ")


def filter_line(flt: LogFilter, palette: Palette, grouped: bool) -> Text:
    what = Text("Failures by cause" if grouped else "Events, newest first, live", palette.strong)
    if flt.is_empty:
        return join(what, "  ·  / filter  ·  g group by cause")
    return join(what, "  ·  ", describe(flt), "  ·  esc clears")


def event_cells(event: LogEvent, palette: Palette, zone: Any, now: Any) -> list[Text]:
    outcome = event.outcome + (f" {event.http_status}" if event.http_status else "")
    level = (
        palette.error
        if event.level == "error"
        else palette.warning
        if event.level == "warning"
        else palette.strong
    )
    return [
        Text(stamp(event.at, zone, now), style=palette.muted),
        state_text(event.state, palette),
        join(f"{KIND_SHORT.get(event.kind.value, event.kind.value)} ", plain(event.number)),
        join(plain(outcome, level), " ", plain(event.message[:300])),
        plain(event.customer or ""),
        Text(str(event.division or "—")),
    ]


def group_cells(group: FailureGroup, palette: Palette) -> list[Text]:
    states = ", ".join(
        f"{count:,} {state_label(state)}"
        for state, count in sorted(group.states.items(), key=lambda item: -item[1])
    )
    return [
        Text(f"{group.count:,}", style=palette.strong, justify="right"),
        plain((group.category.value if group.category else "—").replace("_", " ")),
        plain(group.cause or "(no cause recorded)"),
        Text(states, style=palette.muted),
    ]


class ExportLogScreen(ConsoleScreen):
    """What the worker did, as it does it."""

    TITLE = "Export log"
    AUTO_FOCUS = "#events"
    READS = frozenset({"read the log", "read the failures"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="log.filter"),
        Binding("g", "toggle_groups", "By cause", id="log.groups"),
        Binding("escape", "back", "Clear filter", id="log.back"),
        Binding("r", "retry_one", "Retry", id="log.retry"),
        Binding("R", "retry_filtered", "Retry all in filter", id="log.retry_all"),
        Binding("u", "settle_unknown", "Settle unknown", id="log.settle"),
        Binding("b", "blocker", "Go to blocker", id="log.blocker"),
    ]
    WRITE_ACTIONS: ClassVar[dict[str, str]] = {
        "retry_one": "retry_job",
        "retry_filtered": "retry_filtered",
        "settle_unknown": "settle_unknown",
    }

    def __init__(self) -> None:
        super().__init__()
        self._events: list[LogEvent] = []
        self._older: int | None = None
        self._high_water = 0
        self._loading_older = False
        self._grouped = False
        self._groups: list[FailureGroup] = []
        self._page_ready = False
        self._row_keys: dict[int, RowKey] = {}
        self._divisions: list[DivisionChoice] | None = None

    def compose(self) -> ComposeResult:
        yield ConsoleHeader(self.TITLE)
        # The filter bar is mounted on first use: its selects are the screen's heaviest part.
        yield Static("", id="log-summary")
        yield ConsoleTable(id="events")
        yield ConsoleTable(id="groups")
        yield ConsoleFooter()

    def on_mount(self) -> None:
        events = self.query_one("#events", ConsoleTable)
        for label, key, width in (
            ("Time", "time", 11),
            ("State", "state", 15),
            ("Document", "document", 20),
            ("Event", "message", MESSAGE_WIDTH),
            ("Customer", "customer", 18),
            ("Division", "division", 8),
        ):
            events.add_column(label, key=key, width=width)
        groups = self.query_one("#groups", ConsoleTable)
        groups.add_column("Jobs", key="count", width=7)
        groups.add_column("Category", key="category", width=12)
        groups.add_column("Cause", key="cause", width=52)
        groups.add_column("States", key="states")
        self._grouped = self.console.log_grouped
        self._show_view()
        self.watch(self.console, "log_filter", self._filter_changed, init=False)
        self.watch(self.console, "log_grouped", self._grouped_changed, init=False)
        self._load_divisions()
        self._reload()
        self.set_timer(self.console.tail_seconds, self._tick)

    # ------------------------------------------------------------ loading

    @property
    def filter(self) -> LogFilter:
        return self.console.log_filter

    def _load_divisions(self) -> None:
        fetch(self, "read the divisions", self.services.divisions)

    def _reload(self) -> None:
        flt = self.filter
        if self._grouped:
            fetch(self, "read the failures", lambda: self.services.failure_groups(flt))
        else:
            self._page_ready = False
            fetch(self, "read the log", lambda: self.services.log_page(flt, limit=PAGE))

    def _load_older(self) -> None:
        if self._older is None or self._loading_older or not self._page_ready:
            return
        self._loading_older = True
        flt, before = self.filter, self._older
        fetch(
            self,
            "read older events",
            lambda: self.services.log_page(flt, before_id=before, limit=PAGE),
        )

    def _tick(self) -> None:
        """One beat of the live log: new events and the current state of the rows shown.
        The next beat is scheduled when this one has finished (see `settled`)."""
        if not self.app.screen_stack:  # shutting down
            return
        if isinstance(self.app.screen, ModalScreen) or not self.is_current or not self._page_ready:
            self.set_timer(self.console.tail_seconds, self._tick)
            return
        flt, after = self.filter, self._high_water
        shown = {event.job_id for event in self._events[: PAGE * 2]}
        services = self.services

        def tick() -> Tick:
            return Tick(services.log_tail(flt, after), services.job_briefs(shown))

        fetch(self, "follow the log", tick)

    def fetched(self, name: str, result: Any) -> None:
        if name == "read the log":
            self._show_first_page(result)
        elif name == "read older events":
            self._append_page(result)
        elif name == "follow the log":
            self._apply_tick(result)
        elif name == "read the failures":
            self._show_groups(result)
        elif name == "read the divisions":
            self._divisions = result
            bar = self._bar()
            if bar is not None:
                bar.set_divisions(result, self.filter.division)
        elif name == "find the blocker":
            self.console.go_to(result)
        elif name.startswith("act: "):
            self.notify(str(result), markup=False)
            self._reload()

    def settled(self, name: str) -> None:
        if name == "follow the log":
            self.set_timer(self.console.tail_seconds, self._tick)
        elif name == "read older events":
            self._loading_older = False
            self._maybe_more()

    # ------------------------------------------------------------ events table

    def _cells(self, event: LogEvent) -> list[Text]:
        return event_cells(event, self.palette, self.services.timezone, self.services.now())

    def _fill(self, *, keep: int | None = None) -> None:
        """Redraw the table from `_events`: one clear and one add_rows, keeping the cursor on
        the same event unless it was on the newest (then it follows the newest)."""
        table = self.query_one("#events", ConsoleTable)
        with self.app.batch_update():
            table.clear()
            keys = table.add_rows([self._cells(event) for event in self._events])
            self._row_keys = {event.id: key for event, key in zip(self._events, keys, strict=True)}
            if keep is not None:
                index = next((i for i, e in enumerate(self._events) if e.id == keep), 0)
                table.move_cursor(row=index, animate=False)
        self._show_summary()
        self.bindings_may_change()

    def _show_first_page(self, page: EventPage) -> None:
        self._events = list(page.events)
        self._older = page.next_before_id
        self._high_water = page.high_water
        self._page_ready = True
        self._fill()
        self._maybe_more()

    def _append_page(self, page: EventPage) -> None:
        known = self._row_keys
        fresh = [event for event in page.events if event.id not in known]
        self._older = page.next_before_id
        if not fresh:
            return
        table = self.query_one("#events", ConsoleTable)
        keys = table.add_rows([self._cells(event) for event in fresh])
        self._events.extend(fresh)
        self._row_keys.update({event.id: key for event, key in zip(fresh, keys, strict=True)})

    def _apply_tick(self, tick: Tick) -> None:
        if tick.tail.gap:
            self._reload()
            return
        self._high_water = tick.tail.high_water
        if tick.tail.events:
            table = self.query_one("#events", ConsoleTable)
            selected = self._selected_event()
            following = table.cursor_row <= 0
            self._events = (tick.tail.events + self._events)[:MAX_ROWS]
            if len(self._events) == MAX_ROWS:
                self._older = self._events[-1].id
            self._fill(keep=None if following or selected is None else selected.id)
        self._update_states(tick.briefs)

    def _update_states(self, briefs: dict[int, JobBrief]) -> None:
        """Rows already on screen show their job's state now, updated in place by key."""
        table = self.query_one("#events", ConsoleTable)
        changed = False
        for index, event in enumerate(self._events):
            brief = briefs.get(event.job_id)
            if brief is None or brief.state is event.state:
                continue
            self._events[index] = event = _with_state(event, brief)
            key = self._row_keys.get(event.id)
            if key is not None:
                table.update_cell(key, "state", state_text(event.state, self.palette))
                changed = True
        if changed:
            self.bindings_may_change()

    def _maybe_more(self) -> None:
        """Fetch older events when the cursor nears the end, or the page left the table short
        (a broad filter whose events lie far back answers with short pages)."""
        table = self.query_one("#events", ConsoleTable)
        if self._older is None or self._grouped:
            return
        if table.cursor_row >= table.row_count - NEAR_END or table.row_count < PAGE // 2:
            self._load_older()

    def _selected_event(self) -> LogEvent | None:
        table = self.query_one("#events", ConsoleTable)
        if self._grouped or not self._events or not 0 <= table.cursor_row < len(self._events):
            return None
        return self._events[table.cursor_row]

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_selected()

    @on(DataTable.RowHighlighted, "#events")
    def _row_highlighted(self) -> None:
        self.bindings_may_change()
        self._maybe_more()

    # ------------------------------------------------------------ groups table

    def _show_groups(self, groups: list[FailureGroup]) -> None:
        self._groups = groups
        table = self.query_one("#groups", ConsoleTable)
        with self.app.batch_update():
            table.clear()
            table.add_rows([group_cells(group, self.palette) for group in groups])
        self._show_summary()

    # ------------------------------------------------------------ filter

    def _show_summary(self) -> None:
        line = filter_line(self.filter, self.palette, self._grouped)
        if not self._grouped and self._page_ready and not self._events:
            line.append("\n")
            line.append(Text("No events match.", style=self.palette.muted))
        elif self._grouped and not self._groups:
            line.append("\n")
            line.append(Text("No failures: nothing waits on a person.", style=self.palette.muted))
        self.query_one("#log-summary", Static).update(line)

    def _filter_changed(self, flt: LogFilter) -> None:
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

    def _table(self) -> ConsoleTable:
        return self.query_one("#groups" if self._grouped else "#events", ConsoleTable)

    # ------------------------------------------------------------ actions

    async def action_filter(self) -> None:
        bar = self._bar()
        if bar is None:
            bar = FilterBar(self.filter)
            await self.mount(bar, before="#log-summary")
            if self._divisions is not None:
                bar.set_divisions(self._divisions, self.filter.division)
        bar.add_class("-shown")
        bar.query_one("#filter-text").focus()

    def action_toggle_groups(self) -> None:
        self.console.log_grouped = not self._grouped

    def _grouped_changed(self, grouped: bool) -> None:
        if grouped != self._grouped:
            self._grouped = grouped
            self._show_view()
            self._reload()

    def _show_view(self) -> None:
        self.query_one("#events").display = not self._grouped
        self.query_one("#groups").display = self._grouped
        self._table().focus()
        self._show_summary()
        self.bindings_may_change()

    def open_selected(self) -> None:
        if self._grouped:
            table = self.query_one("#groups", ConsoleTable)
            if 0 <= table.cursor_row < len(self._groups):
                group = self._groups[table.cursor_row]
                self._grouped = False
                self._show_view()
                self.console.log_grouped = False
                self.console.log_filter = LogFilter(category=group.category, cause=group.cause)
            return
        event = self._selected_event()
        if event is not None:
            self.app.push_screen(JobDetailScreen(event.job_id))

    def action_back(self) -> None:
        if self._grouped:
            self.console.log_grouped = False
        elif not self.filter.is_empty:
            self.console.log_filter = LogFilter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return self._grouped or not self.filter.is_empty
        if action == "blocker":
            event = self._selected_event()
            return event is not None and fixable(event.state, event.category)
        return super().check_action(action, parameters)

    def action_applies(self, action: str) -> bool:
        event = self._selected_event()
        if action == "retry_one":
            return event is not None and event.state.retryable
        if action == "settle_unknown":
            return event is not None and event.state is JobState.UNKNOWN
        if action == "retry_filtered":
            return not self.filter.is_empty
        return True

    def action_blocker(self) -> None:
        event = self._selected_event()
        if event is not None:
            job_id = event.job_id
            fetch(self, "find the blocker", lambda: self.services.blocker(job_id))

    def _act(self, what: str, call: Callable[[], str]) -> None:
        fetch(self, f"act: {what}", call)

    def action_retry_one(self) -> None:
        event, retry = self._selected_event(), self.services.actions.retry_job
        if event is not None and retry is not None:
            job_id = event.job_id
            self._act("retry", lambda: retry(job_id))

    def action_settle_unknown(self) -> None:
        event, settle = self._selected_event(), self.services.actions.settle_unknown
        if event is not None and settle is not None:
            job_id = event.job_id
            self._act("settle", lambda: settle(job_id))

    def action_retry_filtered(self) -> None:
        retry_all, flt = self.services.actions.retry_filtered, self.filter
        if retry_all is None:
            return
        question = join(
            "Retry every failed, blocked or waiting job in this filter (",
            describe(flt),
            ")? The worker sends them at the pace Exact's limits allow.",
        )

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._act("retry all", lambda: retry_all(flt))

        self.app.push_screen(ConfirmScreen(question, "Retry all"), confirmed)


def _with_state(event: LogEvent, brief: JobBrief) -> LogEvent:
    return replace(event, state=brief.state, category=brief.category)
