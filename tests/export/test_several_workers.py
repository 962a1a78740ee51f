"""Several workers on one store (docs/worker.md §Several workers): each division served by
one worker at a time, every document posted once, every new customer created once, and a dead
worker's divisions and jobs taken over after the lease and one heartbeat.

The workers run in one process, each with its own Exact session and pipeline, against one
sandbox; on PostgreSQL (the suite's second run) they meet as workers on several hosts do.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime as dt
import io
import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlmodel import col, select

from exact_tui.cli.output import echo_json, print_status
from exact_tui.domain.states import JobState
from exact_tui.exact.http import BeforeSend
from exact_tui.exact.odata import Page, Query
from exact_tui.exact.ratelimit import RateState
from exact_tui.services import ownership
from exact_tui.services.export import ExportOptions, ExportService
from exact_tui.services.export.api import ExactApi
from exact_tui.services.export.fleet import FleetExport
from exact_tui.services.status import status_report
from exact_tui.services.worker import Lanes, SyncRequestInfo, Worker, WorkerOptions
from exact_tui.store.models import Budget, DivisionLease, Tenant, WorkerHeartbeat
from tests.export.kit import BE, IBAN_BE, NL, ExportWorld, customer, invoice

#: Real seconds between heartbeats and polls: short, the tests wait for what happens.
QUICK = 0.02
#: The (sandbox-clock) lease of the tests where nobody dies: longer than any wait the
#: pipeline makes the clock jump.
LONG_LEASE = 3600.0


class _NoSync:
    def ready(self) -> bool:
        return False

    async def run(self, request: SyncRequestInfo, lanes: Lanes, stop: asyncio.Event) -> str:
        raise AssertionError("no import in these tests")


@dataclass
class InFlight:
    """Every worker's requests to Exact, per division: who sent them and how many were out
    at once (across workers)."""

    now: Counter[int] = field(default_factory=Counter)
    most: Counter[int] = field(default_factory=Counter)
    senders: dict[int, set[str]] = field(default_factory=lambda: collections.defaultdict(set))

    @contextlib.asynccontextmanager
    async def request(self, division: int, worker: str) -> AsyncIterator[None]:
        self.now[division] += 1
        self.most[division] = max(self.most[division], self.now[division])
        self.senders[division].add(worker)
        try:
            yield
        finally:
            self.now[division] -= 1


@dataclass
class Watched:
    """An Exact client that reports its requests to `InFlight`."""

    inner: ExactApi
    watch: InFlight
    worker: str
    #: Set to hold this worker's next entry forever (a worker killed mid-request).
    hang_entries: bool = False

    @property
    def calls(self) -> Counter[int]:
        return self.inner.calls

    def iter_rows(
        self, division: int, path: str, query: Query | None = None, *, max_pages: int = 10_000
    ) -> AsyncIterator[dict[str, Any]]:
        return self.inner.iter_rows(division, path, query, max_pages=max_pages)

    async def get_page(self, division: int, path: str, query: Query | None = None) -> Page:
        async with self.watch.request(division, self.worker):
            await asyncio.sleep(0)  # let the other workers run while this one is out
            return await self.inner.get_page(division, path, query)

    async def get_all(
        self, division: int, path: str, query: Query | None = None
    ) -> list[dict[str, Any]]:
        async with self.watch.request(division, self.worker):
            return await self.inner.get_all(division, path, query)

    async def post(
        self,
        division: int,
        path: str,
        body: Mapping[str, Any],
        *,
        before_send: BeforeSend | None = None,
    ) -> dict[str, Any]:
        async with self.watch.request(division, self.worker):
            await asyncio.sleep(0)
            if self.hang_entries and "Entries" in path:
                if before_send is not None:
                    await before_send()  # claimed and fenced: the request is "on its way"
                await asyncio.Event().wait()
            return await self.inner.post(division, path, body, before_send=before_send)

    def rate_state(self, division: int) -> RateState:
        return self.inner.rate_state(division)

    def forget_rate(self, division: int) -> None:
        self.inner.forget_rate(division)


@dataclass
class Pool:
    xw: ExportWorld
    watch: InFlight
    workers: list[Worker]
    clients: list[Watched]
    tasks: list[asyncio.Task[Any]]

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


@contextlib.asynccontextmanager
async def pool(
    xw: ExportWorld, count: int, *, lease: float = LONG_LEASE, first: int = 0
) -> AsyncIterator[Pool]:
    """`count` workers started on the store, each with its own Exact session and pipeline,
    named as on hosts `first`, `first` + 1, …"""
    watch = InFlight()
    workers: list[Worker] = []
    clients: list[Watched] = []
    async with contextlib.AsyncExitStack() as stack:
        for n in range(first, first + count):
            name = f"host-{n}:{1000 + n}:1"
            session = await stack.enter_async_context(xw.world.session())
            client = Watched(session.client, watch, name)
            clients.append(client)

            async def source(client: Watched = client) -> ExactApi | None:
                return client

            service = ExportService(
                xw.store,
                source,
                options=ExportOptions(backoff_base=5, backoff_cap=60, lookup_safety_delay=30),
                clock=xw.world,
            )
            workers.append(
                Worker(
                    xw.store,
                    _NoSync(),
                    FleetExport.serving(service),
                    WorkerOptions(poll_seconds=QUICK, heartbeat_seconds=QUICK, lease_seconds=lease),
                    clock=xw.world,
                    worker_id=name,
                )
            )
        tasks = [asyncio.create_task(worker.run()) for worker in workers]
        ready = Pool(xw, watch, workers, clients, tasks)
        try:
            yield ready
        finally:
            ready.stop()
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)


async def until(check: Any, *, what: str, guard: float = 120.0) -> None:
    """Wait for `check()` to hold; `guard` (real seconds) only ends a hung test."""

    async def poll() -> None:
        while not check():
            await asyncio.sleep(QUICK)

    try:
        await asyncio.wait_for(poll(), guard)
    except TimeoutError:
        pytest.fail(f"never happened: {what}")


def documents(customers: int, per_division: int) -> dict[str, list[dict[str, Any]]]:
    """New customers (Exact knows none of them), each with invoices in both divisions."""
    numbers = [f"MW{n:03d}" for n in range(customers)]
    invoices = []
    for number in numbers:
        for k in range(per_division):
            invoices.append(invoice(f"NL-{number}-{k}", number))
            invoices.append(invoice(f"BE-{number}-{k}", number, bank_account=IBAN_BE))
    return {"customers": [customer(n) for n in numbers], "invoices": invoices}


def key(xw: ExportWorld, division: int) -> tuple[int, int]:
    """The division of the store's tenant, as the worker knows it."""
    tenant = xw.store.default_tenant()
    assert tenant is not None
    return (tenant, division)


