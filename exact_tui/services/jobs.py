"""Reading the export queue: jobs with filters, newest first, paged by key."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import ColumnElement, or_
from sqlmodel import col, select

from exact_tui.domain.states import Category, DocumentKind, JobState
from exact_tui.store.engine import Store
from exact_tui.store.models import ExportJob, Tenant
from exact_tui.store.search import ci_like, contains


@dataclass(frozen=True)
class JobFilter:
    """Which jobs (and, in the console's log, whose events): every field set narrows it. The
    CLI's `jobs` and `retry --all`, the console's log and its "retry all" share it."""

    state: JobState | None = None
    category: Category | None = None
    kind: DocumentKind | None = None
    division: int | None = None
    #: Matched against the document number, the cause and the last error.
    text: str | None = None
    #: One group of the failures view: the cause, matched exactly.
    cause: str | None = None

    @property
    def is_empty(self) -> bool:
        return self == JobFilter()

    def with_text(self, text: str | None) -> JobFilter:
        return replace(self, text=text or None)


@dataclass(frozen=True)
class JobRow:
    id: int
    kind: DocumentKind
    number: str
    date: dt.date
    division: int | None
    state: JobState
    category: Category | None
    cause: str | None
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str | None
    last_http_status: int | None
    entry_number: int | None
    updated_at: dt.datetime
    #: The tenant's code (the job's company; docs/tenants.md).
    tenant: str | None = None


def _row(job: ExportJob, tenant: str | None = None) -> JobRow:
    assert job.id is not None
    return JobRow(
        id=job.id,
        kind=job.document_kind,
        number=job.document_number,
        date=job.document_date,
        division=job.division,
        state=job.state,
        category=job.category,
        cause=job.cause,
        attempts=job.attempts,
        next_attempt_at=job.next_attempt_at,
        last_error=job.last_error,
        last_http_status=job.last_http_status,
        entry_number=job.exact_entry_number,
        updated_at=job.updated_at,
        tenant=tenant,
    )


def job_conditions(flt: JobFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.state is not None:
        conditions.append(col(ExportJob.state) == flt.state)
    if flt.category is not None:
        conditions.append(col(ExportJob.category) == flt.category)
    if flt.kind is not None:
        conditions.append(col(ExportJob.document_kind) == flt.kind)
    if flt.division is not None:
        conditions.append(col(ExportJob.division) == flt.division)
    if flt.text:
        pattern = contains(flt.text)
        conditions.append(
            or_(
                ci_like(col(ExportJob.document_number), pattern),
                ci_like(col(ExportJob.cause), pattern),
                ci_like(col(ExportJob.last_error), pattern),
            )
        )
    if flt.cause is not None:
        conditions.append(col(ExportJob.cause) == flt.cause)
    return conditions


def list_jobs(
    store: Store, flt: JobFilter | None = None, *, before_id: int | None = None, limit: int = 100
) -> list[JobRow]:
    """Jobs matching `flt`, newest first, with their tenant's code (of every tenant for a store
    across tenants); the last row's id as `before_id` gives the next page."""
    query = (
        select(ExportJob, Tenant.code)
        .join(Tenant, col(Tenant.id) == ExportJob.tenant_id)
        .where(*job_conditions(flt or JobFilter()))
    )
    if before_id is not None:
        query = query.where(col(ExportJob.id) < before_id)
    query = query.order_by(col(ExportJob.id).desc()).limit(limit)
    with store.read() as session:
        return [_row(job, code) for job, code in session.exec(query)]
