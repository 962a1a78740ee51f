"""Reconciliation as a pure decision (docs/export.md §Reconciliation): the entries Exact
holds in a period against the jobs the store holds, by reference and by EntryID.

Exact has no idempotency key, so what cannot be prevented (a commit later than every lookup,
an entry deleted or booked again in Exact) is found here:
- **duplicate**: one document, several entries in Exact;
- **missing**: posted here, its entry absent there (deleted in Exact, or a wrong settle);
- **unrecorded**: in Exact with a document's reference, while no job holds that entry.
Deciding is all this module does; the service reads Exact, applies what follows from each
finding and keeps the result.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from exact_tui.domain.states import DocumentKind, JobState, labelled

#: Jobs that are being sent or settled right now: a lookup decides for them, not this.
IN_MOTION = frozenset({JobState.IN_FLIGHT, JobState.UNKNOWN})


class FindingKind(StrEnum):
    DUPLICATE = "duplicate"
    MISSING = "missing"
    UNRECORDED = "unrecorded"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = labelled(
    FindingKind,
    {
        FindingKind.DUPLICATE: "in Exact more than once",
        FindingKind.MISSING: "posted here, not in Exact",
        FindingKind.UNRECORDED: "in Exact, not recorded here",
    },
)


def collated(reference: str) -> str:
    """A reference as Exact compares it: case-insensitive, trailing spaces ignored."""
    return reference.rstrip(" ").casefold()


@dataclass(frozen=True)
class OurDocument:
    """A job of the period: its document, the reference its entry carries, where it stands."""

    job_id: int
    kind: DocumentKind
    number: str
    reference: str
    state: JobState
    entry_id: str | None = None


@dataclass(frozen=True)
class TheirEntry:
    """An entry Exact holds in the period, with the reference it carries."""

    kind: DocumentKind
    entry_id: str
    entry_number: int | None
    reference: str

    @property
    def label(self) -> str:
        return str(self.entry_number) if self.entry_number is not None else self.entry_id


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    document_kind: DocumentKind
    reference: str
    job_id: int | None = None
    number: str | None = None
    entries: tuple[TheirEntry, ...] = ()

    @property
    def message(self) -> str:
        what = f"{self.document_kind.value.replace('_', '-')} {self.number or self.reference}"
        numbers = ", ".join(f"{entry.label} ({entry.entry_id})" for entry in self.entries)
        if self.kind is FindingKind.DUPLICATE:
            return f"{what} is in Exact {len(self.entries)} times: entries {numbers}"
        if self.kind is FindingKind.MISSING:
            return f"{what} is posted here, but its entry is not in Exact"
        return f"entry {numbers} carries the reference of {what}, which no job holds"


def reconcile(
    ours: Sequence[OurDocument], theirs: Iterable[TheirEntry], *, complete: bool = True
) -> list[Finding]:
    """What differs between the store and Exact. `complete`: `theirs` holds every entry of
    the period (when Exact could not be read whole, nothing is called missing)."""
    by_reference: dict[tuple[DocumentKind, str], dict[str, TheirEntry]] = defaultdict(dict)
    by_id: dict[str, TheirEntry] = {}
    for entry in theirs:
        key = entry.entry_id.lower()
        by_id[key] = entry
        by_reference[(entry.kind, collated(entry.reference))][key] = entry
    held = {doc.entry_id.lower() for doc in ours if doc.entry_id}
    findings: list[Finding] = []
    for doc in ours:
        found = by_reference.get((doc.kind, collated(doc.reference)), {})
        entries = tuple(sorted(found.values(), key=lambda e: (e.entry_number or 0, e.entry_id)))
        if len(entries) > 1:
            findings.append(_finding(FindingKind.DUPLICATE, doc, entries))
        elif entries and entries[0].entry_id.lower() not in held and doc.state not in IN_MOTION:
            findings.append(_finding(FindingKind.UNRECORDED, doc, entries))
        if (
            complete
            and doc.state is JobState.POSTED
            and doc.entry_id
            and doc.entry_id.lower() not in by_id
        ):
            findings.append(_finding(FindingKind.MISSING, doc, ()))
    return findings


def _finding(kind: FindingKind, doc: OurDocument, entries: tuple[TheirEntry, ...]) -> Finding:
    return Finding(kind, doc.kind, doc.reference, doc.job_id, doc.number, entries)
