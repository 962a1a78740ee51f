"""What the store knows about the integration's health: connection, divisions, queue, worker."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from exact_tui.domain.states import Category, ConnectionStatus, JobState
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    ApiErrorRecord,
    Audit,
    Budget,
    Division,
    DivisionLease,
    ExactConnection,
    ExportEvent,
    ExportJob,
    Invoice,
    OAuthToken,
    Payment,
    ReconcileRun,
    SyncRun,
    WorkerHeartbeat,
    WriteOff,
)
from exact_tui.store.scoping import tenant_of
from exact_tui.store.types import utcnow

#: A worker that has not beaten for this long is taken as not running.
HEARTBEAT_STALE = dt.timedelta(seconds=30)
#: Workers listed on Status, the most recently heard of first (the live ones among them).
WORKERS_LISTED = 100


@dataclass(frozen=True)
class ConnectionInfo:
    status: ConnectionStatus
    reason: str | None
    region: str
    base_url: str
    client_id: str
    user_name: str | None
    activated_at: dt.datetime | None
    connected_at: dt.datetime | None
    exports_paused: bool
    paused_reason: str | None
    has_token: bool
    token_expires_at: dt.datetime | None
    refresh_expires_at: dt.datetime | None
    token_issued_at: dt.datetime | None = None
    last_refresh_at: dt.datetime | None = None
    disconnected_at: dt.datetime | None = None

    @property
    def mark(self) -> str:
        return self.status.mark

    @property
    def label(self) -> str:
        return self.status.label


@dataclass(frozen=True)
class BudgetInfo:
    minutely_limit: int | None
    minutely_remaining: int | None
    minutely_reset_at: dt.datetime | None
    daily_limit: int | None
    daily_remaining: int | None
    daily_reset_at: dt.datetime | None
    updated_at: dt.datetime


@dataclass(frozen=True)
class DivisionStatus:
    code: int
    description: str
    accessible: bool
    access_reason: str | None
    last_sync_at: dt.datetime | None
    last_sync_error: str | None
    queue: dict[JobState, int]
    budget: BudgetInfo | None
    errors_last_hour: int
    #: Why nothing is sent to this division now, when Exact's daily budget is spent.
    hold: str | None = None


@dataclass(frozen=True)
class WorkerInfo:
    worker_id: str
    host: str
    pid: int
    started_at: dt.datetime
    beat_at: dt.datetime
    state: str
    alive: bool
    #: What the worker is waiting for, when it is (a storage error it backs off from).
    detail: str | None = None
    #: The divisions whose lease it holds (docs/worker.md §Several workers).
    divisions: tuple[int, ...] = ()
    #: How long, in seconds, the oldest job due in its divisions has waited (None: it holds
    #: none).
    lag_seconds: int | None = None
    #: Heard from in the last day, but not within the lease: taken for dead by the others.
    lost: bool = False

    @property
    def share(self) -> str | None:
        """Its divisions and lag in words, when it holds any."""
        if not self.divisions or self.lag_seconds is None:
            return None
        lag = self.lag_seconds
        names = ", ".join(str(d) for d in self.divisions)
        return f"division{'s' if len(self.divisions) > 1 else ''} {names}  ·  lag {lag} s"


@dataclass(frozen=True)
class ChangeMark:
    """The newest id of each append-only record the screens' contents follow from: each one
    moves when something was written (ids only grow, so a comparison is enough)."""

    #: An export event: a job moved (the worker, a retry, a requeue after a fix).
    events: int
    #: A new job (ingest).
    jobs: int
    #: An operator's action (a mapping, binding, link or setting saved; pause; connect).
    audit: int
    #: An import of Exact's master data.
    imports: int


@dataclass(frozen=True)
class ReconcileInfo:
    """The last reconciliation that finished."""

    id: int
    finished_at: dt.datetime | None
    state: str
    complete: bool
    duplicates: int
    missing: int
    unrecorded: int
    result: str | None


@dataclass(frozen=True)
class StatusReport:
    store_url: str
    schema_revision: str | None
    connection: ConnectionInfo | None
    divisions: list[DivisionStatus]
    queue: dict[JobState, int]
    documents: dict[str, int]
    workers: list[WorkerInfo] = field(default_factory=list)
    #: Moves whenever something a screen shows was written, so open screens read again.
    change_mark: ChangeMark = field(default_factory=lambda: ChangeMark(0, 0, 0, 0))
    #: Jobs Exact holds more than once, and jobs whose reference another entry carries:
    #: each needs a person (shown loudly).
    duplicates: int = 0
    conflicts: int = 0
    reconcile: ReconcileInfo | None = None

    @property
    def alarms(self) -> list[str]:
        """What must not go unnoticed, in words."""
        words = []
        if self.duplicates:
            words.append(
                f"{self.duplicates} document{'s' if self.duplicates != 1 else ''} in Exact "
                "more than once: reverse the extra entries, then retry"
            )
        if self.conflicts:
            words.append(
                f"{self.conflicts} document{'s' if self.conflicts != 1 else ''} whose reference "
                "another entry in Exact carries: check them, then retry"
            )
        last = self.reconcile
        if last is not None and last.state == "failed":
            words.append(f"the last reconciliation failed: {last.result}")
        elif last is not None and (last.missing or last.unrecorded):
            words.append(f"the last reconciliation found: {last.result}")
        return words

    @property
    def worker_running(self) -> bool:
        return any(worker.alive for worker in self.workers)


def _connection(session: Session) -> ConnectionInfo | None:
    conn = session.get(ExactConnection, tenant_of(session))
    if conn is None:
        return None
    token = session.get(OAuthToken, tenant_of(session))
    return ConnectionInfo(
        status=conn.status,
        reason=conn.reason,
        region=conn.region,
        base_url=conn.base_url,
        client_id=conn.client_id,
        user_name=conn.user_name,
        activated_at=conn.activated_at,
        connected_at=conn.connected_at,
        exports_paused=conn.exports_paused,
        paused_reason=conn.paused_reason,
        has_token=token is not None,
        token_expires_at=token.expires_at if token else None,
        refresh_expires_at=token.refresh_expires_at if token else None,
        token_issued_at=token.issued_at if token else None,
        last_refresh_at=conn.last_refresh_at,
        disconnected_at=conn.disconnected_at,
    )


def _queues(session: Session) -> dict[int | None, dict[JobState, int]]:
    rows = session.exec(
        select(ExportJob.division, ExportJob.state, func.count()).group_by(
            col(ExportJob.division), col(ExportJob.state)
        )
    )
    queues: dict[int | None, dict[JobState, int]] = {}
    for division, state, count in rows:
        queues.setdefault(division, {})[JobState(state)] = count
    return queues


def _last_syncs(session: Session) -> dict[int, tuple[dt.datetime | None, str | None]]:
    latest = (
        select(SyncRun.division, func.max(SyncRun.id).label("last_id"))
        .group_by(col(SyncRun.division))
        .subquery()
    )
    rows = session.exec(
        select(SyncRun.division, SyncRun.finished_at, SyncRun.error).join(
            latest, col(SyncRun.id) == latest.c.last_id
        )
    )
    return {division: (finished, error) for division, finished, error in rows if division}


def _budget(budget: Budget | None) -> BudgetInfo | None:
    if budget is None:
        return None
    return BudgetInfo(
        minutely_limit=budget.minutely_limit,
        minutely_remaining=budget.minutely_remaining,
        minutely_reset_at=budget.minutely_reset_at,
        daily_limit=budget.daily_limit,
        daily_remaining=budget.daily_remaining,
        daily_reset_at=budget.daily_reset_at,
        updated_at=budget.updated_at,
    )


def _daily_hold(budget: Budget | None, now: dt.datetime) -> str | None:
    """Exact's daily budget spent, with the reset still ahead: exports of the division wait."""
    if budget is None or budget.daily_remaining is None or budget.daily_remaining > 0:
        return None
    if budget.daily_reset_at is None or budget.daily_reset_at <= now:
        return None
    return "Exact's daily call budget is spent: exports wait for its reset"


