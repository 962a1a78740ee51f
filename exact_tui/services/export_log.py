"""The export log's read side: events newest first, the live tail, failures grouped by cause,
and one job's detail.

Every query is bounded, so the console stays quick on a store with millions of events: keyset
paging on the event id, limits on every list, and range scans on the indexed columns
(export_event(job_id, id), export_job(state, …), (division, state), (category, state)).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from exact_tui.domain.refusals import Facts, Guidance, explain
from exact_tui.domain.states import Category, DocumentKind, JobState
from exact_tui.services.jobs import JobFilter, job_conditions
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    Audit,
    BankAccount,
    Customer,
    CustomerLink,
    Division,
    ExactAccount,
    ExportEvent,
    ExportJob,
    Invoice,
    InvoiceLine,
    Payment,
    SyncRun,
    Tenant,
    WriteOff,
)

#: A filter matching at most this many jobs reads their events through the (job_id, id) index;
#: a broader one walks the event log newest first and keeps the events of matching jobs.
SPARSE_JOBS = 2_000
#: Events read per step of that walk, and at most per page, so that a broad filter whose jobs
#: are all old answers with a short page (and a cursor to go on) instead of reading the table.
SCAN_CHUNK = 2_000
SCAN_BUDGET = 60_000
#: Events one tail call examines; more than this since the last tick is a gap to reload.
TAIL_LIMIT = 500
#: Refused jobs "retry all" looks at one by one to tell whether anything changed since.
PREVIEW_LIMIT = 500
#: States whose jobs wait on something, so that they carry a category and a cause.
OPEN_STATES = tuple(state for state in JobState if not state.is_final)


@dataclass(frozen=True)
class LogEvent:
    id: int
    at: dt.datetime
    level: str
    outcome: str
    message: str
    http_status: int | None
    duration_ms: int | None
    job_id: int
    kind: DocumentKind
    number: str
    division: int | None
    #: The job's state now (not when the event was written).
    state: JobState
    category: Category | None
    customer: str | None


@dataclass(frozen=True)
class EventPage:
    events: list[LogEvent]
    #: Pass as `before_id` for the next, older page; None when nothing older matches.
    next_before_id: int | None
    #: The newest event id when the page was read: the live tail starts after it.
    high_water: int


@dataclass(frozen=True)
class EventTail:
    #: Newest first.
    events: list[LogEvent]
    high_water: int
    #: More events arrived than one tail call reads: reload the first page instead.
    gap: bool


@dataclass(frozen=True)
class JobBrief:
    """A job as a list row shows it now, and what the job actions (retry, settle, go to
    what blocks it) need to know."""

    id: int
    state: JobState
    category: Category | None
    cause: str | None
    kind: DocumentKind
    number: str

    @property
    def title(self) -> str:
        return f"{self.kind.label} {self.number}"


@dataclass(frozen=True)
class RetryCheck:
    """Whether retrying a job would send it into the refusal it had (asked first, then)."""

    job: JobBrief
    #: When Exact last refused it; None when it is not a refused job.
    refused_at: dt.datetime | None
    #: Exact refused it and nothing that could change Exact's answer happened since: no
    #: import of its division, no mapping, binding, link or setting saved, no document update.
    unchanged: bool
    #: Exact's message, and what it means.
    message: str | None
    guidance: list[Guidance]


@dataclass(frozen=True)
class RetryPreview:
    """What "retry all" would do to the jobs a filter matches."""

    #: How many jobs the filter matches, per state.
    states: dict[JobState, int]
    #: Of the failed ones: refused by Exact with nothing changed since.
    unchanged: int

    def count(self, *states: JobState) -> int:
        return sum(self.states.get(state, 0) for state in states)


@dataclass(frozen=True)
class FailureGroup:
    category: Category | None
    cause: str | None
    count: int
    states: dict[JobState, int]
    #: Since when the cause has held the longest-held of its jobs still open.
    since: dt.datetime | None = None


@dataclass(frozen=True)
class TenantFailures:
    """One tenant's jobs in a group of the failures across tenants."""

    tenant_id: int
    code: str
    name: str
    count: int
    states: dict[JobState, int]
    since: dt.datetime | None


