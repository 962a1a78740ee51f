"""A lookup settles a job only on its own entry: two documents never share a reference as Exact
compares it (case-folded, within the field's width), and an entry found by the reference counts
only when it is the document (amount, customer, date, journal; lines for a sales entry). An
entry that carries the reference but is not the document is a conflict, loud, never posted."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from exact_tui.domain.states import JobState
from exact_tui.exact import entries
from tests.export.kit import NL, ExportWorld, customer, invoice, line, payment

SALES = "salesentry/SalesEntries"
BANK = "financialtransaction/BankEntries"
#: Two settlement numbers of 64 characters that share their first 60.
LONG = "SETTLEMENT-ADYEN-MERCHANTACCOUNT-FLEXWERK-2026-12-04-BATCH-"


def _lose_next_answer(xw: ExportWorld, endpoint: str) -> None:
    """The next POST fails before Exact commits it, and the client cannot tell (a 503 page)."""
    xw.sandbox.set_faults(
        {"faults": [{"endpoint": endpoint, "method": "POST", "kind": "error_before_commit",
                     "count": 1}]}
    )  # fmt: skip


async def test_long_numbers_that_share_their_start_are_two_entries(xw: ExportWorld) -> None:
    first, second = LONG + "0001", LONG + "0002"
    xw.ingest(customers=[customer("5")], payments=[payment(first, "5", "10.00")])
    await xw.run()
    # The same customer, amount and date: only the number tells the two apart.
    xw.ingest(payments=[payment(second, "5", "10.00")])
    _lose_next_answer(xw, BANK)
    await xw.run(advance=30)
    bank = xw.ledger()["bank_entries"]
    assert len(bank) == 2
    ids = {xw.job(first).exact_entry_id, xw.job(second).exact_entry_id}
    assert ids == {entry["EntryID"] for entry in bank}
    assert {xw.job(n).state for n in (first, second)} == {JobState.POSTED}


async def test_numbers_that_differ_only_in_case_are_two_entries(xw: ExportWorld) -> None:
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-CASE-A", "5")])
    await xw.run()
    xw.ingest(invoices=[invoice("INV-CASE-a", "5")])
    _lose_next_answer(xw, SALES)
    await xw.run(advance=30)
    sales = xw.ledger()["sales_entries"]
    assert len(sales) == 2
    upper, lower = xw.job("INV-CASE-A"), xw.job("INV-CASE-a")
    assert upper.state is JobState.POSTED and lower.state is JobState.POSTED
    assert upper.exact_entry_id != lower.exact_entry_id
    assert {upper.exact_entry_id, lower.exact_entry_id} == {e["EntryID"] for e in sales}


async def test_an_entry_with_our_reference_that_is_not_the_document_is_a_conflict(
    xw: ExportWorld,
) -> None:
    # Someone booked an entry by hand in Exact with the reference our invoice will carry:
    # another customer, another amount.
    books = xw.sandbox.division(NL)
    other = books.account_by_code("9")
    revenue = books.gl_by_code("8010")
    assert other is not None and revenue is not None
    foreign = entries.sales_entry(
        journal="70",
        customer_id=str(other["ID"]),
        invoice_number="INV-7",
        entry_date=dt.date(2026, 3, 2),
        due_date=None,
        payment_reference=None,
        description="booked by hand",
        currency="EUR",
        lines=[entries.SalesLine(str(revenue["ID"]), Decimal("55.00"), "2", Decimal("11.55"))],
    )
    await xw.session.client.post(NL, SALES, foreign)
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-7", "5", line("100.00"))])
    _lose_next_answer(xw, SALES)
    await xw.run(advance=30)
    job = xw.job("INV-7")
    assert job.state is not JobState.POSTED
    assert job.category is not None and job.category.value == "conflict"
    assert job.exact_entry_id is None
    last = xw.events("INV-7")[-1]
    assert last.level == "error"
    # Nothing was sent again over someone else's entry: a person decides.
    assert len(xw.ledger()["sales_entries"]) == 1
