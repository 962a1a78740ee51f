"""The worker's wiring: its link to Exact (opened while the store says Connected, closed when
not) and the runners the worker drives."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import httpx

from exact_tui.domain.states import ConnectionStatus
from exact_tui.domain.text import cut
from exact_tui.exact.errors import ExactError
from exact_tui.exact.http import ExactClient
from exact_tui.secret_store import SecretStore, SecretStoreError
from exact_tui.services.clock import Clock, SystemClock
from exact_tui.services.exact_session import ExactSession, exact_session
from exact_tui.services.export import ExportOptions, ExportService
from exact_tui.services.masterdata import MasterDataImporter
from exact_tui.services.reconcile import (
    SCHEDULE,
    ReconcileOptions,
    Reconciler,
    request_reconcile,
)
from exact_tui.services.tokens import KEY_REASON, set_status, tokens_problem
from exact_tui.services.worker import Lanes, SyncRequestInfo, Worker, WorkerOptions
from exact_tui.store.engine import Store
from exact_tui.store.models import ExactConnection, width
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
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.clock = clock
        self.options = options or LinkOptions()
        self.transport = transport
        self._stack: AsyncExitStack | None = None
        self._session: ExactSession | None = None
        self._last_problem: str | None = None

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
        """The daily refresh of an idle connection, so the 30-day refresh token never lapses."""
        session = await self.session()
        if session is not None:
            await session.tokens.refresh_if_idle()

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


def build_worker(
    store: Store,
    secrets: SecretStore,
    setup: WorkerSetup,
    *,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[Worker, ExactLink]:
    """The worker with its link to Exact, its import and its export pipeline. Close the link
    when the worker has stopped."""
    clock = clock or SystemClock()
    link = ExactLink(store, secrets, clock=clock, options=setup.link, transport=transport)

    async def client() -> ExactClient | None:
        session = await link.session()
        return session.client if session is not None else None

    export = ExportService(store, client, options=setup.export, clock=clock)
    sync = MasterDataSyncRunner(
        store, link, clock, setup.worker.timezone, reconcile_daily=setup.reconcile_daily
    )
    worker = Worker(
        store,
        sync,
        export,
        options=setup.worker,
        clock=clock,
        daily_maintenance=link.keep_alive,
        reconcile=Reconciler(store, client, options=setup.reconcile, clock=clock),
    )
    return worker, link
