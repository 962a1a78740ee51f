"""Pilot tests of the admin screens: real keys, the operator intents behind them, and what the
store holds afterwards."""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from textual.widgets import DataTable

from exact_tui.domain.states import JobState, LinkMethod, MappingKind
from exact_tui.services.admin.masterdata import MasterList
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    Audit,
    BankAccountBinding,
    CustomerLink,
    DivisionBinding,
    DivisionSettings,
    ExportJob,
    GLAccount,
    Mapping,
)
from exact_tui.store.scoping import tenant_key
from exact_tui.ui.app import ConsoleApp
from exact_tui.ui.screens.accounts import AccountsScreen
from exact_tui.ui.screens.confirm import ConfirmScreen
from exact_tui.ui.screens.divisions import DivisionsScreen
from exact_tui.ui.screens.export_log import ExportLogScreen
from exact_tui.ui.screens.help import HelpScreen
from exact_tui.ui.screens.job_detail import JobDetailScreen
from exact_tui.ui.screens.mappings import MappingsScreen
from exact_tui.ui.screens.master_data import MasterDataScreen
from exact_tui.ui.screens.picker import PickerScreen
from tests.admin_seed import DIVISION, UNBOUND_IBAN
from tests.ui.conftest import AppFactory, screen_text, wait_for

SIZE = (120, 36)


def _state(store: Store, job_id: int) -> JobState:
    with store.read() as s:
        job = s.get(ExportJob, job_id)
        assert job is not None
        return job.state


def _footer(app: ConsoleApp) -> str:
    return screen_text(app).splitlines()[-1]


async def _picker(pilot: Any, title: str) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
    await wait_for(pilot, lambda: title in screen_text(app))
    picker = app.screen
    assert isinstance(picker, PickerScreen)
    await wait_for(pilot, lambda: bool(picker.takeable) and app.focused is not None)


def _offered(app: ConsoleApp) -> list[str]:
    picker = app.screen
    assert isinstance(picker, PickerScreen)
    return picker.takeable


async def _move(pilot: Any, table: DataTable[Any], row: int) -> None:
    """The cursor to `row`, with j and k."""
    step = "j" if row > table.cursor_row else "k"
    await pilot.press(*[step] * abs(row - table.cursor_row))


async def _open(pilot: Any, key: str, screen: type, ready: str) -> None:
    app = pilot.app
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, screen) and ready in screen_text(app))


# ---------------------------------------------------------------- divisions & bank accounts


async def test_divisions_refuse_a_second_organization_and_bind_a_bank_account(
    make_admin_app: AppFactory, admin_store: Store
) -> None:
    app = make_admin_app()
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "d", DivisionsScreen, "⚠ 1 not bound, holding up 1 document")
        assert "⏎ Bind…" in _footer(app)
        # A division bound to one organization is refused for another, naming the first.
        await pilot.press("shift+tab")  # from the bank accounts to the divisions
        await wait_for(pilot, lambda: "Bind to organization…" in _footer(app))
        await pilot.press("enter")
        await _picker(pilot, "Bind division 100001")
        await pilot.press(*"gent", "enter")
        await wait_for(pilot, lambda: "Refused: " in screen_text(app))
        assert "division 100001 is already bound to ORG (Coworking Amsterdam)" in screen_text(app)
        # The unbound bank account: a division, then one of its bank journals.
        await pilot.press("tab")
        await wait_for(pilot, lambda: "⏎ Bind…" in _footer(app))
        await pilot.press("enter")
        await _picker(pilot, "step 1 of 2: the division")
        assert "⛔ no access: NoDivisionAccess" in screen_text(app)
        assert _offered(app) == ["100001"]  # 100002 refuses access
        await pilot.press("enter")
        await _picker(pilot, "step 2 of 2: a bank journal")
        assert "this bank account" in screen_text(app)
        assert _offered(app) == ["21", "20"]  # not 22 (blocked) nor 70 or 90 (no banks)
        await pilot.press("enter")
        # The message comes at once, the screen's new reading a moment later.
        await wait_for(pilot, lambda: "every bank account bound" in screen_text(app))
        assert "1 job back to pending" in screen_text(app)
    with admin_store.read() as s:
        owner = s.get(DivisionBinding, DIVISION)
        assert owner is not None and owner.organization_id == 1
        refused = s.exec(select(Audit).where(Audit.target == "100001 → ORG-BE")).one()
        assert refused.result.startswith("refused") and refused.actor == "tester"
        binding = s.get(BankAccountBinding, 1)
        assert binding is not None
        assert (binding.division, binding.journal_code, binding.bound_by) == (
            DIVISION,
            "21",
            "tester",
        )
    assert _state(admin_store, 8) is JobState.PENDING


