"""One worker for every tenant of a store (docs/worker.md §Tenants): each tenant's documents go
to its own Exact, a tenant needing a Reconnect or disabled holds up no other, and two tenants
that both have divisions 101001 and 101002 share nothing, one worker or two.

Each tenant has an Exact of its own: a sandbox per tenant (the same seed, so the same division
numbers), reached at a host of its own through one transport, on one clock.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlmodel import SQLModel, col, select

from exact_tui.domain.states import ConnectionStatus, DocumentKind, JobState
from exact_tui.exact.oauth import TokenSet
from exact_tui.sandbox import Sandbox
from exact_tui.sandbox.app import create_app
from exact_tui.secret_store import TokenCipher
from exact_tui.services.export import ExportOptions
from exact_tui.services.ingest import ingest_bytes
from exact_tui.services.runtime import LinkOptions, WorkerSetup, build_worker
from exact_tui.services.tokens import save_token, set_status
from exact_tui.services.worker import Worker, WorkerOptions
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    BankAccount,
    BankAccountBinding,
    Budget,
    CostCenter,
    CostUnit,
    Division,
    DivisionLease,
    DivisionSettings,
    ExactAccount,
    ExactConnection,
    ExportJob,
    GLAccount,
    Journal,
    Mapping,
    OAuthToken,
    Organization,
    SyncRequest,
    SyncState,
    Tenant,
    VATCode,
    WorkerHeartbeat,
)
from exact_tui.store.scoping import tenant_key
from tests.connection.kit import World
from tests.export.kit import BE, IBAN_BE, NL, customer, fresh_tokens, invoice
from tests.export.test_worker import _plan

#: Real seconds between polls and heartbeats.
QUICK = 0.02
CODES = ("default", "bee", "cee")
#: What a tenant copies of the configured one: its organization, bank accounts, Exact's master
#: data, bindings, settings, mappings, connection and import requests (so that its daily import
#: is not due yet) (parents first; with the pointers to copied rows).
COPIED: list[tuple[type[SQLModel], dict[str, type[SQLModel]]]] = [
    (Organization, {}),
    (BankAccount, {"organization_id": Organization}),
    (BankAccountBinding, {"bank_account_id": BankAccount}),
    (Division, {}),
    (Journal, {}),
    (GLAccount, {}),
    (VATCode, {}),
    (CostCenter, {}),
    (CostUnit, {}),
    (ExactAccount, {}),
    (SyncState, {}),
    (Mapping, {}),
    (DivisionSettings, {}),
    (ExactConnection, {}),
    (OAuthToken, {}),
    (SyncRequest, {}),
]


class Routed(httpx.AsyncBaseTransport):
    """Each tenant's Exact at a host of its own."""

    def __init__(self, hosts: dict[str, httpx.AsyncBaseTransport]) -> None:
        self.hosts = hosts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.hosts[request.url.host].handle_async_request(request)


@dataclass
class Fleet:
    world: World
    store: Store
    #: code → tenant id, and code → that tenant's Exact.
    ids: dict[str, int]
    sandboxes: dict[str, Sandbox]
    transport: httpx.AsyncBaseTransport

    def tenant(self, code: str) -> Store:
        return self.store.tenant(code)

    def ingest(self, code: str, **records: Any) -> None:
        ingest_bytes(self.tenant(code), "test.json", json.dumps(records).encode())

    def states(self, code: str) -> dict[str, JobState]:
        with self.tenant(code).read() as session:
            return {j.document_number: j.state for j in session.exec(select(ExportJob))}

    def posted(self, *codes: str) -> bool:
        return all(set(self.states(c).values()) == {JobState.POSTED} for c in codes)

    def refs(self, code: str, division: int = NL) -> list[str]:
        ledger: Any = self.sandboxes[code].ledger()["divisions"]
        return sorted(e["YourRef"] for e in ledger[str(division)]["sales_entries"])

    def imported(self) -> bool:
        """No import waits or runs, in any tenant."""
        with self.store.all_tenants().read() as session:
            return set(session.exec(select(SyncRequest.state))) <= {"done", "failed"}

    def calls(self, code: str) -> int:
        """Every call the tenant's Exact saw, tokens too."""
        return int(self.sandboxes[code].calls.count())

    def setup(self) -> WorkerSetup:
        return WorkerSetup(
            link=LinkOptions(),
            export=ExportOptions(backoff_base=5, backoff_cap=60, lookup_safety_delay=30),
            worker=WorkerOptions(poll_seconds=QUICK, heartbeat_seconds=QUICK, lease_seconds=3600.0),
            reconcile_daily=False,
        )

    @asynccontextmanager
    async def workers(
        self, count: int = 1, store: Store | None = None
    ) -> AsyncIterator[list[Worker]]:
        """`count` workers on the store (every tenant), running until the block ends."""
        async with AsyncExitStack() as stack:
            workers = []
            for n in range(count):
                worker, links = build_worker(
                    store or self.store,
                    self.world.secrets,
                    self.setup(),
                    clock=self.world,
                    transport=self.transport,
                )
                worker.worker_id = f"host-{n}:{1000 + n}:1"
                stack.push_async_callback(links.close)
                workers.append(worker)
            tasks = [asyncio.create_task(w.run()) for w in workers]
            try:
                yield workers
            finally:
                for worker in workers:
                    worker.stop()
                await asyncio.wait_for(asyncio.gather(*tasks), 60)


