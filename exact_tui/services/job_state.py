"""Changing an export job's state: the one place that writes `export_job.state` and appends to
`export_event` (docs/export.md, "The state machine").

Every change is a `Transition` decided by the pure functions of `domain/transitions.py`; this
module applies it to the row (every column the state machine governs) and appends its event, in
the caller's transaction. Claims live here too: each claim (to send, or to look up) increments
the job's claim token; a request leaves only while that token is still the job's (`fence`), and
an outcome is applied only under it (`record`), so a worker that stalled past its lease never
sends and never overwrites what another worker did since.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, case, insert, null, update
from sqlmodel import Session, col, select

from exact_tui.domain.preflight import Missing
from exact_tui.domain.states import DocumentKind, JobState
from exact_tui.domain.transitions import (
    EventOutcome,
    JobFacts,
    Outcome,
    OutcomeKind,
    Transition,
    stale_created,
)
from exact_tui.store.models import DivisionLease, ExportEvent, ExportJob

log = logging.getLogger("exact_tui.export")

#: The widths of the texts kept (the columns').
TEXT_WIDTH = 2000
_JOB: Table = ExportJob.__table__  # type: ignore[attr-defined]
_EVENT: Table = ExportEvent.__table__  # type: ignore[attr-defined]
#: States a job is claimed from to be sent (retry_wait once its backoff is over).
SENDABLE = (JobState.PENDING, JobState.RETRY_WAIT)

Budgets = tuple[int | None, int | None]


def facts(job: ExportJob) -> JobFacts:
    """What the state machine needs to know of a job."""
    return JobFacts(
        state=job.state,
        attempts=job.attempts,
        lookups_empty=job.lookups_empty,
        last_lookup_at=job.last_lookup_at,
        last_error=job.last_error,
        last_http_status=job.last_http_status,
        category=job.category,
        cause=job.cause,
        sent_at=job.sent_at,
        entry_id=job.exact_entry_id,
    )


def apply(
    session: Session,
    job: ExportJob,
    t: Transition,
    *,
    now: dt.datetime,
    missing: Sequence[Missing] = (),
    request: dict[str, Any] | None = None,
    duration_ms: int | None = None,
    budgets: Budgets = (None, None),
    http_status: int | None = None,
) -> None:
    """Move `job` as `t` says and append its event."""
    assert job.id is not None
    job.state = t.state
    job.category = t.category
    if t.cause != job.cause or job.cause_since is None:
        job.cause_since = now if t.cause else None
    job.cause = t.cause
    job.missing = [m.as_dict() for m in missing] or None
    job.next_attempt_at = t.next_attempt_at
    job.last_error = t.last_error[:TEXT_WIDTH] if t.last_error else None
    job.last_http_status = t.http_status
    job.lookups_empty = t.lookups_empty
    job.last_lookup_at = t.last_lookup_at
    job.lease_owner = job.lease_expires_at = None
    if t.state is JobState.UNKNOWN:
        job.sent_at = t.sent_at
    if t.route_again:
        job.division = None
    if t.state is JobState.POSTED:
        job.exact_entry_id = t.entry_id
        job.exact_entry_number = t.entry_number
        job.posted_at = now
    job.updated_at = now
    session.add(job)
    note(
        session,
        job.id,
        t.outcome,
        t.message,
        now=now,
        level=t.level,
        request=request,
        duration_ms=duration_ms,
        budgets=budgets,
        http_status=http_status or t.http_status,
    )


def note(
    session: Session,
    job_id: int,
    outcome: EventOutcome,
    message: str,
    *,
    now: dt.datetime,
    level: str = "info",
    request: dict[str, Any] | None = None,
    duration_ms: int | None = None,
    budgets: Budgets = (None, None),
    http_status: int | None = None,
) -> None:
    """An event without a change of state (an outcome not applied, a customer linked)."""
    session.add(
        ExportEvent(
            job_id=job_id,
            at=now,
            level=level,
            outcome=outcome.value,
            message=message[:TEXT_WIDTH],
            http_status=http_status,
            duration_ms=duration_ms,
            minutely_remaining=budgets[0],
            daily_remaining=budgets[1],
            request=request,
        )
    )


def new_job(
    tenant: int,
    kind: DocumentKind,
    document_id: int,
    number: str,
    date: dt.date,
    *,
    now: dt.datetime,
) -> dict[str, Any]:
    """The row of a new job of `tenant` (pending, to be routed): ingest inserts them in bulk."""
    return {
        "tenant_id": tenant,
        "document_kind": kind,
        "document_id": document_id,
        "document_number": number,
        "document_date": date,
        "state": JobState.PENDING,
        "attempts": 0,
        "lookups_empty": 0,
        "claim": 0,
        "created_at": now,
        "updated_at": now,
    }


def insert_jobs(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(_JOB), list(rows))


def apply_bulk(
    conn: Connection,
    tenant: int,
    changes: Sequence[tuple[int, Transition, dict[str, Any]]],
    *,
    now: dt.datetime,
) -> None:
    """`apply` for many jobs of `tenant` at once, in core statements (ingest moves thousands):
    each `(job_id, transition, other columns)`. For transitions that need nothing of the job's
    present (a requeue, a changed document). Core statements are not scoped: the tenant is
    written out (store/scoping.py)."""
    if not changes:
        return
    extra_keys = sorted({key for _, _, extra in changes for key in extra})
    rows = []
    for job_id, t, extra in changes:
        assert t.state is not JobState.POSTED and t.state is not JobState.UNKNOWN
        row = {
            "_id": job_id,
            "state": t.state,
            "category": t.category,
            "cause": t.cause,
            "cause_since": now if t.cause else None,
            "next_attempt_at": t.next_attempt_at,
            "last_error": t.last_error[:TEXT_WIDTH] if t.last_error else None,
            "last_http_status": t.http_status,
            "lookups_empty": t.lookups_empty,
            "last_lookup_at": t.last_lookup_at,
            "updated_at": now,
        }
        if t.route_again:
            row["division"] = None
        row.update({key: extra.get(key) for key in extra_keys})
        rows.append(row)
    keys = sorted({key for row in rows for key in row} - {"_id"})
    for row in rows:
        for key in keys:
            row.setdefault(key, None)
    values: dict[str, Any] = {key: bindparam(key) for key in keys}
    # A cause that stays keeps its start (the right side reads the row as it was).
    values["cause_since"] = case(
        (_JOB.c.cause == bindparam("cause"), _JOB.c.cause_since),
        else_=bindparam("cause_since"),
    )
    values.update(missing=null(), lease_owner=None, lease_expires_at=None)
    conn.execute(
        update(_JOB)
        .where(_JOB.c.tenant_id == tenant, _JOB.c.id == bindparam("_id"))
        .values(**values),
        rows,
    )
    conn.execute(
        insert(_EVENT),
        [
            {
                "tenant_id": tenant,
                "job_id": job_id,
                "at": now,
                "level": t.level,
                "outcome": t.outcome.value,
                "message": t.message[:TEXT_WIDTH],
            }
            for job_id, t, _ in changes
        ],
    )


# ---------------------------------------------------------------- claims


def _lease_free(job: ExportJob, now: dt.datetime) -> bool:
    return job.lease_owner is None or (
        job.lease_expires_at is not None and job.lease_expires_at < now
    )


def _locked(job_id: int) -> Any:
    return select(ExportJob).where(col(ExportJob.id) == job_id).with_for_update()


def claim_to_send(
    session: Session,
    job_id: int,
    *,
    seen: dt.datetime,
    owner: str,
    lease_seconds: float,
    now: dt.datetime,
) -> int | None:
    """Committed before any request: in_flight, leased to `owner`, one more attempt, a new
    claim token (returned; None when the job changed since it was read at `seen`)."""
    # On PostgreSQL a row another worker is claiming is skipped, not waited for.
    job = session.exec(
        select(ExportJob).where(col(ExportJob.id) == job_id).with_for_update(skip_locked=True)
    ).first()
    if job is None or job.state not in SENDABLE or job.updated_at != seen:
        return None
    if not _lease_free(job, now):
        return None
    job.state = JobState.IN_FLIGHT
    job.lease_owner = owner
    job.lease_expires_at = now + dt.timedelta(seconds=lease_seconds)
    job.attempts += 1
    job.claim += 1
    job.sent_at = None
    job.updated_at = now
    session.add(job)
    return job.claim


def claim_to_look_up(
    session: Session, job_id: int, *, owner: str, lease_seconds: float, now: dt.datetime
) -> int | None:
    """An unknown job leased to `owner` for its lookup, under a new claim token."""
    # On PostgreSQL a row another worker is claiming is skipped, not waited for.
    job = session.exec(
        select(ExportJob).where(col(ExportJob.id) == job_id).with_for_update(skip_locked=True)
    ).first()
    if job is None or job.state is not JobState.UNKNOWN or not _lease_free(job, now):
        return None
    job.lease_owner = owner
    job.lease_expires_at = now + dt.timedelta(seconds=lease_seconds)
    job.claim += 1
    session.add(job)
    return job.claim


def fence(
    session: Session,
    job_id: int,
    claim: int,
    *,
    lease_seconds: float,
    now: dt.datetime,
    request: dict[str, Any] | None,
    owner: str | None = None,
) -> bool:
    """Right before a request leaves: True (and the lease renewed, the entry's request and
    the time recorded) only while the job is still in flight under `claim` and, with `owner`,
    no other worker holds the job's division (docs/worker.md §Several workers). One
    statement, so no other worker's claim can slip in between the check and the write."""
    values: dict[str, Any] = {"lease_expires_at": now + dt.timedelta(seconds=lease_seconds)}
    if request is not None:
        values.update(sent_at=now, sent_request=request)
    query = (
        update(ExportJob)
        .where(col(ExportJob.id) == job_id)
        .where(col(ExportJob.claim) == claim)
        .where(col(ExportJob.state) == JobState.IN_FLIGHT)
    )
    if owner is not None:
        query = query.where(~_division_held_by_another(owner, now))
    result = session.execute(query.values(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _division_held_by_another(owner: str, now: dt.datetime) -> Any:
    """The job's (tenant, division) is leased to another worker: the lease table is global,
    so the tenant is named here (two tenants may both have the job's division number)."""
    return (
        select(DivisionLease.division)
        .where(col(DivisionLease.tenant_id) == col(ExportJob.tenant_id))
        .where(col(DivisionLease.division) == col(ExportJob.division))
        .where(col(DivisionLease.owner).is_not(None))
        .where(col(DivisionLease.owner) != owner)
        .where(col(DivisionLease.expires_at) >= now)
        .exists()
    )


def release(session: Session, job: ExportJob) -> None:
    """Drop a lookup's lease (its worker stopped): the job stays unknown, free to be claimed."""
    job.lease_owner = job.lease_expires_at = None
    session.add(job)


def record(
    session: Session,
    job_id: int,
    claim: int,
    expected: JobState,
    t: Transition,
    outcome: Outcome | None,
    *,
    now: dt.datetime,
    missing: Sequence[Missing] = (),
    request: dict[str, Any] | None = None,
    duration_ms: int | None = None,
    budgets: Budgets = (None, None),
    http_status: int | None = None,
) -> bool:
    """Apply an attempt's or lookup's transition if the job is still under `claim` and in
    `expected`; True when it was. Otherwise the claim has moved on: nothing is overwritten, the
    outcome is kept as an event, and only a 201 is applied where nobody is sending the job
    (`stale_created`): it is the truth about Exact."""
    job = session.get(ExportJob, job_id)
    if job is None:
        return False
    extra: dict[str, Any] = {
        "request": request,
        "duration_ms": duration_ms,
        "budgets": budgets,
        "http_status": http_status,
    }
    if job.claim == claim and job.state is expected:
        apply(session, job, t, now=now, missing=missing, **extra)
        return True
    log.warning("job %s was claimed again during its attempt; outcome not applied", job_id)
    # The request left before the claim moved on; kept on the job (`sent_request`), not on this
    # late event, which would read as a request sent after the takeover.
    extra["request"] = None
    if outcome is not None and outcome.kind is OutcomeKind.CREATED:
        stale = stale_created(outcome, facts(job))
        if stale is not None:
            apply(session, job, stale, now=now, **extra)
            return False
    note(
        session,
        job_id,
        t.outcome,
        f"{t.message} (this worker's claim had run out and the job was taken over: not applied)",
        now=now,
        level="error" if t.outcome is EventOutcome.POSTED else "warning",
        **extra,
    )
    return False
