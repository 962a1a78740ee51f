"""Settling a job whose answer was lost: lookups spread over a horizon long enough that a
request Exact commits late (a proxy held it past our timeout) is found, not sent twice."""

from __future__ import annotations

from exact_tui.domain.states import JobState
from tests.export.kit import ExportWorld, customer, invoice

SALES = "salesentry/SalesEntries"


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