@dataclass(frozen=True)
class CauseAcrossTenants:
    """One cause of the failures across tenants: its jobs, counted, and the tenants they are
    in, most jobs first ("503 from Exact since 02:10: 312 jobs in 41 tenants")."""

    group: FailureGroup
    tenants: tuple[TenantFailures, ...]

    @property
    def filter(self) -> JobFilter:
        """The jobs of this cause, in each tenant (what a retry by cause takes)."""
        return JobFilter(category=self.group.category, cause=self.group.cause)


@dataclass(frozen=True)
class Attempt:
    """One event of a job, as its detail lists them."""

    id: int
    at: dt.datetime
    level: str
    outcome: str
    message: str
    http_status: int | None
    duration_ms: int | None
    minutely_remaining: int | None
    daily_remaining: int | None
    has_request: bool


@dataclass(frozen=True)
class DocumentInfo:
    kind: DocumentKind
    number: str
    date: dt.date
    amount: Decimal | None
    currency: str | None
    customer_number: str | None
    customer_name: str | None
    bank_account: str | None
    description: str | None
    #: The invoice a payment or write-off belongs to.
    invoice_number: str | None = None


@dataclass(frozen=True)
class JobDetail:
    id: int
    kind: DocumentKind
    number: str
    date: dt.date
    division: int | None
    state: JobState
    category: Category | None
    cause: str | None
    missing: list[dict[str, Any]]
    attempts_count: int
    next_attempt_at: dt.datetime | None
    last_error: str | None
    last_http_status: int | None
    lookups_empty: int
    entry_id: str | None
    entry_number: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    posted_at: dt.datetime | None
    document: DocumentInfo | None
    #: Newest first, at most `limit` of them.
    attempts: list[Attempt] = field(default_factory=list)
    #: The newest request body sent for this job, and the event that sent it.
    request: dict[str, Any] | None = None
    request_event_id: int | None = None
    request_at: dt.datetime | None = None
    #: The Exact account its customer is linked to in its division ("4 Name"), if any.
    account: str | None = None
    #: What Exact's refusal means and what fixes it (`domain.refusals`).
    guidance: list[Guidance] = field(default_factory=list)

    @property
    def brief(self) -> JobBrief:
        return JobBrief(self.id, self.state, self.category, self.cause, self.kind, self.number)


# ---------------------------------------------------------------- queries


def _high_water(session: Session) -> int:
    return session.exec(select(func.max(ExportEvent.id))).one() or 0


def _matching_jobs(session: Session, flt: JobFilter, job_ids: Iterable[int]) -> set[int]:
    ids = list(set(job_ids))
    if not ids:
        return set()
    query = select(ExportJob.id).where(col(ExportJob.id).in_(ids), *job_conditions(flt))
    return {job_id for job_id in session.exec(query) if job_id is not None}


def _customers(session: Session, jobs: Sequence[ExportJob]) -> dict[int, str]:
    """Customer names of these jobs' documents, by job id: one query per document kind."""
    wanted: dict[DocumentKind, dict[int, int]] = {}
    for job in jobs:
        assert job.id is not None
        wanted.setdefault(job.document_kind, {})[job.document_id] = job.id
    found: list[tuple[DocumentKind, int | None, str]] = []
    if ids := list(wanted.get(DocumentKind.INVOICE, ())):
        query = select(Invoice.id, Customer.name).join(
            Customer, col(Customer.id) == col(Invoice.customer_id)
        )
        found += [
            (DocumentKind.INVOICE, i, n)
            for i, n in session.exec(query.where(col(Invoice.id).in_(ids)))
        ]
    if ids := list(wanted.get(DocumentKind.PAYMENT, ())):
        query = select(Payment.id, Customer.name).join(
            Customer, col(Customer.id) == col(Payment.customer_id)
        )
        found += [
            (DocumentKind.PAYMENT, i, n)
            for i, n in session.exec(query.where(col(Payment.id).in_(ids)))
        ]
    if ids := list(wanted.get(DocumentKind.WRITE_OFF, ())):
        query = (
            select(WriteOff.id, Customer.name)
            .join(Invoice, col(Invoice.id) == col(WriteOff.invoice_id))
            .join(Customer, col(Customer.id) == col(Invoice.customer_id))
        )
        found += [
            (DocumentKind.WRITE_OFF, i, n)
            for i, n in session.exec(query.where(col(WriteOff.id).in_(ids)))
        ]
    return {wanted[kind][document_id]: name for kind, document_id, name in found if document_id}


