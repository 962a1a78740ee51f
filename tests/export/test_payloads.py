"""Every kind of document, in both divisions, is accepted by the sandbox's validation and lands
in its ledger as the platform meant it: one request per document."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exact_tui.domain.states import JobState
from tests.export.kit import (
    BE,
    IBAN_BE,
    NL,
    ExportWorld,
    customer,
    invoice,
    line,
    payment,
    write_off,
)


def _lines(entry: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(x["GLAccountCode"]), str(x["AmountFC"])) for x in entry["lines"]]


async def test_an_invoice_becomes_a_sales_entry_with_vat_per_line(xw: ExportWorld) -> None:
    xw.ingest(
        customers=[customer("5")],
        invoices=[
            invoice(
                "INV-1",
                "5",
                line("100.00", vat_amount="21.00", description="Desk"),
                line("10.05", "REV-CC", "9", cost_center="AMS"),
                line("33.33", "REV-CU", "21", vat_amount="6.99", cost_unit="FLEX"),
                due_date="2026-03-16",
                payment_reference="2026000100",
                description="March",
            )
        ],
    )
    await xw.run()
    job = xw.job("INV-1")
    assert job.state is JobState.POSTED and job.exact_entry_number == 26000001
    (entry,) = xw.ledger()["sales_entries"]
    assert entry["EntryID"] == job.exact_entry_id
    assert (entry["YourRef"], entry["Journal"], entry["Description"]) == ("INV-1", "70", "March")
    assert entry["PaymentReference"] == "2026000100" and entry["DueDate"].startswith("2026-03-16")
    assert entry["EntryDate"].startswith("2026-03-02")
    assert [
        (x["GLAccountCode"], x["AmountFC"], x["VATCode"], x["VATAmountFC"]) for x in entry["lines"]
    ] == [
        ("8010", "100.00", "2", "21.00"),
        ("8000", "10.05", "1", "0.90"),  # 9 % computed by preflight, sent per line
        ("8020", "33.33", "2", "6.99"),  # the platform's VAT wins over Exact's 7.00
    ]
    assert [(x["CostCenter"], x["CostUnit"]) for x in entry["lines"]] == [
        (None, None),
        ("AMS-C", None),
        (None, "FLEX"),
    ]
    assert entry["AmountFC"] == "172.27" and entry["VATAmountFC"] == "28.89"
    assert xw.calls() == 1
    (sent,) = [e for e in xw.events("INV-1") if e.outcome == "posted"]
    assert sent.http_status == 201 and sent.request is not None
    assert sent.request["SalesEntryLines"][0]["AmountFC"] == "100.00"
    assert sent.duration_ms is not None and sent.minutely_remaining is not None


async def test_a_credit_note_is_a_negative_sales_entry(xw: ExportWorld) -> None:
    xw.ingest(customers=[customer("5")], invoices=[invoice("CN-1", "5", line("-50.00"))])
    await xw.run()
    (entry,) = xw.ledger()["sales_entries"]
    assert (entry["AmountFC"], entry["VATAmountFC"], entry["Type"]) == ("-60.50", "-10.50", 21)


async def test_payment_write_off_and_collection_costs_in_both_divisions(
    xw: ExportWorld,
) -> None:
    xw.ingest(
        customers=[customer("5"), customer("7")],
        invoices=[
            invoice("INV-NL", "5", line("200.00")),
            invoice("INV-BE", "7", line("100.00"), bank_account=IBAN_BE),
        ],
        payments=[
            payment("PAY-NL", "5", "200.00", invoice="INV-NL", description="part one"),
            payment("PAY-BE", "7", "121.00", invoice="INV-BE", bank_account=IBAN_BE),
            payment("PAY-LOOSE", "5", "-12.00"),
        ],
        write_offs=[
            write_off("WO-NL", "INV-NL", "42.00", "write_off"),
            write_off("CC-BE", "INV-BE", "15.00", "collection_costs"),
        ],
    )
    await xw.run()
    assert set(xw.states().values()) == {JobState.POSTED}
    nl, be = xw.ledger(NL), xw.ledger(BE)
    invoice_nl = nl["sales_entries"][0]["EntryNumber"]
    banks = {e["lines"][0]["Description"]: e for e in nl["bank_entries"]}
    assert set(banks) == {"PAY-NL INV-NL", "PAY-LOOSE"}
    pay = banks["PAY-NL INV-NL"]["lines"][0]
    assert (pay["GLAccountCode"], pay["AmountFC"], pay["AccountCode"], pay["OurRef"]) == (
        "1300",
        "200.00",
        "5",
        invoice_nl,
    )
    assert banks["PAY-NL INV-NL"]["JournalCode"] == "20"
    assert banks["PAY-LOOSE"]["lines"][0]["AmountFC"] == "-12.00"
    assert banks["PAY-LOOSE"]["lines"][0]["OurRef"] is None
    (wo,) = nl["general_journal_entries"]
    assert wo["JournalCode"] == "90"
    assert _lines(wo) == [("1300", "-42.00"), ("4700", "42.00")]
    assert wo["lines"][0]["AccountCode"] == "5" and wo["lines"][0]["OurRef"] == invoice_nl
    (cc,) = be["general_journal_entries"]
    # Collection costs are charged to the customer: receivable up, income account credited.
    assert (cc["JournalCode"], _lines(cc)) == ("900", [("400000", "15.00"), ("746000", "-15.00")])
    assert sum(Decimal(x["AmountFC"]) for x in cc["lines"]) == 0
    (pay_be,) = be["bank_entries"]
    assert (pay_be["JournalCode"], pay_be["lines"][0]["GLAccountCode"]) == ("200", "400000")
    assert be["sales_entries"][0]["Journal"] == "700"
    # One request per document, customers linked from the cache (no lookups, no creation).
    assert xw.calls() == 7 and xw.calls(method="POST") == 7


async def test_a_payment_waits_for_its_invoice_to_carry_its_number(xw: ExportWorld) -> None:
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-9", "5", line("1.00", "NOPE"))])
    xw.ingest(payments=[payment("PAY-9", "5", "1.21", invoice="INV-9")])
    await xw.run()
    # The invoice waits for a mapping; so the payment is posted without the invoice's number.
    assert xw.job("INV-9").state is JobState.NEEDS_MAPPING
    assert xw.job("PAY-9").state is JobState.POSTED
    (bank,) = xw.ledger()["bank_entries"]
    assert bank["lines"][0]["OurRef"] is None
