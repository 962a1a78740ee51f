"""What every console screen shares: the services, the theme's palette, actions declared once
(`ui.actions`), reads in thread workers with typed results (`ui.workers`), the line that says
what just happened, and a nudge to read again whenever the store changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, cast

from textual import events
from textual.screen import Screen

from exact_tui.services.console import ConsoleServices
from exact_tui.services.status import ChangeMark, StatusReport
from exact_tui.ui.actions import Acts
from exact_tui.ui.render import Palette
from exact_tui.ui.widgets.flash import FlashLine, FlashMessage
from exact_tui.ui.widgets.header import ConsoleHeader, header_status
from exact_tui.ui.workers import Reads

if TYPE_CHECKING:
    from exact_tui.ui.app import ConsoleApp


class ConsoleScreen(Acts, Reads, Screen[None]):
    #: The reads whose results replace the screen's rows (see `with_rows`).
    READS: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        super().__init__()
        self._offered: tuple[tuple[bool | None, str], ...] | None = None
        self._with_rows: Callable[[], object] | None = None
        #: The store's change mark when this screen last looked (see `store_changed`).
        self._seen_changes: ChangeMark | None = None
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

    def on_mount(self) -> None:
        self.console.register(self)
        self.watch(self.console, "report", self._report_changed)
        self.watch(self.console, "flash", self._flash_changed)

    def _flash_changed(self, message: FlashMessage | None) -> None:
        for line in self.query(FlashLine):
            line.show(message)

    def _report_changed(self, report: StatusReport | None) -> None:
        status = header_status(
            report, self.palette, self.console.read_only, self.console.services.tenant
        )
        for header in self.query(ConsoleHeader):
            header.show(status)
        self.show_report(report)
        self.bindings_may_change()
        if report is not None and self.is_current:
            self._notice_changes(report)

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        report = self.console.report
        if report is not None:
            self._notice_changes(report)

    def _notice_changes(self, report: StatusReport) -> None:
        before, after = self._seen_changes, report.change_mark
        self._seen_changes = after
        if before is not None and after != before:
            self.store_changed(before, after)

    def store_changed(self, before: ChangeMark, after: ChangeMark) -> None:
        """Something was written to the store since this screen last looked (an export, an
        import, someone's action elsewhere): a screen that shows what changed reads again."""

    def bindings_may_change(self) -> None:
        """Refresh the footer only if this screen's actions came or went: every refresh
        rebuilds the footer, which costs more than reading a page of rows."""
        offered = self.action_states()
        if offered != self._offered:
            self._offered = offered
            self.refresh_bindings()

    def show_report(self, report: StatusReport | None) -> None:
        """A new status was read (every screen sees it; the Status screen shows it)."""

    def with_rows(self, then: Callable[[], object]) -> None:
        """Run `then` (e.g. hand the focus to the table) now, or, while rows are being read,
        together with the rows they bring, whatever the read's outcome: the table is then
        drawn once instead of twice."""
        if self.reading(self.READS):
            self._with_rows = then
        else:
            self._with_rows = None
            then()

    def after_read(self, name: str) -> None:
        if self._with_rows is not None and name in self.READS and not self.reading(self.READS):
            then, self._with_rows = self._with_rows, None
            then()

    def act(
        self, what: str, call: Callable[[], str], *, then: Callable[[], object] | None = None
    ) -> None:
        """Run a write action in a thread; say what it did (or why it was refused), then read
        what it changed (`then`, and the status)."""

        def done(message: str) -> None:
            self.console.say(message)
            self.console.refresh_status()
            if then is not None:
                then()

        self.read(what, call, done)
