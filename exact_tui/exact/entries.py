"""Exact's dialect for the entries we post, and the one place that knows each reference.

Pure: every function takes resolved plain values (GUIDs, codes, Decimals, dates) and returns a
request body or a query. Amounts go out as decimal strings, dates as zone-less
`YYYY-MM-DDT00:00:00` (docs/exact-api.md §Dates and numbers), journals by code (§Journals).

References, by which a posting whose answer was lost is found again
(docs/export.md §References and lookups, docs/exact-api.md §Lookups):
- sales entry: `YourRef` = `reference(invoice number)`, looked up with the sales journal;
- bank entry and general journal entry: every line's `Description` = `line_reference()` (the
  document number, then the invoice number), looked up on the entry lines.
Exact compares these fields case-insensitively, ignoring trailing spaces, within their width:
a number is used as it is only when that cannot make two documents alike (printable ASCII
without lower case, spaces or `~`, and short enough); otherwise the reference ends in `~` and
a digest of the whole number. A lookup's hits are then compared with the document
(`mismatches`): only an entry that is the document settles its job.

Signs (UNCONFIRMED in Exact's reference; the sandbox enforces none): a positive bank line is
money received; a positive general-journal line is a debit. A write-off credits the
receivable (−amount, with the customer) and debits the write-off or collection-costs account.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
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

#: The widths the references are kept within. Exact's reference gives none; these are the
#: assumptions docs/sandbox.md lists (a shorter real width would need smaller numbers here).
YOUR_REF_WIDTH: Final = 30
DESCRIPTION_WIDTH: Final = 60
#: Characters of the digest that stands for a number that cannot be used as it is (base32:
#: one letter case, 50 bits).
DIGEST_LENGTH: Final = 10
DIGEST_MARK: Final = "~"
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


def digest(number: str) -> str:
    """A short digest of the whole number: upper-case base32 of its SHA-256, so Exact's
    case-insensitive comparison cannot make two alike."""
    return base64.b32encode(hashlib.sha256(number.encode()).digest()).decode()[:DIGEST_LENGTH]


def _plain(text: str) -> bool:
    """Text that Exact's comparison cannot confuse with other text: printable ASCII without
    lower case (case is ignored), spaces (trailing ones are ignored, and they separate the
    numbers of a line reference) and the digest mark."""
    return bool(text) and all(
        "!" <= ch <= "~" and ch != DIGEST_MARK and not "a" <= ch <= "z" for ch in text
    )


def _digested(text: str, number: str, width: int) -> str:
    return f"{text[: width - DIGEST_LENGTH - 1]}{DIGEST_MARK}{digest(number)}"


def reference(number: str, width: int = YOUR_REF_WIDTH) -> str:
    """What a document's entry carries as its reference (a sales entry's `YourRef`): the
    number itself when it is plain and fits, else its start, `~` and a digest of the whole
    number. Distinct numbers never give references Exact finds alike."""
    if _plain(number) and len(number) <= width:
        return number
    return _digested(number, number, width)


def line_reference(number: str, invoice_number: str | None = None) -> str:
    """The Description of every line of a payment's bank entry or a write-off's journal entry:
    how the entry is found again ("PAY-555 INV-1001"); with a digest of the document's number
    when the numbers are not plain or do not fit (see `reference`)."""
    text = f"{number} {invoice_number}" if invoice_number else number
    plain = _plain(number) and (not invoice_number or _plain(invoice_number))
    if plain and len(text) <= DESCRIPTION_WIDTH:
        return text
    return _digested(text, number, DESCRIPTION_WIDTH)


#: What a lookup reads of each entry: enough to tell whether it is the document.
SALES_LOOKUP_FIELDS: Final = (
    "EntryID", "EntryNumber", "Journal", "Customer", "EntryDate", "YourRef", "SalesEntryLines",
)  # fmt: skip
LINE_LOOKUP_FIELDS: Final = (
    "EntryID", "EntryNumber", "Account", "AmountFC", "Date", "GLAccount", "Description",
)  # fmt: skip


@dataclass(frozen=True)
class Lookup:
    """Where to look for an entry by its reference, and the reference in words.
    `header_path`: where the entries' journals are read, when the rows are lines."""

    path: str
    query: Query
    reference: str
    header_path: str | None = None


def sales_lookup(journal: str | None, your_ref: str) -> Lookup:
    condition = odata.eq("YourRef", your_ref)
    words = f"YourRef {your_ref}"
    if journal is not None:
        condition = condition & odata.eq("Journal", journal)
        words += f" in journal {journal}"
    query = Query(
        select=SALES_LOOKUP_FIELDS, filter=condition, extra={"$expand": "SalesEntryLines"}
    )
    return Lookup(SALES_ENTRIES, query, words)


def bank_lookup(reference: str) -> Lookup:
    query = Query(select=LINE_LOOKUP_FIELDS, filter=odata.eq("Description", reference))
    return Lookup(BANK_ENTRY_LINES, query, f"bank line description {reference!r}", BANK_ENTRIES)


