"""Payloads and references in Exact's dialect, built from plain values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from exact_tui.domain.states import WriteOffKind
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


def test_references_put_the_document_number_first_and_fit() -> None:
    assert entries.line_reference("PAY-1") == "PAY-1"
    long = entries.line_reference("P" * 50, "I" * 50)
    assert long.startswith("P" * 50) and len(long) == entries.REFERENCE_WIDTH


def test_lookups_name_the_reference_with_quotes_doubled() -> None:
    sales = entries.sales_lookup("70", "INV-'1")
    assert sales.path == "salesentry/SalesEntries"
    assert sales.query.params()["$filter"] == "(YourRef eq 'INV-''1') and (Journal eq '70')"
    bank = entries.bank_lookup("PAY-1 INV-1")
    assert bank.path == "financialtransaction/BankEntryLines"
    assert bank.query.params() == {
        "$select": "EntryID,EntryNumber",
        "$filter": "Description eq 'PAY-1 INV-1'",
    }
    assert entries.general_journal_lookup("WO-1").path.endswith("GeneralJournalEntryLines")


def test_found_entries_counts_distinct_entries() -> None:
    rows = [
        {"EntryID": "a", "EntryNumber": 1},
        {"EntryID": "a", "EntryNumber": 1},
        {"EntryID": "b", "EntryNumber": None},
        {"EntryNumber": 3},
    ]
    found = entries.found_entries(rows)
    assert [(f.entry_id, f.entry_number) for f in found] == [("a", 1), ("b", None)]


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
