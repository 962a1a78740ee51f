"""Status (home): the connection, each division's queue and budgets, and the worker."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from exact_tui.domain.states import ConnectionStatus, JobState
from exact_tui.domain.text import counted
from exact_tui.services.status import (
    ConnectionInfo,
    DivisionStatus,
    StatusReport,
    WorkerInfo,
)
from exact_tui.ui.actions import Action, bindings
from exact_tui.ui.format import ago, day, expiry, resets, span
from exact_tui.ui.render import (
    Palette,
    budget_bar,
    connection_text,
    join,
    plain,
    state_style,
    usage_bar,
)
from exact_tui.ui.screens.base import ConsoleScreen
from exact_tui.ui.screens.confirm import ConfirmScreen
from exact_tui.ui.screens.connect import ConnectScreen
from exact_tui.ui.widgets.flash import FlashLine
from exact_tui.ui.widgets.footer import ConsoleFooter
from exact_tui.ui.widgets.header import ConsoleHeader

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
        Text(f"{queue[state]:,} {state.label}", style=state_style(state, palette))
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
        if not workers:
            why = "no worker has run on this store yet"
        elif workers[0].state == "stopped":
            why = f"the last one stopped {ago(workers[0].beat_at, now)}"
        else:
            why = f"the last one was heard from {ago(workers[0].beat_at, now)}"
        return join(
            Text(
                f"⚠ No worker is running ({why}): nothing is exported or imported.", palette.warning
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
            *(("\n  ", plain(worker.share)) if worker.share else ()),
            *(("\n  ", Text("⚠ ", palette.warning), plain(worker.detail)) if worker.detail else ()),
        )
        for worker in alive
    ]
    lines += [
        join(
            Text("✖ no heartbeat", style=palette.warning),
            " from ",
            plain(worker.host),
            f" (pid {worker.pid}) since {ago(worker.beat_at, now)}: taken for dead, its"
            " divisions and jobs move to the others",
        )
        for worker in workers
        if worker.lost
    ]
    return join(*lines, separator="\n")


def budget_line(
    what: str,
    remaining: int | None,
    limit: int | None,
    reset_at: dt.datetime | None,
    palette: Palette,
    now: dt.datetime,
) -> Text:
    """One of Exact's call budgets as use (not what is left): after its reset has passed,
    the last numbers read are stale, and the budget is a fresh one."""
    if remaining is None or not limit:
        return Text(f"  {what} not known yet", style=palette.muted)
    if reset_at is not None and reset_at <= now:
        return join(
            f"  {what} ",
            usage_bar(0, limit, palette),
            Text(f" · reset {span((now - reset_at).total_seconds())} ago", style=palette.muted),
        )
    return join(
        f"  {what} ",
        usage_bar(limit - remaining, limit, palette),
        Text(f" · {resets(reset_at, now)}", style=palette.muted),
    )


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
    lines.append(join("  queue          ", queue_text(division.queue, palette)))
    budget = division.budget
    if budget is None:
        lines.append(Text("  calls          not known yet (no call made)", style=palette.muted))
    else:
        lines.append(
            budget_line(
                "calls / minute",
                budget.minutely_remaining,
                budget.minutely_limit,
                budget.minutely_reset_at,
                palette,
                now,
            )
        )
        lines.append(
            budget_line(
                "calls / day   ",
                budget.daily_remaining,
                budget.daily_limit,
                budget.daily_reset_at,
                palette,
                now,
            )
        )
    if division.hold:
        lines.append(join(Text("  ⏸ ", palette.warning), plain(division.hold, palette.warning)))
    lines.append(
        join("  4xx / hour     ", budget_bar(division.errors_last_hour, error_budget, palette))
    )
    return join(*lines, separator="\n")


def _connection(screen: StatusScreen) -> ConnectionInfo | None:
    report = screen.console.report
    return report.connection if report else None


def _connected_before(screen: StatusScreen) -> bool:
    connection = _connection(screen)
    return connection is not None and connection.status is not ConnectionStatus.INACTIVE


def _has_tokens(screen: StatusScreen) -> bool:
    connection = _connection(screen)
    return connection is not None and connection.has_token


def _paused(screen: StatusScreen) -> bool:
    connection = _connection(screen)
    return connection is not None and connection.exports_paused


def _has_connection(screen: StatusScreen) -> bool:
    return _connection(screen) is not None


STATUS_ACTIONS: tuple[Action[StatusScreen], ...] = (
    Action(
        "status.connect",
        "c",
        "Connect",
        "Connect to Exact Online, or connect again (the address to open, then paste back)",
        run=lambda screen: screen.open_connect(),
        writes="connect",
        describe=lambda screen: "Reconnect" if _connected_before(screen) else "Connect",
        anywhere=True,
    ),
    Action(
        "status.unlink",
        "x",
        "Unlink",
        "Disconnect: delete the tokens and stop exports (asks first)",
        run=lambda screen: screen.unlink(),
        writes="disconnect",
        applies=_has_tokens,
        when="when connected",
        anywhere=True,
    ),
    Action(
        "status.sync",
        "r",
        "Retrieve data",
        "Ask the worker to import Exact's master data of every division now",
        run=lambda screen: screen.sync_now(),
        writes="sync_now",
        applies=_has_tokens,
        when="when connected",
        anywhere=True,
    ),
    Action(
        "status.reconcile",
        "e",
        "Reconcile",
        "Ask the worker to compare what Exact holds with the store: documents in Exact twice, "
        "posted here but missing there, or in Exact but not recorded here",
        run=lambda screen: screen.reconcile_now(),
        writes="reconcile",
        applies=_has_tokens,
        when="when connected",
        anywhere=True,
    ),
    Action(
        "status.pause",
        "p",
        "Pause exports",
        "Pause exports (nothing is sent until resumed), or resume them",
        run=lambda screen: screen.pause_or_resume(),
        writes="pause_exports",
        applies=_has_connection,
        when="once connected",
        describe=lambda screen: "Resume exports" if _paused(screen) else "Pause exports",
        anywhere=True,
    ),
)


class StatusScreen(ConsoleScreen):
    """The home screen: is the integration healthy, and if not, why."""

    TITLE = "Status"
    ACTIONS = STATUS_ACTIONS
    BINDINGS = bindings(STATUS_ACTIONS)

    def compose(self) -> ComposeResult:
        yield ConsoleHeader(self.TITLE)
        with VerticalScroll(id="status-body"):
            yield Static("Reading the store…", id="connection", classes="section")
            yield Static("", id="worker", classes="section")
            yield Vertical(id="divisions", classes="section")
        yield FlashLine()
        yield ConsoleFooter()

    def on_mount(self) -> None:
        self.query_one("#connection").border_title = "Connection"
        self.query_one("#worker").border_title = "Worker"
        self.query_one("#divisions").border_title = "Divisions"

    def open_connect(self) -> None:
        start = self.services.actions.connect
        if start is None:
            return

        def done(message: str | None) -> None:
            if message:
                self.console.say(message)
                self.console.refresh_status()

        screen = ConnectScreen(start, self.palette, reconnect=_connected_before(self))
        self.app.push_screen(screen, done)

    def sync_now(self) -> None:
        sync = self.services.actions.sync_now
        if sync is not None:
            self.act("retrieve data", sync)

    def reconcile_now(self) -> None:
        reconcile = self.services.actions.reconcile
        if reconcile is not None:
            self.act("reconcile", reconcile)

    def pause_or_resume(self) -> None:
        actions = self.services.actions
        call = actions.resume_exports if _paused(self) else actions.pause_exports
        if call is not None:
            self.act("resume exports" if _paused(self) else "pause exports", call)

    def unlink(self) -> None:
        disconnect = self.services.actions.disconnect
        if disconnect is None:
            return
        question = Text(
            "Unlink from Exact Online? The tokens are deleted and exports stop at once; jobs "
            "stay where they are and the imported master data stays. Reconnect at any time."
        )

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.act("unlink", disconnect)

        self.app.push_screen(ConfirmScreen(question, "Unlink"), confirmed)

    def show_report(self, report: StatusReport | None) -> None:
        if report is None:
            return
        now = self.services.now()
        palette = self.palette
        connection = connection_panel(report.connection, palette, self.services.timezone, now)
        for alarm in report.alarms:
            # Duplicates and conflicts in Exact wait for a person: first, and loud.
            connection = join(Text(f"⚠ {alarm}", palette.error), "\n", connection)
        self.query_one("#connection", Static).update(connection)
        worker = worker_panel(report.workers, report.worker_running, palette, now)
        last = report.reconcile
        if last is not None:
            worker = join(
                worker,
                "\n",
                Text(f"last reconciled {ago(last.finished_at, now)}: ", palette.muted),
                plain(last.result or last.state),
            )
        self.query_one("#worker", Static).update(worker)
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
                        f"{counted(unrouted, 'document')} not routed to a division",
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