def _log_events(session: Session, event_ids: Sequence[int]) -> list[LogEvent]:
    """The events with these ids, newest first, with their job's current state."""
    if not event_ids:
        return []
    rows = session.exec(
        select(ExportEvent)
        .options(defer(ExportEvent.request))  # type: ignore[arg-type]
        .where(col(ExportEvent.id).in_(list(event_ids)))
        .order_by(col(ExportEvent.id).desc())
    ).all()
    job_ids = {event.job_id for event in rows}
    jobs = {
        job.id: job for job in session.exec(select(ExportJob).where(col(ExportJob.id).in_(job_ids)))
    }
    customers = _customers(session, list(jobs.values()))
    events = []
    for event in rows:
        job = jobs[event.job_id]
        events.append(
            LogEvent(
                id=event.id or 0,
                at=event.at,
                level=event.level,
                outcome=event.outcome,
                message=event.message,
                http_status=event.http_status,
                duration_ms=event.duration_ms,
                job_id=event.job_id,
                kind=job.document_kind,
                number=job.document_number,
                division=job.division,
                state=job.state,
                category=job.category,
                customer=customers.get(event.job_id),
            )
        )
    return events


def _newest_ids(session: Session, before_id: int | None, limit: int) -> list[int]:
    query = select(ExportEvent.id)
    if before_id is not None:
        query = query.where(col(ExportEvent.id) < before_id)
    return [i for i in session.exec(query.order_by(col(ExportEvent.id).desc()).limit(limit)) if i]


def _ids_of_jobs(
    session: Session, job_ids: list[int], before_id: int | None, limit: int
) -> list[int]:
    query = select(ExportEvent.id).where(col(ExportEvent.job_id).in_(job_ids))
    if before_id is not None:
        query = query.where(col(ExportEvent.id) < before_id)
    return [i for i in session.exec(query.order_by(col(ExportEvent.id).desc()).limit(limit)) if i]


def _walk(
    session: Session, flt: JobFilter, before_id: int | None, limit: int
) -> tuple[list[int], int | None]:
    """Walk the log newest first, keeping events of jobs that match; stops after `limit` hits
    or `SCAN_BUDGET` events. Returns the hits and where to go on (None: the log's start)."""
    found: list[int] = []
    cursor = before_id
    examined = 0
    while examined < SCAN_BUDGET:
        query = select(ExportEvent.id, ExportEvent.job_id)
        if cursor is not None:
            query = query.where(col(ExportEvent.id) < cursor)
        chunk = session.exec(query.order_by(col(ExportEvent.id).desc()).limit(SCAN_CHUNK)).all()
        matching = _matching_jobs(session, flt, (job_id for _, job_id in chunk))
        for event_id, job_id in chunk:
            assert event_id is not None
            if job_id in matching:
                found.append(event_id)
                if len(found) == limit:
                    return found, event_id
        if len(chunk) < SCAN_CHUNK:
            return found, None
        examined += len(chunk)
        cursor = chunk[-1][0]
    return found, cursor