def all_posted(xw: ExportWorld) -> bool:
    return set(xw.states().values()) == {JobState.POSTED}


@pytest.mark.parametrize("count", [2, 4])
async def test_several_workers_post_each_document_once_and_create_each_customer_once(
    xw: ExportWorld, count: int
) -> None:
    records = documents(customers=6, per_division=3)
    xw.ingest(**records)
    async with pool(xw, count) as workers:
        await until(lambda: all_posted(xw), what="every document posted")
    ledger = xw.sandbox.ledger()["divisions"]
    refs: Counter[str] = Counter()
    accounts: Counter[tuple[int, str]] = Counter()
    for division in (NL, BE):
        refs.update(e["YourRef"] for e in ledger[str(division)]["sales_entries"])
        accounts.update(
            (division, a["SearchCode"])
            for a in ledger[str(division)]["accounts"]
            if str(a.get("SearchCode") or "").startswith("MW")
        )
    wanted = {i["number"] for i in records["invoices"]}
    assert set(refs) == wanted, "every invoice in Exact (0 lost)"
    assert [r for r, n in refs.items() if n > 1] == [], "no entry twice"
    assert len(accounts) == 2 * 6 and max(accounts.values()) == 1, "each account created once"
    assert max(workers.watch.most.values()) == 1, "one worker in flight per division"
    # The divisions were shared out: each was served by one worker at a time, and released.
    with xw.store.read() as session:
        held = session.exec(select(DivisionLease).where(col(DivisionLease.owner).is_not(None)))
        assert list(held) == []


