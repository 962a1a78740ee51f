"""The console app and `build_app()`, the one factory the CLI, the tests and the screenshot
script share. The app gets a wired `ConsoleServices` and never opens a store or a client."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.screen import ModalScreen, Screen
from textual.timer import Timer

from exact_tui.domain.text import clean_text, cut
from exact_tui.services.admin.accounts import HeldCustomer
from exact_tui.services.admin.blockers import Blocker, BlockerKind
from exact_tui.services.admin.masterdata import MasterList
from exact_tui.services.console import ConsoleServices
from exact_tui.services.jobs import JobFilter
from exact_tui.services.status import StatusReport
from exact_tui.services.tenants import FleetRow
from exact_tui.ui.actions import Action, Acts, bindings
from exact_tui.ui.commands import (
    AccountsProvider,
    ActionsProvider,
    JobFiltersProvider,
    MappingsProvider,
    MasterDataProvider,
)
from exact_tui.ui.fleet import matches as fleet_matches
from exact_tui.ui.render import Palette, join, plain
from exact_tui.ui.screens.accounts import AccountsScreen
from exact_tui.ui.screens.divisions import DivisionsScreen
from exact_tui.ui.screens.export_log import ExportLogScreen
from exact_tui.ui.screens.fleet_failures import FleetFailuresScreen
from exact_tui.ui.screens.help import HelpScreen
from exact_tui.ui.screens.mappings import MappingsScreen
from exact_tui.ui.screens.master_data import MasterDataScreen
from exact_tui.ui.screens.picker import Choice, PickerScreen
from exact_tui.ui.screens.status import StatusScreen
from exact_tui.ui.widgets.flash import LASTS, FlashMessage, Severity
from exact_tui.ui.workers import Reads

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
MODES: dict[str, type[Screen[None]]] = {
    "status": StatusScreen,
    "log": ExportLogScreen,
    "divisions": DivisionsScreen,
    "mappings": MappingsScreen,
    "accounts": AccountsScreen,
    "masterdata": MasterDataScreen,
}


class KeymapError(ValueError):
    """`[keys]` names an action that does not exist."""


def terminal_present(stream: object) -> bool:
    """Whether `stream` is still a terminal (a hung-up one is not)."""
    try:
        return os.isatty(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


def _screen(mode: str, key: str, label: str, help_text: str) -> Action[ConsoleApp]:
    return Action(
        f"app.{mode}",
        key,
        label,
        help_text,
        run=lambda app: app.show_mode(mode),
        group=SCREENS,
        anywhere=True,
    )


APP_ACTIONS: tuple[Action[ConsoleApp], ...] = (
    _screen("status", "s", "Status", "Connection, divisions, queues, budgets and the worker"),
    _screen("log", "l", "Export log", "Every attempt, newest first, live; retry from here"),
    _screen("divisions", "d", "Divisions & bank accounts", "Bind bank accounts and divisions"),
    _screen("mappings", "m", "Mappings", "Platform codes → Exact codes; division settings"),
    _screen("accounts", "a", "Exact accounts", "Link platform customers to Exact accounts"),
    _screen("masterdata", "t", "Master data", "What was imported from Exact, read-only"),
    Action(
        "app.switch",
        "w",
        "Switch tenant",
        "Another tenant's console, or back to the Fleet",
        run=lambda app: app.switch_tenant(),
        needs=lambda app: app.has_fleet,
        anywhere=True,
    ),
    Action(
        "app.help",
        "question_mark",
        "Help",
        "Every key of this screen, and when each applies",
        run=lambda app: app.show_help(),
        palette=False,
    ),
    Action(
        "app.quit",
        "ctrl+q",
        "Quit",
        "Leave the console (the worker goes on)",
        run=lambda app: app.exit(),
        show=False,
        priority=True,
        anywhere=True,
    ),
    Action(
        "app.leave",
        "q",
        "Leave",
        "Quit the console, as ctrl+q does; on a job or in a dialog, back",
        run=lambda app: app.exit(),
        show=False,
        palette=False,
    ),
)


#: The picker's choice that goes back to the Fleet (no tenant code can be empty).
FLEET_CHOICE = ""


def tenant_choices(rows: list[FleetRow], text: str, here: str | None) -> list[Choice]:
    """The Fleet (unless `text` is about something else), then every tenant whose code, name
    or status holds `text`, as the Fleet sorts them (worst first); the tenant shown now is
    there, but cannot be taken."""
    choices = []
    if text.strip().lower() in "fleet: every tenant":
        choices.append(Choice(FLEET_CHOICE, Text("Fleet: every tenant"), None))
    for row in rows:
        if not fleet_matches(row, text):
            continue
        tenant = row.tenant
        refused = Text("shown now", style="dim") if tenant.code == here else None
        choices.append(
            Choice(
                tenant.code,
                join(f"{tenant.mark} ", plain(tenant.code), "  ", plain(tenant.name)),
                plain(_queue_words(row, tenant.status), "dim"),
                refused,
            )
        )
    return choices


def _queue_words(row: FleetRow, status: str) -> str:
    parts = [status]
    if row.failed:
        parts.append(f"{row.failed:,} failed")
    if row.needs_mapping:
        parts.append(f"{row.needs_mapping:,} blocked")
    if row.tenant.waiting:
        parts.append(f"{row.tenant.waiting:,} waiting")
    return " · ".join(parts)


def every_action_id() -> set[str]:
    """Every id a `[keys]` table may name."""
    from exact_tui.ui.screens.help import declared_everywhere

    return {action.id for action in declared_everywhere()}


class ConsoleApp(Acts, Reads, App[str | None]):
    """A tenant's console. Opened from the Fleet, it leaves with the code of the tenant to
    open next, or None to go back to the Fleet (a console without a Fleet just ends)."""

    TITLE = "exact-tui"
    CSS_PATH: ClassVar[list[str | PurePath]] = sorted(STYLES.glob("*.tcss"))
    MODES: ClassVar[dict[str, Any]] = dict(MODES)
    #: Textual's own entries (screenshot, theme, keys) are left out: every entry here is ours.
    COMMANDS: ClassVar[set[Any]] = {
        ActionsProvider,
        JobFiltersProvider,
        MappingsProvider,
        AccountsProvider,
        MasterDataProvider,
    }
    ACTIONS = APP_ACTIONS
    BINDINGS: ClassVar[list[BindingType]] = bindings(APP_ACTIONS)

    #: The last status read; the header and the Status screen watch it.
    report: var[StatusReport | None] = var(None)
    #: What the Export log shows; the filter bar and the palette set it.
    log_filter: var[JobFilter] = var(JobFilter())
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
    #: What just happened, for the line above the footer (None: nothing to say).
    flash: var[FlashMessage | None] = var(None)

    def __init__(
        self,
        services: ConsoleServices,
        *,
        read_only: bool = False,
        ansi: bool = False,
        poll_seconds: float = 2.0,
        tail_seconds: float = 1.0,
        keymap: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(ansi_color=ansi)
        self.services = services
        self.read_only = read_only
        self.poll_seconds = poll_seconds
        self.tail_seconds = tail_seconds
        if ansi:
            self.theme = "ansi-dark"
        self._palettes: dict[str, Palette] = {}
        self._flash_timer: Timer | None = None
        self._flashes = 0
        #: The screen shown for each mode, once it was first shown (the palette asks it).
        self.mode_screens: dict[str, Acts] = {}
        #: The user's keys, by action id (help and the palette show these).
        self.keymap: dict[str, str] = dict(keymap or {})
        if self.keymap:
            self.set_keymap(self.keymap)

    @property
    def palette(self) -> Palette:
        """Styles from the current theme (built once per theme)."""
        if self.theme not in self._palettes:
            self._palettes[self.theme] = Palette.from_theme(self.theme_variables)
        return self._palettes[self.theme]

    def offers(self, action: str) -> bool:
        """Whether a write action is on offer: never in read-only mode, and only once wired."""
        return not self.read_only and action in self.services.actions.wired()

    def key_of(self, action: Action[Any]) -> str:
        """The key that runs `action` now (the user's, from `[keys]`, or its default)."""
        key = self.keymap.get(action.id, action.key).split(",")[0].strip()
        return self.get_key_display(Binding(key, action.action))

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

    # ------------------------------------------------------------ saying what happened

    def say(self, message: str | Text, *, severity: Severity = "information") -> None:
        """Show what just happened on the line above the footer, for a while."""
        text = message if isinstance(message, Text) else plain(cut(clean_text(message), 300))
        self._flashes += 1
        self.flash = FlashMessage(text, severity, self._flashes)
        if self._flash_timer is not None:
            self._flash_timer.stop()
        self._flash_timer = self.set_timer(LASTS[severity], self._end_flash)

    def _end_flash(self) -> None:
        self._flash_timer = None
        self.flash = None

    # ------------------------------------------------------------ status poll

    def _poll_status(self) -> None:
        """Read the status; the next read is scheduled only when this one has finished, and
        none is made while a dialog is open."""
        if not self.screen_stack:  # shutting down
            return
        if isinstance(self.screen, ModalScreen):
            self.set_timer(self.poll_seconds, self._poll_status)
            return
        self.read("read the status", self.services.status, self._got_report, done=self._next_poll)

    def _next_poll(self) -> None:
        self.set_timer(self.poll_seconds, self._poll_status)

    def _got_report(self, report: StatusReport) -> None:
        self.report = report

    def refresh_status(self) -> None:
        """Read the status now, after an action changed it (the poll goes on as it was)."""
        self.read("read the status again", self.services.status, self._got_report)

    # ------------------------------------------------------------ navigation

    def show_mode(self, mode: str) -> None:
        """Show a screen. Its key, pressed again on a job opened from it, goes back to it."""
        if self.current_mode == mode and len(self.screen_stack) > 1:
            self.screen.dismiss()
            return
        self.switch_mode(mode)

    def show_log(self, flt: JobFilter | None, *, grouped: bool = False) -> None:
        if flt is not None:
            self.log_filter = flt
        self.log_grouped = grouped
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
            self.say("Nothing holds this job for an admin now.", severity="warning")
            return
        if blocker.division is not None:
            self.division = blocker.division
        self.jump = blocker
        self.switch_mode(FIXED_ON[blocker.kind])
        if blocker.detail:
            self.say(f"Blocked by: {clean_text(blocker.detail)}", severity="warning")

    async def run_elsewhere(self, mode: str, action_id: str) -> None:
        """The palette's way to an action of another screen: show it, then run the action."""
        await self.switch_mode(mode)
        screen = self.screen
        if isinstance(screen, Acts) and not await screen.run_declared(action_id):
            self.say("That does not apply here now.", severity="warning")

    def register(self, screen: Screen[None]) -> None:
        """A screen was mounted: remember it if it is a mode's own screen."""
        for mode, screen_class in MODES.items():
            if type(screen) is screen_class and isinstance(screen, Acts):
                self.mode_screens[mode] = screen

    def find_customer(self, held: HeldCustomer | None) -> None:
        """Exact accounts, ready to link a customer: a held one's candidates, or the search."""
        if held is None:
            self.jump = None
            self.switch_mode("accounts")
            self.call_after_refresh(self._focus_account_search)
            return
        self.go_to(
            Blocker(
                BlockerKind.CUSTOMER,
                "",
                division=held.division,
                customer_number=held.number,
            )
        )

    def _focus_account_search(self) -> None:
        screen = self.screen
        if isinstance(screen, AccountsScreen):
            screen.action_search()

    @property
    def has_fleet(self) -> bool:
        """Whether this console was opened from the Fleet (not pinned, several tenants)."""
        return self.services.fleet is not None

    def switch_tenant(self) -> None:
        """Pick another tenant (its console opens in place of this one) or the Fleet."""
        fleet = self.services.fleet
        if fleet is None or isinstance(self.screen, ModalScreen):
            return
        here = self.services.tenant

        def search(text: str) -> list[Choice]:
            return tenant_choices(fleet.rows(), text, here)

        def chosen(code: str | None) -> None:
            if code == FLEET_CHOICE:
                self.exit(None)
            elif code is not None:
                self.open_tenant(code)

        self.push_screen(
            PickerScreen(
                "Switch tenant",
                "The tenant whose console to open, or the Fleet (every tenant).",
                search,
                placeholder="type a tenant's code or name",
            ),
            chosen,
        )

    def open_tenant(self, code: str) -> None:
        """Leave this console for the console of tenant `code`."""
        self.exit(code)

    def show_fleet_failures(self) -> None:
        """Every tenant's failures by cause, over this console (escape comes back)."""
        fleet = self.services.fleet
        if fleet is not None and not isinstance(self.screen, FleetFailuresScreen):
            self.push_screen(FleetFailuresScreen(fleet))

    def show_help(self) -> None:
        screen = self.screen
        if isinstance(screen, ModalScreen):
            return
        self.push_screen(HelpScreen(screen))


def build_app(
    services: ConsoleServices,
    *,
    read_only: bool = False,
    ansi: bool = False,
    poll_seconds: float = 2.0,
    tail_seconds: float = 1.0,
    keymap: Mapping[str, str] | None = None,
) -> ConsoleApp:
    """The console over `services`. `read_only` hides every write action; `ansi` draws with
    the terminal's own palette; `keymap` (the `[keys]` table: action id → keys) remaps keys,
    and an id no action has is refused with `KeymapError`."""
    if keymap:
        unknown = sorted(set(keymap) - every_action_id())
        if unknown:
            raise KeymapError(
                f"[keys]: no action has the id {', '.join(unknown)} "
                "(the ids are listed in docs/console.md)"
            )
    return ConsoleApp(
        services,
        read_only=read_only,
        ansi=ansi,
        poll_seconds=poll_seconds,
        tail_seconds=tail_seconds,
        keymap=keymap,
    )
