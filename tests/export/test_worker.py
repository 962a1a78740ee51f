"""The pipeline inside the worker: real time, and a poll that costs next to nothing."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from sqlalchemy import event

from exact_tui.domain.states import JobState
from exact_tui.services.export.fleet import FleetExport
from exact_tui.services.worker import Lanes, SyncRequestInfo, Worker, WorkerOptions
from exact_tui.store.engine import Store
from tests.export.kit import ExportWorld, customer, invoice


class _NoSync:
    def ready(self) -> bool:
        return False

    async def run(self, request: SyncRequestInfo, lanes: Lanes) -> str:
        raise AssertionError("no import in these tests")


async def test_a_document_ingested_while_the_worker_runs_is_posted_within_seconds(
    xw: ExportWorld,
) -> None:
    export = FleetExport.serving(xw.service)
    worker = Worker(xw.store, _NoSync(), export, WorkerOptions(poll_seconds=0.5))
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0.6)
        started = time.monotonic()
        xw.ingest(customers=[customer("5")], invoices=[invoice("INV-LIVE", "5")])
        while xw.job("INV-LIVE").state is not JobState.POSTED:
            assert time.monotonic() - started < 3, "not posted within 3 s"
            await asyncio.sleep(0.05)
    finally:
        worker.stop()
        await running
    assert [e["YourRef"] for e in xw.ledger()["sales_entries"]] == ["INV-LIVE"]


async def test_a_poll_with_nothing_new_reads_only_through_indexes(xw: ExportWorld) -> None:
    xw.ingest(customers=[customer("5")], invoices=[invoice(f"INV-{n}", "5") for n in range(40)])
    await xw.run()
    assert set(xw.states().values()) == {JobState.POSTED}
    statements: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        statements.append((statement, parameters))

    event.listen(xw.store.engine, "before_cursor_execute", seen)
    try:
        xw.service.prepare()
        assert xw.service.due_divisions() == []
    finally:
        event.remove(xw.store.engine, "before_cursor_execute", seen)
    selects = [(s, p) for s, p in statements if s.lstrip().upper().startswith("SELECT")]
    # prepare: leases, connection, new jobs; due: connection, divisions, bindings, refused,
    # and one seek per state in each of the two open divisions.
    assert len(selects) <= 7 + 3 * 2
    on_export_job = [(s, p) for s, p in selects if "FROM export_job" in s]
    assert on_export_job
    for statement, parameters in on_export_job:
        plan = _plan(xw.store, statement, parameters)
        assert not re.search(r"(SCAN|Seq Scan on) export_job", plan), (statement, plan)


def _plan(store: Store, statement: str, parameters: Any) -> str:
    """The query plan of `statement`, one line. SQLite plans without values. PostgreSQL would
    rightly scan a table this small whatever its indexes: with sequential scans made a last
    resort, a scan in the plan means no index can serve the query."""
    with store.engine.connect() as conn:
        if store.is_sqlite:
            placeholders = tuple([None] * statement.count("?"))
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, placeholders)
            return " ".join(str(row[-1]) for row in rows)
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters)
        return " ".join(str(row[0]) for row in rows)
