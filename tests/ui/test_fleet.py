"""The Fleet screen (docs/tenants.md §Fleet): every tenant worst first, with its status, queue,
what fails most and its oldest waiting document; filterable; enter opens a tenant."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from sqlmodel import col, select

from exact_tui.domain.states import Category, ConnectionStatus, DocumentKind, JobState
from exact_tui.services.tenants import fleet_rows
from exact_tui.store.engine import Store
from exact_tui.store.models import ExactConnection, ExportJob, Tenant
from exact_tui.ui.fleet import FleetApp
from tests.console_seed import NOW, beat

SIZES = [(80, 24), (120, 36)]
CAUSE = "vat 21-EU missing in division 100001"


_DOCUMENTS = itertools.count(1)


def _job(n: int, state: JobState, *, cause: str | None = None, hours: float = 1) -> ExportJob:
    """Job `n` of a tenant: the same numbers in every tenant (document ids are the store's)."""
    return ExportJob(
        document_kind=DocumentKind.INVOICE,
        document_id=next(_DOCUMENTS),
        document_number=f"INV-{n}",
        document_date=NOW.date(),
        state=state,
        category=Category.MAPPING if state is JobState.NEEDS_MAPPING else None,
        cause=cause,
        created_at=NOW - dt.timedelta(hours=hours),
        updated_at=NOW,
    )


def _connection(status: ConnectionStatus, reason: str | None = None) -> ExactConnection:
    return ExactConnection(
        region="nl",
        base_url="https://start.exactonline.nl",
        client_id="app",
        redirect_uri="http://localhost/cb",
        status=status,
        reason=reason,
    )


def _fleet(store: Store) -> None:
    """Five tenants, each in another kind of trouble (or none), with the same job numbers."""
    with store.write() as session:
        for code, name in (
            ("calm", "Calm B.V."),
            ("broken", "Broken B.V."),
            ("asleep", "Asleep B.V."),
            ("gappy", "Gappy B.V."),
        ):
            session.add(Tenant(code=code, name=name))
    plans: dict[str, tuple[ConnectionStatus, str | None, list[ExportJob]]] = {
        "default": (
            ConnectionStatus.CONNECTED,
            None,
            [
                _job(1, JobState.FAILED, cause="503 from Exact", hours=3),
                _job(2, JobState.FAILED, cause="503 from Exact"),
                _job(3, JobState.FAILED, cause="400 from Exact"),
                _job(4, JobState.PENDING, hours=5),
            ],
        ),
        "calm": (ConnectionStatus.CONNECTED, None, [_job(1, JobState.POSTED)]),
        "broken": (
            ConnectionStatus.ERROR,
            "the user is blocked",
            [_job(1, JobState.PENDING, hours=50)],
        ),
        "asleep": (ConnectionStatus.CONNECTED, None, [_job(1, JobState.FAILED, cause="x")]),
        "gappy": (
            ConnectionStatus.CONNECTED,
            None,
            [_job(n, JobState.NEEDS_MAPPING, cause=CAUSE) for n in (1, 2)],
        ),
    }
    for code, (status, reason, jobs) in plans.items():
        with store.tenant(code).write() as session:
            session.add(_connection(status, reason))
            for job in jobs:
                session.add(job)
    with store.all_tenants().write() as session:
        asleep = session.exec(select(Tenant).where(col(Tenant.code) == "asleep")).one()
        asleep.disabled_at = NOW
        asleep.disabled_reason = "contract ended"
        session.add(asleep)


def test_the_fleet_is_read_worst_first_with_counts_causes_and_ages(store: Store) -> None:
    _fleet(store)
    rows = fleet_rows(store, now=NOW)
    assert [row.tenant.code for row in rows] == ["broken", "default", "gappy", "calm", "asleep"]
    by_code = {row.tenant.code: row for row in rows}
    assert by_code["broken"].tenant.mark == "⛔" and "blocked" in by_code["broken"].tenant.status
    assert (by_code["default"].failed, by_code["default"].tenant.waiting) == (3, 1)
    assert (by_code["default"].top_cause, by_code["default"].top_cause_jobs) == (
        "503 from Exact",
        2,
    )
    assert by_code["default"].oldest_waiting == NOW - dt.timedelta(hours=5)
    assert (by_code["gappy"].needs_mapping, by_code["gappy"].top_cause) == (2, CAUSE)
    assert by_code["calm"].top_cause is None and by_code["calm"].oldest_waiting is None
    assert (
        by_code["asleep"].tenant.mark == "⚫"
        and "contract ended" in by_code["asleep"].tenant.status
    )


def test_each_tenants_worker_lag_is_its_oldest_due_job(store: Store) -> None:
    _fleet(store)
    with store.tenant("gappy").write() as session:
        session.add(_job(3, JobState.RETRY_WAIT, hours=9))  # due in an hour: not yet due
        later = session.exec(select(ExportJob).where(col(ExportJob.state) == "retry_wait")).one()
        later.next_attempt_at = NOW + dt.timedelta(hours=1)
        session.add(_job(4, JobState.UNKNOWN, hours=2))
    rows = {row.tenant.code: row for row in fleet_rows(store, now=NOW)}
    assert rows["default"].lag_seconds == 5 * 3600  # its pending job, waiting since created
    assert rows["broken"].lag_seconds == 50 * 3600
    assert rows["gappy"].lag_seconds == 2 * 3600  # the unknown job; the later one is not due
    assert rows["calm"].lag_seconds is None  # nothing due
    assert {row.workers for row in rows.values()} == {0}
    beat(store)
    assert {row.workers for row in fleet_rows(store, now=NOW)} == {1}
    later_still = NOW + dt.timedelta(minutes=5)  # the heartbeat is stale by then
    assert {row.workers for row in fleet_rows(store, now=later_still)} == {0}


@pytest.fixture
def fleet(store: Store) -> Store:
    _fleet(store)
    return store


def _app(store: Store) -> FleetApp:
    rows = fleet_rows(store, now=NOW)
    return FleetApp(lambda: rows, now=lambda: NOW, poll_seconds=3600)


async def test_filter_then_enter_opens_the_tenant(fleet: Store) -> None:
    app = _app(fleet)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.query_one("DataTable")
        assert table.row_count == 5  # type: ignore[attr-defined]
        await pilot.press("slash", "g", "a", "p")
        await pilot.pause()
        assert table.row_count == 1  # type: ignore[attr-defined]
        await pilot.press("enter", "enter")
        await pilot.pause()
    assert app.return_value == "gappy"


async def test_quit_opens_nothing(fleet: Store) -> None:
    app = _app(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value is None


@pytest.mark.parametrize("size", SIZES)
def test_fleet_snapshot(snap_compare: Any, fleet: Store, size: tuple[int, int]) -> None:
    async def settle(pilot: Any) -> None:
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(_app(fleet), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
async def test_keys_typed_ahead_open_the_tenant_the_cursor_went_to(
    fleet: Store, size: tuple[int, int]
) -> None:
    app = _app(fleet)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("down", "down", "enter")
        await pilot.pause()
    assert app.return_value == "gappy"  # broken, default, gappy: the third, worst first
