"""Reconcile from the Status screen: `e` asks the worker for a run; what a run found, and every
document Exact holds twice, shows on Status, first and loud."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from exact_tui.domain.states import Category, DocumentKind, JobState
from exact_tui.store.engine import Store
from exact_tui.store.models import Audit, ExportJob, ReconcileRun
from tests.connection.kit import World, secret_env
from tests.ui.conftest import screen_text, wait_for
from tests.ui.test_status_actions import SIZE, console


@pytest.fixture
def world(store: Store, monkeypatch: pytest.MonkeyPatch) -> World:
    for name, value in secret_env().items():
        monkeypatch.setenv(name, value)
    return World(store)


def _runs(store: Store) -> list[tuple[str, str]]:
    with store.read() as session:
        return [(run.trigger, run.state) for run in session.exec(select(ReconcileRun))]


async def test_e_asks_for_a_reconciliation_and_status_shows_what_it_found(world: World) -> None:
    await world.connect()
    app = console(world)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "✔ Connected" in screen_text(app))
        await pilot.press("e")
        await wait_for(pilot, lambda: _runs(world.store) == [("manual", "pending")])
        with world.store.read() as session:
            assert "reconcile" in list(session.exec(select(Audit.action)))
        # The worker finished it and found a document twice in Exact.
        with world.store.write() as session:
            run = session.exec(select(ReconcileRun)).one()
            run.state, run.duplicates, run.finished_at = "done", 1, dt.datetime.now(dt.UTC)
            run.result = "4 entries since 2026-03-01 read in 6 calls: 1 duplicates"
            session.add(run)
            session.add(
                ExportJob(
                    document_kind=DocumentKind.INVOICE,
                    document_id=1,
                    document_number="INV-1",
                    document_date=dt.date(2026, 3, 2),
                    state=JobState.FAILED,
                    category=Category.DUPLICATE,
                )
            )
        # Under load a redraw can land between the two lines: wait for all of it.
        await wait_for(
            pilot,
            lambda: (
                "1 document in Exact more than once" in screen_text(app)
                and "last reconciled" in screen_text(app)
                and "read in 6 calls" in screen_text(app)
            ),
        )


async def test_read_only_offers_no_reconcile(world: World) -> None:
    await world.connect()
    app = console(world, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "✔ Connected" in screen_text(app))
        assert app.screen.check_action("act", ("status.reconcile",)) is False
        writable = console(world)
    async with writable.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "✔ Connected" in screen_text(writable))
        assert writable.screen.check_action("act", ("status.reconcile",)) is True