def _copy_tenant(store: Store, target: str, offset: int, base_url: str) -> None:
    """The configured tenant's set-up again in `target`, ids moved by `offset`, connected to
    the Exact at `base_url`."""
    ids: dict[type[SQLModel], dict[int, int]] = {}
    with store.tenant("default").read() as read, store.tenant(target).write() as write:
        for model, pointers in COPIED:
            ids[model] = {}
            for row in read.exec(select(model)).all():
                data = row.model_dump()
                data.pop("tenant_id")
                old = data.get("id") if isinstance(data.get("id"), int) else None
                if old is not None:
                    data["id"] = ids[model][old] = old + offset
                for name, parent in pointers.items():
                    if data.get(name) is not None:
                        data[name] = ids[parent][data[name]]
                if model is ExactConnection:
                    data["base_url"] = base_url
                write.add(model(**data))
            write.flush()


def _fresh_tokens(store: Store, world: World, sandbox: Sandbox) -> None:
    pair = sandbox.issue_tokens()
    now = world.now()
    tokens = TokenSet(
        pair.access_token,
        pair.refresh_token,
        issued_at=now,
        expires_at=now + dt.timedelta(seconds=pair.expires_in),
        refresh_expires_at=now + dt.timedelta(days=30),
    )
    cipher = TokenCipher(world.secrets.data_key(create=True))
    with store.write() as session:
        current = session.get(OAuthToken, tenant_key(session))
        assert current is not None
        assert save_token(session, cipher, tokens, expected_version=current.version)


@pytest.fixture
def fleet(world: World) -> Fleet:
    """Three tenants, each connected to an Exact of its own with the same divisions."""
    fresh_tokens(world)
    store = world.store
    sandboxes = {"default": world.sandbox}
    hosts: dict[str, httpx.AsyncBaseTransport] = {"sandbox.test": world.transport}
    with store.write() as session:
        for code in CODES[1:]:
            session.add(Tenant(code=code, name=code.title()))
    for n, code in enumerate(CODES[1:], start=1):
        host = f"{code}.sandbox.test"
        _copy_tenant(store, code, 100_000 * n, f"http://{host}")
        sandbox = Sandbox(seed=7, size="small", clock=world.sandbox.clock)
        sandboxes[code] = sandbox
        hosts[host] = httpx.ASGITransport(app=create_app(sandbox))
        _fresh_tokens(store.tenant(code), world, sandbox)
    ids = {t.code: t.id for t in store.tenants() if t.id is not None}
    for sandbox in sandboxes.values():
        sandbox.calls.clear()
    return Fleet(world, store, ids, sandboxes, Routed(hosts))


def documents(code: str, nl: int, be: int = 1) -> dict[str, Any]:
    """Invoices of one customer, numbered after the tenant, in both divisions."""
    prefix = code[0].upper()
    invoices = [invoice(f"{prefix}-NL-{k}", "K1") for k in range(nl)]
    invoices += [invoice(f"{prefix}-BE-{k}", "K1", bank_account=IBAN_BE) for k in range(be)]
    return {"customers": [customer("K1")], "invoices": invoices}


