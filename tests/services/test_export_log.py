"""The export log's read side: keyset pages, the live tail, grouped failures, a job's detail."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from exact_tui.domain.states import Category, DocumentKind, JobState
from exact_tui.services import export_log
from exact_tui.services.export_log import (
    JobFilter,
    failure_groups,
    job_briefs,
    job_detail,
    log_page,
    log_tail,
)
from exact_tui.store.engine import Store
from exact_tui.store.models import ExportEvent
from tests.console_seed import MAPPING_CAUSE, add_event, seed


@pytest.fixture
def seeded(store: Store) -> Store:
    seed(store)
    return store


def _many_events(store: Store, count: int, job_id: int = 6) -> None:
    with store.write() as s:
        for n in range(count):
            s.add(ExportEvent(job_id=job_id, outcome="attempt", message=f"event {n}"))


def test_pages_walk_the_log_newest_first_without_overlap(seeded: Store) -> None:
    _many_events(seeded, 243)
    seen: list[int] = []
    before = None
    while True:
        page = log_page(seeded, before_id=before, limit=100)
        seen += [event.id for event in page.events]
        if page.next_before_id is None:
            break
        before = page.next_before_id
    assert len(seen) == 250  # 7 seeded + 243
    assert seen == sorted(seen, reverse=True)
    assert page.high_water == seen[0]


def test_events_carry_the_job_and_the_customer(seeded: Store) -> None:
    events = {event.number: event for event in log_page(seeded).events}
    assert events["INV-2026-0004"].state is JobState.FAILED
    assert events["INV-2026-0004"].customer == "De Vries & Zn"
    assert events["PAY-2026-0001"].customer == "Jansen BV"
    assert events["WO-2026-0001"].customer == "Jansen BV"  # through its invoice
    assert events["WO-2026-0001"].division is None


@pytest.mark.parametrize("sparse_jobs", [2_000, 1])
def test_filters_give_the_same_answer_by_index_or_by_walking(
    seeded: Store, sparse_jobs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_log, "SPARSE_JOBS", sparse_jobs)
    numbers = lambda flt: [e.number for e in log_page(seeded, flt).events]  # noqa: E731
    assert numbers(JobFilter(state=JobState.NEEDS_MAPPING)) == [
        "WO-2026-0001",
        "INV-2026-0003",
        "INV-2026-0002",
    ]
    assert numbers(JobFilter(category=Category.MAPPING, division=100001)) == [
        "INV-2026-0003",
        "INV-2026-0002",
    ]
    assert numbers(JobFilter(kind=DocumentKind.PAYMENT)) == ["PAY-2026-0001"]
    assert numbers(JobFilter(text="opbrengsten")) == ["INV-2026-0004"]
    assert numbers(JobFilter(cause=MAPPING_CAUSE)) == ["INV-2026-0003", "INV-2026-0002"]
    assert numbers(JobFilter(state=JobState.RETRY_WAIT)) == []


def test_a_broad_filter_answers_short_pages_and_goes_on(
    seeded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk is bounded: a filter whose events lie far back answers with a short page and
    a cursor, and following the cursor finds them."""
    _many_events(seeded, 60)  # job 6 (pending) fills the newest part of the log
    monkeypatch.setattr(export_log, "SPARSE_JOBS", 0)
    monkeypatch.setattr(export_log, "SCAN_CHUNK", 10)
    monkeypatch.setattr(export_log, "SCAN_BUDGET", 20)
    flt = JobFilter(state=JobState.POSTED)
    page = log_page(seeded, flt, limit=5)
    assert page.events == [] and page.next_before_id is not None
    found: list[str] = []
    while page.next_before_id is not None:
        page = log_page(seeded, flt, before_id=page.next_before_id, limit=5)
        found += [event.number for event in page.events]
    assert found == ["PAY-2026-0001", "INV-2026-0001"]


def test_tail_returns_what_came_after_the_high_water(seeded: Store) -> None:
    first = log_page(seeded)
    assert log_tail(seeded, JobFilter(), first.high_water).events == []
    add_event(seeded, 4, "retried by an operator", state=JobState.PENDING)
    add_event(seeded, 7, "looked up")
    tail = log_tail(seeded, JobFilter(), first.high_water)
    assert [e.message for e in tail.events] == ["looked up", "retried by an operator"]
    assert tail.events[1].state is JobState.PENDING
    assert tail.high_water == first.high_water + 2 and not tail.gap
    only = log_tail(seeded, JobFilter(kind=DocumentKind.PAYMENT), first.high_water)
    assert [e.message for e in only.events] == ["looked up"]
    assert only.high_water == tail.high_water  # non-matching events are not read again


def test_tail_reports_a_gap_instead_of_reading_a_flood(
    seeded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    high = log_page(seeded).high_water
    monkeypatch.setattr(export_log, "TAIL_LIMIT", 5)
    _many_events(seeded, 6)
    tail = log_tail(seeded, JobFilter(), high)
    assert tail.gap and tail.events == [] and tail.high_water == high + 6


def test_failures_grouped_by_cause_largest_first(seeded: Store) -> None:
    groups = failure_groups(seeded)
    assert [(g.category, g.cause, g.count) for g in groups] == [
        (Category.MAPPING, MAPPING_CAUSE, 2),
        (Category.BINDING, "bank account NL91ABNA0417164300 is not bound", 1),
        (Category.TRANSIENT, "timeout after the request was sent", 1),
        (Category.VALIDATION, "GL 8000 is not a revenue account", 1),
    ]
    assert groups[0].states == {JobState.NEEDS_MAPPING: 2}
    assert [g.count for g in failure_groups(seeded, JobFilter(division=100001))] == [2, 1, 1]


def test_job_detail_has_document_attempts_and_request(seeded: Store) -> None:
    add_event(seeded, 4, "retried")
    job = job_detail(seeded, 4)
    assert job is not None
    assert job.state is JobState.FAILED and job.last_http_status == 400
    assert job.attempts[0].message == "retried"
    assert job.attempts[1].has_request and not job.attempts[0].has_request
    assert job.request is not None and job.request["YourRef"] == "INV-2026-0004"
    assert job.document is not None
    assert job.document.amount == Decimal("1210.00")
    assert (job.document.customer_number, job.document.customer_name) == ("C0002", "De Vries & Zn")
    write_off = job_detail(seeded, 8)
    assert write_off is not None and write_off.document is not None
    assert write_off.document.amount == Decimal("15.00")
    assert write_off.document.date == dt.date(2026, 2, 25)
    assert write_off.document.invoice_number == "INV-2026-0003"
    assert write_off.request is None
    assert job_detail(seeded, 999) is None


def test_job_briefs_read_current_states(seeded: Store) -> None:
    add_event(seeded, 2, "mapped", state=JobState.PENDING)
    briefs = job_briefs(seeded, [2, 4, 999])
    assert set(briefs) == {2, 4}
    assert briefs[2].state is JobState.PENDING and briefs[4].state is JobState.FAILED
