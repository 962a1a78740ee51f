"""Alembic migrations, run programmatically: the schema is upgraded when the store opens."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

HERE = Path(__file__).parent


class SchemaTooNew(Exception):
    """The database was written by a newer exact-tui."""


def config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


@cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head_revision() -> str:
    head = _script().get_current_head()
    assert head is not None, "the migrations have no head"
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, *, check_only: bool = False) -> str | None:
    """Bring the schema to head inside one write transaction (two processes starting at once
    take turns) and return the revision found before. Refuses a schema newer than the code."""
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(732181)"))
        current = current_revision(conn)
        head = head_revision()
        if current is not None and current != head:
            try:
                _script().get_revision(current)
            except Exception:  # alembic raises several kinds for an unknown revision
                raise SchemaTooNew(
                    f"the store's schema is at revision {current}, which this exact-tui does "
                    f"not know (it knows up to {head}): the database was written by a newer "
                    "version. Upgrade exact-tui, or choose another store with --db."
                ) from None
        if current != head and not check_only:
            command.upgrade(config(conn), "head")
        return current
