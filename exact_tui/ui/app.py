"""The console app and `build_app()`, the one factory the CLI, the tests and the screenshot
script share. The app gets a wired `ConsoleServices` and never opens a store or a client."""

from __future__ import annotations

import os
import sys
from pathlib import Path, PurePath
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.screen import ModalScreen
from textual.worker import Worker

from exact_tui.domain.text import clean_text
from exact_tui.services.admin.blockers import Blocker, BlockerKind
from exact_tui.services.admin.masterdata import MasterList
from exact_tui.services.console import ConsoleServices
from exact_tui.services.export_log import LogFilter
from exact_tui.services.status import StatusReport
from exact_tui.ui.commands import (
    AccountsProvider,
    ActionsProvider,
    DivisionsProvider,
    LogFiltersProvider,
    MappingsProvider,
    MasterDataProvider,
    ScreensProvider,
)
from exact_tui.ui.render import Palette
from exact_tui.ui.screens.accounts import AccountsScreen
from exact_tui.ui.screens.divisions import DivisionsScreen
from exact_tui.ui.screens.export_log import ExportLogScreen
from exact_tui.ui.screens.help import HelpScreen, KeyHelp
from exact_tui.ui.screens.mappings import MappingsScreen
from exact_tui.ui.screens.master_data import MasterDataScreen
from exact_tui.ui.screens.status import StatusScreen
from exact_tui.ui.workers import dispatch, fetch

STYLES = Path(__file__).parent / "styles"
#: How often the console checks that its terminal is still there.
TERMINAL_CHECK_SECONDS = 2.0
#: One key per screen; the footer shows them as one group, `?` lists each.
SCREENS = Binding.Group("screens")
#: Where each kind of blocker is fixed.
FIXED_ON = {
    BlockerKind.BANK_ACCOUNT: "divisions",
    BlockerKind.MAPPING: "mappings",
    BlockerKind.SETTING: "mappings",
    BlockerKind.CUSTOMER: "accounts",
}