def log_page(
    store: Store, flt: JobFilter | None = None, *, before_id: int | None = None, limit: int = 100
) -> EventPage:
    """Events matching `flt`, newest first; `next_before_id` gives the next page. A page may
    hold fewer than `limit` events and still have a next page when the filter is broad and its
    events lie far back (the walk is bounded)."""
    flt = flt or JobFilter()
    with store.read() as session:
        high_water = _high_water(session)
        next_before: int | None
        if flt.is_empty:
            ids = _newest_ids(session, before_id, limit)
            next_before = ids[-1] if len(ids) == limit else None
        else:
            job_ids = [
                i
                for i in session.exec(
                    select(ExportJob.id).where(*job_conditions(flt)).limit(SPARSE_JOBS + 1)
                )
                if i is not None
            ]
            if len(job_ids) <= SPARSE_JOBS:
                ids = _ids_of_jobs(session, job_ids, before_id, limit) if job_ids else []
                next_before = ids[-1] if len(ids) == limit else None
            else:
                ids, next_before = _walk(session, flt, before_id, limit)
        return EventPage(_log_events(session, ids), next_before, high_water)


def log_tail(
    store: Store, flt: JobFilter | None, after_id: int, *, also: Iterable[int] = ()
) -> EventTail:
    """Events newer than `after_id` that match `flt`, newest first (the live log's tick).
    Events of the jobs in `also` (those on screen) come too, matching or not: a filtered
    view goes on showing what happens to its jobs after a retry moved them out of the filter."""
    flt = flt or JobFilter()
    shown = set(also)
    with store.read() as session:
        chunk = session.exec(
            select(ExportEvent.id, ExportEvent.job_id)
            .where(col(ExportEvent.id) > after_id)
            .order_by(col(ExportEvent.id))
            .limit(TAIL_LIMIT + 1)
        ).all()
        if len(chunk) > TAIL_LIMIT:
            return EventTail([], _high_water(session), gap=True)
        if not chunk:
            return EventTail([], after_id, gap=False)
        if flt.is_empty:
            ids = [event_id for event_id, _ in chunk if event_id is not None]
        else:
            matching = _matching_jobs(session, flt, (job_id for _, job_id in chunk)) | shown
            ids = [event_id for event_id, job_id in chunk if event_id and job_id in matching]
        high_water = chunk[-1][0]
        assert high_water is not None
        return EventTail(_log_events(session, ids), high_water, gap=False)


def job_briefs(store: Store, job_ids: Iterable[int]) -> dict[int, JobBrief]:
    """The current state of these jobs, to update rows already on screen."""
    ids = list(set(job_ids))
    if not ids:
        return {}
    with store.read() as session:
        jobs = session.exec(select(ExportJob).where(col(ExportJob.id).in_(ids)))
        return {
            job.id: JobBrief(
                job.id, job.state, job.category, job.cause, job.document_kind, job.document_number
            )
            for job in jobs
            if job.id is not None
        }


_Key = tuple[Category | None, str | None]


def _grouped_failures(
    session: Session, flt: JobFilter, *, by_tenant: bool
) -> dict[_Key, dict[int, tuple[dict[JobState, int], dt.datetime | None]]]:
    """Open jobs that carry a category, counted by category, cause and state (and tenant):
    {(category, cause): {tenant_id: ({state: count}, since)}}. One grouped query; without
    `by_tenant` every count sits under tenant 0."""
    since = func.min(func.coalesce(col(ExportJob.cause_since), col(ExportJob.updated_at)))
    keys: list[Any] = [col(ExportJob.category), col(ExportJob.cause), col(ExportJob.state)]
    if by_tenant:
        keys.append(col(ExportJob.tenant_id))
    query = (
        sa.select(*keys, func.count(), since)
        .where(
            col(ExportJob.state).in_(OPEN_STATES),
            col(ExportJob.category).is_not(None),
            *job_conditions(flt),
        )
        .group_by(*keys)
    )
    merged: dict[_Key, dict[int, tuple[dict[JobState, int], dt.datetime | None]]] = {}
    for row in session.execute(query):
        category, cause, state = row[0], row[1], row[2]
        tenant = row[3] if by_tenant else 0
        count, first = row[-2], row[-1]
        key = (Category(category) if category else None, cause)
        states, earliest = merged.setdefault(key, {}).get(tenant, ({}, None))
        states[JobState(state)] = count
        if first is not None and (earliest is None or first < earliest):
            earliest = first
        merged[key][tenant] = (states, earliest)
    return merged


