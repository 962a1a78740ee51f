"""What every console screen shares: the services, the theme's palette, write actions that
vanish in read-only mode or until they are wired, and the one worker-event handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker

from exact_tui.services.console import ConsoleServices
from exact_tui.services.status import StatusReport
from exact_tui.ui.render import Palette
from exact_tui.ui.widgets.header import ConsoleHeader, header_status
from exact_tui.ui.workers import dispatch, running

if TYPE_CHECKING:
    from exact_tui.ui.app import ConsoleApp


class ConsoleScreen(Screen[None]):
    #: Write actions of this screen: action name → the `ConsoleActions` field that performs it.
    WRITE_ACTIONS: ClassVar[dict[str, str]] = {}
    #: The workers whose results replace the screen's rows (see `with_rows`).
    READS: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        super().__init__()
        self._offered: tuple[bool, ...] | None = None
        self._with_rows: Callable[[], object] | None = None
        # Textual (8.2) re-parses every stylesheet, twice, when a mode's screen is first shown,
        # unless the screen counts as styled by the current sheets. Its widgets are styled from
        # those sheets as they mount all the same, and a later theme change still restyles it:
        # the first visit of a screen saves about a tenth of a second.
        # (Textual is pinned; were the counter gone, the screen would just be restyled as before.)
        self._css_update_count = getattr(self.app, "_css_update_count", -1)

    @property
    def console(self) -> ConsoleApp:
        from exact_tui.ui.app import ConsoleApp

        return cast(ConsoleApp, self.app)

    @property
    def services(self) -> ConsoleServices:
        return self.console.services

    @property
    def palette(self) -> Palette:
        return self.console.palette

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        needed = self.WRITE_ACTIONS.get(action)
        if needed is None:
            return True
        return self.console.offers(needed) and self.action_applies(action)

    def on_mount(self) -> None:
        self.watch(self.console, "report", self._report_changed)

    def _report_changed(self, report: StatusReport | None) -> None:
        status = header_status(report, self.palette, self.console.read_only)
        for header in self.query(ConsoleHeader):
            header.show(status)
        self.show_report(report)
        self.bindings_may_change()

    def bindings_may_change(self) -> None:
        """Refresh the footer only if this screen's actions came or went: every refresh
        rebuilds the footer, which costs more than reading a page of rows."""
        offered = tuple(
            bool(self.check_action(binding.action.partition("(")[0], ()))
            for binding in self.BINDINGS
            if isinstance(binding, Binding)
        )
        if offered != self._offered:
            self._offered = offered
            self.refresh_bindings()

    def show_report(self, report: StatusReport | None) -> None:
        """A new status was read (every screen sees it; the Status screen shows it)."""

    def action_applies(self, action: str) -> bool:
        """Whether a wired write action makes sense here and now (e.g. on the selected row)."""
        return True

    def with_rows(self, then: Callable[[], object]) -> None:
        """Run `then` (e.g. hand the focus to the table) now, or, while rows are being read,
        together with the rows they bring, whatever the read's outcome: the table is then
        drawn once instead of twice."""
        if running(self, self.READS):
            self._with_rows = then
        else:
            self._with_rows = None
            then()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        dispatch(self, self, event)
        if (
            self._with_rows is not None
            and event.worker.name in self.READS
            and not running(self, self.READS)
        ):
            then, self._with_rows = self._with_rows, None
            then()

    def fetched(self, name: str, result: Any) -> None:
        """Results of this screen's workers (see `ui.workers`)."""

    def settled(self, name: str) -> None:
        """A worker of this screen finished (see `ui.workers`)."""
