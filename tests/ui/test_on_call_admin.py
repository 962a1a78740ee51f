"""The admin screens as an on-call engineer meets them: a customer findable where links are
made, names whole at 80 columns, an empty store that says what to do, a connect address a
mouse can copy. At 80×24 and 120×36."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from exact_tui.domain.states import JobState
from exact_tui.services.console import ConnectFlow, ConsoleActions, ConsoleServices
from exact_tui.services.jobs import JobFilter, list_jobs
from exact_tui.store.engine import Store
from exact_tui.store.models import CustomerLink, ExportJob, SyncRequest
from exact_tui.ui.app import build_app
from exact_tui.ui.screens.accounts import AccountsScreen
from exact_tui.ui.screens.confirm import ConfirmScreen
from exact_tui.ui.screens.connect import ConnectScreen
from exact_tui.ui.screens.divisions import DivisionsScreen
from exact_tui.ui.screens.master_data import MasterDataScreen
from tests.admin_seed import AMBIGUOUS_CUSTOMER
from tests.console_seed import FrozenClock
from tests.ui.conftest import AppFactory, flat, screen_text, wait_for

SIZES = [(80, 24), (120, 36)]
pytestmark = pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x36"])


def _footer(app: Any) -> str:
    return str(screen_text(app).splitlines()[-1])


# ---------------------------------------------------------------- 4. a customer findable at `a`


async def test_a_held_customer_is_found_and_linked_from_the_accounts_screen(
    make_admin_app: AppFactory, admin_store: Store, size: tuple[int, int]
) -> None:
    app = make_admin_app()
    async with app.run_test(size=size) as pilot:
        await pilot.press("a")
        await wait_for(pilot, lambda: "6 Exact accounts" in screen_text(app))
        await pilot.press("slash", *AMBIGUOUS_CUSTOMER)
        await wait_for(pilot, lambda: f"Customer {AMBIGUOUS_CUSTOMER}" in screen_text(app))
        screen = app.screen
        assert isinstance(screen, AccountsScreen) and screen.focus_on is not None
        assert "1 document waits" in screen_text(app)
        assert {"3", "201"} <= {a.code for a in screen.accounts}
        await pilot.press("enter")  # leave the search: the candidates take the keys
        await wait_for(pilot, lambda: app.focused is screen.query_one("#accounts"))
        assert "⏎ Link…" in _footer(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert f"Link customer {AMBIGUOUS_CUSTOMER}" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: "1 job back to pending" in screen_text(app))
    with admin_store.read() as s:
        link = s.exec(select(CustomerLink).where(CustomerLink.customer_id == 3)).one()
        assert link.linked_by == "tester"
        job = s.get(ExportJob, 9)
        assert job is not None and job.state is JobState.PENDING


async def test_the_palette_finds_link_and_the_customers_waiting_for_one(
    make_admin_app: AppFactory, size: tuple[int, int]
) -> None:
    app = make_admin_app()
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: "✔ Connected" in screen_text(app))
        await pilot.press("ctrl+p", *"link")
        await wait_for(pilot, lambda: f"Link customer {AMBIGUOUS_CUSTOMER}" in screen_text(app))
        assert "Link a customer to an Exact account" in screen_text(app)
        await pilot.press("ctrl+u", *f"link customer {AMBIGUOUS_CUSTOMER}", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountsScreen))
        await wait_for(pilot, lambda: f"Customer {AMBIGUOUS_CUSTOMER}" in screen_text(app))


# ---------------------------------------------------------------- 5. the words and the states


async def test_a_held_customer_reads_as_blocked_and_ambiguous(
    make_admin_app: AppFactory, admin_store: Store, size: tuple[int, int]
) -> None:
    held = list_jobs(admin_store, JobFilter(text="ambiguous"))
    assert [job.number for job in held] == ["INV-2026-0007"]
    app = make_admin_app()
    app.log_filter = JobFilter(text="ambiguous")
    async with app.run_test(size=size) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0007" in screen_text(app))
        text = screen_text(app)
        assert "⚠ blocked" in text and "needs mapping" not in text
        assert f"customer {AMBIGUOUS_CUSTOMER} is ambiguous" in text


# ---------------------------------------------------------------- 16. names whole, candidates apart


async def test_account_names_read_whole_and_two_candidates_read_apart(
    make_admin_app: AppFactory, size: tuple[int, int]
) -> None:
    app = make_admin_app()
    async with app.run_test(size=size) as pilot:
        await pilot.press("a")
        await wait_for(pilot, lambda: "6 Exact accounts" in screen_text(app))
        rows = [line for line in screen_text(app).splitlines() if "Drukkerij" in line]
        assert any("Drukkerij Hendriks B.V. " in line for line in rows)  # 23 characters, whole
        await pilot.press("slash", *AMBIGUOUS_CUSTOMER, "enter")
        await wait_for(pilot, lambda: f"Customer {AMBIGUOUS_CUSTOMER}" in screen_text(app))
        rows = [line for line in screen_text(app).splitlines() if "Drukkerij Hendriks" in line]
        candidates = [line for line in rows if "Eindhoven" in line and "VAT number" in line]
        assert len(candidates) == 2 and candidates[0] != candidates[1]
        # The highlighted one in full: what the narrow columns leave out.
        assert "VAT NL 8544.78.372 B01" in screen_text(app)


async def test_the_connect_address_wraps_with_nothing_of_the_frame_in_it(
    make_admin_app: AppFactory, size: tuple[int, int]
) -> None:
    address = "https://start.exactonline.nl/api/oauth2/auth?" + "&".join(
        f"parameter{n}=value{n}" for n in range(12)
    )

    class Flow:
        authorize_url = address

        def finish(self, pasted: str) -> str:
            return "connected"

    flow: ConnectFlow = Flow()
    app = make_admin_app()
    app.services.actions = ConsoleActions(connect=lambda: flow)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: "c Reconnect" in _footer(app))
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConnectScreen))
        await wait_for(pilot, lambda: "parameter0" in screen_text(app))
        lines = screen_text(app).splitlines()
        start = next(i for i, line in enumerate(lines) if "https://start.exactonline.nl" in line)
        end = next(i for i, line in enumerate(lines) if "parameter11=value11" in line)
        wrapped = lines[start : end + 1]
        assert len(wrapped) >= 2 or size[0] > 120
        # Copied with the mouse, the lines join into the address: no frame, no indent.
        assert "".join(line.strip() for line in wrapped) == address
        assert not any("│" in line or "║" in line for line in wrapped)


# ---------------------------------------------------------------- 14. an empty store


async def test_an_empty_store_says_what_to_do_and_offers_no_import(
    store: Store, size: tuple[int, int]
) -> None:
    from exact_tui.services.audit import Actor
    from exact_tui.services.connection import connect_settings
    from exact_tui.services.console import operator_actions

    actions = operator_actions(
        store,
        Actor("tester", "tui"),
        open_secrets=lambda: pytest.fail("nothing opens the secret store here"),
        connect_settings=connect_settings(
            region="nl", base_url="", client_id="x", redirect_uri="http://localhost:8765/callback"
        ),
    )
    services = ConsoleServices(
        store, timezone="Europe/Amsterdam", clock=FrozenClock(), actions=actions
    )
    app = build_app(services, poll_seconds=0.05, tail_seconds=0.05)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: "not connected yet" in screen_text(app))
        assert "Retrieve data" not in _footer(app) and "c Connect" in _footer(app)
        await pilot.press("r")
        await pilot.press("l")
        await wait_for(pilot, lambda: "No events yet" in screen_text(app))
        assert "No events match" not in screen_text(app)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DivisionsScreen))
        await wait_for(pilot, lambda: "no bank accounts yet" in flat(app))
        assert "No divisions imported yet" in flat(app)
        assert "every bank account bound" not in flat(app) and "0 divisions" not in flat(app)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, MasterDataScreen))
        await wait_for(pilot, lambda: "no division has been imported yet" in flat(app))
        assert "division None" not in screen_text(app)
    with store.read() as s:
        assert s.exec(select(SyncRequest)).first() is None