def _group(
    key: _Key, parts: Iterable[tuple[dict[JobState, int], dt.datetime | None]]
) -> FailureGroup:
    states: dict[JobState, int] = {}
    starts = []
    for counts, since in parts:
        for state, count in counts.items():
            states[state] = states.get(state, 0) + count
        if since is not None:
            starts.append(since)
    return FailureGroup(key[0], key[1], sum(states.values()), states, min(starts, default=None))


def _largest_first(group: FailureGroup) -> tuple[int, str, str]:
    return (-group.count, group.category or "", group.cause or "")


def failure_groups(
    store: Store, flt: JobFilter | None = None, *, limit: int = 200
) -> list[FailureGroup]:
    """Jobs waiting on something, grouped by category and cause, largest group first."""
    with store.read() as session:
        merged = _grouped_failures(session, flt or JobFilter(), by_tenant=False)
    groups = [_group(key, tenants.values()) for key, tenants in merged.items()]
    groups.sort(key=_largest_first)
    return groups[:limit]


def failures_by_cause_all_tenants(
    store: Store, flt: JobFilter | None = None, *, limit: int = 200
) -> list[CauseAcrossTenants]:
    """The failures of every tenant grouped by cause, as the Export log groups one tenant's,
    largest group first, each with its tenants (most jobs first): one grouped query over
    the store across tenants, whatever the number of tenants."""
    with store.root.all_tenants().read() as session:
        merged = _grouped_failures(session, flt or JobFilter(), by_tenant=True)
        tenants = {
            tenant.id: tenant for tenant in session.exec(select(Tenant)) if tenant.id is not None
        }
    found = []
    for key, per_tenant in merged.items():
        group = _group(key, per_tenant.values())
        rows = [
            TenantFailures(
                tenant_id,
                tenants[tenant_id].code,
                tenants[tenant_id].name,
                sum(states.values()),
                states,
                since,
            )
            for tenant_id, (states, since) in per_tenant.items()
            if tenant_id in tenants
        ]
        rows.sort(key=lambda row: (-row.count, row.code))
        found.append(CauseAcrossTenants(group, tuple(rows)))
    found.sort(key=lambda cause: _largest_first(cause.group))
    return found[:limit]


def _document(session: Session, job: ExportJob) -> DocumentInfo | None:
    """The platform document behind a job: what it is for, whom, and from which bank account."""
    invoice: Invoice | None
    if job.document_kind is DocumentKind.INVOICE:
        invoice = session.get(Invoice, job.document_id)
        if invoice is None:
            return None
        amount, vat = session.exec(
            select(func.sum(InvoiceLine.amount), func.sum(InvoiceLine.vat_amount)).where(
                col(InvoiceLine.invoice_id) == invoice.id
            )
        ).one()
        total = (amount or Decimal("0.00")) + (vat or Decimal("0.00"))
        return _info(session, job, invoice, total, invoice.description, of=None)
    if job.document_kind is DocumentKind.PAYMENT:
        payment = session.get(Payment, job.document_id)
        if payment is None:
            return None
        invoice = session.get(Invoice, payment.invoice_id) if payment.invoice_id else None
        return _info(session, job, payment, payment.amount, payment.description, of=invoice)
    write_off = session.get(WriteOff, job.document_id)
    invoice = session.get(Invoice, write_off.invoice_id) if write_off else None
    if write_off is None or invoice is None:
        return None
    info = _info(session, job, invoice, write_off.amount, write_off.description, of=invoice)
    return replace(info, date=write_off.date)


