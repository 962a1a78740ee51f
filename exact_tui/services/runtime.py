"""The worker's wiring: for each tenant its link to Exact (opened while the store says
Connected, closed when not) and its runners, built when first needed; and the runners across
tenants the worker drives (docs/worker.md §Tenants)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlmodel import col, select

from exact_tui.domain.states import ConnectionStatus
from exact_tui.domain.text import cut
from exact_tui.exact.errors import ExactError
from exact_tui.exact.http import DivisionGuard, ExactClient
from exact_tui.secret_store import SecretStore, SecretStoreError
from exact_tui.services.clock import Clock, SystemClock
from exact_tui.services.exact_session import ExactSession, exact_session
from exact_tui.services.export import ExportOptions, ExportService
from exact_tui.services.export.fleet import FleetExport
from exact_tui.services.masterdata import MasterDataImporter
from exact_tui.services.reconcile import (
    SCHEDULE,
    ReconcileOptions,
    Reconciler,
    request_reconcile,
)
from exact_tui.services.tokens import KEY_REASON, set_status, tokens_problem
from exact_tui.services.worker import (
    Lanes,
    ReconcileClaim,
    SyncRequestInfo,
    Worker,
    WorkerOptions,
)
from exact_tui.store.engine import Store, TenantStore, UnknownTenant
from exact_tui.store.models import ExactConnection, ReconcileRun, Tenant, width
from exact_tui.store.scoping import tenant_of

log = logging.getLogger("exact_tui.worker")


class NotConnected(Exception):
    """The worker has no usable connection to Exact; the message says why."""


@dataclass(frozen=True)
class LinkOptions:
    error_threshold: int = 8
    timeout: float = 30.0


class ExactLink:
    """One authenticated session for the worker's life, opened when the connection is usable
    and closed when it stops being so (disconnect, reconnect needed)."""

    def __init__(
        self,
        store: Store,
        secrets: SecretStore,
        *,
        clock: Clock,
        options: LinkOptions | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        guard: DivisionGuard | None = None,
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.clock = clock
        self.options = options or LinkOptions()
        self.transport = transport
        #: The worker's check before each request to a division (`ExactClient`'s guard).
        self.guard = guard
        self._stack: AsyncExitStack | None = None
        self._session: ExactSession | None = None
        self._last_problem: str | None = None
        #: One opening at a time: two divisions asking at once must get one session (a
        #: second would replace the first, whose client then closes under its caller).
        self._opening = asyncio.Lock()

    def status(self) -> ConnectionStatus | None:
        with self.store.read() as session:
            conn = session.get(ExactConnection, tenant_of(session))
            return conn.status if conn else None

    async def session(self) -> ExactSession | None:
        """The open session, opening it if the connection is usable; None (and closed) when
        it is not. A problem is logged once, not on every poll.

        Before a session opens, the data key must open the stored tokens: if it does not, the
        connection shows Error with the reason and nothing is claimed or sent (a job must
        never look "sent" for a key problem). Once the key opens them again (the right key
        restored, a reconnect), the connection is Connected again."""
        async with self._opening:
            return await self._open()

    async def _open(self) -> ExactSession | None:
        status, reason = self._status_and_reason()
        key_problem = status is ConnectionStatus.ERROR and (reason or "").startswith(KEY_REASON)
        if status is not ConnectionStatus.CONNECTED and not key_problem:
            await self.close()
            return None
        if self._session is not None and not key_problem:
            return self._session
        problem = await asyncio.to_thread(tokens_problem, self.store, self.secrets)
        if problem is not None:
            await self.close()
            if not key_problem or reason != cut(problem, width(ExactConnection.reason)):
                await asyncio.to_thread(self._set_status, ConnectionStatus.ERROR, problem)
            self._note(f"cannot use the connection: {problem}")
            return None
        if key_problem:
            await asyncio.to_thread(self._set_status, ConnectionStatus.CONNECTED, None)
        stack = AsyncExitStack()
        try:
            self._session = await stack.enter_async_context(
                exact_session(
                    self.store,
                    self.secrets,
                    error_threshold=self.options.error_threshold,
                    timeout=self.options.timeout,
                    transport=self.transport,
                    clock=self.clock.now,
                    sleep=self.clock.sleep,
                    guard=self.guard,
                )
            )
        except (ExactError, SecretStoreError) as exc:
            await stack.aclose()
            self._note(f"cannot reach Exact: {exc}")
            return None
        self._stack = stack
        self._last_problem = None
        return self._session

    def _status_and_reason(self) -> tuple[ConnectionStatus | None, str | None]:
        with self.store.read() as session:
            conn = session.get(ExactConnection, tenant_of(session))
            return (conn.status, conn.reason) if conn else (None, None)

    def _set_status(self, status: ConnectionStatus, reason: str | None) -> None:
        reason = cut(reason, width(ExactConnection.reason)) or None
        set_status(self.store, status, reason, now=self.clock.now())

    async def client(self) -> ExactClient:
        session = await self.session()
        if session is None:
            raise NotConnected(self._last_problem or "not connected to Exact")
        return session.client

    def _note(self, problem: str) -> None:
        if problem != self._last_problem:
            log.error("%s", problem)
            self._last_problem = problem

    async def keep_alive(self) -> None:
        """The daily refresh of an idle connection, so the 30-day refresh token never lapses.
        When nothing has opened the link (a tenant with nothing to export or import), the
        session is opened for the refresh alone and closed after: a fleet of idle tenants
        keeps no client open between their nightly refreshes."""
        async with self._opening:
            kept = self._session is not None
            session = await self._open()
            if session is None:
                return
            stack = self._stack
            if not kept:
                # Detached before anyone else can be given it: this session is ours alone.
                self._stack = self._session = None
        try:
            await session.tokens.refresh_if_idle()
        finally:
            if not kept and stack is not None:
                await stack.aclose()

    async def close(self) -> None:
        if self._stack is not None:
            stack, self._stack, self._session = self._stack, None, None
            await stack.aclose()


class MasterDataSyncRunner:
    """The worker's `SyncRunner`: master-data import over the link."""

    def __init__(
        self,
        store: Store,
        link: ExactLink,
        clock: Clock,
        timezone: str,
        *,
        reconcile_daily: bool = False,
    ) -> None:
        self.store = store
        self.link = link
        self.clock = clock
        self.timezone = timezone
        self.reconcile_daily = reconcile_daily

    def ready(self) -> bool:
        return self.link.status() is ConnectionStatus.CONNECTED

    async def run(self, request: SyncRequestInfo, lanes: Lanes, stop: asyncio.Event) -> str:
        client = await self.link.client()
        importer = MasterDataImporter(
            self.store, client, clock=self.clock, stop=stop, timezone=self.timezone
        )
        result = await importer.run(request, lanes)
        if request.trigger == "daily" and self.reconcile_daily:
            # After the daily import, what Exact holds is compared with the store.
            await asyncio.to_thread(request_reconcile, self.store, SCHEDULE, trigger="daily")
        return result