# ---------------------------------------------------------------- mappings


async def test_mappings_offer_valid_targets_refuse_a_stale_one_and_set_settings(
    make_admin_app: AppFactory, admin_store: Store
) -> None:
    app = make_admin_app()
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "m", MappingsScreen, "⚠ 1 code missing, 1 stale")
        screen = app.screen
        assert isinstance(screen, MappingsScreen)
        selected = screen.selected_mapping()  # the missing one comes first
        assert selected is not None and selected.platform_code == "21-EU"
        await pilot.press("enter")
        await _picker(pilot, "Map VAT code 21-EU in division 100001")
        assert "Diensten EU" in screen_text(app)
        assert _offered(app) == ["1", "2", "7"]  # not 8 (purchase) nor 9 (blocked)
        await pilot.press(*"dien", "enter")
        await wait_for(pilot, lambda: "2 jobs back to pending" in screen_text(app))
        with admin_store.read() as s:
            row = s.exec(select(Mapping).where(Mapping.platform_code == "21-EU")).one()
            assert (row.kind, row.exact_code, row.updated_by) == (MappingKind.VAT, "7", "tester")
        assert _state(admin_store, 2) is JobState.PENDING

        # A target that turned invalid while the picker was open is refused by the intent.
        assert screen.view is not None
        target = next(i for i, r in enumerate(screen.view.rows) if r.platform_code == "8000")
        await _move(pilot, screen.query_one("#mappings", DataTable), target)
        await pilot.press("enter")  # GL 8000, mapped to the blocked 8090
        await _picker(pilot, "Map GL 8000 in division 100001")
        assert _offered(app) == ["8000", "8010"]  # 8090 is blocked, 1300 no revenue
        await pilot.press("down")  # 8010
        with admin_store.write() as s:  # meanwhile, an import finds it blocked in Exact
            gl = s.exec(select(GLAccount).where(GLAccount.code == "8010")).one()
            gl.is_blocked = True
            s.add(gl)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Refused: " in screen_text(app))
        assert "GL 8010: blocked in Exact" in screen_text(app)
        with admin_store.read() as s:
            row = s.exec(select(Mapping).where(Mapping.platform_code == "8000")).one()
            assert row.exact_code == "8090"

        # A division setting, from the imported GL accounts.
        await pilot.press("tab")
        await wait_for(pilot, lambda: "⏎ Set…" in _footer(app))
        await pilot.press("j", "j", "j", "j", "enter")
        await _picker(pilot, "The collection-costs GL account of division 100001")
        assert "8090" not in _offered(app) and "1300" in _offered(app)  # blocked; any type
        await pilot.press(*"inca", "enter")
        await wait_for(pilot, lambda: "collection-costs GL account 8900" in screen_text(app))
    with admin_store.read() as s:
        settings = s.get(DivisionSettings, tenant_key(s, DIVISION))
        assert settings is not None and settings.collection_costs_gl == "8900"


# ---------------------------------------------------------------- Exact accounts


