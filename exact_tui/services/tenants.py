"""The fleet of tenants (docs/tenants.md): list them with their status and queue, add one,
disable or enable one, remove an empty one. Fleet work reads across tenants by name
(`Store.all_tenants()`); every change writes an audit row that names the tenant."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Table, delete, func
from sqlmodel import Session, SQLModel, col, select

from exact_tui.domain.states import ConnectionStatus, JobState
from exact_tui.domain.tenants import normalise_code
from exact_tui.domain.text import clean_line
from exact_tui.services import audit
from exact_tui.services.audit import Actor
from exact_tui.services.status import lag_by_tenant, workers_alive
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    Audit,
    BankAccount,
    Customer,
    Division,
    DivisionBinding,
    ExactConnection,
    ExportJob,
    Invoice,
    Mapping,
    Organization,
    Payment,
    Tenant,
    TenantOwned,
    WriteOff,
    width,
)
from exact_tui.store.types import utcnow

#: What makes a tenant not empty: its documents, parties and jobs (what `remove` refuses).
_CONTENT = (Organization, BankAccount, Customer, Invoice, Payment, WriteOff, ExportJob)
#: The states a job waits in (the queue a listing shows).
WAITING = (JobState.PENDING, JobState.IN_FLIGHT, JobState.RETRY_WAIT, JobState.UNKNOWN)


class TenantRefused(Exception):
    """A fleet change refused; nothing changed. The message says why."""


@dataclass(frozen=True)
class TenantRow:
    """One tenant as the fleet list shows it."""

    id: int
    code: str
    name: str
    created_at: dt.datetime
    disabled_at: dt.datetime | None
    disabled_reason: str | None
    connection: ConnectionStatus | None
    connection_reason: str | None
    #: Jobs by state (states with none are left out).
    queue: dict[JobState, int] = field(default_factory=dict)
    divisions: int = 0

    @property
    def mark(self) -> str:
        if self.disabled_at is not None:
            return "⚫"
        return (self.connection or ConnectionStatus.INACTIVE).mark

    @property
    def status(self) -> str:
        if self.disabled_at is not None:
            return "Disabled" + (f": {self.disabled_reason}" if self.disabled_reason else "")
        if self.connection is None:
            return "Inactive (not connected yet)"
        return self.connection.label + (
            f": {self.connection_reason}" if self.connection_reason else ""
        )

    @property
    def waiting(self) -> int:
        return sum(self.queue.get(state, 0) for state in WAITING)


@dataclass(frozen=True)
class Contents:
    """What a tenant holds, counted (the confirmations say how many)."""

    documents: int
    jobs: int
    waiting: int
    divisions: int
    mappings: int
    connected: bool

    @property
    def empty(self) -> bool:
        return self.documents == 0 and self.jobs == 0


def tenant_rows(store: Store) -> list[TenantRow]:
    """Every tenant, in code order, with its connection and its jobs by state: a fixed number
    of queries whatever the number of tenants."""
    with store.all_tenants().read() as session:
        tenants = session.exec(select(Tenant).order_by(col(Tenant.code))).all()
        connections = {row.tenant_id: row for row in session.exec(select(ExactConnection)).all()}
        queues: dict[int, dict[JobState, int]] = {}
        for tenant_id, state, count in session.exec(
            select(ExportJob.tenant_id, ExportJob.state, func.count()).group_by(
                col(ExportJob.tenant_id), col(ExportJob.state)
            )
        ).all():
            queues.setdefault(tenant_id, {})[JobState(state)] = count
        divisions = dict(
            session.exec(
                select(DivisionBinding.tenant_id, func.count()).group_by(
                    col(DivisionBinding.tenant_id)
                )
            ).all()
        )
    rows = []
    for tenant in tenants:
        assert tenant.id is not None
        conn = connections.get(tenant.id)
        rows.append(
            TenantRow(
                id=tenant.id,
                code=tenant.code,
                name=tenant.name,
                created_at=tenant.created_at,
                disabled_at=tenant.disabled_at,
                disabled_reason=tenant.disabled_reason,
                connection=conn.status if conn else None,
                connection_reason=conn.reason if conn else None,
                queue=queues.get(tenant.id, {}),
                divisions=divisions.get(tenant.id, 0),
            )
        )
    return rows


def _tenant(session: Session, code: str) -> Tenant:
    tenant = session.exec(select(Tenant).where(col(Tenant.code) == normalise_code(code))).first()
    if tenant is None or tenant.id is None:
        raise TenantRefused(f"there is no tenant {code.strip().lower()} (exact-tui tenants)")
    return tenant


def _count(session: Session, model: type[SQLModel], tenant_id: int) -> int:
    owned = model.tenant_id  # type: ignore[attr-defined]
    return int(
        session.exec(select(func.count()).select_from(model).where(owned == tenant_id)).one()
    )


def contents(store: Store, code: str) -> Contents:
    """What the tenant holds, counted."""
    with store.all_tenants().read() as session:
        tenant = _tenant(session, code)
        tid = tenant.id
        assert tid is not None
        documents = sum(_count(session, m, tid) for m in (Invoice, Payment, WriteOff))
        parties = sum(_count(session, m, tid) for m in (Organization, BankAccount, Customer))
        waiting = int(
            session.exec(
                select(func.count())
                .select_from(ExportJob)
                .where(col(ExportJob.tenant_id) == tid, col(ExportJob.state).in_(WAITING))
            ).one()
        )
        return Contents(
            documents=documents + parties,
            jobs=_count(session, ExportJob, tid),
            waiting=waiting,
            divisions=_count(session, Division, tid),
            mappings=_count(session, Mapping, tid),
            connected=session.get(ExactConnection, tid) is not None,
        )


def add_tenant(store: Store, code: str, name: str, actor: Actor) -> TenantRow:
    """A new tenant, empty and not connected; refused when the code is taken."""
    code = normalise_code(code)
    shown = clean_line(name, width(Tenant.name))
    if not shown:
        raise TenantRefused("give the tenant a name (--name)")
    with store.all_tenants().write() as session:
        if session.exec(select(Tenant).where(col(Tenant.code) == code)).first() is not None:
            raise TenantRefused(f"there is already a tenant {code}")
        tenant = Tenant(code=code, name=shown)
        session.add(tenant)
        session.flush()
        _audit(session, actor, "tenant add", tenant, f"{code} ({shown})")
    return next(row for row in tenant_rows(store) if row.code == code)


def set_disabled(
    store: Store, code: str, actor: Actor, *, disabled: bool, reason: str | None = None
) -> str:
    """Disable (the worker serves nothing of it) or enable a tenant; the words for the
    operator."""
    with store.all_tenants().write() as session:
        tenant = _tenant(session, code)
        if disabled == (tenant.disabled_at is not None):
            return f"tenant {tenant.code} is already {'disabled' if disabled else 'enabled'}"
        tenant.disabled_at = utcnow() if disabled else None
        tenant.disabled_reason = (
            clean_line(reason, width(Tenant.disabled_reason)) if disabled and reason else None
        )
        session.add(tenant)
        action = "tenant disable" if disabled else "tenant enable"
        _audit(session, actor, action, tenant, tenant.code, reason=tenant.disabled_reason)
        return f"tenant {tenant.code} {'disabled' if disabled else 'enabled'}"


def remove_tenant(store: Store, code: str, actor: Actor) -> str:
    """Remove an empty tenant (no documents, parties or jobs) with the rest of its rows: master
    data, configuration, connection and tokens. Its audit rows stay, without the tenant."""
    with store.all_tenants().write() as session:
        tenant = _tenant(session, code)
        tid = tenant.id
        assert tid is not None
        held = {m.__tablename__: _count(session, m, tid) for m in _CONTENT}
        held = {name: n for name, n in held.items() if n}
        if held:
            what = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in held.items())
            raise TenantRefused(
                f"tenant {tenant.code} is not empty ({what}); only an empty tenant is removed "
                "(disable it instead: exact-tui tenants disable)"
            )
        # Core deletes, children first; each names the tenant (store/scoping.py).
        for table in reversed(SQLModel.metadata.sorted_tables):
            if table.name != Audit.__tablename__ and _owned(table):
                session.execute(delete(table).where(table.c.tenant_id == tid))
        _audit(session, actor, "tenant remove", None, tenant.code)
        session.delete(tenant)
    return f"tenant {code.strip().lower()} removed"


def _owned(table: Table) -> bool:
    return any(getattr(cls, "__table__", None) is table for cls in _owned_models())


def _owned_models() -> list[type]:
    found: list[type] = []
    todo: list[type] = [TenantOwned]
    while todo:
        cls = todo.pop()
        sub: type
        for sub in cls.__subclasses__():
            todo.append(sub)
            if hasattr(sub, "__table__"):
                found.append(sub)
    return found


def _audit(
    session: Session,
    actor: Actor,
    action: str,
    tenant: Tenant | None,
    target: str,
    *,
    reason: str | None = None,
) -> None:
    audit.record(
        session,
        actor,
        action,
        target=target,
        detail={"reason": reason} if reason else None,
        tenant_id=tenant.id if tenant is not None else None,
    )


# ---------------------------------------------------------------- the fleet view


@dataclass(frozen=True)
class FleetRow:
    """One tenant on the console's Fleet screen: its status, queue, what fails most, and the
    oldest document waiting."""

    tenant: TenantRow
    #: The cause holding up most failed or unmapped jobs, and how many.
    top_cause: str | None
    top_cause_jobs: int
    oldest_waiting: dt.datetime | None
    #: How long its oldest job due now has waited for a worker, in seconds (None: none due).
    lag_seconds: int | None = None
    #: Workers running with a fresh heartbeat (one worker serves every tenant).
    workers: int = 0

    @property
    def failed(self) -> int:
        return self.tenant.queue.get(JobState.FAILED, 0)

    @property
    def needs_mapping(self) -> int:
        return self.tenant.queue.get(JobState.NEEDS_MAPPING, 0)

    @property
    def trouble(self) -> tuple[int, int, str]:
        """Sorts the fleet worst first: errors, reconnects, failures, gaps, the rest,
        disabled last; more failures first; then by code."""
        tenant = self.tenant
        if tenant.disabled_at is not None:
            rank = 5
        elif tenant.connection is ConnectionStatus.ERROR:
            rank = 0
        elif tenant.connection is ConnectionStatus.RECONNECT:
            rank = 1
        elif self.failed:
            rank = 2
        elif self.needs_mapping:
            rank = 3
        else:
            rank = 4
        return (rank, -(self.failed + self.needs_mapping), tenant.code)


def fleet_rows(store: Store, *, now: dt.datetime | None = None) -> list[FleetRow]:
    """Every tenant for the Fleet screen, worst first: a fixed number of grouped queries on
    the tenant-leading indexes, whatever the number of tenants."""
    now = now or utcnow()
    tenants = tenant_rows(store)
    troubled = (JobState.FAILED, JobState.NEEDS_MAPPING)
    with store.all_tenants().read() as session:
        lags = lag_by_tenant(session, now)
        workers = workers_alive(session, now)
        oldest = dict(
            session.exec(
                select(ExportJob.tenant_id, func.min(ExportJob.created_at))
                .where(col(ExportJob.state).in_(WAITING))
                .group_by(col(ExportJob.tenant_id))
            ).all()
        )
        causes: dict[int, tuple[str, int]] = {}
        for tenant_id, cause, count in session.exec(
            select(ExportJob.tenant_id, ExportJob.cause, func.count())
            .where(col(ExportJob.state).in_(troubled), col(ExportJob.cause).is_not(None))
            .group_by(col(ExportJob.tenant_id), col(ExportJob.cause))
        ).all():
            best = causes.get(tenant_id)
            text = cause or ""
            if best is None or count > best[1] or (count == best[1] and text < best[0]):
                causes[tenant_id] = (text, count)
    rows = [
        FleetRow(
            tenant=row,
            top_cause=causes[row.id][0] if row.id in causes else None,
            top_cause_jobs=causes[row.id][1] if row.id in causes else 0,
            oldest_waiting=oldest.get(row.id),
            lag_seconds=lags.get(row.id),
            workers=workers,
        )
        for row in tenants
    ]
    return sorted(rows, key=lambda row: row.trouble)
