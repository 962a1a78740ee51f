"""Where the tests' stores live: SQLite files by default, PostgreSQL databases when the
environment variable TEST_PG_URL names a server (`scripts/with-postgres` sets it).

Migrating a fresh database costs more than most tests, so the run migrates one template and
every test gets a copy of it: a file copy on SQLite, `CREATE DATABASE … TEMPLATE` on
PostgreSQL. Folders that need more than the schema (a seeded console, a configured export)
build their own template the same way, from the migrated one, once per run.

Tests reach all of this through the fixtures in tests/conftest.py (`db_url`, `store`,
`empty_db_url`, `stores`), never through a hard-coded URL.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, inspect, make_url, text

from exact_tui.store.engine import Store, open_store

#: The environment variable naming the PostgreSQL server the suite runs on (an SQLAlchemy URL,
#: e.g. postgresql+psycopg://postgres@/postgres?host=/tmp/dir); unset: SQLite files.
PG_SETTING = "TEST_PG_URL"
#: The file name a copied SQLite store has (what `doctor` prints).
FILE_NAME = "exact-tui.db"

Build = Callable[[Store], None]


@dataclass(frozen=True)
class Template:
    """A store built once per run, copied for each test that starts from it."""

    name: str
    url: str


class Stores(ABC):
    """Makes, copies and drops the databases of one test run."""

    backend: str

    def __init__(self) -> None:
        self._migrated: Template | None = None

    @property
    def migrated(self) -> Template:
        """The template every store starts from: the schema at head, no rows."""
        if self._migrated is None:
            url = self._new_empty(self._template_place("migrated"))
            store = open_store(url)
            try:
                self._settle(store)
            finally:
                store.dispose()
            self._migrated = Template("migrated", url)
        return self._migrated

    def template(self, name: str, build: Build, *, start: Template | None = None) -> Template:
        """A copy of `start` (the migrated template unless given) with `build` run on it,
        itself a template."""
        url = self._copy(start or self.migrated, self._template_place(name))
        store = open_store(url)
        try:
            build(store)
            self._settle(store)
        finally:
            store.dispose()
        return Template(name, url)

    def empty(self, directory: Path) -> str:
        """The URL of an empty database (no schema yet): for tests of migrating one."""
        return self._new_empty(directory)

    def copy(self, template: Template, directory: Path) -> str:
        """The URL of a fresh copy of `template`; on SQLite the file sits in `directory`."""
        return self._copy(template, directory)

    @contextmanager
    def open_copy(self, template: Template, directory: Path) -> Iterator[Store]:
        """A store opened on a fresh copy of `template`, dropped afterwards."""
        url = self.copy(template, directory)
        store = open_store(url)
        try:
            yield store
        finally:
            store.dispose()
            self.drop(url)

    @abstractmethod
    def drop(self, url: str) -> None:
        """Remove a database made by `empty` or `copy` (a no-op for files in a temp dir)."""

    @abstractmethod
    def close(self) -> None:
        """Remove everything this run made."""

    @abstractmethod
    def _template_place(self, name: str) -> Path: ...

    @abstractmethod
    def _new_empty(self, directory: Path) -> str: ...

    @abstractmethod
    def _copy(self, template: Template, directory: Path) -> str: ...

    @abstractmethod
    def _settle(self, store: Store) -> None:
        """Leave the template in a state a plain copy reproduces."""


class SqliteStores(Stores):
    backend = "sqlite"

    def __init__(self, base: Path) -> None:
        super().__init__()
        self._base = base

    def _template_place(self, name: str) -> Path:
        return self._base / name

    def _new_empty(self, directory: Path) -> str:
        return f"sqlite:///{directory / FILE_NAME}"

    def _copy(self, template: Template, directory: Path) -> str:
        source = Path(str(make_url(template.url).database))
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = directory / FILE_NAME
        shutil.copyfile(source, target)
        target.chmod(0o600)
        return f"sqlite:///{target}"

    def _settle(self, store: Store) -> None:
        # Everything into the main file, so copying that one file copies the whole store.
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def drop(self, url: str) -> None:
        pass

    def close(self) -> None:
        pass


class PostgresStores(Stores):
    backend = "postgresql"

    def __init__(self, server: str) -> None:
        super().__init__()
        self._server = make_url(server)
        self._admin: Engine = create_engine(
            self._server, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0
        )
        # Unique per run, so runs that share a server never meet.
        self._prefix = f"xt{os.getpid()}{secrets.token_hex(2)}"
        self._numbers = itertools.count(1)
        self._made: list[str] = []

    def _database(self, url: str) -> str:
        return str(make_url(url).database)

    def _url(self, name: str) -> str:
        return self._server.set(database=name).render_as_string(hide_password=False)

    def _create(self, template: str | None) -> str:
        name = f"{self._prefix}_{next(self._numbers)}"
        source = f' TEMPLATE "{template}"' if template else ""
        with self._admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{source}')
        self._made.append(name)
        return self._url(name)

    def _template_place(self, name: str) -> Path:
        return Path(name)  # unused: a template is a database on the server

    def _new_empty(self, directory: Path) -> str:
        return self._create(None)

    def _copy(self, template: Template, directory: Path) -> str:
        return self._create(self._database(template.url))

    def _settle(self, store: Store) -> None:
        pass  # a committed transaction is in the database a copy is made from

    def drop(self, url: str) -> None:
        name = self._database(url)
        with self._admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self._made:
            self._made.remove(name)

    def close(self) -> None:
        for name in reversed(self._made):
            with self._admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._made.clear()
        self._admin.dispose()


#: Read once, when the run starts: each test's isolated environment drops EXACT_TUI_* variables.
_SERVER = os.environ.get(PG_SETTING, "").strip()


def on_postgres() -> bool:
    """Whether this run's stores are PostgreSQL databases."""
    return bool(_SERVER)


def stored_text(url: str) -> str:
    """Everything a store holds, as text to search: a SQLite store's files byte for byte (free
    pages and the WAL included), a PostgreSQL database's every row of every table."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(str(parsed.database))
        files = sorted(p for p in path.parent.glob(path.name + "*") if p.is_file())
        assert files, f"no store files at {path}"
        return b"".join(p.read_bytes() for p in files).decode("latin-1")
    engine = create_engine(parsed)
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
            assert tables, f"no tables in {parsed.database}"
            return "\n".join(
                str(row[0])
                for table in tables
                for row in conn.execute(text(f'SELECT t::text FROM "{table}" AS t'))
            )
    finally:
        engine.dispose()


def stores_for_run(base: Path) -> Stores:
    """The run's stores: on the PostgreSQL server named by TEST_PG_URL, or SQLite files
    under `base`."""
    return PostgresStores(_SERVER) if on_postgres() else SqliteStores(base)