async def test_linking_from_suggestions_then_unlinking_after_confirm(
    make_admin_app: AppFactory, admin_store: Store
) -> None:
    app = make_admin_app()
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "a", AccountsScreen, "6 Exact accounts")
        screen = app.screen
        assert isinstance(screen, AccountsScreen)
        assert "Link" not in _footer(app)  # the first row is a prospect
        assert "not a customer in Exact (status prospect)" in screen_text(app)
        index = next(i for i, a in enumerate(screen.accounts) if a.code == "3")
        await pilot.press(*["j"] * index)
        await wait_for(pilot, lambda: "⏎ Link…" in _footer(app))
        await pilot.press("enter")
        await _picker(pilot, "Link a platform customer to 3 Drukkerij Hendriks B.V.")
        assert "✔ matches by VAT number" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "1 job back to pending" in screen_text(app))
        with admin_store.read() as s:
            link = s.exec(select(CustomerLink).where(CustomerLink.customer_id == 3)).one()
            assert link.exact_account_id.endswith("000000000003")
            assert (link.method, link.linked_by) == (LinkMethod.MANUAL, "tester")
        assert _state(admin_store, 9) is JobState.PENDING
        await wait_for(pilot, lambda: "how: linked by hand · tester" in screen_text(app))
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Unlink customer C0003" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: "unlinked in division 100001" in screen_text(app))
    with admin_store.read() as s:
        assert s.exec(select(CustomerLink).where(CustomerLink.customer_id == 3)).first() is None


async def test_the_account_search_reads_once_per_text_and_hands_the_focus_to_the_rows(
    make_admin_app: AppFactory,
) -> None:
    app = make_admin_app()
    reads: list[str | None] = []
    page = app.services.account_page

    def counted(division: int, text: str | None, **kwargs: Any) -> Any:
        reads.append(text)
        return page(division, text, **kwargs)

    app.services.account_page = counted  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "a", AccountsScreen, "6 Exact accounts")
        screen = app.screen
        assert isinstance(screen, AccountsScreen)
        table = screen.query_one("#accounts", DataTable)
        reads.clear()
        # Typing, then a pause: the list follows the text by itself.
        await pilot.press("slash", *"hendriks")
        await wait_for(pilot, lambda: reads[-1:] == ["hendriks"] and len(screen.accounts) == 2)
        assert app.focused is not table
        before = len(reads)
        # Enter after that only leaves the bar: nothing is read again.
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.focused is table)
        await pilot.pause(0.4)
        assert len(reads) == before
        # Enter straight after typing reads at once, and the table takes the focus with the rows.
        await pilot.press("slash", "ctrl+u", *"drukkerij", "enter")
        await wait_for(pilot, lambda: app.focused is table)
        assert all("Drukkerij" in account.name for account in screen.accounts)
        assert screen.accounts and reads[-1] == "drukkerij" and reads.count("drukkerij") == 1


# ---------------------------------------------------------------- from the Export log


async def _to_log_row(pilot: Any, number: str) -> None:
    """Move the log's cursor to the newest event of document `number`."""
    screen = pilot.app.screen
    assert isinstance(screen, ExportLogScreen)
    row = next(i for i, event in enumerate(screen._events) if event.number == number)
    await _move(pilot, screen.query_one("#events", DataTable), row)


async def test_the_log_jumps_to_what_blocks_a_job_and_it_is_fixed_there(
    make_admin_app: AppFactory, admin_store: Store
) -> None:
    app = make_admin_app()
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "l", ExportLogScreen, "WO-2026-0001")
        await _to_log_row(pilot, "PAY-2026-0001")
        await wait_for(pilot, lambda: "Go to blocker" not in _footer(app))  # posted
        await _to_log_row(pilot, "WO-2026-0001")
        await wait_for(pilot, lambda: "b Go to blocker" in _footer(app))
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, DivisionsScreen))
        divisions = app.screen
        assert isinstance(divisions, DivisionsScreen)
        await wait_for(
            pilot,
            lambda: getattr(divisions.selected_account(), "iban", None) == UNBOUND_IBAN,
        )
        assert divisions.focused is not None and divisions.focused.id == "bank-accounts"

        await _open(pilot, "l", ExportLogScreen, "INV-2026-0007")
        await _to_log_row(pilot, "INV-2026-0007")
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountsScreen))
        await wait_for(pilot, lambda: "Customer C0003" in screen_text(app))
        text = screen_text(app)
        assert "2 Exact accounts match by VAT number" in text
        assert "Why it may be theirs" in text
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: "linked now to" in screen_text(app))
        assert _state(admin_store, 9) is JobState.PENDING

        await _open(pilot, "l", ExportLogScreen, "customer C0003 linked to account 201")
        await _to_log_row(pilot, "INV-2026-0003")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        await wait_for(pilot, lambda: "b Go to blocker" in _footer(app))
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingsScreen))
        mappings = app.screen
        assert isinstance(mappings, MappingsScreen)
        await wait_for(
            pilot,
            lambda: getattr(mappings.selected_mapping(), "platform_code", None) == "21-EU",
        )
        await pilot.press("enter")
        await _picker(pilot, "Map VAT code 21-EU")


