"""Reconciliation (docs/export.md §Reconciliation): read back from Exact the
entries of a period and compare them with the store.

The console and the CLI ask for a run (`request_reconcile`, an audited intent); the daily import
asks for one when `reconcile.daily` is on; the worker does it (`Reconciler`), one division at a
time in that division's lane, every call through the client's budgets; the result is kept
per run (`reconcile_report`). It never posts or deletes anything in Exact: a document found
twice becomes a loud duplicate for a person, one posted here and absent there is looked up
again (and only then, as any unknown job, possibly sent again).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from exact_tui.domain.reconciliation import (
    IN_MOTION,
    Finding,
    FindingKind,
    OurDocument,
    TheirEntry,
    reconcile,
)
from exact_tui.domain.states import Category, DocumentKind, JobState
from exact_tui.domain.transitions import reconciled_missing, reconciled_twice
from exact_tui.exact import entries, odata
from exact_tui.exact.errors import ExactError
from exact_tui.services import audit, job_state
from exact_tui.services.audit import Actor
from exact_tui.services.clock import Clock, SystemClock
from exact_tui.services.export.api import ExactApi
from exact_tui.services.export.documents import load_documents
from exact_tui.services.worker import Lanes
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    BankAccountBinding,
    Division,
    DivisionSettings,
    ExportJob,
    GLAccount,
    ReconcileFinding,
    ReconcileRun,
)
from exact_tui.store.scoping import tenant_key

log = logging.getLogger("exact_tui.reconcile")

#: Who asks for the daily run.
SCHEDULE = Actor("schedule", "worker")


class ReconcileRefused(Exception):
    """The request was not written; the message says why."""


@dataclass(frozen=True)
class ReconcileOptions:
    #: How far back a run reads when it is not told (`--since`).
    days: int = 35
    #: The most calls one run may spend per division; past it the run is incomplete (and calls
    #: nothing missing).
    max_calls: int = 200
    timezone: str = "Europe/Amsterdam"


# ---------------------------------------------------------------- asking for a run


def request_reconcile(
    store: Store,
    actor: Actor,
    *,
    division: int | None = None,
    since: dt.date | None = None,
    trigger: str = "manual",
) -> int:
    """Queue a reconciliation of one division or all, from `since` (default: the configured
    period); returns the run's id. One already waiting for the same scope is reused."""
    with store.write() as session:
        if division is not None and session.get(Division, tenant_key(session, division)) is None:
            known = ", ".join(str(c) for c in session.exec(select(Division.code))) or "none yet"
            raise ReconcileRefused(f"division {division} is not known (known: {known})")
        waiting = session.exec(
            select(ReconcileRun)
            .where(col(ReconcileRun.state) == "pending")
            .where(col(ReconcileRun.division) == division)
            .where(col(ReconcileRun.since) == since)
        ).first()
        if waiting is not None:
            assert waiting.id is not None
            run_id = waiting.id
        else:
            run = ReconcileRun(
                division=division, since=since, trigger=trigger, requested_by=actor.name
            )
            session.add(run)
            session.flush()
            assert run.id is not None
            run_id = run.id
        audit.record(
            session,
            actor,
            "reconcile",
            target=f"division {division}" if division is not None else "all divisions",
            detail={"run": run_id, "since": since.isoformat() if since else None},
        )
    return run_id


# ---------------------------------------------------------------- what a run found


@dataclass(frozen=True)
class FindingView:
    division: int
    kind: FindingKind
    document_kind: DocumentKind
    reference: str
    job_id: int | None
    number: str | None
    entries: list[dict[str, Any]]
    message: str


@dataclass(frozen=True)
class ReconcileReport:
    id: int
    division: int | None
    since: dt.date | None
    trigger: str
    state: str
    requested_by: str
    requested_at: dt.datetime
    finished_at: dt.datetime | None
    complete: bool
    calls: int
    entries: int
    duplicates: int
    missing: int
    unrecorded: int
    result: str | None
    findings: list[FindingView] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    @property
    def clean(self) -> bool:
        return self.state == "done" and not (self.duplicates or self.missing or self.unrecorded)