async def test_a_second_worker_gets_a_share_and_the_first_gives_it_up(xw: ExportWorld) -> None:
    # Enough work that both divisions stay busy while the second worker arrives.
    xw.ingest(**documents(customers=20, per_division=4))
    async with pool(xw, 1) as first:
        both = {key(xw, NL), key(xw, BE)}
        await until(lambda: first.workers[0].owned == both, what="the lone worker holds both")
        async with pool(xw, 1, first=1) as second:
            await until(
                lambda: len(second.workers[0].owned) == 1 and len(first.workers[0].owned) == 1,
                what="one division each",
            )
            assert first.workers[0].owned.isdisjoint(second.workers[0].owned)
            await until(lambda: all_posted(xw), what="every document posted")
        assert max(first.watch.most.values()) == 1
        # The second worker served the division it took: its own requests went there.
        assert second.watch.senders, "the second worker sent nothing"


async def test_a_killed_workers_divisions_and_jobs_are_taken_over_after_lease_and_a_beat(
    xw: ExportWorld,
) -> None:
    lease = 30.0
    xw.ingest(customers=[customer("K1")], invoices=[invoice("INV-K1", "K1")])
    async with pool(xw, 1, lease=lease) as doomed:
        victim = doomed.workers[0]
        doomed.clients[0].hang_entries = True
        await until(lambda: xw.job("INV-K1").state is JobState.IN_FLIGHT, what="in flight")
        assert victim.owned == {key(xw, NL)}
        # kill -9: nothing more from this worker: no release, no last heartbeat.
        victim._final_beat = lambda: None  # type: ignore[method-assign]
        for task in [*victim._division_tasks.values(), *doomed.tasks]:
            task.cancel()
        await asyncio.gather(*doomed.tasks, return_exceptions=True)
    with xw.store.read() as session:
        lease_row = session.get(DivisionLease, key(xw, NL))
        beat = session.get(WorkerHeartbeat, victim.worker_id)
    assert lease_row is not None and lease_row.owner == victim.worker_id
    assert beat is not None and beat.state == "running"

    async with pool(xw, 1, lease=lease, first=1) as heir:
        await until(lambda: bool(heir.workers[0]._table), what="the heir looked at the leases")
        # Within the lease the division stays with the dead worker, its job in flight.
        xw.sandbox.advance(lease / 2)
        await asyncio.sleep(QUICK * 10)
        assert heir.workers[0].owned == set()
        assert xw.job("INV-K1").state is JobState.IN_FLIGHT
        # Past the lease, the next heartbeat (the clock no further on): the heir holds the
        # division, and the dead worker's job is unknown, to be settled by lookup.
        xw.sandbox.advance(lease / 2 + 1)
        await until(lambda: heir.workers[0].owned == {key(xw, NL)}, what="the division taken over")
        await until(lambda: xw.job("INV-K1").state is JobState.UNKNOWN, what="the job recovered")

        def settle() -> bool:
            xw.sandbox.advance(60)
            return xw.job("INV-K1").state is JobState.POSTED

        await until(settle, what="the job posted after its lookups")
    entries = [e["YourRef"] for e in xw.ledger()["sales_entries"]]
    assert entries == ["INV-K1"]


def test_the_fair_share_takes_free_busy_divisions_and_gives_back_the_rest() -> None:
    now = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    later = now + dt.timedelta(seconds=30)
    # Tenant 1's divisions, and tenant 2's division 1 (the same number, another division).
    d1, d2, d3, d4, d5, d9, other1 = (1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 9), (2, 1)
    table = {
        d1: ownership.Lease(d1, "me", later),
        d2: ownership.Lease(d2, "me", later),
        d3: ownership.Lease(d3, "other", later),
        d4: ownership.Lease(d4, "other", now - dt.timedelta(seconds=1)),  # run out
        d5: ownership.Lease(d5, None, None),
        d9: ownership.Lease(d9, "me", later),
        other1: ownership.Lease(other1, "other", later),
    }
    # Alone: every busy division, the run-out and free ones too, not one held by a live other.
    alone = ownership.plan(
        me="me", busy={d1, d2, d3, d4, d5, other1}, held={d1, d2, d9}, table=table, live=1, now=now
    )
    assert alone.take == [d4, d5] and alone.release == [d9]
    # Three alive, five busy: at most two each; the highest held ones go back first.
    shared = ownership.plan(
        me="me", busy={d1, d2, d3, d4, d5, d9}, held={d1, d2, d9}, table=table, live=3, now=now
    )
    assert shared.take == [] and shared.release == [d9]
    assert ownership.fair_share(5, 2) == 3 and ownership.fair_share(0, 4) == 0


