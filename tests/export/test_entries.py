"""Payloads and references in Exact's dialect, built from plain values."""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal

from exact_tui.domain.states import DocumentKind, WriteOffKind
from exact_tui.exact import entries
from exact_tui.exact.entries import SalesLine

D = Decimal
DAY = dt.date(2026, 3, 1)


def test_a_sales_entry_carries_codes_guids_strings_and_vat_per_line() -> None:
    body = entries.sales_entry(
        journal="70",
        customer_id="c-guid",
        invoice_number="INV-1",
        entry_date=DAY,
        due_date=dt.date(2026, 3, 15),
        payment_reference=None,
        description=None,
        currency="EUR",
        lines=[
            SalesLine("gl-guid", D("100"), "2", D("21.00"), "Desk", cost_center="AMS-C"),
            SalesLine("gl-guid", D("-10.5"), "2", D("-2.21")),
        ],
    )
    assert body == {
        "Journal": "70",
        "Customer": "c-guid",
        "EntryDate": "2026-03-01T00:00:00",
        "DueDate": "2026-03-15T00:00:00",
        "YourRef": "INV-1",
        "Description": "INV-1",
        "Currency": "EUR",
        "SalesEntryLines": [
            {
                "GLAccount": "gl-guid",
                "AmountFC": "100.00",
                "VATCode": "2",
                "VATAmountFC": "21.00",
                "Description": "Desk",
                "CostCenter": "AMS-C",
            },
            {"GLAccount": "gl-guid", "AmountFC": "-10.50", "VATCode": "2", "VATAmountFC": "-2.21"},
        ],
    }


def test_a_payment_is_one_bank_line_on_the_receivables_account() -> None:
    body = entries.bank_entry(
        journal="20",
        customer_id="c",
        receivables_gl_id="gl-1300",
        amount=D("121"),
        date=DAY,
        reference=entries.line_reference("PAY-1", "INV-1"),
        invoice_entry_number=26000001,
        currency="EUR",
    )
    assert body["JournalCode"] == "20"
    assert body["BankEntryLines"] == [
        {
            "GLAccount": "gl-1300",
            "Account": "c",
            "AmountFC": "121.00",
            "Date": "2026-03-01T00:00:00",
            "Description": "PAY-1 INV-1",
            "OurRef": 26000001,
        }
    ]


def test_a_write_off_credits_the_receivable_and_balances() -> None:
    body = entries.write_off_entry(
        kind=WriteOffKind.WRITE_OFF,
        journal="90",
        customer_id="c",
        receivables_gl_id="gl-1300",
        counter_gl_id="gl-4700",
        amount=D("12.34"),
        date=DAY,
        reference="WO-1 INV-1",
        invoice_entry_number=None,
        currency="EUR",
    )
    receivable, counter = body["GeneralJournalEntryLines"]
    assert (receivable["GLAccount"], receivable["Account"], receivable["AmountFC"]) == (
        "gl-1300",
        "c",
        "-12.34",
    )
    assert (counter["GLAccount"], counter["AmountFC"]) == ("gl-4700", "12.34")
    assert "Account" not in counter and "OurRef" not in receivable
    assert sum(D(line["AmountFC"]) for line in body["GeneralJournalEntryLines"]) == 0
    assert {line["Description"] for line in body["GeneralJournalEntryLines"]} == {"WO-1 INV-1"}


def test_collection_costs_are_charged_to_the_customer() -> None:
    body = entries.write_off_entry(
        kind=WriteOffKind.COLLECTION_COSTS,
        journal="90",
        customer_id="c",
        receivables_gl_id="gl-1300",
        counter_gl_id="gl-8900",
        amount=D("40.00"),
        date=DAY,
        reference="CC-1 INV-1",
        invoice_entry_number=26000001,
        currency="EUR",
    )
    receivable, income = body["GeneralJournalEntryLines"]
    assert (receivable["Account"], receivable["AmountFC"], receivable["OurRef"]) == (
        "c",
        "40.00",
        26000001,
    )
    assert (income["GLAccount"], income["AmountFC"]) == ("gl-8900", "-40.00")