def _held_divisions(session: Session, now: dt.datetime) -> dict[str, list[int]]:
    """The divisions of the session's tenant each worker holds an unexpired lease on (the
    lease table is global: the tenant is named here)."""
    held: dict[str, list[int]] = {}
    for lease in session.exec(
        select(DivisionLease)
        .where(col(DivisionLease.tenant_id) == tenant_of(session))
        .where(col(DivisionLease.owner).is_not(None))
        .where(col(DivisionLease.expires_at) >= now)
        .order_by(col(DivisionLease.division))
    ):
        assert lease.owner is not None
        held.setdefault(lease.owner, []).append(lease.division)
    return held


#: Jobs a worker has to send or settle (a lag counts how long the oldest due one waited).
_DUE_STATES = (JobState.PENDING, JobState.RETRY_WAIT, JobState.UNKNOWN)


def _due_since() -> Any:
    """When a job became due: its next attempt, or its creation."""
    return func.coalesce(col(ExportJob.next_attempt_at), col(ExportJob.created_at))


def _lag(session: Session, divisions: tuple[int, ...], now: dt.datetime) -> int:
    """How long the oldest job due now in `divisions` has been due (zero: none is)."""
    due_since = _due_since()
    oldest: dt.datetime | None = session.exec(
        select(func.min(due_since))
        .where(col(ExportJob.division).in_(divisions))
        .where(col(ExportJob.state).in_(_DUE_STATES))
        .where(due_since <= now)
    ).one()
    if oldest is None:
        return 0
    return max(int((now - oldest).total_seconds()), 0)


