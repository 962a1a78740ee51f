"""The token manager: hands out a valid access token and refreshes it by the protocol of
docs/architecture.md §Connection, safe across processes that share one store.

Refresh: take the tenant's cross-process refresh lock (a file lock per tenant beside a SQLite
database, an advisory lock per tenant on PostgreSQL; tenants never wait for each other) →
reload the token row → refresh only if it is still due → save with compare-and-swap on
`version` → release. Exact rotates refresh tokens and refuses an old one, so
two processes must never refresh with the same token; whoever comes second finds the new token
already saved and uses it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

from filelock import FileLock, Timeout
from sqlalchemy import text, update
from sqlmodel import Session, col

from exact_tui.domain.states import ConnectionStatus
from exact_tui.exact.errors import ConnectionUnusable, ReconnectNeeded, Transient
from exact_tui.exact.http import NowFn, utc_now
from exact_tui.exact.oauth import (
    OAuthClient,
    TokenRefusal,
    TokenRefused,
    TokenSet,
    TooEarly,
    earliest_refresh,
    idle_refresh_due,
    refresh_due,
)
from exact_tui.secret_store import SecretStore, SecretStoreError, TokenCipher, register_secret
from exact_tui.store.engine import REFRESH_LOCK_KEY, Store
from exact_tui.store.models import ExactConnection, OAuthToken
from exact_tui.store.scoping import UnscopedSession, tenant_of

log = logging.getLogger(__name__)

#: Wait at most this long, holding the lock, for Exact's 570 s mark; longer waits are handed
#: back to the caller as a transient outcome with the time to retry.
MAX_TOKEN_WAIT: Final = 60.0
#: After TooEarlyToRefreshTokens although our clock said 570 s had passed: Exact's clock is
#: ahead of ours by about this much at most.
CLOCK_SKEW: Final = dt.timedelta(seconds=5)
#: The daily refresh of an idle connection (docs/architecture.md §Connection): the 30-day
#: refresh-token expiry never hits.
IDLE_REFRESH_AGE: Final = dt.timedelta(days=1)
#: The connection's reason when this process's data key cannot decrypt the stored tokens.
KEY_REASON: Final = "the data key does not open the stored tokens"

Sleep = Callable[[float], Awaitable[None]]


# ---------------------------------------------------------------- the cross-process lock


class RefreshLock(Protocol):
    def hold(self) -> AbstractAsyncContextManager[None]: ...


def lock_path(database: Path, tenant: int) -> Path:
    """A tenant's refresh lock of a SQLite store sits beside the database file, so every
    process that opens that file (a systemd worker, an operator's `connect` over SSH) shares it
    whatever its own state directory. One file per tenant: tenants refresh side by side."""
    return database.with_name(f"{database.name}.tenant-{tenant}.refresh-lock")


#: How often a refresher waiting for another's refresh lock tries it again.
LOCK_POLL_SECONDS: Final = 0.01


class FileRefreshLock:
    """A file lock (flock) taken off the event loop; waits while another process refreshes."""

    def __init__(self, path: Path, timeout: float = 120.0) -> None:
        self.path = path
        self._timeout = timeout
        # A short poll: the second process should take the lock as soon as the refresh is saved.
        self._lock = FileLock(
            str(path),
            mode=0o600,
            thread_local=False,
            preserve_lock_file=True,
            poll_interval=0.01,
        )

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        # Tried without blocking and waited for on the event loop: a refresher waiting for
        # another process must not hold one of the threads every tenant's store calls use.
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                self._lock.acquire(blocking=False)
                break
            except Timeout:
                if time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            self._lock.release()


class ServerRefreshLock:
    """PostgreSQL: the tenant's advisory lock (REFRESH_LOCK_KEY, tenant id), held in a
    transaction of its own for the length of the refresh. Not a row lock on the connection:
    the refresh saves its token in a write transaction, and a writer that holds the store's
    write lock while it updates the connection row would then wait for the refresh as the
    refresh waits for it."""

    def __init__(self, store: Store, tenant: int) -> None:
        self._store = store
        self._tenant = tenant

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        session = self._store.session()
        session.begin()

        def try_lock() -> bool:
            return bool(
                session.execute(
                    text("SELECT pg_try_advisory_xact_lock(:key, :tenant)"),
                    {"key": REFRESH_LOCK_KEY, "tenant": self._tenant},
                ).scalar()
            )

        try:
            # Tried, and waited for on the event loop: a refresher waiting for another
            # process must not hold one of the threads every tenant's store calls use.
            while not await asyncio.to_thread(try_lock):
                await asyncio.sleep(LOCK_POLL_SECONDS)
            yield
        finally:
            session.rollback()
            session.close()


def refresh_lock_for(store: Store) -> RefreshLock:
    """The refresh lock of the store's tenant (its own, or its only one)."""
    tenant = store.default_tenant()
    if tenant is None:
        raise UnscopedSession("a token refresh needs one tenant (open it with store.tenant(code))")
    path = store.sqlite_path
    if path is not None:
        return FileRefreshLock(lock_path(path.resolve(), tenant))
    return ServerRefreshLock(store, tenant)


# ---------------------------------------------------------------- the token row


@dataclass(frozen=True)
class StoredToken:
    version: int
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    issued_at: dt.datetime
    expires_at: dt.datetime


def _reconnect_words(conn: ExactConnection | None, token: OAuthToken | None) -> str | None:
    """Why no token can be used, or None when one can."""
    if conn is None or conn.status is ConnectionStatus.INACTIVE:
        return "not connected to Exact: run `exact-tui connect`"
    if conn.status is ConnectionStatus.RECONNECT:
        return conn.reason or "Exact needs a new consent: run `exact-tui connect`"
    if token is None:
        return "no tokens are stored: run `exact-tui connect`"
    return None


def load_token(session: Session, cipher: TokenCipher) -> StoredToken:
    """The stored token pair, decrypted; ReconnectNeeded when the connection cannot use one."""
    conn = session.get(ExactConnection, tenant_of(session))
    token = session.get(OAuthToken, tenant_of(session))
    words = _reconnect_words(conn, token)
    if words is not None or token is None:
        raise ReconnectNeeded(words or "no tokens are stored")
    try:
        values = cipher.decrypt(
            token.blob,
            stored_key_id=token.key_id,
            connection_id=tenant_of(session),
            version=token.version,
        )
    except SecretStoreError as exc:
        raise ConnectionUnusable(f"{KEY_REASON}: {exc}") from None
    for value in values.values():
        register_secret(value)
    return StoredToken(
        version=token.version,
        access_token=values["access_token"],
        refresh_token=values["refresh_token"],
        issued_at=token.issued_at,
        expires_at=token.expires_at,
    )


def tokens_problem(store: Store, secrets: SecretStore) -> str | None:
    """Why this process cannot use the stored tokens (its data key does not open them), in
    the words the connection's status shows; None when it can, or when there are none (a
    reconnect is then what is missing)."""
    try:
        cipher = TokenCipher(secrets.data_key())
        with store.read() as session:
            if session.get(OAuthToken, tenant_of(session)) is None:
                return None
            load_token(session, cipher)
    except SecretStoreError as exc:
        return f"{KEY_REASON}: {exc}"
    except ConnectionUnusable as exc:
        return exc.message
    except ReconnectNeeded:
        return None
    return None


def save_token(
    session: Session, cipher: TokenCipher, tokens: TokenSet, *, expected_version: int | None
) -> int | None:
    """Compare-and-swap: write `tokens` as version `expected_version + 1` only if the row is
    still at `expected_version` (None: only if there is no row yet). Returns the new version,
    or None when someone else changed the row first."""
    version = (expected_version or 0) + 1
    payload = {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}
    blob = cipher.encrypt(payload, connection_id=tenant_of(session), version=version)
    if expected_version is None:
        if session.get(OAuthToken, tenant_of(session)) is not None:
            return None
        session.add(
            OAuthToken(
                blob=blob,
                key_id=cipher.key_id,
                version=version,
                issued_at=tokens.issued_at,
                expires_at=tokens.expires_at,
                refresh_expires_at=tokens.refresh_expires_at,
            )
        )
        session.flush()
        return version
    result = session.execute(
        update(OAuthToken)
        .where(col(OAuthToken.tenant_id) == tenant_of(session))
        .where(col(OAuthToken.version) == expected_version)
        .values(
            blob=blob,
            key_id=cipher.key_id,
            version=version,
            issued_at=tokens.issued_at,
            expires_at=tokens.expires_at,
            refresh_expires_at=tokens.refresh_expires_at,
        )
    )
    return version if result.rowcount == 1 else None  # type: ignore[attr-defined]


def set_status(
    store: Store, status: ConnectionStatus, reason: str | None, *, now: dt.datetime
) -> None:
    """Move the connection to `status` with the reason in words (no row: nothing to move)."""
    with store.write() as session:
        conn = session.get(ExactConnection, tenant_of(session))
        if conn is None:
            return
        conn.status = status
        conn.reason = reason
        conn.updated_at = now
        session.add(conn)


# ---------------------------------------------------------------- the manager


class TokenManager:
    """The `TokenSource` of the Exact client, backed by the store."""

    def __init__(
        self,
        store: Store,
        cipher: TokenCipher,
        oauth: OAuthClient,
        *,
        lock: RefreshLock | None = None,
        clock: NowFn = utc_now,
        sleep: Sleep = asyncio.sleep,
        max_wait: float = MAX_TOKEN_WAIT,
    ) -> None:
        self._store = store
        self._cipher = cipher
        self._oauth = oauth
        self._lock = lock or refresh_lock_for(store)
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait
        self._local = asyncio.Lock()
        #: How many refresh grants this manager sent (what the tests count per process).
        self.refreshes = 0
        #: The token version an early refresh was tried for (see `_refresh_locked`).
        self._tried_early: int | None = None

    async def _load(self) -> StoredToken:
        def read() -> StoredToken:
            with self._store.read() as session:
                return load_token(session, self._cipher)

        return await asyncio.to_thread(read)

    async def access_token(self) -> str:
        # The row is read on every call: a refresh by another process, a disconnect or a
        # Reconnect takes effect at once, and the read is one primary-key lookup.
        token = await self._load()
        if refresh_due(token.issued_at, token.expires_at, self._clock()):
            token = await self._refresh(due_only=True)
        return token.access_token

    async def after_unauthorized(self, rejected: str) -> str:
        return (await self._refresh(due_only=False, rejected=rejected)).access_token

    async def refresh_if_idle(self, max_age: dt.timedelta = IDLE_REFRESH_AGE) -> bool:
        """The daily refresh of an idle connection (the worker calls this); True if it ran."""
        token = await self._load()
        if not idle_refresh_due(token.issued_at, self._clock(), max_age):
            return False
        before = token.version
        after = await self._refresh(due_only=False, older_than=max_age)
        return after.version != before

    async def _refresh(
        self,
        *,
        due_only: bool,
        rejected: str | None = None,
        older_than: dt.timedelta | None = None,
    ) -> StoredToken:
        refused: TokenRefused | None = None
        async with self._local, self._lock.hold():
            token = await self._load()
            now = self._clock()
            if due_only and not refresh_due(token.issued_at, token.expires_at, now):
                return token  # another process refreshed while we waited for the lock
            if rejected is not None and token.access_token != rejected:
                return token  # a newer token than the one Exact refused is already saved
            if older_than is not None and not idle_refresh_due(token.issued_at, now, older_than):
                return token
            try:
                result, saved = await self._refresh_locked(token, rejected=rejected is not None)
            except TokenRefused as exc:
                refused = exc
        # The connection row is written after the lock is released: the next refresh need not
        # wait for it.
        if refused is not None:
            await asyncio.to_thread(
                set_status,
                self._store,
                ConnectionStatus.RECONNECT,
                refused.message,
                now=self._clock(),
            )
            log.warning("token refresh refused, the connection needs a reconnect: %s", refused)
            raise refused
        if saved:
            await asyncio.to_thread(self._note_refresh, result.issued_at)
        return result

    async def _refresh_locked(
        self, token: StoredToken, *, rejected: bool
    ) -> tuple[StoredToken, bool]:
        """One refresh grant and its save, under the lock; the flag says whether this manager
        saved a new token (False: it found one saved by someone else)."""
        earliest = earliest_refresh(token.issued_at)
        # Exact refused a token minutes short of the 570 s mark: most likely the grant was
        # revoked (consent withdrawn, connected elsewhere). One early refresh per token says so
        # at once (refused: Reconnect) instead of minutes of silent waiting; if Exact only
        # answers "too early", that one refused call is all it cost.
        early = (
            rejected
            and self._tried_early != token.version
            and (earliest - self._clock()).total_seconds() > self._max_wait
        )
        if early:
            self._tried_early = token.version
        else:
            await self._wait_until(earliest)
        try:
            fresh = await self._grant(token)
        except TooEarly:
            # Exact's clock says 570 s have not passed. Someone may have refreshed behind our
            # back; otherwise wait for Exact's clock once and try again.
            current = await self._load()
            if current.version != token.version:
                return current, False
            await self._wait_until(earliest + CLOCK_SKEW, at_least=1.0)
            try:
                fresh = await self._grant(token)
            except TooEarly:
                raise Transient(
                    "Exact still refuses a new access token; the clocks may differ",
                    retry_at=self._clock() + dt.timedelta(seconds=30),
                ) from None
        except TokenRefused as exc:
            if exc.kind is TokenRefusal.OLD_TOKEN:
                # Someone saved a newer token without the lock (a restored database, another
                # store path): use theirs if there is one.
                current = await self._load()
                if current.version != token.version:
                    return current, False
            raise
        return await self._save(fresh, token)

    async def _grant(self, token: StoredToken) -> TokenSet:
        self.refreshes += 1
        fresh = await self._oauth.refresh(token.refresh_token)
        register_secret(fresh.access_token)
        register_secret(fresh.refresh_token)
        return fresh

    async def _save(self, fresh: TokenSet, token: StoredToken) -> tuple[StoredToken, bool]:
        def write() -> int | None:
            # Persisted at once, before any use: the old refresh token is already dead.
            with self._store.write() as session:
                return save_token(session, self._cipher, fresh, expected_version=token.version)

        version = await asyncio.to_thread(write)
        if version is None:
            log.warning("the token row changed during a refresh; using the stored one")
            return await self._load(), False
        stored = StoredToken(
            version=version,
            access_token=fresh.access_token,
            refresh_token=fresh.refresh_token,
            issued_at=fresh.issued_at,
            expires_at=fresh.expires_at,
        )
        return stored, True

    def _note_refresh(self, at: dt.datetime) -> None:
        with self._store.write() as session:
            conn = session.get(ExactConnection, tenant_of(session))
            if conn is not None:
                conn.last_refresh_at = at
                session.add(conn)

    async def _wait_until(self, moment: dt.datetime, *, at_least: float = 0.0) -> None:
        wait = max((moment - self._clock()).total_seconds(), at_least)
        if wait <= 0:
            return
        if wait > self._max_wait:
            raise Transient(
                f"Exact gives a new access token only from {moment:%H:%M:%S} UTC",
                retry_at=moment,
            )
        await self._sleep(wait)
