"""Settling a job whose answer was lost: lookups spread over a horizon long enough that a
request Exact commits late (a proxy held it past our timeout) is found, not sent twice."""

from __future__ import annotations

from exact_tui.domain.states import JobState
from tests.export.kit import ExportWorld, customer, invoice

SALES = "salesentry/SalesEntries"
ACCOUNTS = "crm/Accounts"


async def test_a_commit_75_seconds_late_is_found_not_sent_twice(xw: ExportWorld) -> None:
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-1", "5")])
    xw.sandbox.set_faults(
        {"faults": [{"endpoint": SALES, "method": "POST", "kind": "commit_late", "seconds": 75,
                     "count": 1}]}
    )  # fmt: skip
    await xw.step()
    assert xw.job("INV-1").state is JobState.UNKNOWN
    await xw.run(advance=15, rounds=200)
    sales = xw.ledger()["sales_entries"]
    assert len(sales) == 1
    job = xw.job("INV-1")
    assert (job.state, job.exact_entry_id) == (JobState.POSTED, sales[0]["EntryID"])
    assert xw.calls(SALES, method="POST") == 1


async def test_an_account_committed_75_seconds_late_is_found_not_created_twice(
    xw: ExportWorld,
) -> None:
    # A new customer's account creation held past our timeout, as the entry above: the live
    # check before creating again must come after the settling horizon, or it finds nothing
    # and a second account is made.
    xw.ingest(customers=[customer("NEW-9", name="Laat")], invoices=[invoice("INV-1", "NEW-9")])
    xw.sandbox.set_faults(
        {"faults": [{"endpoint": ACCOUNTS, "method": "POST", "kind": "commit_late",
                     "seconds": 75, "count": 1}]}
    )  # fmt: skip
    await xw.step()
    assert xw.job("INV-1").state is JobState.RETRY_WAIT
    # A second invoice of the same customer, a little later, while the account is in doubt.
    xw.sandbox.advance(20)
    xw.ingest(customers=[customer("NEW-9", name="Laat")], invoices=[invoice("INV-2", "NEW-9")])
    await xw.run(advance=15, rounds=200)
    accounts = [a for a in xw.ledger()["accounts"] if a["SearchCode"] == "NEW-9"]
    assert len(accounts) == 1
    # Both posted to that account: the invoice that waited for the other's doubt does not
    # keep the other waiting in turn.
    for number in ("INV-1", "INV-2"):
        job = xw.job(number)
        assert job.state is JobState.POSTED, (number, job.state, job.last_error)
    assert xw.calls(ACCOUNTS, method="POST") == 1


async def test_documents_waiting_on_an_account_in_doubt_do_not_keep_each_other_waiting(
    xw: ExportWorld,
) -> None:
    # The first creation's answer is lost and Exact did not take it: on the horizon one of the
    # two invoices creates the account, once, and both are posted (a job that waited for the
    # other's doubt is not itself a doubt, or each would wait for the other for ever).
    xw.ingest(customers=[customer("NEW-8", name="Nooit")], invoices=[invoice("INV-1", "NEW-8")])
    xw.sandbox.set_faults(
        {"faults": [{"endpoint": ACCOUNTS, "method": "POST", "kind": "error_before_commit",
                     "status": 503, "count": 1}]}
    )  # fmt: skip
    await xw.step()
    assert xw.job("INV-1").state is JobState.RETRY_WAIT
    xw.sandbox.advance(20)
    xw.ingest(customers=[customer("NEW-8", name="Nooit")], invoices=[invoice("INV-2", "NEW-8")])
    await xw.run(advance=15, rounds=200)
    accounts = [a for a in xw.ledger()["accounts"] if a["SearchCode"] == "NEW-8"]
    assert len(accounts) == 1
    for number in ("INV-1", "INV-2"):
        job = xw.job(number)
        assert job.state is JobState.POSTED, (number, job.state, job.last_error)
