"""A worker starts whatever the number of workers that ran before it: `worker --until-idle`
from cron leaves a stopped heartbeat each run (a year of runs every minute is half a million),
and the start looks after the dead ones that still hold something, not all of them at once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert
from sqlmodel import select

from exact_tui.domain.states import DocumentKind, JobState
from exact_tui.secret_store import open_secret_store
from exact_tui.services import ownership
from exact_tui.services.export import ExportOptions
from exact_tui.services.runtime import LinkOptions, WorkerSetup, build_worker
from exact_tui.services.worker import WorkerOptions
from exact_tui.store.engine import Store
from exact_tui.store.models import DivisionLease, ExportJob, SyncRequest, WorkerHeartbeat
from tests.connection.kit import secret_env

NOW = dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC)
#: More than PostgreSQL's 65,535 parameters of one statement.
RUNS = 70_000


class Clock:
    def now(self) -> dt.datetime:
        return NOW

    async def sleep(self, seconds: float) -> None:
        return None


def test_a_worker_starts_after_many_runs_and_takes_back_what_the_dead_hold(store: Store) -> None:
    old = NOW - dt.timedelta(days=30)
    with store.all_tenants().write() as session:
        session.execute(
            insert(WorkerHeartbeat),
            [
                {
                    "worker_id": f"cron:{n}:1",
                    "host": "cron-host",
                    "pid": n,
                    "started_at": old,
                    "beat_at": old,
                    "state": "stopped",
                }
                for n in range(RUNS)
            ],
        )
        # One of them died mid-run long ago: its division and its import are still its own.
        session.add(
            WorkerHeartbeat(
                worker_id="crashed",
                host="gone",
                pid=1,
                started_at=old,
                beat_at=old,
                state="running",
            )
        )
        session.add(DivisionLease(tenant_id=1, division=101001, owner="crashed", expires_at=old))
    with store.write() as session:
        session.add(
            SyncRequest(trigger="manual", requested_by="ops", state="running", picked_by="crashed")
        )
    setup = WorkerSetup(
        link=LinkOptions(),
        export=ExportOptions(),
        worker=WorkerOptions(),
    )
    worker, _ = build_worker(
        store, open_secret_store("env", environ=secret_env()), setup, clock=Clock()
    )
    worker._start()
    with store.all_tenants().read() as session:
        lease = session.get(DivisionLease, (1, 101001))
        assert lease is not None and lease.owner is None
    with store.read() as session:
        request = session.exec(select(SyncRequest)).first()
        assert request is not None and (request.state, request.picked_by) == ("pending", None)
    # Gone for a month and holding nothing any more: forgotten, so the table stays small.
    with store.all_tenants().read() as session:
        left = list(session.exec(select(WorkerHeartbeat.worker_id)))
    assert left == [worker.worker_id]


def test_a_worker_gone_a_week_is_forgotten_only_when_it_holds_nothing(store: Store) -> None:
    """A job still claimed by a worker gone for a week (its claim not yet taken back) keeps
    that worker's heartbeat, and so does a recent stop; the others gone a week go."""
    week = NOW - dt.timedelta(days=7, minutes=1)
    beats = {"gone": week, "claiming": week, "yesterday": NOW - dt.timedelta(days=1)}
    with store.all_tenants().write() as session:
        for worker_id, at in beats.items():
            session.add(
                WorkerHeartbeat(
                    worker_id=worker_id, host="h", pid=1, started_at=at, beat_at=at, state="stopped"
                )
            )
    with store.write() as session:
        session.add(
            ExportJob(
                document_kind=DocumentKind.INVOICE,
                document_id=1,
                document_number="F-1",
                document_date=NOW.date(),
                division=101001,
                state=JobState.IN_FLIGHT,
                lease_owner="claiming",
                lease_expires_at=NOW + dt.timedelta(minutes=5),
            )
        )
    with store.all_tenants().write() as session:
        assert ownership.forget_gone(session, NOW - dt.timedelta(days=7)) == 1
    with store.all_tenants().read() as session:
        left = set(session.exec(select(WorkerHeartbeat.worker_id)))
    assert left == {"claiming", "yesterday"}
