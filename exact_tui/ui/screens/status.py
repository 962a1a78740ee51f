"""Status (home): the connection, each division's queue and budgets, and the worker."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from exact_tui.domain.states import JobState
from exact_tui.services.status import (
    ConnectionInfo,
    DivisionStatus,
    StatusReport,
    WorkerInfo,
)
from exact_tui.ui.format import ago, day, expiry, plural, resets, span
from exact_tui.ui.render import (
    Palette,
    budget_bar,
    connection_text,
    gauge,
    join,
    plain,
    state_label,
    state_style,
)
from exact_tui.ui.screens.base import ConsoleScreen
from exact_tui.ui.screens.confirm import ConfirmScreen
from exact_tui.ui.screens.connect import ConnectScreen
from exact_tui.ui.widgets.footer import ConsoleFooter
from exact_tui.ui.widgets.header import ConsoleHeader
from exact_tui.ui.workers import fetch

#: The order a queue reads in: what moves, what waits on a person, what is done.
QUEUE_ORDER = (
    JobState.IN_FLIGHT,
    JobState.PENDING,
    JobState.RETRY_WAIT,
    JobState.UNKNOWN,
    JobState.FAILED,
    JobState.NEEDS_MAPPING,
    JobState.POSTED,
    JobState.SKIPPED,
)


def queue_text(queue: dict[JobState, int], palette: Palette) -> Text:
    parts = [
        Text(f"{queue[state]:,} {state_label(state)}", style=state_style(state, palette))
        for state in QUEUE_ORDER
        if queue.get(state)
    ]
    return join(*parts, separator=" · ") if parts else Text("empty", style=palette.muted)


def connection_panel(
    connection: ConnectionInfo | None, palette: Palette, zone: ZoneInfo, now: dt.datetime
) -> Text:
    if connection is None:
        return join(
            connection_text(None, palette),
            "  not connected yet: run `exact-tui connect` to link an Exact division",
        )
    lines: list[Text | str] = []
    head = join(connection_text(connection.status, palette))
    if connection.reason:
        head.append("  ")
        head.append(plain(connection.reason, palette.warning))
    lines.append(head)
    lines.append(
        join(
            f"region {connection.region}  ·  user ",
            plain(connection.user_name or "unknown"),
            f"  ·  activated {day(connection.activated_at, zone)}",
        )
    )
    if connection.has_token:
        lines.append(
            f"{expiry('access token', connection.token_expires_at, now)}"
            f"  ·  {expiry('refresh token', connection.refresh_expires_at, now)}"
        )
    else:
        lines.append(Text("no tokens stored: connect to export", style=palette.muted))
    if connection.exports_paused:
        lines.append(
            join(
                Text("⏸ exports paused: ", style=palette.warning),
                plain(connection.paused_reason or "by an operator", palette.warning),
            )
        )
    else:
        lines.append("exports running")
    return join(*lines, separator="\n")


def worker_panel(
    workers: list[WorkerInfo], running: bool, palette: Palette, now: dt.datetime
) -> Text:
    alive = [worker for worker in workers if worker.alive]
    if not running or not alive:
        last = f" (last beat {ago(workers[0].beat_at, now)})" if workers else ""
        return join(
            Text(
                f"⚠ No worker is running{last}: nothing is exported or imported.", palette.warning
            ),
            "\n  Start one with `exact-tui worker` (or run it as a systemd service).",
        )
    lines = [
        join(
            Text("✔ running", style=palette.success),
            " on ",
            plain(worker.host),
            f" (pid {worker.pid})  ·  last beat {ago(worker.beat_at, now)}"
            f"  ·  up {span((now - worker.started_at).total_seconds())}",
            *(("\n  ", Text("⚠ ", palette.warning), plain(worker.detail)) if worker.detail else ()),
        )
        for worker in alive
    ]
    return join(*lines, separator="\n")


def division_panel(
    division: DivisionStatus, error_budget: int, palette: Palette, now: dt.datetime
) -> Text:
    head = join(Text(f"{division.code}", style=palette.strong), "  ", plain(division.description))
    head.append(f"  ·  last sync {ago(division.last_sync_at, now)}")
    lines: list[Text | str] = [head]
    if not division.accessible:
        lines.append(
            join(
                Text("  ⛔ no access: ", palette.error), plain(division.access_reason or "refused")
            )
        )
    if division.last_sync_error and division.last_sync_error != division.access_reason:
        lines.append(
            join(Text("  last sync failed: ", palette.error), plain(division.last_sync_error))
        )
    lines.append(join("  queue      ", queue_text(division.queue, palette)))
    budget = division.budget
    if budget is None:
        lines.append(Text("  limits     not known yet (no call made)", style=palette.muted))
    else:
        lines.append(
            join(
                "  minutely   ",
                gauge(budget.minutely_remaining, budget.minutely_limit, palette),
                f"   {resets(budget.minutely_reset_at, now)}",
            )
        )
        lines.append(
            join(
                "  daily      ",
                gauge(budget.daily_remaining, budget.daily_limit, palette),
                f"   {resets(budget.daily_reset_at, now)}",
            )
        )
    if division.hold:
        lines.append(join(Text("  ⏸ ", palette.warning), plain(division.hold, palette.warning)))
    lines.append(
        join("  4xx / hour ", budget_bar(division.errors_last_hour, error_budget, palette))
    )
    return join(*lines, separator="\n")


class StatusScreen(ConsoleScreen):
    """The home screen: is the integration healthy, and if not, why."""

    TITLE = "Status"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "connect", "Connect", id="status.connect"),
        Binding("c", "reconnect", "Reconnect", id="status.reconnect"),
        Binding("x", "disconnect", "Unlink", id="status.disconnect"),
        Binding("r", "sync_now", "Retrieve data", id="status.sync"),
        Binding("p", "pause_exports", "Pause exports", id="status.pause"),
        Binding("p", "resume_exports", "Resume exports", id="status.resume"),
    ]
    WRITE_ACTIONS: ClassVar[dict[str, str]] = {
        "connect": "connect",
        "reconnect": "connect",
        "disconnect": "disconnect",
        "sync_now": "sync_now",
        "pause_exports": "pause_exports",
        "resume_exports": "resume_exports",
    }

    def compose(self) -> ComposeResult:
        yield ConsoleHeader(self.TITLE)
        with VerticalScroll(id="status-body"):
            yield Static("Reading the store…", id="connection", classes="section")
            yield Static("", id="worker", classes="section")
            yield Vertical(id="divisions", classes="section")
        yield ConsoleFooter()

    def on_mount(self) -> None:
        self.query_one("#connection").border_title = "Connection"
        self.query_one("#worker").border_title = "Worker"
        self.query_one("#divisions").border_title = "Divisions"

    def action_applies(self, action: str) -> bool:
        report = self.console.report
        connection = report.connection if report else None
        paused = connection is not None and connection.exports_paused
        if action == "pause_exports":
            return connection is not None and not paused
        if action == "resume_exports":
            return paused
        if action == "disconnect":
            return connection is not None and connection.has_token
        # Connect the first time (or after an unlink), reconnect a connection that has one.
        connected_before = connection is not None and connection.status.value != "inactive"
        if action == "connect":
            return not connected_before
        if action == "reconnect":
            return connected_before
        return True

    def action_connect(self) -> None:
        self._open_connect(reconnect=False)

    def action_reconnect(self) -> None:
        self._open_connect(reconnect=True)

    def _open_connect(self, *, reconnect: bool) -> None:
        start = self.services.actions.connect
        if start is None:
            return

        def done(message: str | None) -> None:
            if message:
                self.notify(message, markup=False)
                self.console.refresh_status()

        self.app.push_screen(ConnectScreen(start, self.palette, reconnect=reconnect), done)

    def _act(self, what: str, call: Callable[[], str] | None) -> None:
        if call is not None:
            fetch(self, f"act: {what}", call)

    def fetched(self, name: str, result: Any) -> None:
        if name.startswith("act: "):
            self.notify(str(result), markup=False)
            self.console.refresh_status()

    def action_sync_now(self) -> None:
        self._act("retrieve data", self.services.actions.sync_now)

    def action_pause_exports(self) -> None:
        self._act("pause exports", self.services.actions.pause_exports)

    def action_resume_exports(self) -> None:
        self._act("resume exports", self.services.actions.resume_exports)

    def action_disconnect(self) -> None:
        disconnect = self.services.actions.disconnect
        question = Text(
            "Unlink from Exact Online? The tokens are deleted and exports stop at once; jobs "
            "stay where they are and the imported master data stays. Reconnect at any time."
        )

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._act("unlink", disconnect)

        self.app.push_screen(ConfirmScreen(question, "Unlink"), confirmed)

    def show_report(self, report: StatusReport | None) -> None:
        if report is None:
            return
        now = self.services.now()
        palette = self.palette
        self.query_one("#connection", Static).update(
            connection_panel(report.connection, palette, self.services.timezone, now)
        )
        self.query_one("#worker", Static).update(
            worker_panel(report.workers, report.worker_running, palette, now)
        )
        self._show_divisions(report, palette, now)
        self.bindings_may_change()

    def _show_divisions(self, report: StatusReport, palette: Palette, now: dt.datetime) -> None:
        box = self.query_one("#divisions", Vertical)
        panels: list[Any] = list(box.query(Static))
        wanted = [
            division_panel(division, self.services.error_budget, palette, now)
            for division in report.divisions
        ]
        if not wanted:
            wanted = [
                Text(
                    "No divisions imported yet: connect, then Retrieve data "
                    "(or run `exact-tui sync`).",
                    style=palette.muted,
                )
            ]
        unrouted = sum(
            count for state, count in report.queue.items() if state is not JobState.POSTED
        ) - sum(
            count
            for division in report.divisions
            for state, count in division.queue.items()
            if state is not JobState.POSTED
        )
        if unrouted > 0:
            wanted.append(
                join(
                    Text(
                        f"{plural(unrouted, 'document')} not routed to a division",
                        palette.warning,
                    ),
                    " (their bank account is not bound: bind it on Divisions & bank accounts, d)",
                )
            )
        for panel, content in zip(panels, wanted, strict=False):
            panel.update(content)
        if len(panels) > len(wanted):
            for panel in panels[len(wanted) :]:
                panel.remove()
        elif len(wanted) > len(panels):
            box.mount_all(Static(content, classes="division") for content in wanted[len(panels) :])