async def until(check: Callable[[], bool], *, what: str, guard: float = 120.0) -> None:
    """Wait for `check()` to hold; `guard` (real seconds) only ends a hung test."""

    async def poll() -> None:
        while not check():
            await asyncio.sleep(QUICK)

    try:
        await asyncio.wait_for(poll(), guard)
    except TimeoutError:
        pytest.fail(f"never happened: {what}")


async def test_one_worker_posts_each_tenants_documents_into_its_own_exact(fleet: Fleet) -> None:
    counts = {"default": 3, "bee": 1, "cee": 2}
    for code, nl in counts.items():
        fleet.ingest(code, **documents(code, nl))
    async with fleet.workers() as (worker,):
        await until(lambda: fleet.posted(*CODES), what="every tenant's documents posted")
        assert worker.tenants == {fleet.ids[c]: c for c in CODES}
    for code, nl in counts.items():
        prefix = code[0].upper()
        assert fleet.refs(code) == [f"{prefix}-NL-{k}" for k in range(nl)]
        assert fleet.refs(code, BE) == [f"{prefix}-BE-0"]
    # Look-alike divisions, one lease each: (tenant, division), every tenant's own.
    with fleet.store.all_tenants().read() as session:
        leases = {(row.tenant_id, row.division) for row in session.exec(select(DivisionLease))}
        budgets = {
            (row.tenant_id, row.division): row.daily_remaining
            for row in session.exec(select(Budget))
        }
    exported = {key for key in leases if key[1] in (NL, BE)}
    assert exported == {(fleet.ids[c], d) for c in CODES for d in (NL, BE)}
    # Each tenant's budget is what its own Exact said of the calls made there.
    for code in CODES:
        spent = fleet.sandboxes[code].calls.count(division=NL)
        limit = fleet.sandboxes[code].settings.daily
        assert budgets[(fleet.ids[code], NL)] == limit - spent, code


async def test_a_tenant_needing_a_reconnect_holds_up_no_other(fleet: Fleet) -> None:
    set_status(
        fleet.tenant("bee"),
        ConnectionStatus.RECONNECT,
        "Exact refused the refresh token",
        now=fleet.world.now(),
    )
    for code in CODES:
        fleet.ingest(code, **documents(code, 2))
    async with fleet.workers():
        await until(lambda: fleet.posted("default", "cee"), what="the others posted")
        await asyncio.sleep(QUICK * 10)
    assert set(fleet.states("bee").values()) == {JobState.PENDING}
    assert fleet.calls("bee") == 0
    assert fleet.refs("default") == ["D-NL-0", "D-NL-1"] and fleet.refs("cee") == [
        "C-NL-0",
        "C-NL-1",
    ]


async def test_a_disabled_tenant_gets_nothing_imported_exported_or_refreshed(
    fleet: Fleet,
) -> None:
    cee = fleet.tenant("cee")
    now = fleet.world.now()
    with cee.write() as session:
        # A stale token (a keep-alive would refresh it) and an import asked for.
        token = session.get(OAuthToken, tenant_key(session))
        assert token is not None
        token.issued_at = now - dt.timedelta(days=3)
        session.add(token)
        session.add(SyncRequest(trigger="manual", requested_by="ops", requested_at=now))
    with fleet.store.write() as session:
        tenant = session.get(Tenant, fleet.ids["cee"])
        assert tenant is not None
        tenant.disabled_at, tenant.disabled_reason = now, "contract ended"
        session.add(tenant)
    with fleet.tenant("bee").write() as session:
        session.add(SyncRequest(division=NL, trigger="manual", requested_by="ops"))
    for code in CODES:
        fleet.ingest(code, **documents(code, 1))

    def bee_imported() -> bool:
        with fleet.tenant("bee").read() as session:
            return {r.state for r in session.exec(select(SyncRequest))} == {"done"}

    async with fleet.workers() as (worker,):
        await until(lambda: fleet.posted("default", "bee"), what="the enabled tenants posted")
        await until(bee_imported, what="the enabled tenant's import done")
        await asyncio.sleep(QUICK * 10)
        assert fleet.ids["cee"] not in worker.tenants
    assert fleet.calls("cee") == 0, "nothing imported, exported or refreshed"
    assert set(fleet.states("cee").values()) == {JobState.PENDING}
    with cee.read() as session:
        assert {r.state for r in session.exec(select(SyncRequest))} == {"pending"}


