"""Failures by cause across tenants on the Fleet: the causes with their counts and since when,
a cause's tenants, and the retry of a cause in every tenant, counted and confirmed; afterwards
every view agrees with the store (docs/tenants.md §Failures by cause, every tenant)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from exact_tui.domain.states import JobState
from exact_tui.services.audit import Actor
from exact_tui.services.fleet import FleetServices, fleet_services
from exact_tui.services.tenants import fleet_rows
from exact_tui.store.engine import Store
from exact_tui.store.models import Audit, ExportJob, Tenant
from exact_tui.ui.fleet import FleetApp
from exact_tui.ui.screens.fleet_failures import FleetFailuresScreen
from tests.console_seed import NOW, FrozenClock
from tests.fleet_seed import REFUSAL, seed_fleet
from tests.ui.conftest import flat, hold_cursors, screen_text, wait_for

SIZES = [(80, 24), (120, 36)]
#: OUTAGE_SINCE in Amsterdam's time, the business time zone of these tests.
SINCE = "08:10"


@pytest.fixture
def fleet(store: Store) -> Store:
    seed_fleet(store)
    return store


def _services(store: Store, *, read_only: bool = False) -> FleetServices:
    return fleet_services(
        store,
        Actor("tester", "tui"),
        read_only=read_only,
        clock=FrozenClock(),
        timezone="Europe/Amsterdam",
    )


def _app(store: Store, *, read_only: bool = False) -> FleetApp:
    services = _services(store, read_only=read_only)
    return FleetApp(
        services.rows,
        now=lambda: NOW,
        poll_seconds=3600,
        services=services,
        read_only=read_only,
    )


def _states(store: Store) -> dict[tuple[str, str], JobState]:
    with store.all_tenants().read() as session:
        codes = {t.id: t.code for t in session.exec(select(Tenant))}
        return {
            (codes[j.tenant_id], j.document_number): j.state
            for j in session.exec(select(ExportJob))
        }


async def _open_failures(pilot: Any) -> None:
    await wait_for(pilot, lambda: "acme" in screen_text(pilot.app))
    await pilot.press("g")
    await wait_for(pilot, lambda: f"since {SINCE}: 6 jobs in 3 tenants" in flat(pilot.app))


@pytest.mark.parametrize("size", SIZES)
async def test_causes_then_a_causes_tenants(fleet: Store, size: tuple[int, int]) -> None:
    app = _app(fleet)
    async with app.run_test(size=size) as pilot:
        await _open_failures(pilot)
        text = screen_text(app)
        assert "503" in text and "Retry cause" in text
        assert REFUSAL[:20] in text
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Tenants of" in flat(app) and "corvo" in screen_text(app))
        rows = [line for line in screen_text(app).splitlines() if "acme" in line or "bolt" in line]
        assert len(rows) == 2 and " 3 " in rows[0] and "acme" in rows[0] and " 2 " in rows[1]
        assert "1 failed" in screen_text(app) and "2 retry wait" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: "Tenants of" not in flat(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, FleetFailuresScreen))


async def test_enter_on_a_causes_tenant_opens_it(fleet: Store) -> None:
    app = _app(fleet)
    async with app.run_test(size=(120, 36)) as pilot:
        await _open_failures(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Tenants of" in flat(app) and "corvo" in screen_text(app))
        await pilot.press("down", "enter")
        await pilot.pause()
    assert app.return_value == "bolt"


@pytest.mark.parametrize("size", SIZES)
async def test_retry_by_cause_asks_with_the_counts_then_retries_in_each_tenant(
    fleet: Store, size: tuple[int, int]
) -> None:
    before = _states(fleet)
    app = _app(fleet)
    async with app.run_test(size=size) as pilot:
        await _open_failures(pilot)
        await pilot.press("R")
        await wait_for(pilot, lambda: "Retry 6 jobs in 3 tenants?" in flat(app))
        question = flat(app)
        assert "2 failed jobs: sent again" in question
        assert "4 waiting jobs: sent now instead of after the wait" in question
        assert _states(fleet) == before  # asking changes nothing
        await pilot.press("y")
        await wait_for(pilot, lambda: "6 jobs in 3 tenants retried" in flat(app))
        # The view agrees: the outage is no longer a cause of anything.
        await wait_for(
            pilot, lambda: "503" not in (text := screen_text(app)) and REFUSAL[:20] in text
        )
    after = _states(fleet)
    for key, state in before.items():
        outage = key[0] in ("acme", "bolt", "corvo") and state in (
            JobState.RETRY_WAIT,
            JobState.FAILED,
        )
        if outage and key != ("acme", "INV-4"):
            assert after[key] is JobState.PENDING, key
        else:
            assert after[key] is state, key
    assert after[("acme", "INV-4")] is JobState.FAILED
    with fleet.all_tenants().read() as session:
        codes = {t.id: t.code for t in session.exec(select(Tenant))}
        audits = session.exec(select(Audit).order_by(col(Audit.id))).all()
    assert [(codes[a.tenant_id], a.actor, a.origin) for a in audits if a.tenant_id] == [
        ("acme", "tester", "tui"),
        ("bolt", "tester", "tui"),
        ("corvo", "tester", "tui"),
    ]
    rows = {row.tenant.code: row for row in fleet_rows(fleet)}
    assert (rows["acme"].failed, rows["bolt"].failed, rows["corvo"].failed) == (1, 0, 0)


async def test_no_to_the_question_changes_nothing(fleet: Store) -> None:
    before = _states(fleet)
    app = _app(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_failures(pilot)
        await pilot.press("R")
        await wait_for(pilot, lambda: "Retry 6 jobs in 3 tenants?" in flat(app))
        await pilot.press("n")
        await wait_for(pilot, lambda: "Retry 6 jobs" not in flat(app))
    assert _states(fleet) == before


async def test_read_only_offers_no_retry(fleet: Store) -> None:
    before = _states(fleet)
    app = _app(fleet, read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await _open_failures(pilot)
        assert "Retry cause" not in screen_text(app)
        await pilot.press("R")
        await pilot.pause()
        assert "Retry 6 jobs" not in flat(app)
    assert _states(fleet) == before


@pytest.mark.parametrize("size", SIZES)
def test_fleet_failures_snapshot(snap_compare: Any, fleet: Store, size: tuple[int, int]) -> None:
    async def ready(pilot: Any) -> None:
        await _open_failures(pilot)
        await hold_cursors(pilot)

    assert snap_compare(_app(fleet), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_fleet_retry_question_snapshot(
    snap_compare: Any, fleet: Store, size: tuple[int, int]
) -> None:
    async def asking(pilot: Any) -> None:
        await _open_failures(pilot)
        await pilot.press("R")
        await wait_for(pilot, lambda: "Retry 6 jobs in 3 tenants?" in flat(pilot.app))
        await hold_cursors(pilot)

    assert snap_compare(_app(fleet), terminal_size=size, run_before=asking)


async def test_the_palette_opens_the_failures_and_a_tenant(fleet: Store) -> None:
    app = _app(fleet)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: "acme" in screen_text(app))
        await pilot.press("ctrl+p")
        await pilot.press(*"failures by cause")
        await wait_for(pilot, lambda: "Failures by cause, every tenant" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetFailuresScreen))
        await wait_for(pilot, lambda: f"since {SINCE}: 6 jobs in 3 tenants" in flat(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, FleetFailuresScreen))
        await pilot.press("ctrl+p")
        await pilot.press(*"open tenant corvo")
        await wait_for(pilot, lambda: "Open tenant corvo" in screen_text(app))
        await pilot.press("enter")
        await pilot.pause()
    assert app.return_value == "corvo"
