"""Exact's dialect for the entries we post, and the one place that knows each reference.

Pure: every function takes resolved plain values (GUIDs, codes, Decimals, dates) and returns a
request body or a query. Amounts go out as decimal strings, dates as zone-less
`YYYY-MM-DDT00:00:00` (API doc §3.6, pitfall 27), journals by code (pitfall 17).

References, by which a posting whose answer was lost is found again (pitfall 22):
- sales entry: `YourRef` = the invoice number, looked up with the sales journal;
- bank entry and general journal entry: every line's `Description` = `line_reference()` (the
  document number, then the invoice number), looked up on the entry lines.

Signs (UNCONFIRMED in Exact's reference; the sandbox enforces none): a positive bank line is
money received; a positive general-journal line is a debit. A write-off credits the
receivable (−amount, with the customer) and debits the write-off or collection-costs account.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from exact_tui.domain.money import to_wire
from exact_tui.domain.states import DocumentKind, WriteOffKind
from exact_tui.domain.transitions import FoundEntry
from exact_tui.exact import odata
from exact_tui.exact.odata import Query

SALES_ENTRIES: Final = "salesentry/SalesEntries"
BANK_ENTRIES: Final = "financialtransaction/BankEntries"
GENERAL_JOURNAL_ENTRIES: Final = "generaljournalentry/GeneralJournalEntries"
BANK_ENTRY_LINES: Final = "financialtransaction/BankEntryLines"
GENERAL_JOURNAL_ENTRY_LINES: Final = "generaljournalentry/GeneralJournalEntryLines"
ACCOUNTS: Final = "crm/Accounts"

#: Exact's line descriptions are short; the reference is cut to this many characters (the
#: document number comes first, so it survives the cut).
REFERENCE_WIDTH: Final = 60
ACCOUNT_FIELDS: Final = (
    "ID", "Code", "SearchCode", "Name", "VATNumber", "Country", "Status", "Blocked",
)  # fmt: skip


def wire_date(value: dt.date) -> str:
    """A date as Exact should book it: no zone, so no offset can move it to another day."""
    return f"{value.isoformat()}T00:00:00"


def _compact(body: Mapping[str, Any]) -> dict[str, Any]:
    """Leave out what is not set: Exact treats a null like a missing field anyway, and the
    request in the job's detail reads better."""
    return {key: value for key, value in body.items() if value is not None and value != ""}


# ---------------------------------------------------------------- references and lookups


def line_reference(number: str, invoice_number: str | None = None) -> str:
    """The Description of every line of a payment's bank entry or a write-off's journal entry:
    how the entry is found again ("PAY-555 INV-1001")."""
    text = f"{number} {invoice_number}" if invoice_number else number
    return text[:REFERENCE_WIDTH]


@dataclass(frozen=True)
class Lookup:
    """Where to look for an entry by its reference, and the reference in words."""

    path: str
    query: Query
    reference: str


def sales_lookup(journal: str | None, invoice_number: str) -> Lookup:
    condition = odata.eq("YourRef", invoice_number)
    if journal is None:
        return Lookup(
            SALES_ENTRIES,
            Query(select=("EntryID", "EntryNumber"), filter=condition),
            f"YourRef {invoice_number}",
        )
    query = Query(
        select=("EntryID", "EntryNumber"), filter=condition & odata.eq("Journal", journal)
    )
    return Lookup(SALES_ENTRIES, query, f"YourRef {invoice_number} in journal {journal}")


def bank_lookup(reference: str) -> Lookup:
    query = Query(select=("EntryID", "EntryNumber"), filter=odata.eq("Description", reference))
    return Lookup(BANK_ENTRY_LINES, query, f"bank line description {reference!r}")


def general_journal_lookup(reference: str) -> Lookup:
    query = Query(select=("EntryID", "EntryNumber"), filter=odata.eq("Description", reference))
    return Lookup(GENERAL_JOURNAL_ENTRY_LINES, query, f"journal line description {reference!r}")