async def test_a_nightly_refresh_leaves_no_link_open_that_nothing_else_uses(
    fleet: Fleet,
) -> None:
    """A tenant with nothing to export or import: its keep-alive refreshes the stale token
    through a session opened for it alone, closed after. A link already open stays open."""
    _, links = build_worker(
        fleet.store,
        fleet.world.secrets,
        fleet.setup(),
        clock=fleet.world,
        transport=fleet.transport,
    )
    fleet.world.sandbox.advance(3600)  # Exact gives a new token once 10 minutes have passed
    now = fleet.world.now()

    def stale(code: str) -> dt.datetime:
        with fleet.tenant(code).write() as session:
            token = session.get(OAuthToken, tenant_key(session))
            assert token is not None
            token.issued_at = now - dt.timedelta(days=3)
            session.add(token)
            return token.issued_at

    def issued(code: str) -> dt.datetime:
        with fleet.tenant(code).read() as session:
            token = session.get(OAuthToken, tenant_key(session))
            assert token is not None
            return token.issued_at

    try:
        before = {code: stale(code) for code in ("bee", "cee")}
        idle = links.parts(fleet.ids["bee"])
        busy = links.parts(fleet.ids["cee"])
        assert idle is not None and busy is not None
        open_session = await busy.link.session()
        for code in ("bee", "cee"):
            await links.keep_alive(fleet.ids[code])
            assert issued(code) > before[code], code
        assert idle.link._session is None
        assert busy.link._session is open_session
        assert fleet.calls("bee") == 1  # the refresh, nothing else
    finally:
        await links.close()


async def test_a_worker_given_one_tenant_serves_that_tenant_only(fleet: Fleet) -> None:
    for code in CODES:
        fleet.ingest(code, **documents(code, 1))
    async with fleet.workers(store=fleet.tenant("bee")) as (worker,):
        await until(lambda: fleet.posted("bee"), what="bee posted")
        await asyncio.sleep(QUICK * 10)
        assert worker.tenants == {fleet.ids["bee"]: "bee"}
    assert fleet.calls("default") == fleet.calls("cee") == 0
    assert set(fleet.states("default").values()) == {JobState.PENDING}


async def test_two_workers_share_the_tenants_divisions_by_tenant_and_division(
    fleet: Fleet,
) -> None:
    for code in CODES:
        fleet.ingest(code, **documents(code, 6, be=6))
    seen: dict[str, set[tuple[int, int]]] = {}
    async with fleet.workers(2) as workers:

        def both_serve() -> bool:
            for worker in workers:
                seen.setdefault(worker.worker_id, set()).update(worker.owned)
            a, b = (w.owned for w in workers)
            assert a.isdisjoint(b), (a, b)
            return all(seen.values()) and len(seen) == 2

        await until(both_serve, what="both workers hold divisions")
        await until(lambda: fleet.posted(*CODES), what="every document posted")
    keys = {(fleet.ids[c], d) for c in CODES for d in (NL, BE)}
    # Six divisions of the same two numbers, shared out: neither took them all.
    assert set().union(*seen.values()) <= keys
    assert all(len(owned) < len(keys) for owned in seen.values())
    for code in CODES:
        refs = Counter(fleet.refs(code) + fleet.refs(code, BE))
        prefix = code[0].upper()
        assert set(refs) == {f"{prefix}-{d}-{k}" for d in ("NL", "BE") for k in range(6)}
        assert max(refs.values()) == 1, "no entry twice"
    with fleet.store.all_tenants().read() as session:
        held = session.exec(select(DivisionLease).where(col(DivisionLease.owner).is_not(None)))
        assert list(held) == [], "every lease released on stop"