def general_journal_lookup(reference: str) -> Lookup:
    query = Query(select=LINE_LOOKUP_FIELDS, filter=odata.eq("Description", reference))
    return Lookup(
        GENERAL_JOURNAL_ENTRY_LINES,
        query,
        f"journal line description {reference!r}",
        GENERAL_JOURNAL_ENTRIES,
    )


def lookup_for(
    kind: DocumentKind, number: str, invoice_number: str | None, sales_journal: str | None
) -> Lookup:
    """The lookup for a document by the reference its entry carries."""
    if kind is DocumentKind.INVOICE:
        return sales_lookup(sales_journal, reference(number))
    text = line_reference(number, invoice_number)
    if kind is DocumentKind.PAYMENT:
        return bank_lookup(text)
    return general_journal_lookup(text)


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


def journals_query(entry_ids: Sequence[str]) -> Query:
    """The journals of entries a line lookup found (lines do not carry them)."""
    return Query(
        select=("EntryID", "JournalCode"),
        filter=odata.any_of("EntryID", [odata.guid(entry_id) for entry_id in entry_ids]),
    )


# ---------------------------------------------------------------- a period, for reconciliation

#: What reconciliation reads of each entry: its key, number, reference and date.
PERIOD_SALES_FIELDS: Final = ("EntryID", "EntryNumber", "YourRef", "Journal", "EntryDate")
PERIOD_LINE_FIELDS: Final = ("EntryID", "EntryNumber", "Description", "Date")


def sales_in_period(journals: Sequence[str], since: dt.date) -> Query:
    """The sales entries of our journals dated `since` or later."""
    condition = odata.any_of("Journal", list(journals)) & odata.compare("EntryDate", "ge", since)
    return Query(select=PERIOD_SALES_FIELDS, filter=condition)


def lines_in_period(gl_accounts: Sequence[str], since: dt.date) -> Query:
    """The bank or journal lines on our receivables accounts dated `since` or later: every
    entry we post has one (a payment's only line, a write-off's customer line)."""
    accounts = [odata.guid(gl) for gl in gl_accounts]
    condition = odata.any_of("GLAccount", accounts) & odata.compare("Date", "ge", since)
    return Query(select=PERIOD_LINE_FIELDS, filter=condition)


def reference_of_request(body: object) -> str | None:
    """The reference an entry carries, from the request sent for it."""
    lookup = lookup_for_request(body)
    if lookup is None or not isinstance(body, Mapping):
        return None
    if "SalesEntryLines" in body:
        return str(body.get("YourRef"))
    for key in ("BankEntryLines", "GeneralJournalEntryLines"):
        lines = body.get(key)
        if isinstance(lines, list) and lines and isinstance(lines[0], Mapping):
            return str(lines[0].get("Description"))
    return None


# ---------------------------------------------------------------- is it the document?


@dataclass(frozen=True)
class EntryLine:
    gl_account: str | None = None
    amount: Decimal | None = None
    account: str | None = None
    vat_code: str | None = None
    vat_amount: Decimal | None = None


@dataclass(frozen=True)
class EntryFacts:
    """An entry as Exact holds it (what a lookup read), or as the document says it must be
    (None: not known, not compared)."""

    entry_id: str = ""
    entry_number: int | None = None
    journal: str | None = None
    customer: str | None = None
    date: dt.date | None = None
    lines: tuple[EntryLine, ...] | None = None


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _guid(value: object) -> str | None:
    if value is None:
        return None
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return _text(value)