def _report(session: Session, run: ReconcileRun) -> ReconcileReport:
    assert run.id is not None
    findings = [
        FindingView(
            division=row.division,
            kind=FindingKind(row.kind),
            document_kind=row.document_kind,
            reference=row.reference,
            job_id=row.job_id,
            number=row.number,
            entries=list(row.entries or []),
            message=row.message,
        )
        for row in session.exec(
            select(ReconcileFinding)
            .where(col(ReconcileFinding.run_id) == run.id)
            .order_by(col(ReconcileFinding.id))
        )
    ]
    return ReconcileReport(
        id=run.id,
        division=run.division,
        since=run.since,
        trigger=run.trigger,
        state=run.state,
        requested_by=run.requested_by,
        requested_at=run.requested_at,
        finished_at=run.finished_at,
        complete=run.complete,
        calls=run.calls,
        entries=run.entries,
        duplicates=run.duplicates,
        missing=run.missing,
        unrecorded=run.unrecorded,
        result=run.result,
        findings=findings,
    )


def reconcile_report(store: Store, run_id: int) -> ReconcileReport:
    with store.read() as session:
        run = session.get(ReconcileRun, run_id)
        if run is None:
            raise ReconcileRefused(f"there is no reconciliation run {run_id}")
        return _report(session, run)


def latest_reconcile(store: Store) -> ReconcileReport | None:
    """The last run that finished, or None."""
    with store.read() as session:
        run = session.exec(
            select(ReconcileRun)
            .where(col(ReconcileRun.state).in_(("done", "failed")))
            .order_by(col(ReconcileRun.id).desc())
            .limit(1)
        ).first()
        return _report(session, run) if run is not None else None


# ---------------------------------------------------------------- the worker's run


ClientSource = Callable[[], Awaitable[ExactApi | None]]


@dataclass
class _Scope:
    """What one division's run reads: our documents and where their entries live."""

    ours: list[OurDocument]
    journals: list[str]
    receivables: list[str]


