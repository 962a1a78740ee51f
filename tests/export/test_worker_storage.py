"""The worker on a store that cannot be written (a full disk): it backs off, says why on its
heartbeat, and goes on when it can write again; `--until-idle` stops with the reason. Nothing
is lost or posted twice on the way."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, inspect

from exact_tui.domain.states import JobState
from exact_tui.services.export.fleet import FleetExport
from exact_tui.services.status import status_report
from exact_tui.services.worker import StorageUnavailable, Worker, WorkerOptions
from exact_tui.store.engine import Store
from exact_tui.store.models import WorkerHeartbeat
from tests.export.kit import ExportWorld, customer, invoice
from tests.export.test_worker import _NoSync

QUICK = WorkerOptions(
    poll_seconds=0.02, storage_backoff_seconds=0.02, storage_backoff_cap_seconds=0.05
)


def full(store: Store) -> Callable[[], None]:
    """Make the store behave as on a full disk; returns the undo. SQLite: the file capped at its
    current size, so every write needing a new page fails with SQLITE_FULL while a small
    in-place update (the heartbeat's) still fits. PostgreSQL, whose disk a test cannot fill:
    every row written fails with SQLSTATE 53100 (disk_full), but the heartbeat's."""
    if not store.is_sqlite:
        return _full_server_database(store)
    raw = store.engine.raw_connection()
    try:
        raw.driver_connection.execute("VACUUM")  # no free pages left for a write to reuse
        pages = raw.driver_connection.execute("PRAGMA page_count").fetchone()[0]
    finally:
        raw.close()

    def cap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    event.listen(store.engine, "connect", cap)
    store.engine.dispose()

    def undo() -> None:
        event.remove(store.engine, "connect", cap)
        store.engine.dispose()

    return undo


def _full_server_database(store: Store) -> Callable[[], None]:
    refuse = "test_disk_full"
    with store.engine.begin() as conn:
        tables = [t for t in inspect(conn).get_table_names() if t != "worker_heartbeat"]
        conn.exec_driver_sql(
            f"CREATE FUNCTION {refuse}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'could not extend file: No space left on device' "
            "USING ERRCODE = 'disk_full'; END $$"
        )
        for table in tables:
            conn.exec_driver_sql(
                f'CREATE TRIGGER {refuse} BEFORE INSERT OR UPDATE OR DELETE ON "{table}" '
                f"FOR EACH ROW EXECUTE FUNCTION {refuse}()"
            )

    def undo() -> None:
        with store.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP FUNCTION {refuse}() CASCADE")

    return undo


async def until(condition: Callable[[], bool]) -> None:
    """Wait for what the worker does in its own time (bounded only against a hang)."""
    for _ in range(6000):
        if condition():
            return
        await asyncio.sleep(0.01)


def _ingest(xw: ExportWorld, count: int) -> list[str]:
    numbers = [f"INV-FULL-{n}" for n in range(count)]
    xw.ingest(customers=[customer("5")], invoices=[invoice(number, "5") for number in numbers])
    return numbers


async def test_until_idle_stops_with_the_reason_and_a_later_run_loses_nothing(
    xw: ExportWorld,
) -> None:
    numbers = _ingest(xw, 30)
    undo = full(xw.store)
    worker = Worker(xw.store, _NoSync(), FleetExport.serving(xw.service), QUICK)
    with pytest.raises(StorageUnavailable, match="is full"):
        await asyncio.wait_for(worker.run(until_idle=True), 30)
    undo()
    await Worker(xw.store, _NoSync(), FleetExport.serving(xw.service), QUICK).run(until_idle=True)
    for _ in range(20):  # a job left in flight is settled by lookups before any re-send
        if all(xw.job(n).state is JobState.POSTED for n in numbers):
            break
        await xw.run(advance=60)
    assert {n: xw.job(n).state for n in numbers} == dict.fromkeys(numbers, JobState.POSTED)
    posted = [e["YourRef"] for e in xw.ledger()["sales_entries"]]
    assert sorted(posted) == sorted(numbers)


async def test_a_running_worker_backs_off_says_why_and_goes_on(
    xw: ExportWorld, caplog: pytest.LogCaptureFixture
) -> None:
    numbers = _ingest(xw, 30)
    undo = full(xw.store)
    worker = Worker(xw.store, _NoSync(), FleetExport.serving(xw.service), QUICK)
    caplog.set_level(logging.WARNING, logger="exact_tui")
    running = asyncio.create_task(worker.run())
    try:
        await until(lambda: worker.storage_problem is not None)
        assert worker.storage_problem is not None and "is full" in worker.storage_problem
        assert not running.done()

        def shown() -> str | None:
            workers = status_report(xw.store).workers
            return next((w.detail for w in workers if w.worker_id == worker.worker_id), None)

        # The heartbeat's small in-place write still fits: Status says why the worker waits.
        await until(lambda: "is full" in (shown() or ""))
        assert (shown() or "").startswith("storage error, retrying in")
        undo()
        await until(lambda: worker.storage_problem is None)
        assert worker.storage_problem is None
    finally:
        worker.stop()
        await running
    backing_off = [r for r in caplog.records if "storage error, retrying" in r.getMessage()]
    assert backing_off, "the back-off was not logged"
    assert not [r for r in caplog.records if r.exc_info], "a storage error logged a traceback"
    with xw.store.read() as session:
        beat = session.get(WorkerHeartbeat, worker.worker_id)
        assert beat is not None and beat.state == "stopped" and beat.detail is None
    for _ in range(20):
        if all(xw.job(n).state is JobState.POSTED for n in numbers):
            break
        await xw.run(advance=60)
    posted = [e["YourRef"] for e in xw.ledger()["sales_entries"]]
    assert sorted(posted) == sorted(numbers)
