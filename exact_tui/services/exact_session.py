"""Wiring for whoever calls Exact (the worker, master-data import): the store-backed budget
recorder, and an authenticated client built from the stored connection and the secret store."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from sqlmodel import col, delete, select

from exact_tui.domain.text import cut
from exact_tui.exact.errors import ReconnectNeeded
from exact_tui.exact.http import DivisionGuard, ExactClient, NowFn, Sleep, utc_now
from exact_tui.exact.oauth import OAuthClient
from exact_tui.exact.ratelimit import ERROR_WINDOW, RateState, Window
from exact_tui.secret_store import (
    MISSING_CLIENT_SECRET,
    SecretStore,
    SecretStoreError,
    TokenCipher,
    client_secret,
)
from exact_tui.services.tokens import RefreshLock, TokenManager
from exact_tui.store.engine import Store
from exact_tui.store.models import ApiErrorRecord, Budget, ExactConnection, width
from exact_tui.store.scoping import tenant_key, tenant_of


def _endpoint(endpoint: str) -> str:
    """An endpoint as its error rows store it."""
    return cut(endpoint, width(ApiErrorRecord.endpoint))


class StoreBudgetRecorder:
    """`BudgetRecorder` on the store: the Budget row per division for the console's gauges, and
    the ApiErrorRecord rows that every process counts the error budget from."""

    def __init__(self, store: Store, *, clock: NowFn = utc_now) -> None:
        self._store = store
        self._clock = clock

    def load_rate(self, division: int) -> RateState | None:
        with self._store.read() as session:
            row = session.get(Budget, tenant_key(session, division))
        if row is None:
            return None
        return RateState(
            minutely=_window(row.minutely_limit, row.minutely_remaining, row.minutely_reset_at),
            daily=_window(row.daily_limit, row.daily_remaining, row.daily_reset_at),
        )

    def save_rate(self, division: int, state: RateState) -> None:
        with self._store.write() as session:
            row = session.get(Budget, tenant_key(session, division)) or Budget(division=division)
            if state.minutely is not None:
                row.minutely_limit = state.minutely.limit
                row.minutely_remaining = state.minutely.remaining
                row.minutely_reset_at = state.minutely.reset_at
            if state.daily is not None:
                row.daily_limit = state.daily.limit
                row.daily_remaining = state.daily.remaining
                row.daily_reset_at = state.daily.reset_at
            row.updated_at = self._clock()
            session.add(row)

    def record_error(self, division: int, endpoint: str, status: int, at: dt.datetime) -> None:
        with self._store.write() as session:
            # Errors older than the window count for nothing: keep the table small.
            session.execute(
                delete(ApiErrorRecord).where(col(ApiErrorRecord.at) < at - 2 * ERROR_WINDOW)
            )
            session.add(
                ApiErrorRecord(
                    division=division, endpoint=_endpoint(endpoint), status=status, at=at
                )
            )

    def recent_errors(self, division: int, endpoint: str, since: dt.datetime) -> list[dt.datetime]:
        with self._store.read() as session:
            return list(
                session.exec(
                    select(ApiErrorRecord.at)
                    .where(col(ApiErrorRecord.division) == division)
                    .where(col(ApiErrorRecord.endpoint) == _endpoint(endpoint))
                    .where(col(ApiErrorRecord.at) > since)
                )
            )


def _window(
    limit: int | None, remaining: int | None, reset_at: dt.datetime | None
) -> Window | None:
    if remaining is None or reset_at is None:
        return None
    return Window(limit, remaining, reset_at)


@dataclass(frozen=True)
class StoredConnection:
    base_url: str
    client_id: str
    redirect_uri: str


def stored_connection(store: Store) -> StoredConnection:
    with store.read() as session:
        conn = session.get(ExactConnection, tenant_of(session))
    if conn is None:
        raise ReconnectNeeded("not connected to Exact: run `exact-tui connect`")
    return StoredConnection(conn.base_url, conn.client_id, conn.redirect_uri)


@dataclass
class ExactSession:
    client: ExactClient
    tokens: TokenManager
    recorder: StoreBudgetRecorder


@asynccontextmanager
async def exact_session(
    store: Store,
    secrets: SecretStore,
    *,
    error_threshold: int = 8,
    timeout: float = 30.0,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: NowFn = utc_now,
    sleep: Sleep = asyncio.sleep,
    lock: RefreshLock | None = None,
    guard: DivisionGuard | None = None,
) -> AsyncIterator[ExactSession]:
    """An authenticated client for the stored connection: tokens from the store (refreshed by
    the token manager), budgets and errors recorded in the store. The connection's own host and
    client id are used, so a changed config cannot point old tokens at another host. A worker's
    `guard` runs before each request to a division that has no fence of its own."""
    conn = await asyncio.to_thread(stored_connection, store)
    secret = await asyncio.to_thread(client_secret, secrets)
    if secret is None:
        raise SecretStoreError(MISSING_CLIENT_SECRET)
    cipher = TokenCipher(await asyncio.to_thread(secrets.data_key))
    oauth = OAuthClient(
        conn.base_url,
        conn.client_id,
        secret.reveal(),
        conn.redirect_uri,
        timeout=timeout,
        transport=transport,
        clock=clock,
    )
    tokens = TokenManager(store, cipher, oauth, lock=lock, clock=clock, sleep=sleep)
    recorder = StoreBudgetRecorder(store, clock=clock)
    client = ExactClient(
        conn.base_url,
        tokens,
        recorder=recorder,
        error_threshold=error_threshold,
        timeout=timeout,
        transport=transport,
        clock=clock,
        sleep=sleep,
        guard=guard,
    )
    async with oauth, client:
        yield ExactSession(client=client, tokens=tokens, recorder=recorder)