def terminal_present(stream: object) -> bool:
    """Whether `stream` is still a terminal (a hung-up one is not)."""
    try:
        return os.isatty(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


class ConsoleApp(App[None]):
    TITLE = "exact-tui"
    CSS_PATH: ClassVar[list[str | PurePath]] = sorted(STYLES.glob("*.tcss"))
    MODES: ClassVar[dict[str, Any]] = {
        "status": StatusScreen,
        "log": ExportLogScreen,
        "divisions": DivisionsScreen,
        "mappings": MappingsScreen,
        "accounts": AccountsScreen,
        "masterdata": MasterDataScreen,
    }
    COMMANDS = App.COMMANDS | {
        ScreensProvider,
        LogFiltersProvider,
        DivisionsProvider,
        MappingsProvider,
        AccountsProvider,
        MasterDataProvider,
        ActionsProvider,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True, show=False),
        Binding("s", "switch_mode('status')", "Status", id="app.status", group=SCREENS),
        Binding("l", "show_log", "Export log", id="app.log", group=SCREENS),
        Binding(
            "d",
            "switch_mode('divisions')",
            "Divisions & bank accounts",
            id="app.divisions",
            group=SCREENS,
        ),
        Binding("m", "switch_mode('mappings')", "Mappings", id="app.mappings", group=SCREENS),
        Binding("a", "switch_mode('accounts')", "Exact accounts", id="app.accounts", group=SCREENS),
        Binding(
            "t", "switch_mode('masterdata')", "Master data", id="app.masterdata", group=SCREENS
        ),
        Binding("question_mark", "help", "Help", id="app.help"),
    ]

    #: The last status read; the header and the Status screen watch it.
    report: var[StatusReport | None] = var(None)
    #: What the Export log shows; the filter bar and the palette set it.
    log_filter: var[LogFilter] = var(LogFilter())
    #: Whether the Export log shows failures grouped by cause instead of events.
    log_grouped: var[bool] = var(False)
    #: The division the admin screens (mappings, accounts, master data) show.
    division: var[int | None] = var(None)
    #: The kind of mapping the Mappings screen shows (a `MappingKind` value; None: all).
    mapping_kind: var[str | None] = var(None)
    #: The list the Master data screen shows.
    master_list: var[MasterList] = var(MasterList.GL_ACCOUNTS)
    #: What blocks a job, on its way from the Export log to the screen where it is fixed.
    jump: var[Blocker | None] = var(None)

    def __init__(
        self,
        services: ConsoleServices,
        *,
        read_only: bool = False,
        ansi: bool = False,
        poll_seconds: float = 2.0,
        tail_seconds: float = 1.0,
    ) -> None:
        super().__init__(ansi_color=ansi)
        self.services = services
        self.read_only = read_only
        self.poll_seconds = poll_seconds
        self.tail_seconds = tail_seconds
        if ansi:
            self.theme = "ansi-dark"
        self._palettes: dict[str, Palette] = {}

    @property
    def palette(self) -> Palette:
        """Styles from the current theme (built once per theme)."""
        if self.theme not in self._palettes:
            self._palettes[self.theme] = Palette.from_theme(self.theme_variables)
        return self._palettes[self.theme]

    def offers(self, action: str) -> bool:
        """Whether a write action is on offer: never in read-only mode, and only once wired."""
        return not self.read_only and action in self.services.actions.wired()

    def on_mount(self) -> None:
        self.switch_mode("status")
        self._poll_status()
        if not self.is_headless and terminal_present(sys.__stdout__):
            self.set_interval(TERMINAL_CHECK_SECONDS, self._check_terminal)

    def _check_terminal(self) -> None:
        """An SSH session or tmux pane that goes away does not always send the console a
        SIGHUP (started through make, for one), and Textual then reads the dead terminal in a
        busy loop: the console leaves instead."""
        if not terminal_present(sys.__stdout__):
            self.exit(message="The terminal went away.")

    # ------------------------------------------------------------ status poll

    def _poll_status(self) -> None:
        """Read the status; the next read is scheduled only when this one has finished, and
        none is made while a dialog is open."""
        if not self.screen_stack:  # shutting down
            return
        if isinstance(self.screen, ModalScreen):
            self.set_timer(self.poll_seconds, self._poll_status)
            return
        fetch(self, "read the status", self.services.status)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        dispatch(self, self, event)

    def refresh_status(self) -> None:
        """Read the status now, after an action changed it (the poll goes on as it was)."""
        fetch(self, "read the status again", self.services.status)

    def fetched(self, name: str, result: Any) -> None:
        if name in ("read the status", "read the status again"):
            self.report = result

    def settled(self, name: str) -> None:
        if name == "read the status":
            self.set_timer(self.poll_seconds, self._poll_status)

    # ------------------------------------------------------------ navigation

    def show_log(self, flt: LogFilter | None, *, grouped: bool = False) -> None:
        if flt is not None:
            self.log_filter = flt
        self.log_grouped = grouped
        self.switch_mode("log")

    def action_show_log(self) -> None:
        self.switch_mode("log")

    def show_mappings(self, division: int | None = None, kind: str | None = None) -> None:
        if division is not None:
            self.division = division
        self.mapping_kind = kind
        self.switch_mode("mappings")

    def show_division(self, mode: str, division: int) -> None:
        self.division = division
        self.switch_mode(mode)

    def show_master(self, which: MasterList) -> None:
        self.master_list = which
        self.switch_mode("masterdata")

    def go_to(self, blocker: Blocker | None) -> None:
        """Open the screen where `blocker` is fixed, with it selected, and say what it is
        (None: the job moved on since it was shown, and nothing holds it for an admin)."""
        if blocker is None:
            self.notify("Nothing holds this job for an admin now.", markup=False)
            return
        if blocker.division is not None:
            self.division = blocker.division
        self.jump = blocker
        self.switch_mode(FIXED_ON[blocker.kind])
        if blocker.detail:
            self.notify(clean_text(blocker.detail)[:300], title="Blocked by", markup=False)

    def action_help(self) -> None:
        screen = self.screen
        if isinstance(screen, ModalScreen):
            return
        keys = [
            KeyHelp(
                self.get_key_display(active.binding), active.binding.description, active.binding.id
            )
            for active in screen.active_bindings.values()
            if active.enabled and active.binding.id
        ]
        title = getattr(screen, "TITLE", None) or self.TITLE
        self.push_screen(HelpScreen(f"Keys on {title}", keys))


def build_app(
    services: ConsoleServices,
    *,
    read_only: bool = False,
    ansi: bool = False,
    poll_seconds: float = 2.0,
    tail_seconds: float = 1.0,
) -> ConsoleApp:
    """The console over `services`. `read_only` hides every write action; `ansi` draws with
    the terminal's own palette."""
    return ConsoleApp(
        services,
        read_only=read_only,
        ansi=ansi,
        poll_seconds=poll_seconds,
        tail_seconds=tail_seconds,
    )