def _amount(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def _date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.UTC) if value.tzinfo else value).date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _int(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def _line(row: Mapping[str, Any], *, vat: bool) -> EntryLine:
    return EntryLine(
        gl_account=_guid(row.get("GLAccount")),
        amount=_amount(row.get("AmountFC")),
        account=_guid(row.get("Account")),
        vat_code=_text(row.get("VATCode")) if vat else None,
        vat_amount=_amount(row.get("VATAmountFC")) if vat else None,
    )


def _results(value: object) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        value = value.get("results")
    return [row for row in value if isinstance(row, Mapping)] if isinstance(value, list) else []


def expected_of_request(body: object) -> EntryFacts | None:
    """What the entry must be, from the request sent for it; None when `body` is no entry."""
    if not isinstance(body, Mapping):
        return None
    if "SalesEntryLines" in body:
        return EntryFacts(
            journal=_text(body.get("Journal")),
            customer=_guid(body.get("Customer")),
            date=_date(body.get("EntryDate")),
            lines=tuple(_line(row, vat=True) for row in _results(body.get("SalesEntryLines"))),
        )
    for key in ("BankEntryLines", "GeneralJournalEntryLines"):
        if key in body:
            lines = _results(body.get(key))
            return EntryFacts(
                journal=_text(body.get("JournalCode")),
                customer=next((_guid(r["Account"]) for r in lines if r.get("Account")), None),
                date=_date(lines[0].get("Date")) if lines else None,
                lines=tuple(_line(row, vat=False) for row in lines),
            )
    return None


def sales_entries_found(rows: Iterable[Mapping[str, Any]]) -> list[EntryFacts]:
    """The sales entries a lookup returned (one row each, lines expanded)."""
    found: dict[str, EntryFacts] = {}
    for row in rows:
        entry_id = _guid(row.get("EntryID"))
        if entry_id is None:
            continue
        lines = row.get("SalesEntryLines")
        found.setdefault(
            entry_id,
            EntryFacts(
                entry_id=entry_id,
                entry_number=_int(row.get("EntryNumber")),
                journal=_text(row.get("Journal")),
                customer=_guid(row.get("Customer")),
                date=_date(row.get("EntryDate")),
                lines=tuple(_line(line, vat=True) for line in _results(lines))
                if lines is not None
                else None,
            ),
        )
    return list(found.values())


def line_entries_found(
    rows: Iterable[Mapping[str, Any]], journals: Mapping[str, str] | None = None
) -> list[EntryFacts]:
    """The entries whose lines a lookup returned (a journal entry's two lines are one entry),
    with their journals when known."""
    lines: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        entry_id = _guid(row.get("EntryID"))
        if entry_id is not None:
            lines[entry_id].append(row)
    found = []
    for entry_id, rows_of_entry in lines.items():
        first = rows_of_entry[0]
        found.append(
            EntryFacts(
                entry_id=entry_id,
                entry_number=_int(first.get("EntryNumber")),
                journal=(journals or {}).get(entry_id),
                customer=next(
                    (_guid(r["Account"]) for r in rows_of_entry if r.get("Account")), None
                ),
                date=_date(first.get("Date")),
                lines=tuple(_line(row, vat=False) for row in rows_of_entry),
            )
        )
    return found


def _line_key(line: EntryLine, fields: Sequence[str]) -> tuple[str, ...]:
    values = {
        "gl_account": (line.gl_account or "").lower(),
        "amount": str(line.amount),
        "account": (line.account or "").lower(),
        "vat_code": (line.vat_code or "").upper(),
        "vat_amount": str(line.vat_amount),
    }
    return tuple(values[name] for name in fields)


def mismatches(expected: EntryFacts, found: EntryFacts) -> tuple[str, ...]:
    """How `found` differs from the document (`expected`); empty: it is the document. What
    either side does not know is not compared."""
    problems: list[str] = []
    if expected.journal and found.journal and expected.journal.upper() != found.journal.upper():
        problems.append(f"journal {found.journal}, not {expected.journal}")
    if expected.customer and found.customer and expected.customer.lower() != found.customer.lower():
        problems.append(f"another customer ({found.customer})")
    if expected.date and found.date and expected.date != found.date:
        problems.append(f"dated {found.date.isoformat()}, not {expected.date.isoformat()}")
    if expected.lines is not None and found.lines is not None:
        fields = [
            name
            for name in ("gl_account", "amount", "account", "vat_code", "vat_amount")
            if expected.lines and all(getattr(line, name) is not None for line in expected.lines)
        ]
        wanted = sorted(_line_key(line, fields) for line in expected.lines)
        got = sorted(_line_key(line, fields) for line in found.lines)
        if wanted != got:
            total_wanted = sum((line.amount or Decimal(0) for line in expected.lines), Decimal(0))
            total_got = sum((line.amount or Decimal(0) for line in found.lines), Decimal(0))
            if len(wanted) != len(got):
                problems.append(f"{len(got)} lines, not {len(wanted)}")
            elif total_wanted != total_got:
                problems.append(f"amount {total_got}, not {total_wanted}")
            else:
                problems.append("other lines (accounts, VAT or amounts)")
    return tuple(problems)


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
    """An invoice as a SalesEntry (docs/exact-api.md §Sales entries): amounts excluding VAT,
    VATAmountFC per line so Exact's totals equal the invoice's to the cent."""
    return _compact(
        {
            "Journal": journal,
            "Customer": customer_id,
            "EntryDate": wire_date(entry_date),
            "DueDate": wire_date(due_date) if due_date else None,
            "YourRef": reference(invoice_number),
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
    """A payment as a BankEntry with one line on the receivables account
    (docs/exact-api.md §Bank entries): OurRef carries Exact's number of the invoice, so Exact can
    match the two."""
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
    """A write-off or collection costs as a balanced GeneralJournalEntry
    (docs/exact-api.md §General journal entries).

    A write-off credits the customer's receivable and debits the write-off (cost) account;
    collection costs are charged to the customer: the receivable is debited and the
    collection-costs (income) account credited. Debit positive, credit negative (signs
    UNCONFIRMED in Exact's documentation)."""
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
    """The one live check before creating an account (docs/export.md §Customers): accounts carrying
    the VAT number (the cache may be stale) or our customer number as SearchCode (an account created
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
    """A customer account (Status C, or Exact refuses sales to it: docs/exact-api.md §Accounts)
    whose SearchCode is the platform's customer number: the reference both systems share."""
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
