"""Alembic environment: always given a live connection by exact_tui.store.migrations."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from exact_tui.store import models, types

target_metadata = models.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render the project's column types as plain SQLAlchemy types, so migrations stay frozen
    even if the Python types change later."""
    if type_ != "type":
        return False
    if isinstance(obj, types.FixedDecimal):
        return f'sa.BigInteger().with_variant(sa.Numeric(18, {obj.places}), "postgresql")'
    if isinstance(obj, types.UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, types.EnumText):
        return "sa.String(length=20)"
    if obj.__class__.__module__.startswith("sqlmodel"):
        return f"sa.String(length={getattr(obj, 'length', None)})"
    return False


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("exact-tui migrations run only through exact_tui.store")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
