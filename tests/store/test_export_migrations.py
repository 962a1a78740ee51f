"""0003 gives export jobs a claim token and the request sent (existing jobs keep their state and
start at claim 0 with nothing recorded); 0004 adds reconciliation's runs and findings; 0005 the
division leases of several workers; 0007 since when a job's cause has held it; 0008 keys the
leases by tenant."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import text
from sqlmodel import select

from exact_tui.domain.states import DocumentKind, JobState
from exact_tui.services import ownership
from exact_tui.store import migrations
from exact_tui.store.engine import create_engine, open_store
from exact_tui.store.models import (
    DivisionLease,
    ExportJob,
    ReconcileFinding,
    ReconcileRun,
    Tenant,
    WorkerHeartbeat,
)


def test_jobs_of_an_older_store_migrate_with_claim_zero(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    with engine.connect() as conn, conn.begin():
        command.upgrade(migrations.config(conn), "0002")
        conn.execute(
            text(
                "INSERT INTO export_job (document_kind, document_id, document_number, "
                "document_date, state, attempts, lookups_empty, created_at, updated_at, "
                "exact_entry_id) VALUES ('invoice', 1, 'INV-1', '2026-03-02', 'unknown', 1, 0, "
                "'2026-03-02 10:00:00', '2026-03-02 10:00:00', NULL)"
            )
        )
    engine.dispose()
    store = open_store(empty_db_url)
    try:
        with store.read() as session:
            (job,) = session.exec(select(ExportJob)).all()
        assert (job.state, job.claim, job.sent_at, job.sent_request) == (
            JobState.UNKNOWN,
            0,
            None,
            None,
        )
        with store.write() as session:
            row = session.get(ExportJob, job.id)
            assert row is not None
            row.claim += 1
            row.sent_request = {"YourRef": "INV-1"}
            session.add(row)
        with store.read() as session:
            again = session.get(ExportJob, job.id)
        assert again is not None and (again.claim, again.sent_request) == (1, {"YourRef": "INV-1"})
    finally:
        store.dispose()


def test_a_store_before_reconciliation_gains_its_tables(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    with engine.connect() as conn, conn.begin():
        command.upgrade(migrations.config(conn), "0003")
    engine.dispose()
    store = open_store(empty_db_url)
    try:
        with store.write() as session:
            run = ReconcileRun(requested_by="ops", duplicates=1)
            session.add(run)
            session.flush()
            assert run.id is not None
            session.add(
                ReconcileFinding(
                    run_id=run.id,
                    division=101001,
                    kind="duplicate",
                    document_kind=DocumentKind.INVOICE,
                    reference="INV-1",
                    entries=[{"entry_id": "a", "entry_number": 1}],
                )
            )
        with store.read() as session:
            (finding,) = session.exec(select(ReconcileFinding)).all()
        assert finding.entries == [{"entry_id": "a", "entry_number": 1}]
    finally:
        store.dispose()


def test_a_store_before_division_leases_gains_them_and_keeps_its_workers(
    empty_db_url: str,
) -> None:
    engine = create_engine(empty_db_url)
    with engine.connect() as conn, conn.begin():
        command.upgrade(migrations.config(conn), "0004")
        conn.execute(
            text(
                "INSERT INTO worker_heartbeat (worker_id, host, pid, started_at, beat_at, state)"
                " VALUES ('old', 'h', 1, :at, :at, 'running')"
            ),
            {"at": dt.datetime(2026, 3, 2, tzinfo=dt.UTC)},
        )
    engine.dispose()
    store = open_store(empty_db_url)
    try:
        with store.write() as session:
            now = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
            assert ownership.take(session, (1, 101001), "old", now, 30)
            assert not ownership.take(session, (1, 101001), "new", now, 30)
        with store.read() as session:
            lease = session.get(DivisionLease, (1, 101001))
            assert session.get(WorkerHeartbeat, "old") is not None
        assert lease is not None and lease.owner == "old"
    finally:
        store.dispose()


def test_jobs_with_a_cause_take_their_last_change_as_its_start(empty_db_url: str) -> None:
    """0007: `cause_since` for the failures by cause; a job with no cause has none."""
    engine = create_engine(empty_db_url)
    with engine.connect() as conn, conn.begin():
        command.upgrade(migrations.config(conn), "0006")
        for n, cause in ((1, "503 from Exact"), (2, None)):
            conn.execute(
                text(
                    "INSERT INTO export_job (tenant_id, document_kind, document_id, "
                    "document_number, document_date, state, category, cause, attempts, "
                    "lookups_empty, claim, created_at, updated_at) VALUES (1, 'invoice', :n, "
                    ":number, '2026-03-02', :state, :category, :cause, 1, 0, 0, "
                    "'2026-03-02 08:00:00', :updated)"
                ),
                {
                    "n": n,
                    "number": f"INV-{n}",
                    "state": "retry_wait" if cause else "posted",
                    "category": "transient" if cause else None,
                    "cause": cause,
                    "updated": f"2026-03-02 {8 + n:02d}:15:00",
                },
            )
    engine.dispose()
    store = open_store(empty_db_url)
    try:
        with store.read() as session:
            jobs = {j.document_number: j for j in session.exec(select(ExportJob))}
        assert jobs["INV-1"].cause_since == jobs["INV-1"].updated_at
        assert jobs["INV-1"].cause_since is not None
        assert jobs["INV-1"].cause_since.hour == 9
        assert jobs["INV-2"].cause_since is None
    finally:
        store.dispose()


def test_a_store_with_tenants_gains_leases_per_tenant_and_keeps_held_ones(
    empty_db_url: str,
) -> None:
    """0008: a lease is keyed by (tenant, division). One held before covered its division
    number in every tenant: each tenant's division keeps its holder until the lease ends."""
    held_until = dt.datetime(2026, 3, 2, 10, 0, 30, tzinfo=dt.UTC)
    engine = create_engine(empty_db_url)
    with engine.connect() as conn, conn.begin():
        command.upgrade(migrations.config(conn), "0007")
        conn.execute(
            text(
                "INSERT INTO tenant (id, code, name, created_at) "
                "VALUES (2, 'bee', 'Bee', '2026-03-01 10:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO division_lease (division, owner, taken_at, renewed_at, expires_at)"
                " VALUES (101001, 'old', :at, :at, :until), (101002, NULL, NULL, NULL, NULL)"
            ),
            {"at": dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC), "until": held_until},
        )
    engine.dispose()
    store = open_store(empty_db_url)
    try:
        assert store.schema().current == migrations.HEAD
        with store.all_tenants().read() as session:
            rows = {
                (row.tenant_id, row.division): (row.owner, row.expires_at)
                for row in session.exec(select(DivisionLease))
            }
        assert rows == {
            (1, 101001): ("old", held_until),
            (2, 101001): ("old", held_until),
            (1, 101002): (None, None),
            (2, 101002): (None, None),
        }
        now = dt.datetime(2026, 3, 2, 10, 0, 10, tzinfo=dt.UTC)
        with store.all_tenants().write() as session:
            # Held by "old" in both tenants; tenant 2's 101002 is free, tenant 3's is new.
            assert not ownership.take(session, (2, 101001), "new", now, 30)
            assert ownership.take(session, (2, 101002), "new", now, 30)
            session.add(Tenant(id=3, code="cee", name="Cee"))
            session.flush()
            assert ownership.take(session, (3, 101001), "new", now, 30)
            assert ownership.renew(session, "new", now, 30) == {(2, 101002), (3, 101001)}
        # A removed tenant's leases go with it.
        with store.all_tenants().write() as session:
            tenant = session.get(Tenant, 3)
            assert tenant is not None
            session.delete(tenant)
        with store.all_tenants().read() as session:
            assert {row.tenant_id for row in session.exec(select(DivisionLease))} == {1, 2}
    finally:
        store.dispose()
