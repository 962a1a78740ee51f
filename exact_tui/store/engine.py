"""Opening the store: engine, SQLite pragmas, transactions, and the schema check on start.

`write()` has one contract on both databases: writers take turns, whole transactions at a
time, and a reader never waits. SQLite gets it from `BEGIN IMMEDIATE`; PostgreSQL from a
transaction-level advisory lock every write transaction takes first (docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlmodel import Session, col, select

from exact_tui.store import migrations, scoping
from exact_tui.store.failures import StoreError as StoreError
from exact_tui.store.failures import parse_url, store_failure, unusable_url
from exact_tui.store.files import ensure_private_file
from exact_tui.store.models import Tenant
from exact_tui.store.scoping import ScopedSession

#: How long a writer waits for another writer before the store says it is locked.
BUSY_TIMEOUT_MS = 30_000
_IMMEDIATE = "exact_tui_immediate"
#: The PostgreSQL advisory lock a write transaction holds until it ends (any constant that
#: nothing else on the server uses; this one spells "exactTUI" in ASCII).
WRITE_LOCK_KEY = 0x6578_6163_7454_5549
#: The advisory lock a token refresh holds on PostgreSQL (services/tokens.py), one per tenant:
#: the two-key form (REFRESH_LOCK_KEY, tenant id), whose keys PostgreSQL keeps apart from the
#: one-key form's (WRITE_LOCK_KEY). It is taken before a write transaction, never inside one,
#: so the two never wait for each other. ("exTR" in ASCII, a 32-bit key.)
REFRESH_LOCK_KEY = 0x6578_5452


@dataclass(frozen=True)
class SchemaInfo:
    current: str | None
    head: str


class Store:
    """The engine plus the two ways in: `read()` and `write()` sessions.

    A store opened by `open_store` serves its only tenant while it has one (so a store with one
    tenant works as it always did); with several, its sessions have no tenant and touching a
    tenant's rows raises. `tenant(code_or_id)` gives a store of one tenant, `all_tenants()` one
    for work across tenants (store/scoping.py).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write_engine = engine.execution_options(**{_IMMEDIATE: True})
        self._sole: int | None = None
        #: The store every tenant's store comes from (itself, for a store `open_store` gave).
        self.root: Store = self

    def _scope(self) -> dict[str, Any]:
        if self._sole is None:
            try:
                with Session(self.engine) as session:
                    ids = session.exec(select(Tenant.id).limit(2)).all()
            except DBAPIError:  # a store not migrated yet (doctor looks without upgrading)
                return {}
            if len(ids) != 1:
                return {}
            self._sole = ids[0]
        return {scoping.TENANT: self._sole}

    def default_tenant(self) -> int | None:
        """The tenant this store's sessions serve: its own, or the only one; None when that is
        not one tenant."""
        tenant = self._scope().get(scoping.TENANT)
        return int(tenant) if tenant is not None else None

    def tenant(self, code_or_id: str | int) -> TenantStore:
        """The store of one tenant, by code or id; `UnknownTenant` when there is none."""
        with Session(self.engine) as session:
            if isinstance(code_or_id, int):
                row = session.get(Tenant, code_or_id)
            else:
                row = session.exec(
                    select(Tenant).where(col(Tenant.code) == code_or_id.strip().lower())
                ).first()
        if row is None or row.id is None:
            raise UnknownTenant(f"no tenant {code_or_id!r} in this store (exact-tui tenants)")
        return TenantStore(self, row.id, row.code)

    def all_tenants(self) -> AllTenantsStore:
        """A store whose sessions see every tenant's rows: for the worker and fleet views."""
        return AllTenantsStore(self)

    def tenants(self) -> list[Tenant]:
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.exec(select(Tenant).order_by(col(Tenant.id))).all())

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        database = self.engine.url.database
        return Path(database) if self.is_sqlite and database else None

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work (a deferred transaction, rolled back at the end)."""
        with ScopedSession(self.engine, expire_on_commit=False, info=self._scope()) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A read-then-write unit of work, committed on success, rolled back on any exception.

        It starts by taking the store's write lock (`BEGIN IMMEDIATE` on SQLite, the advisory
        lock `WRITE_LOCK_KEY` on PostgreSQL), so what it reads stays true until it commits: a
        second writer waits up front (up to BUSY_TIMEOUT_MS) instead of failing half-way or
        overwriting the first one's update with one computed from a stale read."""
        with (
            ScopedSession(
                self._write_engine, expire_on_commit=False, info=self._scope()
            ) as session,
            session.begin(),
        ):
            yield session

    def session(self) -> Session:
        """A session of this store's scope, begun and closed by the caller."""
        return ScopedSession(self.engine, info=self._scope())

    def schema(self) -> SchemaInfo:
        with self.engine.connect() as conn:
            return SchemaInfo(migrations.current_revision(conn), migrations.head_revision())

    def dispose(self) -> None:
        self.engine.dispose()