def _as_exact_compares(text: str) -> str:
    """How Exact compares these fields (docs/sandbox.md): case-insensitively, trailing spaces
    ignored, and (some collations) accents too."""
    decomposed = unicodedata.normalize("NFKD", text.rstrip(" ").casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


TRICKY = [
    "INV-1", "inv-1", "Inv-1", "INV-1 ", " INV-1", "INV~1", "INV-1~", "ß", "SS", "ss",
    "Straße-1", "STRASSE-1", "É-1", "E-1", "é-1", "X" * 30, "X" * 31, "X" * 29 + "y",
    "SETTLEMENT-ADYEN-MERCHANTACCOUNT-FLEXWERK-2026-12-04-BATCH-0001",
    "SETTLEMENT-ADYEN-MERCHANTACCOUNT-FLEXWERK-2026-12-04-BATCH-0002",
    "INV-1 INV-2", "INV-1~ABCDEFGHIJ", "O'BRIEN-1", "INV-CASE-A", "INV-CASE-a",
]  # fmt: skip


def test_plain_numbers_are_their_own_reference() -> None:
    assert entries.reference("INV-1") == "INV-1"
    assert entries.reference("2026/00017") == "2026/00017"
    assert entries.line_reference("PAY-1") == "PAY-1"
    assert entries.line_reference("PAY-1", "INV-1") == "PAY-1 INV-1"


def test_no_two_numbers_give_references_exact_finds_alike() -> None:
    for width in (entries.YOUR_REF_WIDTH, entries.DESCRIPTION_WIDTH):
        refs = [entries.reference(number, width) for number in TRICKY]
        assert all(len(ref) <= width for ref in refs)
        compared = [_as_exact_compares(ref) for ref in refs]
        assert len(set(compared)) == len(TRICKY), sorted(compared)
    for invoice in ("INV-1", "inv-1", None):
        lines = [entries.line_reference(number, invoice) for number in TRICKY]
        assert all(len(ref) <= entries.DESCRIPTION_WIDTH for ref in lines)
        assert len({_as_exact_compares(ref) for ref in lines}) == len(TRICKY)


def test_a_number_that_cannot_stand_as_it_is_keeps_its_start_and_a_digest() -> None:
    lower = entries.reference("inv-case-a")
    assert lower.startswith("inv-case-a~") and lower == entries.reference("inv-case-a")
    assert lower[-entries.DIGEST_LENGTH :] == entries.digest("inv-case-a")
    assert entries.digest("inv-case-a").isupper()
    long = entries.line_reference("P" * 50, "I" * 50)
    assert long.startswith("P" * 49) and len(long) == entries.DESCRIPTION_WIDTH
    assert long.endswith("~" + entries.digest("P" * 50))


def test_lookups_name_the_reference_with_quotes_doubled() -> None:
    sales = entries.sales_lookup("70", "INV-'1")
    assert sales.path == "salesentry/SalesEntries"
    params = sales.query.params()
    assert params["$filter"] == "(YourRef eq 'INV-''1') and (Journal eq '70')"
    assert params["$expand"] == "SalesEntryLines"
    assert sales.header_path is None
    bank = entries.bank_lookup("PAY-1 INV-1")
    assert bank.path == "financialtransaction/BankEntryLines"
    assert bank.query.params()["$filter"] == "Description eq 'PAY-1 INV-1'"
    assert bank.header_path == "financialtransaction/BankEntries"
    assert entries.general_journal_lookup("WO-1").path.endswith("GeneralJournalEntryLines")
    assert entries.lookup_for(DocumentKind.INVOICE, "inv-1", None, "70").reference == (
        f"YourRef {entries.reference('inv-1')} in journal 70"
    )


def test_line_lookups_count_distinct_entries() -> None:
    rows = [
        {"EntryID": "0a0a0a0a-0000-0000-0000-000000000001", "EntryNumber": 1, "AmountFC": 5},
        {"EntryID": "0A0A0A0A-0000-0000-0000-000000000001", "EntryNumber": 1, "AmountFC": -5},
        {"EntryID": "0a0a0a0a-0000-0000-0000-000000000002", "EntryNumber": None},
        {"EntryNumber": 3},
    ]
    found = entries.line_entries_found(rows)
    assert [(f.entry_id[-1], f.entry_number, len(f.lines or ())) for f in found] == [
        ("1", 1, 2),
        ("2", None, 1),
    ]


def _sent() -> dict[str, object]:
    return entries.sales_entry(
        journal="70",
        customer_id="11111111-1111-1111-1111-111111111111",
        invoice_number="INV-1",
        entry_date=DAY,
        due_date=None,
        payment_reference=None,
        description=None,
        currency="EUR",
        lines=[SalesLine("22222222-2222-2222-2222-222222222222", D("100"), "2", D("21"))],
    )


def _held(**changes: object) -> dict[str, object]:
    """A sales entry as a lookup returns it (Exact's spellings: dates, padded codes)."""
    row: dict[str, object] = {
        "EntryID": "33333333-3333-3333-3333-333333333333",
        "EntryNumber": 26000001,
        "Journal": "70",
        "Customer": "11111111-1111-1111-1111-111111111111",
        "EntryDate": dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        "SalesEntryLines": {
            "results": [
                {
                    "GLAccount": "22222222-2222-2222-2222-222222222222",
                    "AmountFC": 100,
                    "VATCode": "2  ",
                    "VATAmountFC": D("21.00"),
                }
            ]
        },
    }
    row.update(changes)
    return row


def test_an_entry_is_the_document_only_when_everything_agrees() -> None:
    expected = entries.expected_of_request(_sent())
    assert expected is not None

    def problems(**changes: object) -> tuple[str, ...]:
        (found,) = entries.sales_entries_found([_held(**changes)])
        return entries.mismatches(expected, found)

    assert problems() == ()
    assert problems(Journal="71") == ("journal 71, not 70",)
    assert problems(Customer="44444444-4444-4444-4444-444444444444") == (
        "another customer (44444444-4444-4444-4444-444444444444)",
    )
    assert problems(EntryDate=dt.datetime(2026, 3, 2, tzinfo=dt.UTC)) == (
        "dated 2026-03-02, not 2026-03-01",
    )
    other_amount = {"results": [{"GLAccount": "22222222-2222-2222-2222-222222222222",
                                 "AmountFC": 55, "VATCode": "2", "VATAmountFC": 21}]}  # fmt: skip
    assert problems(SalesEntryLines=other_amount) == ("amount 55.00, not 100.00",)
    two_lines = {"results": [*_held()["SalesEntryLines"]["results"]] * 2}  # type: ignore[index]
    assert problems(SalesEntryLines=two_lines) == ("2 lines, not 1",)
    other_vat = {"results": [{"GLAccount": "22222222-2222-2222-2222-222222222222",
                              "AmountFC": 100, "VATCode": "1", "VATAmountFC": 21}]}  # fmt: skip
    assert problems(SalesEntryLines=other_vat) == ("other lines (accounts, VAT or amounts)",)


def test_a_bank_line_is_the_payment_only_with_its_amount_customer_and_date() -> None:
    body = entries.bank_entry(
        journal="20",
        customer_id="11111111-1111-1111-1111-111111111111",
        receivables_gl_id="22222222-2222-2222-2222-222222222222",
        amount=D("10"),
        date=DAY,
        reference="PAY-1",
        invoice_entry_number=None,
        currency="EUR",
    )
    expected = entries.expected_of_request(body)
    assert expected is not None and expected.journal == "20"
    line = {
        "EntryID": "33333333-3333-3333-3333-333333333333",
        "Account": "11111111-1111-1111-1111-111111111111",
        "GLAccount": "22222222-2222-2222-2222-222222222222",
        "AmountFC": D("10.00"),
        "Date": dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
    }
    (found,) = entries.line_entries_found([line])
    assert entries.mismatches(expected, found) == ()  # the journal is not known yet
    (in_journal,) = entries.line_entries_found(
        [line], {"33333333-3333-3333-3333-333333333333": "21"}
    )
    assert entries.mismatches(expected, in_journal) == ("journal 21, not 20",)
    (other,) = entries.line_entries_found([{**line, "AmountFC": D("10.01")}])
    assert entries.mismatches(expected, other) == ("amount 10.01, not 10.00",)


def test_the_customer_check_asks_for_every_vat_spelling_and_the_search_code() -> None:
    variants = entries.vat_variants("nl 8544.78.372 b01", "NL854478372B01")
    assert variants == ["NL854478372B01", "nl 8544.78.372 b01", "854478372B01"]
    query = entries.customer_check(variants[:1], "C1")
    assert query.params()["$filter"] == "(VATNumber eq 'NL854478372B01') or (SearchCode eq 'C1')"
    assert entries.customer_check([], "C1").params()["$filter"] == "SearchCode eq 'C1'"


def test_a_new_account_is_a_customer_found_by_its_search_code() -> None:
    body = entries.new_customer_account(
        name="Jansen B.V.",
        customer_number="C1",
        vat_number=None,
        address_line="Dam 1",
        postcode=None,
        city="Amsterdam",
        country="NL",
        email=None,
        phone="",
    )
    assert body == {
        "Name": "Jansen B.V.",
        "Status": "C",
        "SearchCode": "C1",
        "AddressLine1": "Dam 1",
        "City": "Amsterdam",
        "Country": "NL",
    }
