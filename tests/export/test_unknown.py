"""A posting whose answer was lost is looked up in Exact before anything is sent again:
found once → posted; found twice → failed, loudly; not found in two lookups a safety delay
apart → sent once more. After a crash every in-flight job is settled the same way."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import pytest

from exact_tui.domain.states import Category, JobState
from exact_tui.services.audit import Actor
from exact_tui.services.export.api import ExactApi
from exact_tui.services.intents import Intents
from tests.export.kit import (
    NL,
    OWNER,
    ExportWorld,
    customer,
    invoice,
    payment,
    write_off,
)

CASES = {
    # number, entry endpoint, ledger section, lookup endpoint
    "invoice": ("INV-1", "salesentry/SalesEntries", "sales_entries", "salesentry/SalesEntries"),
    "payment": (
        "PAY-1",
        "financialtransaction/BankEntries",
        "bank_entries",
        "financialtransaction/BankEntryLines",
    ),
    "write_off": (
        "WO-1",
        "generaljournalentry/GeneralJournalEntries",
        "general_journal_entries",
        "generaljournalentry/GeneralJournalEntryLines",
    ),
}


def _documents(xw: ExportWorld, kind: str) -> None:
    records: dict[str, Any] = {"customers": [customer("5")]}
    if kind == "payment":
        records["payments"] = [payment("PAY-1", "5", "10.00")]
    else:
        records["invoices"] = [invoice("INV-1", "5")]
    xw.ingest(**records)


def _fault(xw: ExportWorld, endpoint: str, kind: str) -> None:
    xw.sandbox.set_faults(
        {"faults": [{"endpoint": endpoint, "method": "POST", "kind": kind, "count": 1}]}
    )


async def _first_attempt(xw: ExportWorld, kind: str, fault: str) -> None:
    number, endpoint, _section, _lookup = CASES[kind]
    _documents(xw, kind)
    if kind == "write_off":
        # The invoice first, undisturbed; then the write-off under fire.
        await xw.run()
        xw.ingest(write_offs=[write_off("WO-1", "INV-1", "3.00", "write_off")])
    _fault(xw, endpoint, fault)
    await xw.step()
    job = xw.job(number)
    assert (job.state, job.category) == (JobState.UNKNOWN, Category.AMBIGUOUS)


@pytest.mark.parametrize("kind", list(CASES))
async def test_found_once_is_posted_without_sending_again(xw: ExportWorld, kind: str) -> None:
    number, endpoint, section, lookup = CASES[kind]
    await _first_attempt(xw, kind, "error_after_commit")
    await xw.run()
    job = xw.job(number)
    (entry,) = xw.ledger()[section]
    assert job.state is JobState.POSTED
    assert (job.exact_entry_id, job.exact_entry_number) == (entry["EntryID"], entry["EntryNumber"])
    assert xw.calls(endpoint, method="POST") == 1
    assert xw.calls(lookup, method="GET") == 1
    assert xw.outcomes(number)[-2:] == ["unknown", "posted"]
    assert "found in Exact" in xw.events(number)[-1].message


@pytest.mark.parametrize("kind", list(CASES))
async def test_not_found_over_the_settling_horizon_is_sent_once_more(
    xw: ExportWorld, kind: str
) -> None:
    number, endpoint, section, lookup = CASES[kind]
    await _first_attempt(xw, kind, "error_before_commit")
    await xw.step()
    job = xw.job(number)
    assert (job.state, job.lookups_empty) == (JobState.UNKNOWN, 1)
    await xw.run()  # the safety delay has not passed: nothing happens
    assert xw.calls(lookup, method="GET") == 1
    # Looked up again, the gaps growing, until the horizon has passed since it was sent.
    xw.sandbox.advance(30)
    await xw.run()
    assert xw.job(number).state is JobState.UNKNOWN and xw.calls(lookup, method="GET") == 2
    await xw.run(advance=30)
    assert xw.job(number).state is JobState.POSTED
    assert len(xw.ledger()[section]) == 1
    horizon = xw.options.settle_horizon
    sent_again = next(e for e in xw.events(number) if e.outcome == "not_in_exact")
    unknown = next(e for e in xw.events(number) if e.outcome == "unknown")
    assert (sent_again.at - unknown.at).total_seconds() >= horizon
    assert xw.calls(endpoint, method="POST") == 2 and xw.calls(lookup, method="GET") == 4
    assert xw.outcomes(number)[-4:] == ["lookup", "lookup", "not_in_exact", "posted"]


async def test_found_twice_is_a_loud_failure_and_a_retry_looks_again(xw: ExportWorld) -> None:
    await _first_attempt(xw, "invoice", "error_after_commit")
    # Someone posted the same invoice again meanwhile (another tool, a restored backup).
    (sent,) = [e.request for e in xw.events("INV-1") if e.request]
    assert sent is not None
    await xw.session.client.post(NL, "salesentry/SalesEntries", sent)
    await xw.run()
    job = xw.job("INV-1")
    assert (job.state, job.category) == (JobState.FAILED, Category.DUPLICATE)
    last = xw.events("INV-1")[-1]
    assert last.level == "error" and "double posting" in last.message
    posts = xw.calls("salesentry/SalesEntries", method="POST")
    # A person reverses one of the two in Exact, then retries: looked up, found once, posted.
    extra = xw.ledger()["sales_entries"][1]["EntryID"]
    del xw.sandbox.division(NL).sales_entries[uuid.UUID(extra)]
    result = Intents(xw.store, Actor("ops", "cli"), clock=xw.world).retry(job.id or 0)
    assert result.lookups == 1 and result.requeued == 0
    await xw.run()
    assert xw.job("INV-1").state is JobState.POSTED
    assert xw.calls("salesentry/SalesEntries", method="POST") == posts


async def test_retry_of_an_unknown_job_asks_for_a_lookup_never_a_post(xw: ExportWorld) -> None:
    await _first_attempt(xw, "invoice", "error_before_commit")
    await xw.step()  # the first empty lookup
    intents = Intents(xw.store, Actor("ops", "cli"), clock=xw.world)
    for _ in range(3):
        assert intents.retry(xw.job("INV-1").id or 0).lookups == 1
        await xw.run()
    job = xw.job("INV-1")
    # Lookups asked for too soon after the first do not count: still one empty lookup.
    assert (job.state, job.lookups_empty) == (JobState.UNKNOWN, 1)
    assert xw.calls("salesentry/SalesEntries", method="POST") == 1


class Killed(BaseException):
    """The worker process dies (kill -9) at this point."""


class _DieAroundPost:
    def __init__(self, inner: ExactApi, *, after_commit: bool) -> None:
        self.inner = inner
        self.after_commit = after_commit

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def post(
        self, division: int, path: str, body: Mapping[str, Any], **kw: Any
    ) -> dict[str, Any]:
        if self.after_commit:
            await self.inner.post(division, path, body, **kw)
        raise Killed


@pytest.mark.parametrize("after_commit", [True, False])
async def test_after_a_crash_in_flight_jobs_are_settled_by_lookup(
    xw: ExportWorld, after_commit: bool
) -> None:
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-1", "5")])
    real = xw.client
    xw.client = _DieAroundPost(xw.session.client, after_commit=after_commit)  # type: ignore[arg-type]
    with pytest.raises(Killed):
        await xw.run()
    assert xw.job("INV-1").state is JobState.IN_FLIGHT
    xw.client = real
    assert xw.service.recover({"someone-else"}) == 0
    assert xw.service.recover({OWNER}) == 1
    job = xw.job("INV-1")
    assert (job.state, job.lease_owner) == (JobState.UNKNOWN, None)
    await xw.run(advance=30)
    assert xw.job("INV-1").state is JobState.POSTED
    assert len(xw.ledger()["sales_entries"]) == 1
    # Committed before the crash: found and never sent again. Not sent: sent once, after the
    # empty lookups over the settling horizon.
    assert xw.calls("salesentry/SalesEntries", method="POST") == 1
    if after_commit:
        assert xw.outcomes("INV-1") == ["recovered", "posted"]
    else:
        assert xw.outcomes("INV-1") == ["recovered", *["lookup"] * 3, "not_in_exact", "posted"]


async def test_an_expired_claim_is_unknown_and_settled(xw: ExportWorld) -> None:
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-1", "5")])
    xw.client = _DieAroundPost(xw.session.client, after_commit=True)  # type: ignore[arg-type]
    with pytest.raises(Killed):
        await xw.run()
    xw.client = xw.session.client
    xw.service.prepare()
    assert xw.job("INV-1").state is JobState.IN_FLIGHT  # its lease still runs
    xw.sandbox.advance(xw.service.options.lease_seconds + 1)
    await xw.run()
    assert xw.job("INV-1").state is JobState.POSTED
    recovered = [e for e in xw.events("INV-1") if e.outcome == "recovered"]
    assert len(recovered) == 1 and "ran out" in recovered[0].message
    assert xw.calls("salesentry/SalesEntries", method="POST") == 1