def lookup_for(
    kind: DocumentKind, number: str, invoice_number: str | None, sales_journal: str | None
) -> Lookup:
    """The lookup for a document by the reference its entry carries."""
    if kind is DocumentKind.INVOICE:
        return sales_lookup(sales_journal, number)
    reference = line_reference(number, invoice_number)
    if kind is DocumentKind.PAYMENT:
        return bank_lookup(reference)
    return general_journal_lookup(reference)


def lookup_for_request(body: object) -> Lookup | None:
    """The lookup for an entry by the reference in the request that was sent for it (exact
    even if settings or numbers changed since), or None when `body` is no entry."""
    if not isinstance(body, Mapping):
        return None
    your_ref = body.get("YourRef")
    if "SalesEntryLines" in body and isinstance(your_ref, str):
        journal = body.get("Journal")
        return sales_lookup(journal if isinstance(journal, str) else None, your_ref)
    for key, make in (
        ("BankEntryLines", bank_lookup),
        ("GeneralJournalEntryLines", general_journal_lookup),
    ):
        lines = body.get(key)
        if isinstance(lines, list) and lines and isinstance(lines[0], Mapping):
            description = lines[0].get("Description")
            if isinstance(description, str) and description:
                return make(description)
    return None


def found_entries(rows: Iterable[Mapping[str, Any]]) -> list[FoundEntry]:
    """The distinct entries among the rows a lookup returned (a journal entry's two lines
    carry the same reference: one entry)."""
    found: dict[str, FoundEntry] = {}
    for row in rows:
        entry_id = row.get("EntryID")
        if entry_id is None:
            continue
        number = row.get("EntryNumber")
        found.setdefault(
            str(entry_id), FoundEntry(str(entry_id), int(number) if number is not None else None)
        )
    return list(found.values())


def created_entry(body: Mapping[str, Any]) -> FoundEntry:
    """EntryID and EntryNumber of the entry a 201 returned."""
    entry_id = body.get("EntryID")
    number = body.get("EntryNumber")
    return FoundEntry(
        str(entry_id) if entry_id is not None else "",
        int(number) if number is not None else None,
    )


# ---------------------------------------------------------------- entries


@dataclass(frozen=True)
class SalesLine:
    gl_account_id: str
    amount: Decimal
    vat_code: str | None
    vat_amount: Decimal | None
    description: str | None = None
    cost_center: str | None = None
    cost_unit: str | None = None


def sales_entry(
    *,
    journal: str,
    customer_id: str,
    invoice_number: str,
    entry_date: dt.date,
    due_date: dt.date | None,
    payment_reference: str | None,
    description: str | None,
    currency: str,
    lines: Sequence[SalesLine],
) -> dict[str, Any]:
    """An invoice as a SalesEntry (API doc §4.8): amounts excluding VAT, VATAmountFC per line
    so Exact's totals equal the invoice's to the cent (pitfall 20)."""
    return _compact(
        {
            "Journal": journal,
            "Customer": customer_id,
            "EntryDate": wire_date(entry_date),
            "DueDate": wire_date(due_date) if due_date else None,
            "YourRef": invoice_number,
            "PaymentReference": payment_reference,
            "Description": description or invoice_number,
            "Currency": currency,
            "SalesEntryLines": [
                _compact(
                    {
                        "GLAccount": line.gl_account_id,
                        "AmountFC": to_wire(line.amount),
                        "VATCode": line.vat_code,
                        "VATAmountFC": (
                            to_wire(line.vat_amount) if line.vat_amount is not None else None
                        ),
                        "Description": line.description,
                        "CostCenter": line.cost_center,
                        "CostUnit": line.cost_unit,
                    }
                )
                for line in lines
            ],
        }
    )


