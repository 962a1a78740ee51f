"""Tenant scoping, applied centrally so that it cannot be forgotten (docs/tenants.md §Isolation).

Every session the store hands out carries its scope in `session.info`: `tenant_id` (the rows of
one tenant) or `all_tenants` (fleet work, asked for by name). Two listeners do the rest:

- `do_orm_execute` adds `with_loader_criteria(TenantOwned, tenant_id == the session's tenant)` to
  every ORM SELECT, UPDATE and DELETE (SQLAlchemy's documented pattern for this), so a query, a
  `session.get` or a bulk update reaches the session's tenant only. A session with neither scope
  that touches a tenant-owned entity raises `UnscopedSession`: a bug, loudly.
- `before_flush` stamps new tenant-owned rows with the session's tenant, and refuses a row of
  another tenant.

Core statements on tables (`insert(table)`, `conn.execute(select(table.c…))`) are not ORM
statements and are not scoped: the few that exist write the tenant condition out, using
`tenant_of(session)`, and the isolation test covers them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import column, event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlmodel import Session as SQLModelSession

from exact_tui.store.models import TenantKeyed, TenantOwned

TENANT = "tenant_id"
ALL_TENANTS = "all_tenants"
#: An execution option for one statement that must see every tenant's rows in a tenant's
#: session (the division-binding rule, which holds across tenants). Greppable on purpose.
CROSS_TENANT = "cross_tenant"


class UnscopedSession(RuntimeError):
    """A session without a tenant touched tenant-owned rows (a bug in exact-tui)."""


def tenant_of(session: Session) -> int:
    """The tenant a session is scoped to; raises for an unscoped or all-tenants session."""
    tenant = session.info.get(TENANT)
    if tenant is None:
        raise UnscopedSession(
            "this work needs one tenant, and the session has none (open it with store.tenant(code))"
        )
    return int(tenant)


def tenant_key(session: Session, *key: Any) -> tuple[Any, ...]:
    """The primary key `session.get` takes for a TenantKeyed model: the session's tenant first."""
    return (tenant_of(session), *key)


class ScopedSession(SQLModelSession):
    """The store's sessions. `get` on a model keyed by tenant takes the natural key alone
    (`session.get(Budget, division)`) and completes it with the session's tenant; the full key,
    tenant first, works too."""

    def get(self, entity: Any, ident: Any, **kwargs: Any) -> Any:
        return super().get(entity, _completed(self, entity, ident), **kwargs)


def _completed(session: Session, entity: Any, ident: Any) -> Any:
    if not (isinstance(entity, type) and issubclass(entity, TenantKeyed)):
        return ident
    key = ident if isinstance(ident, tuple) else (ident,)
    if len(key) == len(inspect(entity).primary_key) - 1:
        return tenant_key(session, *key)
    return ident


def _tenant_column(cls: Any) -> Any:
    """`cls.tenant_id` for a mapped class; for the (unmapped) mixin, which SQLAlchemy also
    hands the criteria once while analysing it, a stand-in column of the same name."""
    try:
        return cls.tenant_id
    except AttributeError:
        return column("tenant_id")


def _owned(state: ORMExecuteState) -> bool:
    return any(issubclass(mapper.class_, TenantOwned) for mapper in state.all_mappers)


@event.listens_for(Session, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    if state.is_column_load or state.is_relationship_load:
        return  # the parent's load was already scoped
    if not (state.is_select or state.is_update or state.is_delete):
        return
    info = state.session.info
    tenant = info.get(TENANT)
    if tenant is None:
        if info.get(ALL_TENANTS) or not _owned(state):
            return
        raise UnscopedSession(
            "a session with no tenant read or changed tenant-owned rows; open it with "
            "store.tenant(code), or store.all_tenants() for work across tenants"
        )
    if state.execution_options.get(CROSS_TENANT):
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantOwned,
            lambda cls: _tenant_column(cls) == tenant,
            include_aliases=True,
        )
    )


def _needs_tenant(row: TenantOwned) -> bool:
    """Every tenant-owned row has a tenant, but an audit row of a removed tenant."""
    return not type(row).__table__.c.tenant_id.nullable  # type: ignore[attr-defined]


@event.listens_for(Session, "before_flush")
def _stamp_new_rows(session: Session, _context: Any, _instances: Any) -> None:
    tenant = session.info.get(TENANT)
    for row in session.new:
        if not isinstance(row, TenantOwned):
            continue
        stamped: int | None = row.tenant_id
        if stamped is None:
            if tenant is None and _needs_tenant(row):
                raise UnscopedSession(
                    f"a new {type(row).__name__} has no tenant and the session has none"
                )
            if tenant is not None:
                row.tenant_id = tenant
        elif tenant is not None and stamped != tenant:
            raise UnscopedSession(
                f"a new {type(row).__name__} of tenant {stamped} was added in a session "
                f"of tenant {tenant}"
            )