def lag_by_tenant(session: Session, now: dt.datetime) -> dict[int, int]:
    """Per tenant, how long its oldest job due now has been due, in seconds (tenants with none
    due are left out): `_lag` for every tenant in one grouped query (a session across
    tenants)."""
    due_since = _due_since()
    return {
        tenant_id: max(int((now - oldest).total_seconds()), 0)
        for tenant_id, oldest in session.exec(
            select(ExportJob.tenant_id, func.min(due_since))
            .where(col(ExportJob.state).in_(_DUE_STATES))
            .where(due_since <= now)
            .group_by(col(ExportJob.tenant_id))
        )
        if oldest is not None
    }


def workers_alive(session: Session, now: dt.datetime) -> int:
    """How many workers are running with a fresh heartbeat."""
    return int(
        session.exec(
            select(func.count())
            .select_from(WorkerHeartbeat)
            .where(col(WorkerHeartbeat.state) == "running")
            .where(col(WorkerHeartbeat.beat_at) >= now - HEARTBEAT_STALE)
        ).one()
    )


def status_report(store: Store, *, now: dt.datetime | None = None) -> StatusReport:
    now = now or utcnow()
    with store.read() as session:
        queues = _queues(session)
        syncs = _last_syncs(session)
        budgets = {b.division: b for b in session.exec(select(Budget))}
        errors = dict(
            session.exec(
                select(ApiErrorRecord.division, func.count())
                .where(col(ApiErrorRecord.at) >= now - dt.timedelta(hours=1))
                .group_by(col(ApiErrorRecord.division))
            ).all()
        )
        divisions = [
            DivisionStatus(
                code=division.code,
                description=division.description,
                accessible=division.accessible,
                access_reason=division.access_reason,
                last_sync_at=syncs.get(division.code, (None, None))[0],
                last_sync_error=syncs.get(division.code, (None, None))[1],
                queue=queues.get(division.code, {}),
                budget=_budget(budgets.get(division.code)),
                errors_last_hour=errors.get(division.code, 0),
                hold=_daily_hold(budgets.get(division.code), now),
            )
            for division in session.exec(select(Division).order_by(col(Division.code)))
        ]
        total: dict[JobState, int] = {}
        for per_division in queues.values():
            for state, count in per_division.items():
                total[state] = total.get(state, 0) + count
        documents = {
            "invoices": session.exec(select(func.count()).select_from(Invoice)).one(),
            "payments": session.exec(select(func.count()).select_from(Payment)).one(),
            "write_offs": session.exec(select(func.count()).select_from(WriteOff)).one(),
        }
        held = _held_divisions(session, now)
        workers = []
        for beat in session.exec(
            select(WorkerHeartbeat)
            .order_by(col(WorkerHeartbeat.beat_at).desc())
            .limit(WORKERS_LISTED)
        ):
            running = beat.state == "running"
            owned = tuple(held.get(beat.worker_id, ()))
            workers.append(
                WorkerInfo(
                    worker_id=beat.worker_id,
                    host=beat.host,
                    pid=beat.pid,
                    started_at=beat.started_at,
                    beat_at=beat.beat_at,
                    state=beat.state,
                    detail=beat.detail,
                    alive=running and now - beat.beat_at <= HEARTBEAT_STALE,
                    divisions=owned,
                    lag_seconds=_lag(session, owned, now) if owned else None,
                    lost=running and HEARTBEAT_STALE < now - beat.beat_at <= dt.timedelta(days=1),
                )
            )
        connection = _connection(session)
        change_mark = ChangeMark(
            *(
                session.exec(select(func.max(column))).one() or 0
                for column in (
                    col(ExportEvent.id),
                    col(ExportJob.id),
                    col(Audit.id),
                    col(SyncRun.id),
                )
            )
        )
        loud = dict(
            session.exec(
                select(ExportJob.category, func.count())
                .where(col(ExportJob.state) == JobState.FAILED)
                .where(col(ExportJob.category).in_((Category.DUPLICATE, Category.CONFLICT)))
                .group_by(col(ExportJob.category))
            ).all()
        )
        reconcile = _last_reconcile(session)
    return StatusReport(
        store_url=store.url,
        schema_revision=store.schema().current,
        connection=connection,
        divisions=divisions,
        queue=total,
        documents=documents,
        workers=workers,
        change_mark=change_mark,
        duplicates=loud.get(Category.DUPLICATE, 0),
        conflicts=loud.get(Category.CONFLICT, 0),
        reconcile=reconcile,
    )


def _last_reconcile(session: Session) -> ReconcileInfo | None:
    run = session.exec(
        select(ReconcileRun)
        .where(col(ReconcileRun.state).in_(("done", "failed")))
        .order_by(col(ReconcileRun.id).desc())
        .limit(1)
    ).first()
    if run is None or run.id is None:
        return None
    return ReconcileInfo(
        id=run.id,
        finished_at=run.finished_at,
        state=run.state,
        complete=run.complete,
        duplicates=run.duplicates,
        missing=run.missing,
        unrecorded=run.unrecorded,
        result=run.result,
    )