def _info(
    session: Session,
    job: ExportJob,
    document: Invoice | Payment,
    amount: Decimal,
    description: str | None,
    *,
    of: Invoice | None,
) -> DocumentInfo:
    customer = session.get(Customer, document.customer_id)
    bank_account = session.get(BankAccount, document.bank_account_id)
    currency = document.currency if isinstance(document, Invoice) else None
    return DocumentInfo(
        kind=job.document_kind,
        number=job.document_number,
        date=document.date,
        amount=amount,
        currency=currency or (of.currency if of else None),
        customer_number=customer.number if customer else None,
        customer_name=customer.name if customer else None,
        bank_account=bank_account.iban if bank_account else None,
        description=description,
        invoice_number=of.number if of else None,
    )


def job_detail(store: Store, job_id: int, *, limit: int = 100) -> JobDetail | None:
    """One job with its newest `limit` events and the newest request among them."""
    with store.read() as session:
        job = session.get(ExportJob, job_id)
        if job is None:
            return None
        events = session.exec(
            select(ExportEvent)
            .where(col(ExportEvent.job_id) == job_id)
            .order_by(col(ExportEvent.id).desc())
            .limit(limit)
        ).all()
        attempts = [
            Attempt(
                id=event.id or 0,
                at=event.at,
                level=event.level,
                outcome=event.outcome,
                message=event.message,
                http_status=event.http_status,
                duration_ms=event.duration_ms,
                minutely_remaining=event.minutely_remaining,
                daily_remaining=event.daily_remaining,
                has_request=event.request is not None,
            )
            for event in events
        ]
        # In Python: the JSON column stores an absent body as JSON null, not SQL NULL.
        sent = next((event for event in events if event.request is not None), None)
        document = _document(session, job)
        account = _linked_account(session, document, job.division)
        return JobDetail(
            id=job_id,
            kind=job.document_kind,
            number=job.document_number,
            date=job.document_date,
            division=job.division,
            state=job.state,
            category=job.category,
            cause=job.cause,
            missing=list(job.missing or []),
            attempts_count=job.attempts,
            next_attempt_at=job.next_attempt_at,
            last_error=job.last_error,
            last_http_status=job.last_http_status,
            lookups_empty=job.lookups_empty,
            entry_id=job.exact_entry_id,
            entry_number=job.exact_entry_number,
            created_at=job.created_at,
            updated_at=job.updated_at,
            posted_at=job.posted_at,
            document=document,
            attempts=attempts,
            request=sent.request if sent else None,
            request_event_id=sent.id if sent else None,
            request_at=sent.at if sent else None,
            account=account,
            guidance=explain(
                job.last_error if job.state is JobState.FAILED else None,
                Facts(account, document.customer_number if document else None),
            ),
        )


def _linked_account(
    session: Session, document: DocumentInfo | None, division: int | None
) -> str | None:
    """The Exact account (code and name) a document's customer is linked to in `division`."""
    if document is None or document.customer_number is None or division is None:
        return None
    account = session.exec(
        select(ExactAccount.code, ExactAccount.name)
        .join(
            CustomerLink,
            (col(CustomerLink.exact_account_id) == col(ExactAccount.id))
            & (col(CustomerLink.division) == col(ExactAccount.division)),
        )
        .join(Customer, col(Customer.id) == col(CustomerLink.customer_id))
        .where(col(Customer.number) == document.customer_number)
        .where(col(CustomerLink.division) == division)
    ).first()
    if account is None:
        return None
    code, name = account
    return f"{code} {name}" if code else name


#: Operator actions after which Exact may answer a refused entry differently.
FIXING_ACTIONS = ("map", "bind", "unbind", "link", "unlink", "settings", "ingest")
#: Refusals a retry would most likely meet again unless something changed.
REFUSALS = (Category.VALIDATION, Category.CUSTOMER)