async def test_a_focus_on_a_linked_customer_shows_the_link_and_escape_leaves_it(
    make_admin_app: AppFactory, admin_store: Store
) -> None:
    with admin_store.write() as s:
        job = s.get(ExportJob, 9)
        assert job is not None
        job.missing = [{"kind": "customer", "code": "C0002", "detail": "held"}]
        s.add(job)
    app = make_admin_app()
    async with app.run_test(size=SIZE) as pilot:
        app.go_to(_blocker_for(app, 9))
        # The focus bar is drawn at once, the link it reads a moment later.
        await wait_for(pilot, lambda: "linked now to 2 De Vries & Zn" in screen_text(app))
        assert "Customer C0002" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: "6 Exact accounts" in screen_text(app))
        assert "Customer C0002" not in screen_text(app)
    assert _state(admin_store, 9) is JobState.NEEDS_MAPPING


def _blocker_for(app: ConsoleApp, job_id: int) -> Any:
    blocker = app.services.blocker(job_id)
    assert blocker is not None
    return blocker


# ---------------------------------------------------------------- master data


# ---------------------------------------------------------------- conventions


async def test_read_only_offers_no_admin_write_key(
    make_admin_app: AppFactory, admin_store: Store
) -> None:
    app = make_admin_app(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        for key, screen_type, ready in (
            ("d", DivisionsScreen, "not bound, holding up"),
            ("m", MappingsScreen, "⚠ missing"),
            ("a", AccountsScreen, "6 Exact accounts"),
        ):
            await _open(pilot, key, screen_type, ready)
            screen = app.screen
            actions = {active.binding.action for active in screen.active_bindings.values()}
            writes = {action.action for action in screen_type.ACTIONS if action.writes}
            assert writes and not actions & writes
            await pilot.press("enter", "u")
            await pilot.pause(0.1)
            assert app.screen is screen
    with admin_store.read() as s:
        assert s.exec(select(Audit)).first() is None


async def test_help_palette_and_master_data(make_admin_app: AppFactory) -> None:
    app = make_admin_app()
    async with app.run_test(size=SIZE) as pilot:
        await _open(pilot, "m", MappingsScreen, "⚠ missing")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = screen_text(app)
        assert "Keys on Mappings" in text and "Choose the Exact target" in text
        assert "Divisions & bank accounts" in text and "Master data" in text
        assert "mappings.choose" not in text  # ids are for keymaps, not for reading
        await pilot.press("escape")
        await pilot.press("ctrl+p", *"Master data: VAT")
        await wait_for(pilot, lambda: "Master data: VAT codes" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "VAT codes of division 100001" in screen_text(app))
        assert isinstance(app.screen, MasterDataScreen)
        assert "imported 3 min ago (10:57:00)" in screen_text(app)
        await pilot.press("slash", *"inkoop", "enter")
        await wait_for(
            pilot,
            lambda: "Diensten EU" not in screen_text(app) and "Inkoop hoog" in screen_text(app),
        )
        assert "purchase" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: "Diensten EU" in screen_text(app))
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: "GL accounts of division 100001" in screen_text(app))
        assert app.master_list is MasterList.GL_ACCOUNTS
        assert "Omzet flexplekken" in screen_text(app)
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: "Journals of division 100001" in screen_text(app))
        assert "Rabobank" in screen_text(app)
