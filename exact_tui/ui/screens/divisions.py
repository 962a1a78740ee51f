"""Divisions & bank accounts: which organization each division belongs to, and where each bank
account's documents go (a division and one of its bank journals). An unbound bank account
says how many documents it holds up; binding it sends them on their way."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from exact_tui.domain.text import counted
from exact_tui.services.admin.blockers import Blocker, BlockerKind
from exact_tui.services.admin.divisions import (
    BankAccountInfo,
    DivisionInfo,
    DivisionsOverview,
    OrganizationInfo,
)
from exact_tui.ui.actions import Action, bindings
from exact_tui.ui.render import Palette, join, plain
from exact_tui.ui.screens.admin_base import AdminScreen
from exact_tui.ui.screens.confirm import ConfirmScreen
from exact_tui.ui.screens.picker import Choice, PickerScreen
from exact_tui.ui.widgets.fit_table import Col, FitTable
from exact_tui.ui.widgets.flash import FlashLine
from exact_tui.ui.widgets.footer import ConsoleFooter
from exact_tui.ui.widgets.header import ConsoleHeader
from exact_tui.ui.widgets.scope_bar import Scope, ScopeBar
from exact_tui.ui.widgets.table import ConsoleTable


def organization_text(organization: OrganizationInfo | None, palette: Palette) -> Text:
    if organization is None:
        return Text("not bound", style=palette.muted)
    return join(plain(organization.code, palette.strong), " ", plain(organization.name))


def blocks_text(count: int, palette: Palette) -> Text:
    if not count:
        return Text("—", style=palette.muted, justify="right")
    return Text(f"{count:,}", style=palette.warning, justify="right")


def division_cells(division: DivisionInfo, palette: Palette) -> list[Text]:
    access = (
        Text("✔", style=palette.success)
        if division.accessible
        else join(Text("⛔ ", style=palette.error), plain(division.access_reason or "no access"))
    )
    return [
        join(Text(f"{division.code} ", style=palette.strong), plain(division.description)),
        organization_text(division.organization, palette),
        Text(f"{division.bank_accounts}", justify="right"),
        blocks_text(division.blocked, palette),
        access,
    ]


def bank_account_cells(account: BankAccountInfo, palette: Palette) -> list[Text]:
    if account.division is None:
        where = Text("⚠ not bound", style=palette.warning)
        journal = Text("—", style=palette.muted)
    else:
        where = Text(str(account.division))
        journal = join(plain(account.journal_code or ""), " ", plain(account.journal_description))
        if account.journal_problem:
            journal = join(Text("⚠ ", style=palette.warning), plain(account.journal_problem))
    return [
        join(plain(account.iban, palette.strong), " ", plain(account.name or "", palette.muted)),
        where,
        blocks_text(account.blocked, palette),
        journal,
        join(plain(account.organization.code), " ", plain(account.organization.name)),
    ]


def summary_text(overview: DivisionsOverview, palette: Palette) -> Text:
    bound = sum(1 for d in overview.divisions if d.organization is not None)
    unbound = [a for a in overview.bank_accounts if not a.bound]
    parts: list[Text | str] = []
    if overview.divisions:
        parts.append(
            f"{counted(len(overview.divisions), 'division')}, {bound} bound to an organization"
        )
    else:
        parts.append(
            Text("No divisions imported yet: connect, then Retrieve data", style=palette.muted)
        )
    if not overview.bank_accounts:
        parts.append(
            Text("no bank accounts yet: they arrive with `exact-tui ingest`", style=palette.muted)
        )
        return join(*parts, separator="  ·  ")
    parts.append(counted(len(overview.bank_accounts), "bank account"))
    if unbound:
        held = sum(a.blocked for a in unbound)
        parts.append(
            Text(
                f"⚠ {len(unbound)} not bound, holding up {counted(held, 'document')}",
                style=palette.warning,
            )
        )
    else:
        parts.append(Text("every bank account bound", style=palette.success))
    return join(*parts, separator="  ·  ")


DIVISION_COLUMNS = (
    Col("Division", 19, flex=True),
    Col("Organization", 18, flex=True),
    Col("Bank", 4),
    Col("Waiting", 7),
    Col("Access", 8, flex=True),
)
BANK_ACCOUNT_COLUMNS = (
    Col("Bank account", 18, flex=True),
    Col("Division", 11),
    Col("Blocks", 6),
    Col("Bank journal", 14, flex=True),
    Col("Organization", 12, flex=True),
)


def _on_bank_accounts(screen: DivisionsScreen) -> bool:
    return screen.focused_table() == "bank-accounts" and screen.selected_account() is not None


def _can_bind(screen: DivisionsScreen) -> bool:
    if screen.focused_table() == "divisions":
        return screen.selected_division() is not None
    return _on_bank_accounts(screen)


def _can_unbind(screen: DivisionsScreen) -> bool:
    account = screen.selected_account()
    return _on_bank_accounts(screen) and account is not None and account.bound


def _filtered(screen: DivisionsScreen) -> bool:
    return bool(screen.query_one(ScopeBar).scope.text)


DIVISION_ACTIONS: tuple[Action[DivisionsScreen], ...] = (
    Action(
        "divisions.bind",
        "enter",
        "Bind…",
        "Bind the selected bank account to a division and a bank journal, or the selected "
        "division to an organization",
        run=lambda screen: screen.bind_selected(),
        writes="bind_bank_account",
        applies=_can_bind,
        when="on a bank account or a division",
        describe=lambda screen: (
            "Bind to organization…" if screen.focused_table() == "divisions" else "Bind…"
        ),
    ),
    Action(
        "divisions.unbind",
        "u",
        "Unbind",
        "Take the selected bank account's route away (asks first)",
        run=lambda screen: screen.unbind_selected(),
        writes="unbind_bank_account",
        applies=_can_unbind,
        when="on a bound bank account",
    ),
    Action(
        "divisions.filter",
        "slash",
        "Filter",
        "Filter the bank accounts by IBAN, name or organization",
        run=lambda screen: screen.query_one(ScopeBar).focus_text(),
    ),
    Action(
        "divisions.clear",
        "escape",
        "Clear filter",
        "Show every bank account again",
        run=lambda screen: screen.clear(),
        applies=_filtered,
        when="with a filter set",
        palette=False,
        tight=True,
    ),
)


class DivisionsScreen(AdminScreen):
    """Divisions & bank accounts."""

    TITLE = "Divisions & bank accounts"
    AUTO_FOCUS = "#bank-accounts"
    SCOPED = False
    JUMPS = frozenset({BlockerKind.BANK_ACCOUNT})
    ACTIONS = DIVISION_ACTIONS
    BINDINGS = bindings(DIVISION_ACTIONS)

    def __init__(self) -> None:
        super().__init__()
        self.overview: DivisionsOverview | None = None
        #: The bank account to select once the list is read (a jump from the Export log).
        self._select_iban: str | None = None

    def compose(self) -> ComposeResult:
        yield ConsoleHeader(self.TITLE)
        yield ScopeBar(placeholder="IBAN, bank account or organization", divisions=False)
        yield Static("Reading the store…", id="divisions-summary", classes="summary")
        yield FitTable(DIVISION_COLUMNS, id="divisions")
        yield FitTable(BANK_ACCOUNT_COLUMNS, id="bank-accounts")
        yield FlashLine()
        yield ConsoleFooter()

    def on_mount(self) -> None:
        self.query_one("#divisions").border_title = "Divisions"
        self.query_one("#bank-accounts").border_title = "Bank accounts: where their documents go"

    # ------------------------------------------------------------ reading

    def reload(self) -> None:
        text = self.query_one(ScopeBar).scope.text or None
        self.read(
            "read the bank accounts", lambda: self.services.divisions_overview(text), self._show
        )

    def _show(self, overview: DivisionsOverview) -> None:
        self.overview = overview
        palette = self.palette
        self.query_one("#divisions-summary", Static).update(summary_text(overview, palette))
        divisions = self.query_one("#divisions", FitTable)
        accounts = self.query_one("#bank-accounts", FitTable)
        divisions.fill(
            [division_cells(d, palette) for d in overview.divisions], cursor=divisions.cursor_row
        )
        cursor = accounts.cursor_row
        if self._select_iban is not None:
            cursor = next(
                (i for i, a in enumerate(overview.bank_accounts) if a.iban == self._select_iban),
                cursor,
            )
            self._select_iban = None
            accounts.focus()
        accounts.fill(
            [bank_account_cells(a, palette) for a in overview.bank_accounts], cursor=cursor
        )
        self.bindings_may_change()

    # ------------------------------------------------------------ selection

    def focused_table(self) -> str | None:
        focused = self.focused
        return focused.id if isinstance(focused, ConsoleTable) else None

    def selected_account(self) -> BankAccountInfo | None:
        table = self.query_one("#bank-accounts", ConsoleTable)
        if self.overview is None or not 0 <= table.cursor_row < len(self.overview.bank_accounts):
            return None
        return self.overview.bank_accounts[table.cursor_row]

    def selected_division(self) -> DivisionInfo | None:
        table = self.query_one("#divisions", ConsoleTable)
        if self.overview is None or not 0 <= table.cursor_row < len(self.overview.divisions):
            return None
        return self.overview.divisions[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.bindings_may_change()

    # ------------------------------------------------------------ scope

    @on(ScopeBar.Changed)
    def _scope_changed(self) -> None:
        self.reload()

    @on(ScopeBar.Left)
    def _left_bar(self) -> None:
        self.query_one("#bank-accounts", ConsoleTable).focus()

    def clear(self) -> None:
        bar = self.query_one(ScopeBar)
        bar.show(Scope(None, None, ""))
        self.reload()

    def apply_jump(self, blocker: Blocker) -> None:
        self._select_iban = blocker.iban
        bar = self.query_one(ScopeBar)
        if bar.scope.text:
            bar.show(Scope(None, None, ""))
        self.reload()

    # ------------------------------------------------------------ binding

    def bind_selected(self) -> None:
        if self.focused_table() == "divisions":
            division = self.selected_division()
            if division is not None:
                self._bind_division(division)
            return
        account = self.selected_account()
        if account is not None and self.overview is not None:
            self._bind_bank(account, self.overview.divisions)

    @work(group="bind", exclusive=True, exit_on_error=False)
    async def _bind_bank(self, account: BankAccountInfo, divisions: list[DivisionInfo]) -> None:
        bind = self.services.actions.bind_bank_account
        if bind is None:
            return
        owner = account.organization
        palette = self.palette

        def division_choices(text: str) -> list[Choice]:
            needle = text.casefold()
            return [
                _division_choice(d, owner, palette)
                for d in divisions
                if needle in f"{d.code} {d.description}".casefold()
            ]

        title = join("Bind ", plain(account.iban, palette.strong), "  ·  step 1 of 2: the division")
        hint = join(
            "Its documents go to this division. It belongs to organization ",
            plain(owner.code),
            "; a division is bound to one organization only.",
        )
        division = await self.app.push_screen_wait(
            PickerScreen(title, hint, division_choices, placeholder="division code or name")
        )
        if division is None:
            return
        code = int(division)
        iban = account.iban
        journals = self.services.bank_journals

        def journal_choices(text: str) -> list[Choice]:
            needle = text.casefold()
            return [
                Choice(
                    j.code,
                    join(plain(j.code, palette.strong), "  ", plain(j.description)),
                    join(
                        plain(j.iban or "no bank account on the journal", palette.muted),
                        Text("  this bank account", palette.success) if j.same_iban else "",
                    ),
                )
                for j in journals(code, iban)
                if needle in f"{j.code} {j.description} {j.iban or ''}".casefold()
            ]

        journal = await self.app.push_screen_wait(
            PickerScreen(
                join("Bind ", plain(iban, palette.strong), "  ·  step 2 of 2: a bank journal"),
                f"The bank journals of division {code} (type 12, not blocked); bank entries "
                "for this account's payments go into it.",
                journal_choices,
                placeholder="journal code or name",
                empty=f"Division {code} has no usable bank journal: create one in Exact, then "
                "Retrieve data.",
            )
        )
        if journal is None:
            return
        self.act(f"bind {iban}", lambda: bind(iban, code, journal))

    def unbind_selected(self) -> None:
        unbind, account = self.services.actions.unbind_bank_account, self.selected_account()
        if unbind is None or account is None:
            return
        iban = account.iban
        question = join(
            "Unbind ",
            plain(iban, self.palette.strong),
            f" from division {account.division}? Its documents not yet posted wait until it "
            "is bound again; posted ones stay in Exact.",
        )

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.act(f"unbind {iban}", lambda: unbind(iban))

        self.app.push_screen(ConfirmScreen(question, "Unbind"), confirmed)

    @work(group="bind", exclusive=True, exit_on_error=False)
    async def _bind_division(self, division: DivisionInfo) -> None:
        bind = self.services.actions.bind_division
        if bind is None:
            return
        palette = self.palette
        organizations = self.services.organizations

        def choices(text: str) -> list[Choice]:
            return [
                Choice(o.code, join(plain(o.code, palette.strong), "  ", plain(o.name)))
                for o in organizations(text or None)
            ]

        current = division.organization
        hint: Text | str = (
            "A division belongs to one organization; its bank accounts' documents go there."
        )
        if current is not None:
            hint = join(
                "Bound to ",
                plain(current.code, palette.strong),
                " now. A division belongs to one organization: another one is refused.",
            )
        chosen = await self.app.push_screen_wait(
            PickerScreen(
                join(f"Bind division {division.code} ", plain(division.description), " to…"),
                hint,
                choices,
                placeholder="organization code or name",
                empty="No organization matches.",
            )
        )
        if chosen is None:
            return
        code = division.code
        self.act(f"bind division {code}", lambda: bind(code, chosen))


def _division_choice(division: DivisionInfo, owner: OrganizationInfo, palette: Palette) -> Choice:
    label = join(plain(str(division.code), palette.strong), "  ", plain(division.description))
    refused: Text | None = None
    if division.organization is None:
        detail = join(
            Text("not bound to an organization yet: binding binds it to ", palette.muted),
            plain(owner.code, palette.muted),
        )
    else:
        detail = join(
            Text("organization ", palette.muted),
            plain(division.organization.code, palette.muted),
            Text(f"  ·  {counted(division.bank_accounts, 'bank account')}", palette.muted),
        )
        if division.organization.id != owner.id:
            refused = join(
                Text("bound to organization ", palette.warning),
                plain(division.organization.code, palette.warning),
                Text(", not to ", palette.warning),
                plain(owner.code, palette.warning),
            )
    if not division.accessible:
        refused = join(Text("⛔ no access: ", palette.error), plain(division.access_reason or ""))
    return Choice(str(division.code), label, detail, refused)