async def test_an_idle_poll_costs_the_same_few_index_reads_whatever_the_tenants(
    fleet: Fleet,
) -> None:
    for code in CODES:
        fleet.ingest(code, **documents(code, 1))
    async with fleet.workers():
        await until(lambda: fleet.posted(*CODES), what="every tenant's documents posted")
        await until(fleet.imported, what="every tenant's import done")
    worker, links = build_worker(fleet.store, fleet.world.secrets, fleet.setup(), clock=fleet.world)

    def poll() -> list[tuple[str, Any]]:
        """What one poll with nothing due reads, statement by statement."""
        statements: list[tuple[str, Any]] = []

        def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
            statements.append((statement, parameters))

        worker._read_tenants()
        event.listen(fleet.store.engine, "before_cursor_execute", seen)
        try:
            worker.export.prepare()
            assert worker.export.due_divisions() == []
            assert worker._claim_sync_request() is None
            assert worker.reconcile is not None and worker.reconcile.claim("w") is None
            assert not worker._has_pending_sync()
        finally:
            event.remove(fleet.store.engine, "before_cursor_execute", seen)
        return statements

    few = poll()
    with fleet.store.write() as session:
        for n in range(40):
            session.add(Tenant(code=f"more-{n}", name=f"More {n}"))
    many = poll()
    assert len(worker.tenants) == len(CODES) + 40
    # The same statements, not one more per tenant.
    assert [s for s, _ in many] == [s for s, _ in few]
    for statement, parameters in many:
        if "FROM export_job" in statement or "FROM sync_request" in statement:
            plan = _plan(fleet.store, statement, parameters)
            assert not re.search(r"(SCAN|Seq Scan on) (export_job|sync_request)", plan), plan
    await links.close()


class Counted(httpx.AsyncBaseTransport):
    """The requests in flight per Exact and division, across every worker, and the most at
    once; each answer comes a little late, so that two senders would overlap."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.now: Counter[tuple[str, str]] = Counter()
        self.most: Counter[tuple[str, str]] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        match = re.match(r"/api/v1/(\d+)/", request.url.path)
        if match is None:
            return await self.inner.handle_async_request(request)
        key = (request.url.host, match.group(1))
        self.now[key] += 1
        self.most[key] = max(self.most[key], self.now[key])
        try:
            await asyncio.sleep(0.005)
            return await self.inner.handle_async_request(request)
        finally:
            self.now[key] -= 1


async def test_an_import_calls_a_division_only_while_holding_it(fleet: Fleet) -> None:
    """Issue 18: an import (and a reconciliation) calls a division under its lease, so it
    never is in flight there beside the division's holder on another worker."""
    counted = Counted(fleet.transport)
    fleet.transport = counted
    for code in CODES:
        fleet.ingest(code, **documents(code, 8, be=8))
    with fleet.tenant("default").write() as session:
        session.add(SyncRequest(trigger="manual", requested_by="ops"))
    async with fleet.workers(2):
        await until(lambda: fleet.posted(*CODES), what="every document posted")
        await until(fleet.imported, what="the import done")
    with fleet.tenant("default").read() as session:
        results = [r.result for r in session.exec(select(SyncRequest)) if r.trigger == "manual"]
    assert results and all(str(NL) in (r or "") and str(BE) in (r or "") for r in results)
    assert counted.most, "nothing was counted"
    assert max(counted.most.values()) == 1, counted.most


class Stall(httpx.AsyncBaseTransport):
    """Holds the first import of `division` at `host` (its first entity, the journals) until
    `go` is set (the worker frozen with that request under way), and counts the requests to
    that division after it."""

    def __init__(self, inner: httpx.AsyncBaseTransport, host: str, division: int) -> None:
        self.inner = inner
        self.host = host
        self.prefix = f"/api/v1/{division}/"
        self.first = f"/api/v1/{division}/financial/Journals"
        self.held = asyncio.Event()
        self.go = asyncio.Event()
        self.after: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == self.host and request.url.path.startswith(self.prefix):
            if self.held.is_set():
                self.after.append(f"{request.method} {request.url.path}")
            elif request.url.path == self.first:
                self.held.set()
                await self.go.wait()
        return await self.inner.handle_async_request(request)


