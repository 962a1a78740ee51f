"""Alembic migrations, run programmatically: the schema is upgraded when the store opens.

Alembic itself is loaded only when there is something to upgrade (or a revision to look up):
opening an up-to-date store, which every console start does, reads one row and no more.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

HERE = Path(__file__).parent
#: The newest revision in versions/ (a test checks it against Alembic's own reading).
HEAD = "0008"
VERSION_TABLE = "alembic_version"


class SchemaTooNew(Exception):
    """The database was written by a newer exact-tui."""


def config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config())


def head_revision() -> str:
    return HEAD


def current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def upgrade(engine: Engine, *, check_only: bool = False) -> str | None:
    """Bring the schema to head inside one write transaction of `engine` (the store's write
    engine: two processes starting at once take turns on its lock) and return the revision
    found before. Refuses a schema newer than the code."""
    with engine.connect() as conn, conn.begin():
        current = current_revision(conn)
        if current == HEAD:
            return current
        if current is not None:
            try:
                script().get_revision(current)
            except Exception:  # alembic raises several kinds for an unknown revision
                raise SchemaTooNew(
                    f"the store's schema is at revision {current}, which this exact-tui does "
                    f"not know (it knows up to {HEAD}): the database was written by a newer "
                    "version. Upgrade exact-tui, or choose another store with --db."
                ) from None
        if not check_only:
            from alembic import command

            command.upgrade(config(conn), "head")
        return current
