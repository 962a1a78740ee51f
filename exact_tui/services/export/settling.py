"""Settling a job whose answer was lost: which lookup finds its entry, what the entry must be,
and whether what Exact holds under the reference is the document (docs/export.md, "References
and lookups").

The lookup and the expected entry come from the request on record (the last one sent, kept on
the job by the fence; before that, the job's events), else from the document itself (a job
interrupted before anything was recorded). A hit counts only when it is the document and no
other job already holds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from exact_tui.domain.states import DocumentKind
from exact_tui.domain.transitions import FoundEntry
from exact_tui.exact import entries
from exact_tui.services.export.api import ExactApi
from exact_tui.services.export.documents import load_documents, load_routes
from exact_tui.store.models import CustomerLink, DivisionSettings, ExportEvent, ExportJob
from exact_tui.store.scoping import tenant_key

#: How many of a job's newest events are searched for the request sent (jobs from before the
#: request was kept on the job).
EVENTS_SEARCHED = 50


@dataclass(frozen=True)
class Settling:
    """How to find a job's entry, and what it must be (None: only the reference is known)."""

    lookup: entries.Lookup
    expected: entries.EntryFacts | None


def settling_of(session: Session, job: ExportJob) -> Settling:
    """By what was sent when the request is on record, else by what the document says."""
    requests: list[object] = [job.sent_request]
    requests += [
        event.request
        for event in session.exec(
            select(ExportEvent)
            .where(col(ExportEvent.job_id) == job.id)
            .where(col(ExportEvent.request).is_not(None))
            .order_by(col(ExportEvent.id).desc())
            .limit(EVENTS_SEARCHED)
        )
    ]
    for request in requests:
        lookup = entries.lookup_for_request(request)
        if lookup is not None:
            return Settling(lookup, entries.expected_of_request(request))
    return _from_document(session, job)


def _from_document(session: Session, job: ExportJob) -> Settling:
    kind, number = job.document_kind, job.document_number
    document = load_documents(session, [(kind, job.document_id)]).get((kind, job.document_id))
    settings = (
        session.get(DivisionSettings, tenant_key(session, job.division)) if job.division else None
    )
    invoice_number = document.invoice_number if document else None
    lookup = entries.lookup_for(
        kind, number, invoice_number, settings.sales_journal if settings else None
    )
    if document is None:
        return Settling(lookup, None)
    journal: str | None = None
    lines: tuple[entries.EntryLine, ...] | None = None
    if kind is DocumentKind.INVOICE:
        journal = settings.sales_journal if settings else None
        lines = tuple(entries.EntryLine(amount=line.amount) for line in document.lines)
    elif kind is DocumentKind.PAYMENT:
        route = load_routes(session).get(document.bank_account_id or 0)
        journal = route.bank_journal if route else None
        lines = (entries.EntryLine(amount=document.amount),)
    else:
        journal = settings.general_journal if settings else None
    customer: str | None = None
    if document.customer is not None and job.division is not None:
        link = session.get(CustomerLink, (document.customer.id, job.division))
        customer = link.exact_account_id if link else None
    expected = entries.EntryFacts(
        journal=journal, customer=customer, date=document.date, lines=lines
    )
    return Settling(lookup, expected)


async def look_up(client: ExactApi, division: int, settling: Settling) -> list[entries.EntryFacts]:
    """The entries Exact holds under the reference: one call, and one more for the journals
    of entries found by their lines that otherwise are the document."""
    lookup, expected = settling.lookup, settling.expected
    rows = await client.get_all(division, lookup.path, lookup.query)
    if lookup.header_path is None:
        return entries.sales_entries_found(rows)
    found = entries.line_entries_found(rows)
    if expected is None or expected.journal is None:
        return found
    candidates = [entry.entry_id for entry in found if not entries.mismatches(expected, entry)]
    if not candidates:
        return found
    headers = await client.get_all(division, lookup.header_path, entries.journals_query(candidates))
    journals = {
        str(row.get("EntryID", "")).lower(): str(row.get("JournalCode", "")).strip()
        for row in headers
    }
    return entries.line_entries_found(rows, journals)


def held_by_others(session: Session, job_id: int, entry_ids: Sequence[str]) -> dict[str, str]:
    """Entries among `entry_ids` that other jobs already hold, and by whom, in words."""
    if not entry_ids:
        return {}
    spellings = sorted({spelling for e in entry_ids for spelling in (e, e.lower(), e.upper())})
    held: dict[str, str] = {}
    for other in session.exec(
        select(ExportJob)
        .where(col(ExportJob.exact_entry_id).in_(spellings))
        .where(col(ExportJob.id) != job_id)
    ):
        entry = (other.exact_entry_id or "").lower()
        held[entry] = (
            f"already the entry of {other.document_kind.value.replace('_', '-')} "
            f"{other.document_number}"
        )
    return held


def judged(
    found: Sequence[entries.EntryFacts],
    expected: entries.EntryFacts | None,
    held: Mapping[str, str],
) -> list[FoundEntry]:
    """Each entry found, with how it differs from the document (empty: it is the document)."""
    judged_: list[FoundEntry] = []
    for entry in found:
        problems = entries.mismatches(expected, entry) if expected is not None else ()
        if entry.entry_id.lower() in held:
            problems = (*problems, held[entry.entry_id.lower()])
        judged_.append(FoundEntry(entry.entry_id, entry.entry_number, problems))
    return judged_