async def test_status_shows_every_worker_with_its_divisions_and_lag(xw: ExportWorld) -> None:
    xw.ingest(
        customers=[customer("5")],
        invoices=[invoice("NL-1", "5"), invoice("BE-1", "5", bank_account=IBAN_BE)],
    )
    xw.service.prepare()  # routed: one due job in each division
    now = xw.world.now() + dt.timedelta(seconds=90)
    gone = now - dt.timedelta(minutes=10)
    with xw.store.write() as session:
        for worker_id, host, beat_at in (
            ("a", "host-a", now),
            ("b", "host-b", now),
            ("c", "host-c", gone),
        ):
            session.add(
                WorkerHeartbeat(
                    worker_id=worker_id, host=host, pid=7, started_at=gone, beat_at=beat_at
                )
            )
        tenant = xw.store.default_tenant()
        assert tenant is not None
        soon = now + dt.timedelta(seconds=5)
        session.add(DivisionLease(tenant_id=tenant, division=NL, owner="a", expires_at=soon))
        # Another tenant's division of the same number: not this tenant's to show.
        other = Tenant(code="other", name="Other")
        session.add(other)
        session.flush()
        assert other.id is not None
        session.add(DivisionLease(tenant_id=other.id, division=BE, owner="b", expires_at=soon))
        session.add(DivisionLease(tenant_id=tenant, division=BE, owner="c", expires_at=gone))
    report = status_report(xw.store, now=now)
    by_id = {w.worker_id: w for w in report.workers}
    assert (by_id["a"].host, by_id["a"].divisions) == ("host-a", (NL,))
    # The job was made (just before the clock moved on) about 90 s before `now`.
    lag = by_id["a"].lag_seconds
    assert lag is not None and 80 <= lag <= 100
    assert (by_id["b"].divisions, by_id["b"].lag_seconds, by_id["b"].alive) == ((), None, True)
    assert (by_id["c"].alive, by_id["c"].lost, by_id["c"].divisions) == (False, True, ())
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_status(report)
    text = out.getvalue()
    assert "running on host-a (pid 7)" in text
    assert re.search(rf"\n  division {NL}  ·  lag \d+ s\n", text)
    assert "Worker: host-c (pid 7): no heartbeat since" in text and "taken for dead" in text
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        echo_json(dataclasses.asdict(report))  # what `exact-tui status --json` prints
    (listed,) = [w for w in json.loads(out.getvalue())["workers"] if w["worker_id"] == "a"]
    assert (listed["divisions"], listed["lag_seconds"]) == ([NL], lag)


async def test_a_division_taken_over_is_paced_by_the_budget_its_last_holder_left(
    xw: ExportWorld,
) -> None:
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-1", "5")])
    await xw.run()
    assert xw.client is not None and xw.client.rate_state(NL).minutely is not None
    # Another worker then held the division and spent its minute: 0 left, reset in 40 s.
    reset = xw.world.now() + dt.timedelta(seconds=40)
    with xw.store.write() as session:
        budget = session.get(Budget, NL)
        assert budget is not None
        budget.minutely_remaining, budget.minutely_reset_at = 0, reset
        session.add(budget)
    xw.ingest(invoices=[invoice("INV-2", "5")])
    xw.service.division_taken(NL)
    xw.world.slept.clear()
    await xw.run()
    assert xw.job("INV-2").state is JobState.POSTED
    # It waited for the reset the other worker's last answer gave, before its one request.
    assert sum(xw.world.slept) >= 40 - 1
