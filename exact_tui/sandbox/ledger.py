"""The ledger: everything committed through the API, per division, as plain JSON.

Enough for a drill to prove "no duplicates, nothing lost": every entry with its references
(YourRef, Description, EntryNumber) and its lines (GL code, amounts, OurRef, Description), and
every account created through the API. Amounts are decimal strings, dates ISO 8601.
"""

from __future__ import annotations

import collections
import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from exact_tui.sandbox.odata.types import Record, Value
from exact_tui.sandbox.state import DivisionState, Table, as_int

SALES_FIELDS = (
    "EntryID", "EntryNumber", "Journal", "Customer", "CustomerName", "EntryDate", "DueDate",
    "YourRef", "Description", "PaymentReference", "Currency", "AmountFC", "VATAmountFC", "Type",
    "Created",
)  # fmt: skip
SALES_LINE_FIELDS = (
    "LineNumber", "GLAccountCode", "AmountFC", "VATCode", "VATAmountFC", "Description",
    "CostCenter", "CostUnit",
)  # fmt: skip
JOURNAL_FIELDS = (
    "EntryID", "EntryNumber", "JournalCode", "Currency", "FinancialYear", "FinancialPeriod",
    "Created",
)  # fmt: skip
BANK_FIELDS = (*JOURNAL_FIELDS, "OpeningBalanceFC", "ClosingBalanceFC")
JOURNAL_LINE_FIELDS = (
    "LineNumber", "GLAccountCode", "AmountFC", "Account", "AccountCode", "OurRef", "Date",
    "Description", "VATCode", "CostCenter", "CostUnit",
)  # fmt: skip
ACCOUNT_FIELDS = (
    "ID", "Code", "Name", "Status", "VATNumber", "SearchCode", "Email", "City", "Country",
    "Created",
)  # fmt: skip


def plain(value: Value) -> object:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _pick(record: Record, names: Iterable[str]) -> dict[str, object]:
    return {name: plain(record.get(name)) for name in names}


def _entries(
    entries: Table, lines: Table, fields: tuple[str, ...], line_fields: tuple[str, ...]
) -> list[dict[str, object]]:
    by_entry: dict[Value, list[Record]] = collections.defaultdict(list)
    for line in lines.values():
        by_entry[line["EntryID"]].append(line)
    out = []
    for entry in sorted(entries.values(), key=lambda e: (str(e["Created"]), str(e["EntryID"]))):
        item = _pick(entry, fields)
        rows = sorted(by_entry[entry["EntryID"]], key=lambda line: as_int(line["LineNumber"]))
        item["lines"] = [_pick(line, line_fields) for line in rows]
        out.append(item)
    return out


def division_ledger(division: DivisionState) -> dict[str, object]:
    sales = _entries(
        division.sales_entries, division.sales_entry_lines, SALES_FIELDS, SALES_LINE_FIELDS
    )
    bank = _entries(
        division.bank_entries, division.bank_entry_lines, BANK_FIELDS, JOURNAL_LINE_FIELDS
    )
    general = _entries(
        division.gj_entries, division.gj_entry_lines, JOURNAL_FIELDS, JOURNAL_LINE_FIELDS
    )
    accounts = [
        _pick(division.accounts[key], ACCOUNT_FIELDS)
        for key in division.api_accounts
        if key in division.accounts
    ]
    refs = collections.Counter(str(e["YourRef"]) for e in sales if e["YourRef"] is not None)
    return {
        "sales_entries": sales,
        "bank_entries": bank,
        "general_journal_entries": general,
        "accounts": accounts,
        "counts": {
            "sales_entries": len(sales),
            "bank_entries": len(bank),
            "general_journal_entries": len(general),
            "accounts": len(accounts),
        },
        # YourRef values posted more than once: what a double posting of an invoice looks like.
        "duplicate_your_refs": sorted(ref for ref, n in refs.items() if n > 1),
    }


def ledger(divisions: Iterable[DivisionState]) -> dict[str, object]:
    return {"divisions": {str(d.number): division_ledger(d) for d in divisions}}