@dataclass(frozen=True)
class WorkerSetup:
    """Everything a worker process needs, from the settings (plain values)."""

    link: LinkOptions
    export: ExportOptions
    worker: WorkerOptions
    reconcile: ReconcileOptions = field(default_factory=ReconcileOptions)
    #: Queue a reconciliation after each daily import.
    reconcile_daily: bool = True


@dataclass
class TenantParts:
    """What the worker builds for one tenant: its link to Exact (tokens, refresh, pauses,
    Reconnect), its export pipeline, its import and its reconciliation."""

    store: TenantStore
    link: ExactLink
    export: ExportService
    sync: MasterDataSyncRunner
    reconcile: Reconciler


class TenantLinks:
    """Each tenant's parts, built when first needed and kept; dropped (their link closed)
    when the tenant is no longer served. `close()` closes every link (call it when the
    worker has stopped)."""

    def __init__(
        self,
        store: Store,
        secrets: SecretStore,
        setup: WorkerSetup,
        *,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.root = store.root
        self.secrets = secrets
        self.setup = setup
        self.clock = clock
        self.transport = transport
        #: The worker's check before each request to one of a tenant's divisions: (tenant,
        #: division) → raises `Fenced` when another worker holds it (set by `build_worker`).
        self.guard: Callable[[int, int], Awaitable[None]] | None = None
        self._parts: dict[int, TenantParts] = {}

    def parts(self, tenant: int) -> TenantParts | None:
        """The tenant's parts; None when there is no such tenant (removed)."""
        parts = self._parts.get(tenant)
        if parts is None:
            try:
                store = self.root.tenant(tenant)
            except UnknownTenant:
                return None
            parts = self._parts[tenant] = self._build(store)
        return parts

    def _build(self, store: TenantStore) -> TenantParts:
        setup, clock = self.setup, self.clock
        guard = functools.partial(self.guard, store.tenant_id) if self.guard else None
        link = ExactLink(
            store,
            self.secrets,
            clock=clock,
            options=setup.link,
            transport=self.transport,
            guard=guard,
        )

        async def client() -> ExactClient | None:
            session = await link.session()
            return session.client if session is not None else None

        return TenantParts(
            store=store,
            link=link,
            export=ExportService(store, client, options=setup.export, clock=clock),
            sync=MasterDataSyncRunner(
                store, link, clock, setup.worker.timezone, reconcile_daily=setup.reconcile_daily
            ),
            reconcile=Reconciler(store, client, options=setup.reconcile, clock=clock),
        )

    def export(self, tenant: int) -> ExportService | None:
        parts = self.parts(tenant)
        return parts.export if parts is not None else None

    async def keep_alive(self, tenant: int) -> None:
        parts = self.parts(tenant)
        if parts is not None:
            await parts.link.keep_alive()

    async def retain(self, tenants: set[int]) -> None:
        """Drop the parts of tenants no longer served (disabled, removed), and those built for
        a tenant whose id is now another's (SQLite gives a removed tenant's id again): its
        link, tokens and pipeline are never the new tenant's."""
        codes: dict[int | None, str] = {}
        if self._parts and tenants:  # closing (none served) reads nothing
            codes = {t.id: t.code for t in await asyncio.to_thread(self.root.tenants)}
        for tenant in sorted(self._parts):
            if tenant not in tenants or codes.get(tenant) != self._parts[tenant].store.code:
                parts = self._parts.pop(tenant)
                await parts.link.close()

    async def close(self) -> None:
        await self.retain(set())


class FleetSync:
    """The worker's `SyncRunner`: each request imported by its tenant's runner."""

    def __init__(self, links: TenantLinks) -> None:
        self.links = links

    def ready(self) -> bool:
        return True

    async def run(self, request: SyncRequestInfo, lanes: Lanes, stop: asyncio.Event) -> str:
        assert request.tenant_id is not None
        parts = self.links.parts(request.tenant_id)
        if parts is None:
            raise NotConnected(f"tenant {request.tenant_id} is gone")
        return await parts.sync.run(request, lanes.of(request.tenant_id), stop)


class FleetReconcile:
    """The worker's `ReconcileRunner`: the oldest waiting run of an enabled, connected tenant
    (one query across tenants), done by its tenant's reconciler."""

    def __init__(self, links: TenantLinks, only: int | None) -> None:
        self.links = links
        self._fleet = links.root.all_tenants()
        self.only = only

    def _waiting(self) -> Any:
        query = (
            select(ReconcileRun)
            .join(Tenant, col(Tenant.id) == ReconcileRun.tenant_id)
            .join(ExactConnection, col(ExactConnection.tenant_id) == ReconcileRun.tenant_id)
            .where(col(ReconcileRun.state) == "pending")
            .where(col(Tenant.disabled_at).is_(None))
            .where(col(ExactConnection.status) == ConnectionStatus.CONNECTED)
        )
        if self.only is not None:
            query = query.where(col(ReconcileRun.tenant_id) == self.only)
        return query.order_by(col(ReconcileRun.id)).limit(1)

    def claim(self, worker_id: str) -> ReconcileClaim | None:
        with self._fleet.read() as session:
            if session.exec(self._waiting()).first() is None:
                return None  # the usual case: no write transaction on an idle poll
        with self._fleet.write() as session:
            run = session.exec(
                self._waiting().with_for_update(skip_locked=True, of=ReconcileRun)
            ).first()
            if run is None or run.id is None:
                return None
            run.state = "running"
            run.picked_by = worker_id
            run.picked_at = self.links.clock.now()
            session.add(run)
            return ReconcileClaim(run.tenant_id, run.id)

    def release(self, dead: set[str]) -> None:
        with self._fleet.write() as session:
            for run in session.exec(
                select(ReconcileRun)
                .where(col(ReconcileRun.state) == "running")
                .with_for_update(skip_locked=True)
            ):
                if run.picked_by is None or run.picked_by in dead:
                    run.state, run.picked_by = "pending", None
                    session.add(run)

    async def run(self, claim: ReconcileClaim, lanes: Lanes, stop: asyncio.Event) -> None:
        parts = self.links.parts(claim.tenant_id)
        if parts is not None:
            await parts.reconcile.run(claim.run_id, lanes.of(claim.tenant_id), stop)


def build_worker(
    store: Store,
    secrets: SecretStore,
    setup: WorkerSetup,
    *,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[Worker, TenantLinks]:
    """The worker with each tenant's link to Exact, import and export pipeline (docs/worker.md
    §Tenants): given a root store it serves every enabled tenant, given a tenant's store that
    tenant only. Close the links when the worker has stopped."""
    clock = clock or SystemClock()
    links = TenantLinks(store, secrets, setup, clock=clock, transport=transport)
    only = store.tenant_id if isinstance(store, TenantStore) else None
    worker = Worker(
        store,
        FleetSync(links),
        FleetExport(store, links.export, clock=clock, only=only),
        options=setup.worker,
        clock=clock,
        keep_alive=links.keep_alive,
        reconcile=FleetReconcile(links, only),
        tenants_changed=links.retain,
    )
    links.guard = worker.guard
    return worker, links