async def test_an_import_stalled_past_its_lease_sends_nothing_more_to_the_division(
    fleet: Fleet,
) -> None:
    """Issue 18: a worker frozen in the middle of an import (SIGSTOP, a suspended host) whose
    division's lease ran out and went to another worker sends no further request there when
    it wakes: each request to the division is checked right before it leaves, the import stops
    between two calls and is queued again, and waits for the division."""
    stall = Stall(fleet.transport, "bee.sandbox.test", NL)
    fleet.transport = stall
    bee = fleet.ids["bee"]
    with fleet.tenant("bee").write() as session:
        session.add(SyncRequest(division=NL, trigger="manual", requested_by="ops"))

    def interrupted() -> list[SyncRequest]:
        with fleet.tenant("bee").read() as session:
            return [
                r
                for r in session.exec(select(SyncRequest))
                if "held by another worker" in (r.result or "")
            ]

    async with fleet.workers() as (worker,):
        await until(stall.held.is_set, what="the import's first request under way")
        assert (bee, NL) in worker.owned
        # Frozen past its lease: the lease ran out and another worker, alive, took it.
        now = fleet.world.now()
        with fleet.store.all_tenants().write() as session:
            session.add(WorkerHeartbeat(worker_id="other", host="elsewhere", pid=1, beat_at=now))
            lease = session.get(DivisionLease, (bee, NL))
            assert lease is not None and lease.owner == worker.worker_id
            lease.owner, lease.expires_at = "other", now + dt.timedelta(days=1)
            session.add(lease)
        stall.go.set()
        await until(interrupted, what="the import stopped and queued again")
        (stopped,) = interrupted()
        # Queued again, it waits for the division (the other worker holds it).
        await until(lambda: worker._waiting[bee] == 1, what="the import waiting for the division")
        assert (bee, NL) not in worker.owned
    assert stall.after == []
    with fleet.tenant("bee").read() as session:
        again = session.get(SyncRequest, stopped.id)
    assert again is not None and again.state == "pending"


def test_a_division_given_back_is_taken_again_at_the_next_poll(fleet: Fleet) -> None:
    """A division released for want of work is free at once for this worker too: a document
    arriving just after is served at the next poll, not after the next heartbeat."""
    worker, _ = build_worker(fleet.store, fleet.world.secrets, fleet.setup(), clock=fleet.world)
    key = (fleet.ids["bee"], NL)
    worker._read_tenants()
    worker._take_due([key])
    assert worker.owned == {key}
    worker._rebalance()  # nothing busy: given back
    assert worker.owned == set()
    with fleet.store.all_tenants().read() as session:
        lease = session.get(DivisionLease, key)
    assert lease is not None and lease.owner is None
    worker._take_due([key])
    assert worker.owned == {key}


def _more_tenants(fleet: Fleet, first: int, count: int, *, blocked: bool) -> None:
    """`count` more tenants, each with one job routed to division 101001. `blocked`: their
    connection needs a Reconnect and the job would be due (what a fleet holds while some of
    its companies wait for a person); otherwise they are connected, the job is posted and the
    day's import done: nothing due."""
    now = fleet.world.now()
    for n in range(first, first + count):
        code = f"{'blocked' if blocked else 'idle'}-{n}"
        with fleet.store.write() as session:
            session.add(Tenant(code=code, name=code))
        with fleet.store.tenant(code).write() as session:
            session.add(
                ExactConnection(
                    region="nl",
                    base_url="http://nowhere.test",
                    client_id="c",
                    redirect_uri="http://localhost/cb",
                    status=ConnectionStatus.RECONNECT if blocked else ConnectionStatus.CONNECTED,
                    reason="Exact refused the refresh token" if blocked else None,
                    activated_at=now - dt.timedelta(days=30),
                )
            )
            session.add(
                ExportJob(
                    document_kind=DocumentKind.INVOICE,
                    document_id=(900_000 if blocked else 800_000) + n,
                    document_number=f"{'X' if blocked else 'P'}-{n}",
                    document_date=now.date(),
                    division=NL,
                    state=JobState.PENDING if blocked else JobState.POSTED,
                )
            )
            if not blocked:
                session.add(
                    SyncRequest(
                        trigger="daily", requested_by="schedule", requested_at=now, state="done"
                    )
                )


async def test_tenants_waiting_for_a_reconnect_add_nothing_to_an_idle_poll(fleet: Fleet) -> None:
    """Jobs of tenants whose exports cannot run (Reconnect, paused) are not due: a poll reads
    the same statements whether 2 or 12 such tenants wait, not one more per tenant."""
    worker, links = build_worker(fleet.store, fleet.world.secrets, fleet.setup(), clock=fleet.world)

    def poll() -> list[str]:
        statements: list[str] = []

        def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        worker._read_tenants()
        event.listen(fleet.store.engine, "before_cursor_execute", seen)
        try:
            worker.export.prepare()
            assert worker.export.due_divisions() == []
        finally:
            event.remove(fleet.store.engine, "before_cursor_execute", seen)
        return statements

    _more_tenants(fleet, 0, 2, blocked=True)
    few = poll()
    _more_tenants(fleet, 2, 10, blocked=True)
    many = poll()
    assert len(worker.tenants) == len(CODES) + 12
    assert many == few
    await links.close()


