"""Exact accounts (the "Exact Accounts Overview"): a division's accounts with the platform
customer linked to each and how the link was made; link a customer (with suggestions and why
each one matches) or unlink one. A changed link moves documents not yet posted; posted ones
stay where they are in Exact.

From a job held for its customer (the Export log's jump), the screen shows that customer's
candidate accounts instead, strongest first, and enter links the customer to one.
"""

from __future__ import annotations

from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

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
from exact_tui.ui.format import plural, stamp
from exact_tui.ui.render import Palette, join, plain
from exact_tui.ui.screens.admin_base import AdminScreen
from exact_tui.ui.screens.confirm import ConfirmScreen
from exact_tui.ui.screens.picker import Choice, PickerScreen
from exact_tui.ui.widgets.fit_table import Col, FitTable
from exact_tui.ui.widgets.footer import ConsoleFooter
from exact_tui.ui.widgets.header import ConsoleHeader
from exact_tui.ui.widgets.scope_bar import Scope, ScopeBar
from exact_tui.ui.workers import fetch

PAGE = 100
#: Fetch the next page when the cursor comes this close to the last row.
NEAR_END = 10
#: Search code, VAT number and city show from 100 columns; narrower, the detail line has them.
WIDE = 100
BASE_COLUMNS = (
    Col("Code", 6),
    Col("Search code", 11, needs=WIDE),
    Col("Name", 16, flex=True),
    Col("VAT number", 15, needs=WIDE),
    Col("City", 11, needs=WIDE),
)
ACCOUNT_COLUMNS = (
    *BASE_COLUMNS,
    Col("Linked customer", 16, flex=True),
    Col("How linked", 14, flex=True),
)
FOCUS_COLUMNS = (
    *BASE_COLUMNS,
    Col("Why it may be theirs", 18, flex=True),
    Col("Linked customer", 14, flex=True),
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


class AccountsScreen(AdminScreen):
    """Exact accounts (the Exact Accounts Overview)."""

    TITLE = "Exact accounts"
    AUTO_FOCUS = "#accounts"
    READS = frozenset({"read the accounts", "read the candidates"})
    JUMPS = frozenset({BlockerKind.CUSTOMER})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "link", "Link…", id="accounts.link"),
        Binding("u", "unlink", "Unlink", id="accounts.unlink"),
        Binding("slash", "search", "Filter", id="accounts.filter"),
        Binding("escape", "back", "All accounts", id="accounts.back"),
    ]
    WRITE_ACTIONS: ClassVar[dict[str, str]] = {
        "link": "link_customer",
        "unlink": "unlink_customer",
    }

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
        yield ScopeBar(placeholder="code, search code, name, VAT number or linked customer")
        yield Static("Reading the store…", id="accounts-summary", classes="summary")
        yield FitTable(ACCOUNT_COLUMNS, id="accounts")
        yield Static("", id="account-detail")
        yield Static("", id="outcome")
        yield ConsoleFooter()

    def on_mount(self) -> None:
        self.show_outcome(Text(""))

    # ------------------------------------------------------------ reading

    def _set_columns(self, mode: str) -> None:
        if self._columns != mode:
            self._columns = mode
            table = self.query_one("#accounts", FitTable)
            table.set_columns(FOCUS_COLUMNS if mode == "focus" else ACCOUNT_COLUMNS)

    def reload(self) -> None:
        division = self.division
        if division is None:
            self.query_one("#accounts-summary", Static).update(
                Text("No divisions imported yet: connect, then Retrieve data.", self.palette.muted)
            )
            return
        services = self.services
        if self._focus_number is not None:
            number = self._focus_number
            fetch(self, "read the candidates", lambda: services.customer_focus(division, number))
            return
        text = self.query_one(ScopeBar).scope.text or None
        self._loading_more = False
        fetch(self, "read the accounts", lambda: services.account_page(division, text, limit=PAGE))
        if text is None or self._counts is None or self._counted != division:
            # A search does not change how many accounts the division has: count only on a
            # new division or a full reload, so a search redraws the screen once.
            self._counted = division
            fetch(self, "count the accounts", lambda: services.account_counts(division))

    def _more(self) -> None:
        division, after = self.division, self._next
        if division is None or after is None or self._loading_more or self.focus_on is not None:
            return
        self._loading_more = True
        text = self.query_one(ScopeBar).scope.text or None
        services = self.services
        fetch(
            self,
            "read more accounts",
            lambda: services.account_page(division, text, after=after, limit=PAGE),
        )

    def fetched_here(self, name: str, result: Any) -> None:
        if name == "read the accounts":
            self._show_page(result)
        elif name == "read more accounts":
            self._append(result)
        elif name == "count the accounts":
            self._counts = result
            self._show_summary()
        elif name == "read the candidates":
            self._show_focus(result)

    def settled(self, name: str) -> None:
        if name == "read more accounts":
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
            self.notify("That customer is no longer in the store.", severity="warning")
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
        self.query_one("#accounts", FitTable).focus()

    def _show_summary(self) -> None:
        palette = self.palette
        summary = self.query_one("#accounts-summary", Static)
        focus = self.focus_on
        if focus is None:
            counts = self._counts
            parts: list[Text | str] = [Text(f"Division {self.division}", palette.strong)]
            if counts is not None:
                parts.append(f"{plural(counts.accounts, 'Exact account')}")
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
                        f"⚠ {plural(focus.blocked, 'document')} "
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return self.focus_on is not None or bool(self.query_one(ScopeBar).scope.text)
        return super().check_action(action, parameters)

    def action_applies(self, action: str) -> bool:
        account = self.selected()
        if account is None:
            return False
        if action == "link":
            if not account.usable:
                return False
            if self.focus_on is not None:
                linked = self.focus_on.linked
                return linked is None or linked.id != account.id
            return True
        if action == "unlink":
            return bool(account.links)
        return True

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

    def action_back(self) -> None:
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

    def action_link(self) -> None:
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

    def action_unlink(self) -> None:
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