def _changed_since(session: Session, division: int | None, since: dt.datetime) -> bool:
    """Whether anything that could change Exact's answer happened after `since`: an import of
    the division (something may have been fixed in Exact), or an operator's fix here."""
    imported = select(SyncRun.id).where(
        col(SyncRun.finished_at) > since, col(SyncRun.error).is_(None)
    )
    if division is not None:
        imported = imported.where(col(SyncRun.division) == division)
    if session.exec(imported.limit(1)).first() is not None:
        return True
    fixed = select(Audit.id).where(
        col(Audit.at) > since, col(Audit.action).in_(FIXING_ACTIONS), col(Audit.result) == "ok"
    )
    return session.exec(fixed.limit(1)).first() is not None


def _refused_at(session: Session, job: ExportJob) -> dt.datetime | None:
    if job.state is not JobState.FAILED or job.category not in REFUSALS:
        return None
    return (
        session.exec(
            select(func.max(ExportEvent.at)).where(
                col(ExportEvent.job_id) == job.id, col(ExportEvent.level) == "error"
            )
        ).one()
        or job.updated_at
    )


def retry_check(store: Store, job_id: int) -> RetryCheck | None:
    """What retrying one job would meet: a refusal that nothing has changed since is asked
    about first (sent again, it would most likely be refused again)."""
    with store.read() as session:
        job = session.get(ExportJob, job_id)
        if job is None or job.id is None:
            return None
        brief = JobBrief(
            job.id, job.state, job.category, job.cause, job.document_kind, job.document_number
        )
        refused_at = _refused_at(session, job)
        if refused_at is None:
            return RetryCheck(brief, None, False, None, [])
        document = _document(session, job)
        account = _linked_account(session, document, job.division)
        facts = Facts(account, document.customer_number if document else None)
        return RetryCheck(
            brief,
            refused_at,
            not _changed_since(session, job.division, refused_at),
            job.last_error,
            explain(job.last_error, facts),
        )


def _unchanged_refusals(session: Session, flt: JobFilter, limit: int) -> int:
    """Of the failed jobs `flt` matches (at most `limit` looked at), those Exact refused with
    nothing changed since in their tenant (its imports and fixes): `retry_check`'s judgement
    of each, in four queries whatever their number, in a tenant's session or across tenants."""
    refused = session.exec(
        select(ExportJob.id, ExportJob.tenant_id, ExportJob.division, ExportJob.updated_at)
        .where(
            *job_conditions(flt),
            col(ExportJob.state) == JobState.FAILED,
            col(ExportJob.category).in_(REFUSALS),
        )
        .limit(limit)
    ).all()
    if not refused:
        return 0
    errors: dict[int, dt.datetime] = {}
    for errored, last in session.exec(
        select(ExportEvent.job_id, func.max(ExportEvent.at))
        .where(
            col(ExportEvent.job_id).in_([job_id for job_id, *_ in refused]),
            col(ExportEvent.level) == "error",
        )
        .group_by(col(ExportEvent.job_id))
    ):
        if last is not None:
            errors[errored] = last
    tenants = {tenant_id for _, tenant_id, _, _ in refused}
    imported: dict[tuple[int, int | None], dt.datetime] = {}
    for tenant_id, division, finished in session.exec(
        select(SyncRun.tenant_id, SyncRun.division, func.max(SyncRun.finished_at))
        .where(col(SyncRun.tenant_id).in_(tenants), col(SyncRun.error).is_(None))
        .group_by(col(SyncRun.tenant_id), col(SyncRun.division))
    ):
        if finished is not None:
            imported[(tenant_id, division)] = finished
    fixed: dict[int | None, dt.datetime] = {}
    for fixer, at in session.exec(
        select(Audit.tenant_id, func.max(Audit.at))
        .where(
            col(Audit.tenant_id).in_(tenants),
            col(Audit.action).in_(FIXING_ACTIONS),
            col(Audit.result) == "ok",
        )
        .group_by(col(Audit.tenant_id))
    ):
        if at is not None:
            fixed[fixer] = at
    unchanged = 0
    for job_id, tenant_id, division, updated_at in refused:
        at = (errors.get(job_id) if job_id is not None else None) or updated_at
        if division is None:  # any import of the tenant may have fixed it
            runs = [t for (owner, _), t in imported.items() if owner == tenant_id]
            last_import = max(runs, default=None)
        else:
            last_import = imported.get((tenant_id, division))
        last_fix = fixed.get(tenant_id)
        changed = (last_import is not None and last_import > at) or (
            last_fix is not None and last_fix > at
        )
        unchanged += not changed
    return unchanged