async def test_a_whole_idle_tick_and_heartbeat_read_the_same_whatever_the_tenants(
    fleet: Fleet,
) -> None:
    """The worker's whole poll and its heartbeat with nothing due, not only the queries
    for work: the same statements with 5 or 35 more connected tenants."""
    for code in CODES:
        fleet.ingest(code, **documents(code, 1))
    async with fleet.workers():
        await until(lambda: fleet.posted(*CODES), what="every tenant's documents posted")
        await until(fleet.imported, what="every tenant's import done")
    worker, links = build_worker(fleet.store, fleet.world.secrets, fleet.setup(), clock=fleet.world)
    worker._start()

    async def poll() -> list[str]:
        statements: list[str] = []

        def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        worker._read_tenants()
        await asyncio.sleep(0)
        event.listen(fleet.store.engine, "before_cursor_execute", seen)
        try:
            assert not await worker._tick()
            worker._beat("running")
            worker._read_tenants()
            worker._look_after_others(worker._dead_owners(recent=True) - worker._handled_dead)
            worker._rebalance()
        finally:
            event.remove(fleet.store.engine, "before_cursor_execute", seen)
        return statements

    _more_tenants(fleet, 0, 5, blocked=False)
    few = await poll()
    _more_tenants(fleet, 5, 30, blocked=False)
    many = await poll()
    assert len(worker.tenants) == len(CODES) + 35
    assert many == few
    await links.close()


class Gate(httpx.AsyncBaseTransport):
    """Holds the first entry posted to `host` until `open` is set (a slow Exact), and counts
    the entries posted there after it."""

    def __init__(self, inner: httpx.AsyncBaseTransport, host: str) -> None:
        self.inner = inner
        self.host = host
        self.held = asyncio.Event()
        self.open = asyncio.Event()
        self.posted = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        entry = request.method == "POST" and request.url.path.endswith("/SalesEntries")
        if entry and request.url.host == self.host:
            self.posted += 1
            if not self.held.is_set():
                self.held.set()
                await self.open.wait()
        return await self.inner.handle_async_request(request)


async def test_a_tenant_disabled_while_its_entry_is_in_flight_gets_nothing_more(
    fleet: Fleet,
) -> None:
    """The entry under way finishes (posted, or unknown to be settled by lookup: never lost
    or sent twice); nothing more of that tenant is sent, the others go on."""
    gate = Gate(fleet.transport, "bee.sandbox.test")
    fleet.transport = gate
    for code in CODES:
        fleet.ingest(code, **documents(code, 4, be=0))
    async with fleet.workers() as (worker,):
        await until(gate.held.is_set, what="bee's first entry in flight")
        with fleet.store.write() as session:
            tenant = session.get(Tenant, fleet.ids["bee"])
            assert tenant is not None
            tenant.disabled_at, tenant.disabled_reason = fleet.world.now(), "contract ended"
            session.add(tenant)
        await until(lambda: fleet.ids["bee"] not in worker.tenants, what="bee no longer served")
        gate.open.set()
        await until(lambda: fleet.posted("default", "cee"), what="the others posted")
        await until(
            lambda: JobState.IN_FLIGHT not in fleet.states("bee").values(),
            what="bee's entry under way settled",
        )
        await asyncio.sleep(QUICK * 20)
    bee = fleet.states("bee")
    assert gate.posted == 1, "nothing more of bee was sent"
    assert sorted(bee.values()).count(JobState.PENDING) == 3
    sent = [state for state in bee.values() if state is not JobState.PENDING]
    assert sent in ([JobState.POSTED], [JobState.UNKNOWN])
    assert len(fleet.refs("bee")) == 1


async def test_two_workers_create_each_tenants_customers_once_with_look_alike_data(
    fleet: Fleet,
) -> None:
    """The same customer numbers and invoice numbers in every tenant, two workers: each
    tenant's Exact gets each of its customers once per division and each invoice once."""
    records = {
        "customers": [customer(f"K{c}") for c in range(4)],
        "invoices": [
            invoice(f"INV-{c}-{k}", f"K{c}", **({"bank_account": IBAN_BE} if k % 2 else {}))
            for c in range(4)
            for k in range(4)
        ],
    }
    for code in CODES:
        fleet.ingest(code, **records)
    async with fleet.workers(2):
        await until(lambda: fleet.posted(*CODES), what="every document posted")
    wanted = {i["number"] for i in records["invoices"]}
    for code in CODES:
        ledger: Any = fleet.sandboxes[code].ledger()["divisions"]
        refs: Counter[str] = Counter()
        accounts: Counter[tuple[int, str]] = Counter()
        for division in (NL, BE):
            refs.update(e["YourRef"] for e in ledger[str(division)]["sales_entries"])
            accounts.update(
                (division, a["Name"])
                for a in ledger[str(division)]["accounts"]
                if str(a.get("Name") or "").startswith("Klant K")
            )
        assert set(refs) == wanted and max(refs.values()) == 1, code
        assert len(accounts) == 2 * 4 and max(accounts.values()) == 1, (code, accounts)


