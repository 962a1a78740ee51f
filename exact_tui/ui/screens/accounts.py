"""Exact accounts (the "Exact Accounts Overview"): a division's accounts with the platform
customer linked to each and how the link was made; link a customer (with suggestions and why
each one matches) or unlink one. A changed link moves documents not yet posted; posted ones
stay where they are in Exact.

From a job held for its customer (the Export log's jump), the screen shows that customer's
candidate accounts instead, strongest first, and enter links the customer to one.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from exact_tui.domain.text import counted
from exact_tui.services.admin.accounts import (
    AccountCounts,
    AccountCursor,
    AccountInfo,
    AccountPage,
    CustomerFocus,
    LinkInfo,
    Suggestion,
)
from exact_tui.services.admin.blockers import Blocker, BlockerKind
from exact_tui.services.status import ChangeMark
from exact_tui.ui.actions import Action, bindings
from exact_tui.ui.format import stamp
from exact_tui.ui.render import Palette, join, plain
from exact_tui.ui.screens.admin_base import AdminScreen
from exact_tui.ui.screens.confirm import ConfirmScreen
from exact_tui.ui.screens.picker import Choice, PickerScreen
from exact_tui.ui.widgets.fit_table import Col, FitTable
from exact_tui.ui.widgets.flash import FlashLine
from exact_tui.ui.widgets.footer import ConsoleFooter
from exact_tui.ui.widgets.header import ConsoleHeader
from exact_tui.ui.widgets.scope_bar import Scope, ScopeBar

PAGE = 100
#: Fetch the next page when the cursor comes this close to the last row.
NEAR_END = 10
#: Search code, VAT number and city show from 100 columns, how a link was made from 140;
#: narrower, the detail line under the table has them. The name takes most of the room left.
WIDE = 100
ACCOUNT_COLUMNS = (
    Col("Code", 6),
    Col("Search code", 11, needs=WIDE),
    Col("Name", 16, flex=True, weight=3),
    Col("VAT number", 15, needs=WIDE),
    Col("City", 11, needs=WIDE),
    Col("Linked customer", 16, flex=True, weight=2),
    Col("How linked", 14, flex=True, needs=140),
)
#: A customer's candidates: the city always (two accounts of one name differ by it), why each
#: may be theirs before whom it is linked to now.
FOCUS_COLUMNS = (
    Col("Code", 6),
    Col("Search code", 11, needs=140),
    Col("Name", 16, flex=True, weight=3),
    Col("VAT number", 15, needs=WIDE),
    Col("City", 11),
    Col("Why it may be theirs", 18, flex=True, weight=2),
    Col("Linked customer", 14, flex=True, needs=130),
)


def account_label(account: AccountInfo, palette: Palette) -> Text:
    return join(plain(account.code or "—", palette.strong), " ", plain(account.name))


def link_text(links: tuple[LinkInfo, ...], palette: Palette) -> Text:
    if not links:
        return Text("—", style=palette.muted)
    first = links[0]
    text = join(plain(first.customer_number, palette.strong), " ", plain(first.customer_name))
    if len(links) > 1:
        text.append(f"  +{len(links) - 1}", style=palette.warning)
    return text


def how_text(links: tuple[LinkInfo, ...], palette: Palette, zone: ZoneInfo) -> Text:
    if not links:
        return Text("")
    first = links[0]
    return join(
        plain(first.how),
        Text(" · ", palette.muted),
        plain(first.linked_by, palette.muted),
        Text(f" · {stamp(first.linked_at, zone)}", palette.muted),
    )


def base_cells(account: AccountInfo, palette: Palette) -> list[Text]:
    # An account Exact takes no sales entries for is dimmed; the detail line says why.
    name = plain(account.name, palette.muted if not account.usable else "")
    return [
        plain(account.code or "—", palette.strong),
        plain(account.search_code or ""),
        name,
        plain(account.vat_number or ""),
        plain(account.city or ""),
    ]


def detail_text(account: AccountInfo, palette: Palette, zone: ZoneInfo) -> Text:
    """The highlighted account in full: its state and every customer linked to it."""
    head = join(
        Text(f"Exact account {account.code or '—'}  ", palette.strong),
        plain(account.name),
    )
    if account.unusable_reason:
        head.append_text(
            join(
                Text("  ·  ", palette.muted),
                Text(
                    f"{account.unusable_reason}: Exact refuses sales entries for it",
                    palette.warning,
                ),
            )
        )
    lines = [head]
    facts = [
        f"{label} {value}"
        for label, value in (
            ("search code", account.search_code),
            ("VAT", account.vat_number),
            ("city", account.city),
        )
        if value
    ]
    if facts:
        lines.append(plain("  ·  ".join(facts), palette.muted))
    if not account.links:
        lines.append(Text("No platform customer is linked to it.", style=palette.muted))
    for link in account.links:
        lines.append(
            join(
                "linked  ",
                plain(link.customer_number, palette.strong),
                " ",
                plain(link.customer_name),
                Text("  ·  how: ", palette.muted),
                plain(link.how, palette.muted),
                Text(" · ", palette.muted),
                plain(link.linked_by, palette.muted),
                Text(f" · {stamp(link.linked_at, zone)}", palette.muted),
            )
        )
    return join(*lines, separator="\n")


def suggestion_choice(suggestion: Suggestion, account: AccountInfo, palette: Palette) -> Choice:
    customer = suggestion.customer
    label = join(plain(customer.number, palette.strong), "  ", plain(customer.name))
    if customer.city:
        label.append_text(join(Text(" · ", palette.muted), plain(customer.city, palette.muted)))
    if suggestion.reasons:
        style = palette.muted if suggestion.hint_only else palette.success
        detail = join(
            Text("a hint only: " if suggestion.hint_only else "✔ matches by ", style),
            plain(", ".join(suggestion.reasons), style),
        )
    else:
        detail = Text("found by the search; no rule matches", palette.muted)
    refused = None
    if any(link.customer_id == customer.id for link in account.links):
        refused = Text("linked to this account already", palette.muted)
    elif suggestion.linked_to:
        detail.append_text(
            join(
                Text("  ·  now linked to ", palette.warning),
                plain(suggestion.linked_to, palette.warning),
            )
        )
    return Choice(customer.number, label, detail, refused)


def _can_link(screen: AccountsScreen) -> bool:
    account = screen.selected()
    if account is None or not account.usable:
        return False
    if screen.focus_on is not None:
        linked = screen.focus_on.linked
        return linked is None or linked.id != account.id
    return True


def _can_unlink(screen: AccountsScreen) -> bool:
    account = screen.selected()
    return account is not None and bool(account.links)


def _narrowed(screen: AccountsScreen) -> bool:
    return screen.focus_on is not None or bool(screen.query_one(ScopeBar).scope.text)


ACCOUNT_ACTIONS: tuple[Action[AccountsScreen], ...] = (
    Action(
        "accounts.link",
        "enter",
        "Link…",
        "Link a platform customer to the selected account (suggestions say why they match)",
        run=lambda screen: screen.link_selected(),
        writes="link_customer",
        applies=_can_link,
        when="on an account Exact takes sales entries for",
    ),
    Action(
        "accounts.unlink",
        "u",
        "Unlink",
        "Unlink a customer from the selected account (asks first)",
        run=lambda screen: screen.unlink_selected(),
        writes="unlink_customer",
        applies=_can_unlink,
        when="on an account a customer is linked to",
    ),
    Action(
        "accounts.filter",
        "slash",
        "Filter",
        "Search accounts by code, name or VAT number; a platform customer number shows the "
        "accounts that may be that customer's",
        run=lambda screen: screen.action_search(),
    ),
    Action(
        "accounts.back",
        "escape",
        "All accounts",
        "Back to every account of the division",
        run=lambda screen: screen.back(),
        applies=_narrowed,
        when="with a search or a customer's candidates shown",
        palette=False,
        tight=True,
    ),
)


class AccountsScreen(AdminScreen):
    """Exact accounts (the Exact Accounts Overview)."""

    TITLE = "Exact accounts"
    AUTO_FOCUS = "#accounts"
    READS = frozenset({"read the accounts", "read the candidates"})
    JUMPS = frozenset({BlockerKind.CUSTOMER})
    ACTIONS = ACCOUNT_ACTIONS
    BINDINGS = bindings(ACCOUNT_ACTIONS)

    def __init__(self) -> None:
        super().__init__()
        self.accounts: list[AccountInfo] = []
        self.focus_on: CustomerFocus | None = None
        self._focus_number: str | None = None
        self._reasons: dict[str, tuple[tuple[str, ...], bool]] = {}
        self._next: AccountCursor | None = None
        self._loading_more = False
        self._counts: AccountCounts | None = None
        self._counted: int | None = None
        self._columns = "accounts"

    def compose(self) -> ComposeResult:
        yield ConsoleHeader(self.TITLE)
        yield ScopeBar(placeholder="customer number, or account code, name or VAT number")
        yield Static("Reading the store…", id="accounts-summary", classes="summary")
        yield FitTable(ACCOUNT_COLUMNS, id="accounts")
        yield Static("", id="account-detail")
        yield FlashLine()
        yield ConsoleFooter()

    # ------------------------------------------------------------ reading

    def _set_columns(self, mode: str) -> None:
        if self._columns != mode:
            self._columns = mode
            table = self.query_one("#accounts", FitTable)
            table.set_columns(FOCUS_COLUMNS if mode == "focus" else ACCOUNT_COLUMNS)

    def reload(self, *, keep_rows: bool = False) -> None:
        division = self.division
        if division is None:
            self.query_one("#accounts-summary", Static).update(
                Text("No divisions imported yet: connect, then Retrieve data.", self.palette.muted)
            )
            return
        services = self.services
        if self._focus_number is not None:
            number = self._focus_number
            self.read(
                "read the candidates",
                lambda: services.customer_focus(division, number),
                self._show_focus,
            )
            return
        text = self.query_one(ScopeBar).scope.text or None
        self._loading_more = False
        limit = max(PAGE, len(self.accounts)) if keep_rows else PAGE

        def search() -> CustomerFocus | AccountPage:
            # A platform customer's number shows the accounts that may be theirs.
            focus = services.customer_focus(division, text) if text else None
            return focus or services.account_page(division, text, limit=limit)

        self.read("read the accounts", search, self._found)
        if text is None or self._counts is None or self._counted != division:
            # A search does not change how many accounts the division has: count only on a
            # new division or a full reload, so a search redraws the screen once.
            self._counted = division
            self.read(
                "count the accounts", lambda: services.account_counts(division), self._counted_now
            )

    def store_changed(self, before: ChangeMark, after: ChangeMark) -> None:
        # Links change with an operator's action, an export (a match or a new account) or an
        # import; new jobs alone change nothing here. The rows read so far are read again.
        if (after.audit, after.events, after.imports) != (
            before.audit,
            before.events,
            before.imports,
        ):
            self.reload(keep_rows=True)

    def _found(self, found: CustomerFocus | AccountPage) -> None:
        if isinstance(found, CustomerFocus):
            self._show_focus(found)
        else:
            self._show_page(found)

    def _counted_now(self, counts: AccountCounts) -> None:
        self._counts = counts
        self._show_summary()

    def _more(self) -> None:
        division, after = self.division, self._next
        if division is None or after is None or self._loading_more or self.focus_on is not None:
            return
        self._loading_more = True
        text = self.query_one(ScopeBar).scope.text or None
        services = self.services
        self.read(
            "read more accounts",
            lambda: services.account_page(division, text, after=after, limit=PAGE),
            self._append,
            done=self._more_read,
        )

    def _more_read(self) -> None:
        self._loading_more = False

    def _cells(self, account: AccountInfo) -> list[Text]:
        palette, zone = self.palette, self.services.timezone
        cells = base_cells(account, palette)
        if self._columns == "focus":
            reasons, hint = self._reasons.get(account.id, ((), False))
            style = palette.muted if hint else palette.success
            cells.append(plain(", ".join(reasons) or "linked now", style))
            cells.append(link_text(account.links, palette))
        else:
            cells.append(link_text(account.links, palette))
            cells.append(how_text(account.links, palette, zone))
        return cells

    def _fill(self, accounts: list[AccountInfo], *, keep: str | None = None) -> None:
        self.accounts = accounts
        index = next((i for i, a in enumerate(accounts) if a.id == keep), 0)
        self.query_one("#accounts", FitTable).fill(
            [self._cells(account) for account in accounts], cursor=index
        )
        self._show_detail()
        self._show_summary()
        self.bindings_may_change()

    def _show_page(self, page: AccountPage) -> None:
        keep = self._selected_id()
        self.focus_on = None
        self._set_columns("accounts")
        self._next = page.next_after
        self._fill(page.accounts, keep=keep)

    def _append(self, page: AccountPage) -> None:
        if self.focus_on is not None:
            return
        known = {account.id for account in self.accounts}
        fresh = [account for account in page.accounts if account.id not in known]
        self._next = page.next_after
        if fresh:
            self.query_one("#accounts", FitTable).append([self._cells(a) for a in fresh])
            self.accounts.extend(fresh)

    def _show_focus(self, focus: CustomerFocus | None) -> None:
        if focus is None:
            self._focus_number = None
            self.console.say("That customer is no longer in the store.", severity="warning")
            self.reload()
            return
        keep = self._selected_id()
        self.focus_on = focus
        self._set_columns("focus")
        self._reasons = {c.account.id: (c.reasons, c.hint_only) for c in focus.candidates}
        accounts = [c.account for c in focus.candidates]
        if focus.linked is not None and focus.linked.id not in self._reasons:
            accounts.insert(0, focus.linked)
        self._fill(accounts, keep=keep)
        if self._focus_number is not None:
            # From a jump: the candidates take the keys at once. From a search, the search
            # keeps them until the operator leaves it.
            self.query_one("#accounts", FitTable).focus()

    def _show_summary(self) -> None:
        palette = self.palette
        summary = self.query_one("#accounts-summary", Static)
        focus = self.focus_on
        if focus is None:
            counts = self._counts
            parts: list[Text | str] = [Text(f"Division {self.division}", palette.strong)]
            if counts is not None:
                parts.append(f"{counted(counts.accounts, 'Exact account')}")
                parts.append(f"{counts.linked:,} linked to a platform customer")
            if self.query_one(ScopeBar).scope.text:
                parts.append(f"{len(self.accounts):,}{'+' if self._next else ''} match")
            summary.update(join(*parts, separator="  ·  "))
            return
        customer = focus.customer
        head = join(
            Text("Customer ", palette.strong),
            plain(customer.number, palette.strong),
            " ",
            plain(customer.name),
            join(Text("  VAT ", palette.muted), plain(customer.vat_number))
            if customer.vat_number
            else "",
            f"  in division {focus.division}",
        )
        lines = [head]
        if focus.blocked or focus.cause:
            lines.append(
                join(
                    Text(
                        f"⚠ {counted(focus.blocked, 'document')} "
                        f"{'waits' if focus.blocked == 1 else 'wait'}: ",
                        palette.warning,
                    ),
                    plain(focus.cause or "", palette.warning),
                )
            )
        if focus.linked is not None:
            lines.append(join("linked now to ", account_label(focus.linked, palette)))
        if focus.candidates:
            lines.append(
                Text(
                    "Choose the account that is theirs and press enter to link it · esc: all "
                    "accounts",
                    palette.muted,
                )
            )
        else:
            lines.append(
                Text(
                    "No Exact account matches by VAT number, code, search code or name · "
                    "esc: all accounts, to search",
                    palette.muted,
                )
            )
        summary.update(join(*lines, separator="\n"))

    # ------------------------------------------------------------ selection

    def _selected_id(self) -> str | None:
        account = self.selected()
        return account.id if account else None

    def selected(self) -> AccountInfo | None:
        table = self.query_one("#accounts", FitTable)
        if not 0 <= table.cursor_row < len(self.accounts):
            return None
        return self.accounts[table.cursor_row]

    def _show_detail(self) -> None:
        account = self.selected()
        detail = self.query_one("#account-detail", Static)
        if account is None:
            detail.update(Text("No Exact account matches.", style=self.palette.muted))
            return
        detail.update(detail_text(account, self.palette, self.services.timezone))

    @on(DataTable.RowHighlighted, "#accounts")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()
        self.bindings_may_change()
        table = self.query_one("#accounts", FitTable)
        if table.cursor_row >= table.row_count - NEAR_END:
            self._more()

    # ------------------------------------------------------------ scope

    @on(ScopeBar.Changed)
    def _scope_changed(self, event: ScopeBar.Changed) -> None:
        if event.scope.text:
            self._focus_number = None
        self.scope_division(event.scope.division)
        self.reload()

    @on(ScopeBar.Left)
    def _left_bar(self) -> None:
        self.with_rows(self.query_one("#accounts", FitTable).focus)

    def action_search(self) -> None:
        self.query_one(ScopeBar).focus_text()

    def back(self) -> None:
        bar = self.query_one(ScopeBar)
        if self._focus_number is None:
            bar.show(Scope(bar.scope.division, None, ""))
        self._focus_number = None
        self.reload()

    def apply_jump(self, blocker: Blocker) -> None:
        if blocker.customer_number is None:
            return
        self._focus_number = blocker.customer_number
        bar = self.query_one(ScopeBar)
        bar.show(Scope(bar.scope.division, None, ""))
        self.reload()

    # ------------------------------------------------------------ link and unlink

    def link_selected(self) -> None:
        account, division = self.selected(), self.division
        if account is None or division is None:
            return
        if self.focus_on is not None:
            self._link_focused(account, self.focus_on)
        else:
            self._link(account, division)

    def _link_focused(self, account: AccountInfo, focus: CustomerFocus) -> None:
        link = self.services.actions.link_customer
        if link is None:
            return
        customer, division = focus.customer, focus.division
        question = join(
            "Link customer ",
            plain(customer.number, self.palette.strong),
            " ",
            plain(customer.name),
            " to Exact account ",
            account_label(account, self.palette),
            f" in division {division}? Its documents not yet posted go to this account; "
            "posted ones stay where they are.",
        )
        number, account_id = customer.number, account.id

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.act(f"link {number}", lambda: link(number, division, account_id))

        self.app.push_screen(ConfirmScreen(question, "Link"), confirmed)

    @work(group="link", exclusive=True, exit_on_error=False)
    async def _link(self, account: AccountInfo, division: int) -> None:
        link = self.services.actions.link_customer
        if link is None:
            return
        suggestions = self.services.customer_suggestions
        palette = self.palette
        title = join(
            "Link a platform customer to ",
            account_label(account, palette),
            f"  (division {division})",
        )
        chosen = await self.app.push_screen_wait(
            PickerScreen(
                title,
                "Suggestions first, with why each one matches (VAT number, customer number = "
                "code or search code; a similar name is only a hint). Type to search every "
                "customer by number or name.",
                lambda text: [
                    suggestion_choice(s, account, palette)
                    for s in suggestions(division, account.id, text or None)
                ],
                placeholder="customer number or name",
                empty="No suggestion: type a customer number or name.",
            )
        )
        if chosen is not None:
            account_id = account.id
            self.act(f"link {chosen}", lambda: link(chosen, division, account_id))

    def unlink_selected(self) -> None:
        account, division = self.selected(), self.division
        if account is not None and division is not None and account.links:
            self._unlink(account, division)

    @work(group="link", exclusive=True, exit_on_error=False)
    async def _unlink(self, account: AccountInfo, division: int) -> None:
        unlink = self.services.actions.unlink_customer
        if unlink is None:
            return
        palette = self.palette
        links = account.links
        chosen: LinkInfo | None = links[0]
        if len(links) > 1:
            number = await self.app.push_screen_wait(
                PickerScreen(
                    join("Unlink which customer from ", account_label(account, palette), "?"),
                    "Several platform customers are linked to this account.",
                    lambda text: [
                        Choice(
                            link.customer_number,
                            join(
                                plain(link.customer_number, palette.strong),
                                "  ",
                                plain(link.customer_name),
                            ),
                            plain(f"how: {link.how} · {link.linked_by}", palette.muted),
                        )
                        for link in links
                        if text.casefold()
                        in f"{link.customer_number} {link.customer_name}".casefold()
                    ],
                )
            )
            chosen = next((link for link in links if link.customer_number == number), None)
        if chosen is None:
            return
        question = join(
            "Unlink customer ",
            plain(chosen.customer_number, palette.strong),
            " ",
            plain(chosen.customer_name),
            " from Exact account ",
            account_label(account, palette),
            f" in division {division}? Its documents not yet posted are matched again by "
            "the rules; posted ones stay where they are.",
        )
        if await self.app.push_screen_wait(ConfirmScreen(question, "Unlink")):
            number = chosen.customer_number
            self.act(f"unlink {number}", lambda: unlink(number, division))
