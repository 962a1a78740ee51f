"""Damage planted in the books, as a person or another tool might do it in Exact: an entry
deleted, an entry posted a second time. For drills that prove reconciliation finds them."""

from __future__ import annotations

import random
import uuid
from datetime import datetime

from exact_tui.sandbox import assumptions
from exact_tui.sandbox.odata.types import Record
from exact_tui.sandbox.state import DivisionState, Table, new_guid

# The tables and the journal field of each kind of entry.
_KINDS = (
    ("sales_entries", "sales_entry_lines", "Journal"),
    ("bank_entries", "bank_entry_lines", "JournalCode"),
    ("gj_entries", "gj_entry_lines", "JournalCode"),
)


def _find(division: DivisionState, entry_id: str) -> tuple[Table, Table, str, uuid.UUID]:
    try:
        key = uuid.UUID(entry_id)
    except ValueError:
        raise KeyError(f"not an entry ID: {entry_id!r}") from None
    for entries, lines, journal in _KINDS:
        table: Table = getattr(division, entries)
        if key in table:
            return table, getattr(division, lines), journal, key
    raise KeyError(f"no entry {entry_id} in division {division.number}")


def delete_entry(division: DivisionState, entry_id: str) -> Record:
    """The entry and its lines are gone, as after a DELETE in Exact; returns the entry."""
    entries, lines, _journal, key = _find(division, entry_id)
    for line_id in [k for k, line in lines.items() if line.get("EntryID") == key]:
        del lines[line_id]
    return entries.pop(key)


def copy_entry(division: DivisionState, entry_id: str, now: datetime, rng: random.Random) -> Record:
    """The same entry booked once more: a new EntryID and the journal's next entry number,
    the same reference, customer, amounts and lines; returns the copy."""
    entries, lines, journal_field, key = _find(division, entry_id)
    original = entries[key]
    journal = str(original[journal_field])
    year = int(str(original.get("FinancialYear") or original.get("ReportingYear") or now.year))
    used = division.used_entry_numbers.setdefault(journal, set())
    base = (year % 100) * assumptions.ENTRY_NUMBER_YEAR_FACTOR
    number = max([n for n in used if n // assumptions.ENTRY_NUMBER_YEAR_FACTOR == year % 100]
                 + [base]) + 1  # fmt: skip
    used.add(number)
    copy_id = new_guid(rng)
    copy = {**original, "EntryID": copy_id, "EntryNumber": number, "Created": now, "Modified": now}
    if "InvoiceNumber" in copy:
        copy["InvoiceNumber"] = number
    entries[copy_id] = copy
    for line in [line for line in lines.values() if line.get("EntryID") == key]:
        line_id = new_guid(rng)
        copied = {**line, "ID": line_id, "EntryID": copy_id}
        if "EntryNumber" in copied:
            copied["EntryNumber"] = number
        if "Created" in copied:
            copied["Created"] = now
        lines[line_id] = copied
    return copy