async def test_an_import_waiting_for_a_division_another_worker_holds_blocks_no_other_import(
    fleet: Fleet,
) -> None:
    """A tenant's import waits while another worker holds one of its divisions (busy with its
    exports, maybe for hours); the imports of other tenants go on meanwhile, even with one
    import at a time."""
    now = fleet.world.now()
    with fleet.store.all_tenants().write() as session:
        session.add(WorkerHeartbeat(worker_id="other", host="elsewhere", pid=1, beat_at=now))
        session.add(
            DivisionLease(
                tenant_id=fleet.ids["default"],
                division=NL,
                owner="other",
                taken_at=now,
                renewed_at=now,
                expires_at=now + dt.timedelta(days=1),
            )
        )
    for code in ("default", "cee"):
        with fleet.tenant(code).write() as session:
            session.add(SyncRequest(division=NL, trigger="manual", requested_by="ops"))
    setup = fleet.setup()
    one_at_a_time = dataclasses.replace(
        setup, worker=dataclasses.replace(setup.worker, sync_concurrency=1)
    )
    fleet.setup = lambda: one_at_a_time  # type: ignore[method-assign]

    def state(code: str) -> set[str]:
        with fleet.tenant(code).read() as session:
            return {r.state for r in session.exec(select(SyncRequest)) if r.trigger == "manual"}

    def default_imports() -> set[str]:
        with fleet.tenant("default").read() as session:
            return {r.state for r in session.exec(select(SyncRequest))}

    async with fleet.workers():
        await until(lambda: state("cee") == {"done"}, what="cee imported", guard=30)
        # default's import waits for its division, and its next one waits behind it.
        assert default_imports() == {"running", "pending"}
    assert fleet.calls("default") == 0


async def test_a_killed_worker_holding_divisions_of_several_tenants_is_taken_over(
    fleet: Fleet,
) -> None:
    """kill -9 of a worker with an entry in flight in two tenants' divisions 101001: after
    the lease, another worker holds both (tenant, division) pairs, settles each tenant's entry
    by lookup in that tenant's Exact and posts each once."""
    gates = Gate(Gate(fleet.transport, "bee.sandbox.test"), "cee.sandbox.test")
    inner = gates.inner
    assert isinstance(inner, Gate)
    fleet.transport = gates
    for code in ("bee", "cee"):
        fleet.ingest(code, **documents(code, 1, be=0))
    setup = fleet.setup()
    victim, victim_links = build_worker(
        fleet.store, fleet.world.secrets, setup, clock=fleet.world, transport=gates
    )
    victim.worker_id = "doomed:1:1"
    running = asyncio.create_task(victim.run())
    await until(lambda: gates.held.is_set() and inner.held.is_set(), what="both entries in flight")
    # kill -9: no release, no last heartbeat, the requests never answered.
    victim._final_beat = lambda: None  # type: ignore[method-assign]
    for task in [*victim._division_tasks.values(), running]:
        task.cancel()
    await asyncio.gather(running, return_exceptions=True)
    await victim_links.close()
    keys = {(fleet.ids[c], NL) for c in ("bee", "cee")}
    assert victim.owned >= keys
    gates.open.set()
    inner.open.set()
    async with fleet.workers() as (heir,):
        fleet.world.sandbox.advance(setup.worker.lease_seconds + 1)
        await until(lambda: heir.owned >= keys, what="both tenants' divisions taken over")

        def settled() -> bool:
            fleet.world.sandbox.advance(60)
            return fleet.posted("bee", "cee")

        await until(settled, what="both entries settled and posted")
    assert fleet.refs("bee") == ["B-NL-0"] and fleet.refs("cee") == ["C-NL-0"]
    assert fleet.refs("default") == []
