"""The export pipeline in the worker (docs/export.md): the worker's `ExportRunner`.

`prepare()` does the local steps for new pending jobs in batches (history, routing,
preflight) without calling Exact; `process_next()` takes one due job of a division: an
`unknown` one is settled by a lookup in Exact (`settling`), a pending one is checked again,
claimed (the claim is committed before any request, and checked again right before each
request leaves: fencing), its customer resolved and its entry posted (`payloads`); every
outcome (`outcomes`) goes through the pure state machine (`domain.transitions`) and is applied,
with its event, by `services.job_state`, only while the claim is still this worker's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from exact_tui.domain.matching import Decision
from exact_tui.domain.preflight import Missing
from exact_tui.domain.states import Category, ConnectionStatus, DocumentKind, JobState
from exact_tui.domain.transitions import (
    EventOutcome,
    JobFacts,
    Outcome,
    OutcomeKind,
    Policy,
    Transition,
    after_attempt,
    after_lookup,
    blocked,
    interrupted,
    lookup_failed,
)
from exact_tui.exact import entries
from exact_tui.exact.errors import (
    AccessDenied,
    ConnectionUnusable,
    ErrorBudgetSpent,
    ExactError,
    Fenced,
    ReconnectNeeded,
)
from exact_tui.exact.http import BeforeSend
from exact_tui.services import job_state
from exact_tui.services.clock import Clock, SystemClock
from exact_tui.services.connection import ConnectionService, export_gate
from exact_tui.services.export.api import ExactApi
from exact_tui.services.export.customers import (
    CustomerPlan,
    CustomerResolver,
    OnAmbiguous,
    hold_cause,
    plan_customer,
)
from exact_tui.services.export.documents import (
    Checked,
    Document,
    Route,
    check_document,
    load_documents,
    load_facts,
    load_routes,
)
from exact_tui.services.export.holds import Holds
from exact_tui.services.export.outcomes import budgets_of, outcome_of
from exact_tui.services.export.payloads import ENDPOINTS, payload
from exact_tui.services.export.settling import (
    Settling,
    held_by_others,
    judged,
    look_up,
    settling_of,
)
from exact_tui.services.worker import WorkLeft
from exact_tui.store.engine import Store
from exact_tui.store.failures import store_failure
from exact_tui.store.models import (
    BankAccountBinding,
    Division,
    ExactConnection,
    ExportJob,
    OAuthToken,
    Tenant,
)
from exact_tui.store.scoping import tenant_key, tenant_of

log = logging.getLogger("exact_tui.export")

#: An invoice in one of these states is on its way to Exact: its payments and write-offs wait
#: for it, so they can carry its entry number (OurRef) and Exact can match them.
ON_ITS_WAY = (JobState.PENDING, JobState.RETRY_WAIT, JobState.IN_FLIGHT, JobState.UNKNOWN)
#: Jobs the worker still has to do something about (not waiting for a person).
OPEN = ON_ITS_WAY

ClientSource = Callable[[], Awaitable[ExactApi | None]]


@dataclass(frozen=True)
class ExportOptions:
    backoff_base: float = 5.0
    backoff_cap: float = 900.0
    lookup_safety_delay: float = 30.0
    #: No job whose answer was lost is sent again before this long after it was sent.
    settle_horizon: float = 600.0
    on_ambiguous: OnAmbiguous = "create"
    #: The business's time zone: the activation date (what is history) is a local date.
    timezone: str = "Europe/Amsterdam"
    #: How long a claim holds without news; renewed right before each request (the fence).
    lease_seconds: float = 600.0
    prepare_batch: int = 500
    #: How long a payment or write-off waits before looking at its invoice's job again.
    invoice_wait_seconds: float = 5.0

    @property
    def policy(self) -> Policy:
        return Policy(
            self.backoff_base, self.backoff_cap, self.lookup_safety_delay, self.settle_horizon
        )


@dataclass(frozen=True)
class _Job:
    id: int
    kind: DocumentKind
    document_id: int
    number: str
    division: int | None
    state: JobState
    cause: str | None
    updated_at: dt.datetime
    facts: JobFacts


def _snapshot(job: ExportJob) -> _Job:
    assert job.id is not None
    return _Job(
        id=job.id,
        kind=job.document_kind,
        document_id=job.document_id,
        number=job.document_number,
        division=job.division,
        state=job.state,
        cause=job.cause,
        updated_at=job.updated_at,
        facts=job_state.facts(job),
    )


@dataclass
class _Plan:
    """A claimable job with everything its request needs, read before the claim."""

    job: _Job
    document: Document
    route: Route
    checked: Checked
    customer: CustomerPlan
    invoice_entry_number: int | None


@dataclass(frozen=True)
class _Local:
    """A job that changes without a call to Exact (history, something missing, waiting)."""

    job: _Job
    transition: Transition | None
    division: int | None
    missing: tuple[Missing, ...] = ()


@dataclass
class _Sent:
    outcome: Outcome
    request: dict[str, Any] | None = None
    duration_ms: int | None = None
    hold: Transition | None = None
    #: The endpoint whose error budget is spent, when that was the outcome.
    endpoint: str | None = None


class ExportService:
    """The worker's `ExportRunner`. `client` gives the Exact client while the connection is
    usable, None when it is not (then nothing is claimed)."""

    def __init__(
        self,
        store: Store,
        client: ClientSource,
        *,
        options: ExportOptions | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self._client = client
        self.options = options or ExportOptions()
        self.clock: Clock = clock or SystemClock()
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)
        self._zone = ZoneInfo(self.options.timezone)
        self._holds = Holds()
        self._connection = ConnectionService(store, clock=self.clock.now)
        #: Divisions this worker (re)took from another: their budget is read from the store
        #: before their next request, not taken from what this worker last knew.
        self._taken: set[int] = set()
        self.customers = CustomerResolver(store, self.clock, on_ambiguous=self.options.on_ambiguous)

    # ---------------------------------------------------------------- gate

    def paused_reason(self) -> str | None:
        """Why nothing may be sent now (docs/export.md §Rate limits, the error budget and pauses:
        Reconnect, Inactive, paused), or None."""
        with self.store.read() as session:
            return self._tenant_gate(session)

    def _tenant_gate(self, session: Session) -> str | None:
        """Nothing of a disabled tenant is sent (docs/tenants.md); else the connection's gate.
        One query: the connection with its tenant."""
        row = session.exec(
            select(ExactConnection, Tenant)
            .join(Tenant, col(Tenant.id) == ExactConnection.tenant_id)
            .where(col(ExactConnection.tenant_id) == tenant_of(session))
        ).first()
        if row is None:
            return self._gate(None)
        conn, tenant = row
        if tenant.disabled_at is not None:
            why = f": {tenant.disabled_reason}" if tenant.disabled_reason else ""
            return f"tenant {tenant.code} is disabled{why}"
        return self._gate(conn)

    @staticmethod
    def _gate(conn: ExactConnection | None) -> str | None:
        if conn is None:
            return export_gate(None, False, None)
        if conn.status is ConnectionStatus.ERROR:
            # A blocked user or licence: every call would only spend the error budget.
            return f"the connection is in error: {conn.reason}"
        return export_gate(conn.status, conn.exports_paused, conn.reason)

    def _closed(self, session: Session, division: int) -> bool:
        """Exports paused or waiting for a token, or Exact refuses this division (until
        someone fixes it and retries)."""
        if self._tenant_gate(session) is not None:
            return True
        if self._auth_held(session):
            return True
        row = session.get(Division, tenant_key(session, division))
        return row is not None and not row.accessible

    def _auth_held(self, session: Session) -> bool:
        if self._holds.auth_until is None:
            return False
        token = session.get(OAuthToken, tenant_of(session))
        return self._holds.auth_held(token.version if token else None, self.clock.now())

    def work_left(self) -> WorkLeft | None:
        """Why jobs are still open when nothing is due (what `worker --until-idle` says as it
        exits), or None when none are."""
        now = self.clock.now()
        with self.store.read() as session:
            count = session.exec(
                select(func.count()).select_from(ExportJob).where(col(ExportJob.state).in_(OPEN))
            ).one()
            if not count:
                return None
            jobs = f"{count} job{'s' if count != 1 else ''} left waiting"
            gate = self._tenant_gate(session)
            if gate is not None:
                return WorkLeft(f"{jobs}: {gate}", blocked=True)
            if self._auth_held(session):
                until = self._holds.auth_until
                assert until is not None
                return WorkLeft(f"{jobs}: Exact gives a new access token from {until:%H:%M:%S} UTC")
            soonest = session.exec(
                select(ExportJob)
                .where(col(ExportJob.state).in_(OPEN), col(ExportJob.next_attempt_at) > now)
                .order_by(col(ExportJob.next_attempt_at))
                .limit(1)
            ).first()
        if soonest is None or soonest.next_attempt_at is None:
            return WorkLeft(f"{jobs}")
        why = soonest.cause or soonest.state.value
        return WorkLeft(
            f"{jobs}; the next is due at {soonest.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC ({why})"
        )

    # ---------------------------------------------------------------- recovery

    def recover(self, dead_owners: set[str]) -> int:
        """Jobs a dead worker held: in_flight → unknown (its request may have reached Exact);
        a lookup it held is simply released."""
        if not dead_owners:
            return 0
        now = self.clock.now()
        recovered = 0
        with self.store.write() as session:
            # Locked, and skipped when another worker holds them: two workers recovering the
            # same dead worker's jobs do each job once.
            rows = session.exec(
                select(ExportJob)
                .where(
                    col(ExportJob.state).in_((JobState.IN_FLIGHT, JobState.UNKNOWN)),
                    col(ExportJob.lease_owner).in_(sorted(dead_owners)),
                )
                .with_for_update(skip_locked=True)
            ).all()
            for job in rows:
                if job.state is JobState.IN_FLIGHT:
                    why = f"the worker {job.lease_owner} stopped during the attempt"
                    transition = interrupted(job_state.facts(job), now=now, why=why)
                    job_state.apply(session, job, transition, now=now)
                    recovered += 1
                else:
                    job_state.release(session, job)
        return recovered

    def expire_leases(self, now: dt.datetime) -> None:
        """Claims that ran out without news: in_flight → unknown, a lookup's claim dropped."""
        expired = select(ExportJob).where(
            col(ExportJob.state).in_((JobState.IN_FLIGHT, JobState.UNKNOWN)),
            col(ExportJob.lease_expires_at) < now,
        )
        with self.store.read() as session:
            if session.exec(expired.limit(1)).first() is None:
                return  # the usual case: no write transaction on an idle poll
        with self.store.write() as session:
            for job in session.exec(expired.with_for_update(skip_locked=True)).all():
                if job.state is JobState.IN_FLIGHT:
                    why = f"the claim of {job.lease_owner} ran out without news"
                    transition = interrupted(job_state.facts(job), now=now, why=why)
                    job_state.apply(session, job, transition, now=now)
                else:
                    job_state.release(session, job)

    # ---------------------------------------------------------------- prepare (local)

    def _activated_on(self, session: Session) -> dt.date | None:
        conn = session.get(ExactConnection, tenant_of(session))
        if conn is None or conn.activated_at is None:
            return None
        return conn.activated_at.astimezone(self._zone).date()

    def _today(self, now: dt.datetime) -> dt.date:
        return now.astimezone(self._zone).date()

    def prepare(self) -> None:
        """History, routing and preflight for new pending jobs, a batch at a time. Cheap when
        nothing changed: new jobs are the pending ones without a division, found through
        the (division, state) index."""
        now = self.clock.now()
        self.expire_leases(now)
        self.route_new(now)

    def route_new(self, now: dt.datetime) -> None:
        """History, routing and preflight for one batch of new pending jobs."""
        with self.store.read() as session:
            activated_on = self._activated_on(session)
            if activated_on is None:
                return  # not connected yet: what is history is not known
            jobs = [
                _snapshot(job)
                for job in session.exec(
                    select(ExportJob)
                    .where(col(ExportJob.division).is_(None))
                    .where(col(ExportJob.state) == JobState.PENDING)
                    .order_by(col(ExportJob.id))
                    .limit(self.options.prepare_batch)
                )
            ]
            if not jobs:
                return
            locals_ = self._check_batch(session, jobs, activated_on, now)
        with self.store.write() as session:
            for local in locals_:
                self._apply_local(session, local)

    def _check_batch(
        self, session: Session, jobs: Sequence[_Job], activated_on: dt.date, now: dt.datetime
    ) -> list[_Local]:
        documents = load_documents(session, [(j.kind, j.document_id) for j in jobs])
        routes = load_routes(session)
        by_division: dict[int, list[Document]] = {}
        for loaded in documents.values():
            bound = routes.get(loaded.bank_account_id or 0)
            if bound is not None:
                by_division.setdefault(bound.division, []).append(loaded)
        facts = {
            division: load_facts(session, division, docs, today=self._today(now))
            for division, docs in by_division.items()
        }
        result = []
        for job in jobs:
            document = documents.get((job.kind, job.document_id))
            if document is None:
                continue
            route = routes.get(document.bank_account_id or 0)
            checked = check_document(
                document,
                route,
                facts.get(route.division) if route else None,
                activated_on=activated_on,
            )
            result.append(_Local(job, checked.transition, checked.division, checked.missing))
        return result

    def _apply_local(self, session: Session, local: _Local) -> bool:
        """Write a local decision if the job is still as it was read (the row locked first, so
        two workers preparing the same batch write it once)."""
        job = session.get(ExportJob, local.job.id, with_for_update=True, populate_existing=True)
        if job is None or (job.state, job.updated_at) != (local.job.state, local.job.updated_at):
            return False
        job.division = local.division
        if local.transition is None:
            # Routed (or re-routed): it waits in its division's queue, no event needed.
            job.updated_at = self.clock.now()
            session.add(job)
            return True
        job_state.apply(session, job, local.transition, now=self.clock.now(), missing=local.missing)
        return True

    # ---------------------------------------------------------------- what is due

    def due_divisions(self, among: Collection[int] | None = None) -> list[int]:
        """Divisions (of `among`, when given) with a job to send or settle now; none while
        exports are paused. A few index seeks per division, whatever the length of the
        queue."""
        if self.paused_reason() is not None:
            return []
        now = self.clock.now()
        with self.store.read() as session:
            if self._auth_held(session):
                return []
            open_ = _open_divisions(session)
            return sorted(
                division
                for division in (open_ if among is None else open_.intersection(among))
                if not self._holds.division_held(division, now)
                and self._next_due(session, division, now, held_kinds=False) is not None
            )

    def busy_divisions(self) -> list[int]:
        """Divisions with open jobs, due now or later (what several workers share out: a
        division waiting out a rate limit or a lookup's delay keeps its owner). One index seek
        per division."""
        with self.store.read() as session:
            return sorted(
                division
                for division in _open_divisions(session)
                if session.exec(
                    select(ExportJob.id)
                    .where(col(ExportJob.division) == division)
                    .where(col(ExportJob.state).in_(OPEN))
                    .limit(1)
                ).first()
                is not None
            )

    def division_taken(self, division: int) -> None:
        """The worker now holds `division` (docs/worker.md §Several workers): what it knew of
        the division's rate limit may be stale, another worker spent it meanwhile."""
        self._taken.add(division)

    def _next_due(
        self, session: Session, division: int, now: dt.datetime, *, held_kinds: bool = True
    ) -> _Job | None:
        """The division's next job: unknown ones first (to settle them), then those waiting
        out a backoff, then pending ones, oldest first. One state per query, so the
        (division, state) index (which ends with the id) gives the order without sorting."""
        due = or_(col(ExportJob.next_attempt_at).is_(None), col(ExportJob.next_attempt_at) <= now)
        free = or_(col(ExportJob.lease_owner).is_(None), col(ExportJob.lease_expires_at) < now)
        held = self._holds.held_kinds(division, now) if held_kinds else set()
        for state in (JobState.UNKNOWN, JobState.RETRY_WAIT, JobState.PENDING):
            query = select(ExportJob).where(
                col(ExportJob.division) == division, col(ExportJob.state) == state, due, free
            )
            if held and state is not JobState.UNKNOWN:
                query = query.where(col(ExportJob.document_kind).not_in(sorted(held)))
            job = session.exec(query.order_by(col(ExportJob.id)).limit(1)).first()
            if job is not None:
                return _snapshot(job)
        return None

    # ---------------------------------------------------------------- one job

    async def process_next(self, division: int, owner: str) -> bool:
        """Settle or send one due job of `division`; False when there is none (or exports
        may not run now: then nothing is claimed)."""
        now = self.clock.now()
        if self._holds.division_held(division, now):
            return False
        client = await self._client()
        if client is None:
            return False
        if division in self._taken:
            self._taken.discard(division)
            client.forget_rate(division)
        taken = await asyncio.to_thread(self._take, division, now)
        if taken is None:
            return False
        if isinstance(taken, _Job):
            await self._settle(client, taken, owner)
        elif isinstance(taken, _Local):
            await asyncio.to_thread(self._write_local, taken)
        else:
            await self._attempt(client, taken, owner)
        return True

    def _take(self, division: int, now: dt.datetime) -> _Job | _Plan | _Local | None:
        """In one read: may this division send now, its next due job, and for a job to send
        what its request needs (checked again: bindings or mappings may have changed)."""
        with self.store.read() as session:
            if self._closed(session, division):
                return None
            job = self._next_due(session, division, now)
            if job is None or job.state is JobState.UNKNOWN:
                return job
            return self._plan(session, job, now)

    def _plan(self, session: Session, job: _Job, now: dt.datetime) -> _Plan | _Local:
        activated_on = self._activated_on(session)
        documents = load_documents(session, [(job.kind, job.document_id)])
        document = documents.get((job.kind, job.document_id))
        if activated_on is None or document is None:
            return _Local(job, None, None)
        routes = load_routes(session)
        route = routes.get(document.bank_account_id or 0)
        facts = (
            load_facts(session, route.division, [document], today=self._today(now))
            if route
            else None
        )
        checked = check_document(document, route, facts, activated_on=activated_on)
        if checked.transition is not None:
            return _Local(job, checked.transition, checked.division, checked.missing)
        assert route is not None and document.customer is not None
        if route.division != job.division:
            return _Local(job, None, route.division)
        invoice_entry: int | None = None
        if document.invoice_id is not None:
            invoice_job = session.exec(
                select(ExportJob).where(
                    col(ExportJob.document_kind) == DocumentKind.INVOICE,
                    col(ExportJob.document_id) == document.invoice_id,
                )
            ).first()
            if invoice_job is not None and invoice_job.division in (None, route.division):
                if invoice_job.state in ON_ITS_WAY:
                    return self._wait_for_invoice(job, document, invoice_job, route, now)
                if invoice_job.state is JobState.POSTED:
                    invoice_entry = invoice_job.exact_entry_number
        customer = plan_customer(session, route.division, document.customer)
        if customer.result.decision is Decision.AMBIGUOUS and self.options.on_ambiguous == "hold":
            cause = hold_cause(document.customer, route.division, customer.result)
            missing = (Missing("customer", document.customer.number, cause),)
            return _Local(job, blocked(Category.CUSTOMER, cause), route.division, missing)
        return _Plan(job, document, route, checked, customer, invoice_entry)

    def _wait_for_invoice(
        self,
        job: _Job,
        document: Document,
        invoice_job: ExportJob,
        route: Route,
        now: dt.datetime,
    ) -> _Local:
        cause = f"waits for invoice {document.invoice_number} to reach Exact"
        transition = Transition(
            JobState.PENDING,
            EventOutcome.WAITING,
            f"{cause} (it is {invoice_job.state.value}), so that it can carry its entry number",
            cause=cause,
            next_attempt_at=now + dt.timedelta(seconds=self.options.invoice_wait_seconds),
        )
        return _Local(job, transition, route.division)

    async def _attempt(self, client: ExactApi, plan: _Plan, owner: str) -> None:
        job = plan.job
        claim = await asyncio.to_thread(self._claim, job, owner)
        if claim is None:
            return
        sent = await self._send(client, plan, claim, owner)
        if sent.outcome.kind is OutcomeKind.FENCED:
            transition = Transition(
                JobState.PENDING,
                EventOutcome.FENCED,
                f"not sent: {sent.outcome.message}",
                level="warning",
            )
        else:
            transition = sent.hold or after_attempt(
                sent.outcome,
                JobFacts(JobState.IN_FLIGHT, attempts=job.facts.attempts + 1),
                now=self.clock.now(),
                policy=self.options.policy,
                jitter=self._rng.random(),
            )
        missing: tuple[Missing, ...] = ()
        if sent.hold is not None:
            number = plan.customer.customer.number
            missing = (Missing("customer", number, sent.hold.cause or ""),)
        await asyncio.to_thread(
            self._record,
            job.id,
            claim,
            JobState.IN_FLIGHT,
            transition,
            sent.outcome,
            missing=missing,
            request=sent.request,
            duration_ms=sent.duration_ms,
            budgets=budgets_of(client.rate_state(plan.route.division)),
        )
        self._after(sent.outcome, plan.route.division, sent.endpoint)

    def _write_local(self, local: _Local) -> None:
        with self.store.write() as session:
            job = session.get(ExportJob, local.job.id, with_for_update=True)
            wait = local.transition
            if (
                job is not None
                and wait is not None
                and wait.outcome is EventOutcome.WAITING
                and job.cause == wait.cause
            ):
                # A wait re-read every few seconds leaves one event, not one per look.
                job.next_attempt_at = wait.next_attempt_at
                job.updated_at = self.clock.now()
                session.add(job)
                return
            self._apply_local(session, local)

    def _claim(self, job: _Job, owner: str) -> int | None:
        with self.store.write() as session:
            return job_state.claim_to_send(
                session,
                job.id,
                seen=job.updated_at,
                owner=owner,
                lease_seconds=self.options.lease_seconds,
                now=self.clock.now(),
            )

    def _fence(self, job_id: int, claim: int, owner: str, request: dict[str, Any] | None) -> bool:
        with self.store.write() as session:
            return job_state.fence(
                session,
                job_id,
                claim,
                lease_seconds=self.options.lease_seconds,
                now=self.clock.now(),
                request=request,
                owner=owner,
            )

    def _fence_for(
        self, job_id: int, claim: int, owner: str, request: dict[str, Any] | None
    ) -> BeforeSend:
        """Run right before a request leaves: it leaves only while the claim is still ours
        and no other worker holds the job's division (and then the entry's request is on
        record before it can reach Exact)."""

        async def check() -> None:
            if not await asyncio.to_thread(self._fence, job_id, claim, owner, request):
                raise Fenced(
                    "this worker's claim on the job or its division ran out (it stalled past "
                    "its lease) and another took over"
                )

        return check

    async def _send(self, client: ExactApi, plan: _Plan, claim: int, owner: str) -> _Sent:
        division = plan.route.division
        job_id = plan.job.id
        entry_sent = False
        request: dict[str, Any] | None = None
        started = time.perf_counter()
        try:
            resolution = await self.customers.resolve(
                client,
                division,
                plan.customer,
                job_id,
                before_send=self._fence_for(job_id, claim, owner, None),
            )
            if resolution.hold is not None:
                customer = plan.customer.customer
                cause = hold_cause(customer, division, resolution.hold)
                return _Sent(Outcome(OutcomeKind.NOT_SENT), hold=blocked(Category.CUSTOMER, cause))
            assert resolution.account_id is not None
            request = payload(
                plan.document, plan.checked, resolution.account_id, plan.invoice_entry_number
            )
            entry_sent = True
            started = time.perf_counter()
            answer = await client.post(
                division,
                ENDPOINTS[plan.job.kind],
                request,
                before_send=self._fence_for(job_id, claim, owner, request),
            )
        except ExactError as exc:
            outcome = outcome_of(exc, division=division, entry_sent=entry_sent)
            if isinstance(exc, Fenced):
                return _Sent(outcome, None, _ms(started))
            if not entry_sent and outcome.kind is OutcomeKind.REFUSED:
                customer = plan.customer.customer
                message = f"Exact refused the customer account for {customer.number}: {exc.message}"
                outcome = Outcome(
                    OutcomeKind.REFUSED,
                    message,
                    exc.status,
                    category=Category.CUSTOMER,
                    cause=f"customer account refused: {exc.message.splitlines()[0]}"[:300],
                )
            spent = exc.endpoint if isinstance(exc, ErrorBudgetSpent) else None
            return _Sent(outcome, request if entry_sent else None, _ms(started), endpoint=spent)
        except Exception as exc:  # a bug or the store: the job must not stay claimed forever
            if store_failure(exc, self.store.url) is not None:
                # The store cannot be written (a full disk): the worker backs off; the job
                # stays claimed until its lease runs out, then a lookup settles it before
                # anything is sent again.
                raise
            log.exception("export of %s %s failed unexpectedly", plan.job.kind, plan.job.number)
            kind = OutcomeKind.AMBIGUOUS if entry_sent else OutcomeKind.NOT_SENT
            return _Sent(Outcome(kind, f"internal error: {exc!r}"), request, _ms(started))
        entry = entries.created_entry(answer)
        outcome = Outcome(
            OutcomeKind.CREATED,
            http_status=201,
            entry_id=entry.entry_id,
            entry_number=entry.entry_number,
        )
        return _Sent(outcome, request, _ms(started))

    def _after(self, outcome: Outcome, division: int, endpoint: str | None) -> None:
        """What an outcome means beyond its job: pauses, holds, the connection's status."""
        if outcome.kind is OutcomeKind.RATE_LIMITED and outcome.until is not None:
            self._holds.divisions[division] = outcome.until
        elif outcome.kind is OutcomeKind.ERROR_BUDGET and outcome.until and endpoint:
            self._holds.endpoints[(division, endpoint)] = outcome.until
        elif outcome.kind is OutcomeKind.AUTH_WAIT and outcome.until is not None:
            with self.store.read() as session:
                token = session.get(OAuthToken, tenant_of(session))
            self._holds.auth_until = outcome.until
            self._holds.auth_version = token.version if token else None
        elif outcome.kind is OutcomeKind.RECONNECT:
            self._connection.note_reconnect_needed(ReconnectNeeded(outcome.message))
        elif outcome.kind is OutcomeKind.UNUSABLE:
            self._connection.note_unusable(ConnectionUnusable(outcome.message))
        elif outcome.kind is OutcomeKind.ACCESS_DENIED:
            self._connection.note_access_denied(division, AccessDenied(outcome.message))

    # ---------------------------------------------------------------- settling unknowns

    def _claim_lookup(self, job: _Job, owner: str) -> tuple[int, Settling] | None:
        with self.store.write() as session:
            claim = job_state.claim_to_look_up(
                session,
                job.id,
                owner=owner,
                lease_seconds=self.options.lease_seconds,
                now=self.clock.now(),
            )
            if claim is None:
                return None
            row = session.get(ExportJob, job.id)
            assert row is not None
            return claim, settling_of(session, row)

    def _held(self, job_id: int, entry_ids: list[str]) -> dict[str, str]:
        with self.store.read() as session:
            return held_by_others(session, job_id, entry_ids)

    async def _settle(self, client: ExactApi, job: _Job, owner: str) -> None:
        claimed = await asyncio.to_thread(self._claim_lookup, job, owner)
        if claimed is None:
            return
        claim, settling = claimed
        assert job.division is not None
        now = self.clock.now()
        policy = self.options.policy
        started = time.perf_counter()
        outcome: Outcome | None = None
        spent: str | None = None
        status: int | None
        try:
            found = await look_up(client, job.division, settling)
            held = await asyncio.to_thread(self._held, job.id, [e.entry_id for e in found])
            transition = after_lookup(
                judged(found, settling.expected, held),
                job.facts,
                reference=settling.lookup.reference,
                now=self.clock.now(),
                policy=policy,
            )
            status = 200
        except ExactError as exc:
            outcome = outcome_of(exc, division=job.division, entry_sent=False)
            spent = exc.endpoint if isinstance(exc, ErrorBudgetSpent) else None
            transition = lookup_failed(
                outcome, job.facts, now=now, policy=policy, jitter=self._rng.random()
            )
            status = exc.status
        await asyncio.to_thread(
            self._record,
            job.id,
            claim,
            JobState.UNKNOWN,
            transition,
            None,
            duration_ms=_ms(started),
            budgets=budgets_of(client.rate_state(job.division)),
            http_status=status,
        )
        if outcome is not None:
            self._after(outcome, job.division, spent)

    # ---------------------------------------------------------------- recording

    def _record(
        self,
        job_id: int,
        claim: int,
        expected: JobState,
        transition: Transition,
        outcome: Outcome | None,
        *,
        missing: tuple[Missing, ...] = (),
        request: dict[str, Any] | None = None,
        duration_ms: int | None = None,
        budgets: tuple[int | None, int | None] = (None, None),
        http_status: int | None = None,
    ) -> None:
        with self.store.write() as session:
            job_state.record(
                session,
                job_id,
                claim,
                expected,
                transition,
                outcome,
                now=self.clock.now(),
                missing=missing,
                request=request,
                duration_ms=duration_ms,
                budgets=budgets,
                http_status=http_status,
            )


def _open_divisions(session: Session) -> set[int]:
    """Divisions that may be exported to: accessible or bound, and not refused by Exact."""
    known = set(session.exec(select(Division.code).where(col(Division.accessible)))) | set(
        session.exec(select(BankAccountBinding.division))
    )
    refused = set(session.exec(select(Division.code).where(col(Division.accessible).is_(False))))
    return known - refused


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
