"""The demo's fleet: four tenants, each connected as its own Exact user of one sandbox, each in
the state the Fleet screen is meant to show once the workers have done what they can."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from exact_tui.demo import data
from exact_tui.demo.fleet import DemoFleet, build_fleet
from exact_tui.domain.states import ConnectionStatus, JobState
from exact_tui.services.jobs import JobFilter, list_jobs
from exact_tui.services.tenants import FleetRow, fleet_rows
from exact_tui.store.engine import Store

pytestmark = pytest.mark.slow


@pytest.fixture
async def fleet(store: Store, tmp_path: Path) -> DemoFleet:
    built = await build_fleet(tmp_path, store=store)
    await built.drain()
    return built


def _rows(fleet: DemoFleet) -> dict[str, FleetRow]:
    return {row.tenant.code: row for row in fleet_rows(fleet.store)}


def _states(fleet: DemoFleet, code: str) -> dict[str, JobState]:
    jobs = list_jobs(fleet.store.tenant(code), JobFilter(), limit=1000)
    return {job.number: job.state for job in jobs}


async def test_four_tenants_each_its_own_exact_user(fleet: DemoFleet) -> None:
    rows = _rows(fleet)
    assert set(rows) == {plan.code for plan in data.FLEET}
    users = {world.user for world in fleet.tenants.values()}
    assert len(users) == 4
    for plan in data.FLEET:
        user = fleet.sandbox.facts.users[plan.sandbox_user - 1]
        assert fleet.tenants[plan.code].user == user.user_name
        # Each consented as itself, to its own divisions.
        assert fleet.sandbox.consent(user=user.user_name) == set(user.default_consent)
        assert rows[plan.code].tenant.divisions == 2


async def test_northwind_is_clean(fleet: DemoFleet) -> None:
    row = _rows(fleet)["northwind"]
    assert row.tenant.connection is ConnectionStatus.CONNECTED
    assert set(_states(fleet, "northwind").values()) == {JobState.POSTED}
    assert len(_states(fleet, "northwind")) == 10  # eight invoices, two payments
    assert (row.failed, row.needs_mapping, row.tenant.waiting) == (0, 0, 0)
    # Posted in its own Exact user's divisions, not anyone else's.
    books: Any = fleet.sandbox.ledger()["divisions"]
    assert len(books["102001"]["sales_entries"]) == 6
    assert len(books["102002"]["sales_entries"]) == 2
    assert all(ref.startswith("NW-") for ref in _your_refs(books, "102001"))


async def test_brightdesk_needs_reconnect(fleet: DemoFleet) -> None:
    row = _rows(fleet)["brightdesk"]
    assert row.tenant.connection is ConnectionStatus.RECONNECT
    states = _states(fleet, "brightdesk")
    assert JobState.POSTED not in states.values()
    assert row.tenant.waiting == len(states) == 10
    books: Any = fleet.sandbox.ledger()["divisions"]
    assert books["103001"]["counts"]["sales_entries"] == 0


async def test_kestrel_has_invoices_exact_refuses(fleet: DemoFleet) -> None:
    row = _rows(fleet)["kestrel"]
    assert row.tenant.connection is ConnectionStatus.CONNECTED
    states = _states(fleet, "kestrel")
    # The invoices with a line on the GL account blocked in Exact fail; the others post.
    assert {n for n, s in states.items() if s is JobState.FAILED} == {
        "KS-2026-001",
        "KS-2026-002",
        "KS-2026-006",
    }
    assert states["KS-2026-004"] is JobState.POSTED and states["KS-2026-008"] is JobState.POSTED
    assert row.failed == 3 and row.top_cause is not None and row.top_cause_jobs == 3


async def test_flexwerk_has_mapping_gaps(fleet: DemoFleet) -> None:
    row = _rows(fleet)["flexwerk"]
    assert row.tenant.connection is ConnectionStatus.CONNECTED
    states = _states(fleet, "flexwerk")
    assert states["2026-0008"] is JobState.NEEDS_MAPPING
    assert row.needs_mapping >= 6
    # Worst first: Reconnect, then failures; every tenant but northwind has something to do.
    order = [row.tenant.code for row in fleet_rows(fleet.store)]
    assert order[0] == "brightdesk" and order[-1] == "northwind"


def _your_refs(books: Any, division: str) -> list[str]:
    return [str(entry["YourRef"]) for entry in books[division]["sales_entries"]]