class UnknownTenant(StoreError):
    """No tenant has that code or id."""


class TenantStore(Store):
    """The store of one tenant: its sessions see and write that tenant's rows only."""

    def __init__(self, root: Store, tenant_id: int, code: str) -> None:
        super().__init__(root.engine)
        self._write_engine = root._write_engine
        self.root = root
        self.tenant_id = tenant_id
        self.code = code

    def _scope(self) -> dict[str, Any]:
        return {scoping.TENANT: self.tenant_id}


class AllTenantsStore(Store):
    """Sessions across every tenant, asked for by name (`Store.all_tenants()`)."""

    def __init__(self, root: Store) -> None:
        super().__init__(root.engine)
        self._write_engine = root._write_engine
        self.root = root

    def _scope(self) -> dict[str, Any]:
        return {scoping.ALL_TENANTS: True}


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so BEGIN is ours (deferred or immediate).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
            "PRAGMA foreign_keys=ON",
            "PRAGMA synchronous=FULL",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _postgres_setup(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(_IMMEDIATE, False):
            # SET LOCAL: the wait limit ends with the transaction, as the lock does.
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {BUSY_TIMEOUT_MS}")
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")


def create_engine(url: str) -> Engine:
    """An engine for `url`; a SQLite file and its directory are created private (0600 / 0700)
    before SQLite first writes to them."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise StoreError("the store must be a file: give a path or a sqlite:///PATH URL")
        ensure_private_file(Path(parsed.database))
        engine = sa_create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        )
        _sqlite_setup(engine)
        return engine
    engine = sa_create_engine(parsed, pool_pre_ping=True)
    if engine.dialect.name == "postgresql":
        _postgres_setup(engine)
    return engine


def open_store(url: str, *, upgrade: bool = True) -> Store:
    """Open the store at `url` and bring its schema to this version's head.

    A database whose schema is newer than this code is refused: running old code on it
    could lose data the newer version writes. Whatever keeps the store from opening (a damaged
    or read-only file, a full disk, a folder, no driver, no server) is a `StoreError` in one
    line (store/failures.py).
    """
    try:
        engine = create_engine(url)
    except (ArgumentError, NoSuchModuleError, ModuleNotFoundError, OSError) as exc:
        raise _translated(exc, url) from None
    store = Store(engine)
    try:
        # A store at head (nearly every open) is only read: a command that reads, or the
        # console, must not wait for the write lock a long ingest holds.
        if store.schema().current != migrations.head_revision():
            migrations.upgrade(store._write_engine, check_only=not upgrade)
    except migrations.SchemaTooNew as exc:
        engine.dispose()
        raise StoreError(str(exc)) from None
    except (DBAPIError, OSError) as exc:
        engine.dispose()
        raise _translated(exc, url) from None
    return store


def _translated(error: BaseException, url: str) -> BaseException:
    """The one-line `StoreError` for `error`, or `error` itself when it is not an environment
    problem (a bug keeps its traceback)."""
    return store_failure(error, url) or unusable_url(error, url) or error