def bank_entry(
    *,
    journal: str,
    customer_id: str,
    receivables_gl_id: str,
    amount: Decimal,
    date: dt.date,
    reference: str,
    invoice_entry_number: int | None,
    currency: str | None,
    notes: str | None = None,
) -> dict[str, Any]:
    """A payment as a BankEntry with one line on the receivables account (API doc §4.9):
    OurRef carries Exact's number of the invoice, so Exact can match the two."""
    return _compact(
        {
            "JournalCode": journal,
            "Currency": currency,
            "BankEntryLines": [
                _compact(
                    {
                        "GLAccount": receivables_gl_id,
                        "Account": customer_id,
                        "AmountFC": to_wire(amount),
                        "Date": wire_date(date),
                        "Description": reference,
                        "OurRef": invoice_entry_number,
                        "Notes": notes,
                    }
                )
            ],
        }
    )


def write_off_entry(
    *,
    kind: WriteOffKind,
    journal: str,
    customer_id: str,
    receivables_gl_id: str,
    counter_gl_id: str,
    amount: Decimal,
    date: dt.date,
    reference: str,
    invoice_entry_number: int | None,
    currency: str | None,
    notes: str | None = None,
) -> dict[str, Any]:
    """A write-off or collection costs as a balanced GeneralJournalEntry (API doc §4.10).

    A write-off credits the customer's receivable and debits the write-off (cost) account;
    collection costs are charged to the customer: the receivable is debited and the
    collection-costs (income) account credited. Debit positive, credit negative (signs
    UNCONFIRMED in Exact's documentation, API doc §4.10)."""
    receivable_amount = amount if kind is WriteOffKind.COLLECTION_COSTS else -amount
    receivable = _compact(
        {
            "GLAccount": receivables_gl_id,
            "Account": customer_id,
            "AmountFC": to_wire(receivable_amount),
            "Date": wire_date(date),
            "Description": reference,
            "OurRef": invoice_entry_number,
            "Notes": notes,
        }
    )
    counter = _compact(
        {
            "GLAccount": counter_gl_id,
            "AmountFC": to_wire(-receivable_amount),
            "Date": wire_date(date),
            "Description": reference,
            "Notes": notes,
        }
    )
    return _compact(
        {
            "JournalCode": journal,
            "Currency": currency,
            "GeneralJournalEntryLines": [receivable, counter],
        }
    )


# ---------------------------------------------------------------- customer accounts


def vat_variants(raw: str | None, compact: str | None) -> list[str]:
    """The spellings of a VAT number worth asking Exact for: as typed, compacted, and without
    the country prefix (Exact keeps whatever was typed)."""
    seen: list[str] = []
    for value in (compact, raw, compact[2:] if compact and compact[:2].isalpha() else None):
        if value and value.strip() and value.strip() not in seen:
            seen.append(value.strip())
    return seen


def customer_check(vat_numbers: Sequence[str], search_code: str) -> Query:
    """The one live check before creating an account (design §8): accounts carrying the VAT
    number (the cache may be stale) or our customer number as SearchCode (an account created
    by an earlier attempt whose answer was lost)."""
    condition = odata.eq("SearchCode", search_code)
    if vat_numbers:
        condition = odata.any_of("VATNumber", list(vat_numbers)) | condition
    return Query(select=ACCOUNT_FIELDS, filter=condition)


def new_customer_account(
    *,
    name: str,
    customer_number: str,
    vat_number: str | None,
    address_line: str | None,
    postcode: str | None,
    city: str | None,
    country: str | None,
    email: str | None,
    phone: str | None,
) -> dict[str, Any]:
    """A customer account (Status C, or Exact refuses sales to it: pitfall 19) whose SearchCode
    is the platform's customer number: the reference both systems share."""
    return _compact(
        {
            "Name": name,
            "Status": "C",
            "SearchCode": customer_number,
            "VATNumber": vat_number,
            "AddressLine1": address_line,
            "Postcode": postcode,
            "City": city,
            "Country": country,
            "Email": email,
            "Phone": phone,
        }
    )