def retry_preview(store: Store, flt: JobFilter) -> RetryPreview:
    """How many jobs `flt` matches, per state, and how many of the refused ones nothing has
    changed since (read in pages, so a large filter stays cheap to ask about)."""
    with store.read() as session:
        states = {
            JobState(state): count
            for state, count in session.exec(
                select(ExportJob.state, func.count())
                .where(*job_conditions(flt))
                .group_by(col(ExportJob.state))
            )
        }
        unchanged = 0
        if states.get(JobState.FAILED):
            unchanged = _unchanged_refusals(session, flt, PREVIEW_LIMIT)
    return RetryPreview(states, unchanged)


#: The states a retry moves (back to pending, or to a lookup in Exact).
RETRIED_STATES = (JobState.FAILED, JobState.NEEDS_MAPPING, JobState.RETRY_WAIT, JobState.UNKNOWN)


@dataclass(frozen=True)
class RetryAcrossTenants:
    """What a retry across tenants would do: the jobs `flt` matches in every tenant, per
    state (`preview`), and the tenants holding the ones it would move."""

    preview: RetryPreview
    #: Tenant ids with at least one job in `RETRIED_STATES`, in id order.
    tenant_ids: tuple[int, ...]
    #: Of those, the disabled tenants' ids, and how many of the jobs are theirs: retried, they
    #: wait until the tenant is enabled again (a disabled tenant gets no export).
    disabled_ids: tuple[int, ...] = ()
    disabled_jobs: int = 0

    @property
    def jobs(self) -> int:
        """The jobs it would move: back to pending, or to a lookup."""
        return self.preview.count(*RETRIED_STATES)

    @property
    def tenants(self) -> int:
        return len(self.tenant_ids)


def retry_preview_all_tenants(store: Store, flt: JobFilter) -> RetryAcrossTenants:
    """`retry_preview` over every tenant: one grouped query for the counts; the refusals with
    nothing changed since are judged against each one's tenant (its imports and fixes), at
    most `PREVIEW_LIMIT` jobs in all."""
    root = store.root
    states: dict[JobState, int] = {}
    moving: Counter[int] = Counter()
    refused = False
    with root.all_tenants().read() as session:
        for tenant_id, state, category, count in session.exec(
            select(ExportJob.tenant_id, ExportJob.state, ExportJob.category, func.count())
            .where(*job_conditions(flt))
            .group_by(col(ExportJob.tenant_id), col(ExportJob.state), col(ExportJob.category))
        ):
            job_state = JobState(state)
            states[job_state] = states.get(job_state, 0) + count
            if job_state in RETRIED_STATES:
                moving[tenant_id] += count
            if job_state is JobState.FAILED and category in REFUSALS:
                refused = True
        unchanged = _unchanged_refusals(session, flt, PREVIEW_LIMIT) if refused else 0
        disabled = (
            sorted(
                tenant.id
                for tenant in session.exec(
                    select(Tenant)
                    .where(col(Tenant.id).in_(sorted(moving)))
                    .where(col(Tenant.disabled_at).is_not(None))
                )
                if tenant.id is not None
            )
            if moving
            else []
        )
    return RetryAcrossTenants(
        RetryPreview(states, unchanged),
        tuple(sorted(moving)),
        tuple(disabled),
        sum(moving[t] for t in disabled),
    )


def division_choices(store: Store) -> list[tuple[int, str]]:
    """The divisions the log can be filtered by: code and description."""
    with store.read() as session:
        return list(
            session.exec(select(Division.code, Division.description).order_by(col(Division.code)))
        )
