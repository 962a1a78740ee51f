"""A worker on a host whose clock is off the database server's serves nothing until the
clocks agree (docs/worker.md §Several workers, Clocks): a clock a minute ahead would take a
live worker for dead, take its divisions and settle its jobs a minute too early (entries
posted twice)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

import pytest

from exact_tui.secret_store import open_secret_store
from exact_tui.services.clock import SystemClock
from exact_tui.services.export import ExportOptions
from exact_tui.services.runtime import LinkOptions, WorkerSetup, build_worker
from exact_tui.services.worker import WorkerOptions
from exact_tui.store.engine import Store
from exact_tui.store.models import DivisionLease, WorkerHeartbeat
from tests.connection.kit import secret_env

pytestmark = pytest.mark.postgres_only(
    "the database server's clock is what hosts are compared with; one SQLite file is one host"
)


class Skewed(SystemClock):
    """This host's clock, `offset` off the true time."""

    def __init__(self, seconds: float) -> None:
        self.offset = dt.timedelta(seconds=seconds)

    def now(self) -> dt.datetime:
        return super().now() + self.offset


async def until(check: Callable[[], bool], what: str) -> None:
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"never happened: {what}")


@pytest.mark.parametrize("seconds", [60.0, -60.0])
async def test_a_worker_whose_clock_is_off_serves_nothing_until_it_agrees(
    store: Store, seconds: float
) -> None:
    now = dt.datetime.now(dt.UTC)
    tenant = store.tenants()[0].id
    assert tenant is not None
    key = (tenant, 101001)
    with store.all_tenants().write() as session:
        # A live worker elsewhere, holding a division.
        session.add(
            WorkerHeartbeat(worker_id="other", host="elsewhere", pid=1, started_at=now, beat_at=now)
        )
        session.add(
            DivisionLease(
                tenant_id=tenant,
                division=101001,
                owner="other",
                taken_at=now,
                renewed_at=now,
                expires_at=now + dt.timedelta(seconds=30),
            )
        )
    clock = Skewed(seconds)
    options = WorkerOptions(
        poll_seconds=0.02, heartbeat_seconds=0.05, lease_seconds=30.0, max_clock_skew_seconds=5.0
    )
    setup = WorkerSetup(link=LinkOptions(), export=ExportOptions(), worker=options)
    secrets = open_secret_store("env", environ=secret_env())
    worker, links = build_worker(store, secrets, setup, clock=clock)

    def beat() -> WorkerHeartbeat:
        with store.all_tenants().read() as session:
            row = session.get(WorkerHeartbeat, worker.worker_id)
            assert row is not None
            return row

    def holder() -> str | None:
        with store.all_tenants().read() as session:
            lease = session.get(DivisionLease, key)
            return lease.owner if lease else None

    running = asyncio.create_task(worker.run())
    try:
        await until(lambda: worker.clock_problem is not None, "the clock found off")
        await asyncio.sleep(10 * options.heartbeat_seconds)
        assert "clock" in (beat().detail or "")
        # On the database's time, so the others see it beat rightly.
        assert abs((beat().beat_at - dt.datetime.now(dt.UTC)).total_seconds()) < 5
        # The live worker is not taken for dead, nor its division taken.
        assert holder() == "other" and worker.owned == set()
        with store.all_tenants().read() as session:
            other = session.get(WorkerHeartbeat, "other")
            assert other is not None and other.state == "running"
        # The clock set right: the worker starts.
        clock.offset = dt.timedelta(0)
        await until(lambda: worker.clock_problem is None and bool(worker.tenants), "serving")
        await until(lambda: beat().detail is None, "the heartbeat says nothing is wrong")
    finally:
        worker.stop()
        await asyncio.wait_for(running, 30)
        await links.close()