class Reconciler:
    """The worker's reconciliation runner."""

    def __init__(
        self,
        store: Store,
        client: ClientSource,
        *,
        options: ReconcileOptions | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self._client = client
        self.options = options or ReconcileOptions()
        self.clock: Clock = clock or SystemClock()

    def claim(self, worker_id: str) -> int | None:
        """The oldest waiting run, now this worker's; None when none waits."""
        with self.store.write() as session:
            run = session.exec(
                select(ReconcileRun)
                .where(col(ReconcileRun.state) == "pending")
                .order_by(col(ReconcileRun.id))
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if run is None:
                return None
            run.state = "running"
            run.picked_by = worker_id
            run.picked_at = self.clock.now()
            session.add(run)
            return run.id

    def release(self, dead: set[str]) -> None:
        """Runs a dead worker left running wait again (a run changes nothing it would not
        change again)."""
        with self.store.write() as session:
            for run in session.exec(
                select(ReconcileRun)
                .where(col(ReconcileRun.state) == "running")
                .with_for_update(skip_locked=True)
            ):
                if run.picked_by is None or run.picked_by in dead:
                    run.state, run.picked_by = "pending", None
                    session.add(run)

    async def run(self, run_id: int, lanes: Lanes, stop: asyncio.Event) -> None:
        """Do one run: every division it names, in that division's lane; keep the result."""
        with self.store.read() as session:
            run = session.get(ReconcileRun, run_id)
            assert run is not None
            divisions = [run.division] if run.division is not None else _divisions(session)
            since = run.since or self._default_since()
        totals = {"calls": 0, "entries": 0}
        complete = True
        failure: str | None = None
        counts = dict.fromkeys(FindingKind, 0)
        for division in divisions:
            if stop.is_set():
                failure = "the worker stopped before every division was read"
                break
            client = await self._client()
            if client is None:
                failure = "not connected to Exact"
                break
            try:
                async with lanes.lock(division):
                    read = await self._division(client, run_id, division, since)
            except ExactError as exc:
                failure = f"division {division}: {exc.message}"
                log.warning("reconciliation run %s: %s", run_id, failure)
                break
            except Exception as exc:  # a bug or the store: the run must not stay "running"
                log.exception("reconciliation run %s failed in division %s", run_id, division)
                failure = f"division {division}: {type(exc).__name__}: {exc}"
                break
            findings, calls, entries_read, whole = read
            totals["calls"] += calls
            totals["entries"] += entries_read
            complete = complete and whole
            for finding in findings:
                counts[finding.kind] += 1
        await asyncio.to_thread(
            self._finish, run_id, since, totals, counts, complete=complete, failure=failure
        )

    def _default_since(self) -> dt.date:
        today = self.clock.now().astimezone(ZoneInfo(self.options.timezone)).date()
        return today - dt.timedelta(days=self.options.days)

    async def _division(
        self, client: ExactApi, run_id: int, division: int, since: dt.date
    ) -> tuple[list[Finding], int, int, bool]:
        scope = await asyncio.to_thread(self._scope, division, since)
        before = client.calls[division]
        budget = self.options.max_calls
        theirs: list[TheirEntry] = []
        whole = True
        reads: list[tuple[DocumentKind, str, odata.Query, str]] = []
        if scope.journals:
            query = entries.sales_in_period(scope.journals, since)
            reads.append((DocumentKind.INVOICE, entries.SALES_ENTRIES, query, "YourRef"))
        if scope.receivables:
            lines = entries.lines_in_period(scope.receivables, since)
            reads.append((DocumentKind.PAYMENT, entries.BANK_ENTRY_LINES, lines, "Description"))
            reads.append(
                (DocumentKind.WRITE_OFF, entries.GENERAL_JOURNAL_ENTRY_LINES, lines, "Description")
            )
        for kind, path, query, field_name in reads:
            left = budget - (client.calls[division] - before)
            if left <= 0:
                whole = False
                break
            try:
                async for row in client.iter_rows(division, path, query, max_pages=left):
                    if row.get("EntryID") is None:
                        continue
                    number = row.get("EntryNumber")
                    theirs.append(
                        TheirEntry(
                            kind,
                            str(row["EntryID"]).lower(),
                            int(number) if number is not None else None,
                            str(row.get(field_name) or ""),
                        )
                    )
            except odata.ODataError as exc:
                if "pages" not in str(exc):
                    raise
                whole = False  # the call budget ran out in the middle of this list
        calls = client.calls[division] - before
        distinct = {(entry.kind, entry.entry_id) for entry in theirs}
        findings = reconcile(scope.ours, _distinct(theirs), complete=whole)
        await asyncio.to_thread(self._apply, run_id, division, findings)
        return findings, calls, len(distinct), whole

    def _scope(self, division: int, since: dt.date) -> _Scope:
        with self.store.read() as session:
            jobs = list(
                session.exec(
                    select(ExportJob)
                    .where(col(ExportJob.division) == division)
                    .where(col(ExportJob.document_date) >= since)
                    .where(col(ExportJob.state) != JobState.SKIPPED)
                    .order_by(col(ExportJob.id))
                )
            )
            documents = load_documents(session, [(j.document_kind, j.document_id) for j in jobs])
            settings = session.get(DivisionSettings, tenant_key(session, division))
            journals: set[str] = set()
            receivables: set[str] = set()
            if settings is not None and settings.sales_journal:
                journals.add(settings.sales_journal)
            if settings is not None and settings.receivables_gl:
                gl = session.exec(
                    select(GLAccount.id)
                    .where(col(GLAccount.division) == division)
                    .where(col(GLAccount.code) == settings.receivables_gl)
                ).first()
                if gl is not None:
                    receivables.add(gl.lower())
            ours: list[OurDocument] = []
            for job in jobs:
                assert job.id is not None
                request = job.sent_request
                reference = entries.reference_of_request(request)
                if reference is None:
                    document = documents.get((job.document_kind, job.document_id))
                    invoice = document.invoice_number if document else None
                    reference = (
                        entries.reference(job.document_number)
                        if job.document_kind is DocumentKind.INVOICE
                        else entries.line_reference(job.document_number, invoice)
                    )
                journals.update(_request_journals(request))
                receivables.update(_request_receivables(request))
                ours.append(
                    OurDocument(
                        job.id,
                        job.document_kind,
                        job.document_number,
                        reference,
                        job.state,
                        job.exact_entry_id,
                    )
                )
        return _Scope(ours, sorted(journals), sorted(receivables))

    def _apply(self, run_id: int, division: int, findings: Sequence[Finding]) -> None:
        """Keep the findings, and move the jobs they concern: a duplicate loud for a person, a
        missing entry looked up again. Only jobs still as they were; none in motion."""
        now = self.clock.now()
        with self.store.write() as session:
            for finding in findings:
                session.add(
                    ReconcileFinding(
                        run_id=run_id,
                        division=division,
                        kind=finding.kind.value,
                        document_kind=finding.document_kind,
                        reference=finding.reference[:100],
                        job_id=finding.job_id,
                        number=finding.number,
                        entries=[
                            {"entry_id": e.entry_id, "entry_number": e.entry_number}
                            for e in finding.entries
                        ],
                        message=finding.message[:2000],
                    )
                )
                job = session.get(ExportJob, finding.job_id) if finding.job_id else None
                if job is None or job.state in IN_MOTION:
                    continue
                if finding.kind is FindingKind.DUPLICATE and job.category is not Category.DUPLICATE:
                    job_state.apply(session, job, reconciled_twice(finding.message), now=now)
                elif finding.kind is FindingKind.MISSING and job.state is JobState.POSTED:
                    job_state.apply(
                        session, job, reconciled_missing(finding.message, now=now), now=now
                    )

    def _finish(
        self,
        run_id: int,
        since: dt.date,
        totals: dict[str, int],
        counts: dict[FindingKind, int],
        *,
        complete: bool,
        failure: str | None,
    ) -> None:
        with self.store.write() as session:
            run = session.get(ReconcileRun, run_id)
            if run is None:
                return
            run.since = run.since or since
            run.state = "failed" if failure else "done"
            run.finished_at = self.clock.now()
            run.complete = complete and failure is None
            run.calls = totals["calls"]
            run.entries = totals["entries"]
            run.duplicates = counts[FindingKind.DUPLICATE]
            run.missing = counts[FindingKind.MISSING]
            run.unrecorded = counts[FindingKind.UNRECORDED]
            words = (
                f"{run.entries} entries since {run.since.isoformat()} read in {run.calls} calls: "
                f"{run.duplicates} duplicates, {run.missing} missing in Exact, "
                f"{run.unrecorded} not recorded here"
            )
            if not run.complete and failure is None:
                words += " (not read whole: the call budget ran out, nothing called missing)"
            run.result = (f"{failure}; {words}" if failure else words)[:2000]
            session.add(run)


def _divisions(session: Session) -> list[int]:
    """The divisions documents go to: bound to a bank account or with export settings."""
    bound = set(session.exec(select(BankAccountBinding.division)))
    configured = set(session.exec(select(DivisionSettings.division)))
    return sorted(bound | configured)


def _distinct(theirs: Sequence[TheirEntry]) -> list[TheirEntry]:
    """One per entry (a journal entry's lines share it)."""
    seen: dict[tuple[DocumentKind, str], TheirEntry] = {}
    for entry in theirs:
        seen.setdefault((entry.kind, entry.entry_id), entry)
    return list(seen.values())


def _request_journals(request: object) -> list[str]:
    if isinstance(request, dict) and "SalesEntryLines" in request:
        journal = request.get("Journal")
        return [journal] if isinstance(journal, str) and journal else []
    return []


def _request_receivables(request: object) -> list[str]:
    """The receivables account of a bank or journal entry sent: the line with the customer."""
    if not isinstance(request, dict):
        return []
    for key in ("BankEntryLines", "GeneralJournalEntryLines"):
        lines = request.get(key)
        if isinstance(lines, list):
            return [
                str(line["GLAccount"]).lower()
                for line in lines
                if isinstance(line, dict) and line.get("Account") and line.get("GLAccount")
            ][:1]
    return []
