"""Reconciliation: what Exact holds in a period against the store. Nothing after a clean run;
an entry booked twice in Exact and one deleted there each found, with the calls it spent, and
the jobs moved (a loud duplicate; a lookup again). It never posts or deletes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

from click.testing import CliRunner
from sqlmodel import select

from exact_tui.cli import group
from exact_tui.domain.reconciliation import (
    FindingKind,
    OurDocument,
    TheirEntry,
    reconcile,
)
from exact_tui.domain.states import Category, DocumentKind, JobState
from exact_tui.secret_store import open_secret_store
from exact_tui.services.audit import Actor
from exact_tui.services.export import ExportOptions
from exact_tui.services.export.api import ExactApi
from exact_tui.services.intents import Intents
from exact_tui.services.reconcile import (
    ReconcileOptions,
    Reconciler,
    ReconcileRefused,
    ReconcileReport,
    reconcile_report,
    request_reconcile,
)
from exact_tui.services.runtime import LinkOptions, WorkerSetup, build_worker
from exact_tui.services.status import status_report
from exact_tui.services.worker import Lanes, WorkerOptions
from exact_tui.store.models import ReconcileRun, SyncRequest
from tests.export.kit import NL, ExportWorld, customer, invoice, payment, write_off

INV = DocumentKind.INVOICE
PAY = DocumentKind.PAYMENT


# ---------------------------------------------------------------- the decision


def test_the_decision_names_duplicates_missing_and_unrecorded_entries() -> None:
    ours = [
        OurDocument(1, INV, "INV-1", "INV-1", JobState.POSTED, "e1"),
        OurDocument(2, INV, "INV-2", "INV-2", JobState.POSTED, "e2"),
        OurDocument(3, INV, "INV-3", "INV-3", JobState.POSTED, "e3"),
        OurDocument(4, INV, "INV-4", "INV-4", JobState.FAILED),
        OurDocument(5, INV, "INV-5", "INV-5", JobState.UNKNOWN),
        OurDocument(6, PAY, "PAY-1", "PAY-1 INV-1", JobState.POSTED, "e6"),
    ]
    theirs = [
        TheirEntry(INV, "e1", 1, "INV-1"),
        TheirEntry(INV, "e2", 2, "inv-2  "),  # as Exact compares: the same reference
        TheirEntry(INV, "e2b", 5, "INV-2"),
        TheirEntry(INV, "e4", 4, "INV-4"),
        TheirEntry(INV, "e5", 7, "INV-5"),
        TheirEntry(PAY, "e6", 8, "PAY-1 INV-1"),
        TheirEntry(INV, "x", 9, "BY-HAND-1"),  # not ours: not a finding
    ]
    found = {(f.kind, f.job_id) for f in reconcile(ours, theirs)}
    assert found == {
        (FindingKind.DUPLICATE, 2),
        (FindingKind.MISSING, 3),
        (FindingKind.UNRECORDED, 4),
    }
    # Read incompletely: nothing is called missing.
    partial = {(f.kind, f.job_id) for f in reconcile(ours, theirs, complete=False)}
    assert (FindingKind.MISSING, 3) not in partial and (FindingKind.DUPLICATE, 2) in partial
    # Kinds do not mix: a bank line with an invoice's reference is not that invoice's.
    other_kind = reconcile(
        ours[:1], [TheirEntry(INV, "e1", 1, "INV-1"), TheirEntry(PAY, "p", 3, "INV-1")]
    )
    assert other_kind == []


# ---------------------------------------------------------------- against the sandbox


async def _posted(xw: ExportWorld) -> None:
    xw.ingest(
        customers=[customer("5")],
        invoices=[invoice("INV-1", "5"), invoice("INV-2", "5")],
        payments=[payment("PAY-1", "5", "10.00", invoice="INV-1")],
    )
    await xw.run()
    xw.ingest(write_offs=[write_off("WO-1", "INV-2", "3.00", "write_off")])
    await xw.run()
    assert set(xw.states().values()) == {JobState.POSTED}


async def _reconcile(xw: ExportWorld, **options: int) -> ReconcileReport:
    async def source() -> ExactApi | None:
        return xw.client

    reconciler = Reconciler(xw.store, source, options=ReconcileOptions(**options), clock=xw.world)
    run_id = request_reconcile(xw.store, Actor("ops", "cli"), since=dt.date(2026, 1, 1))
    assert reconciler.claim("test-worker") == run_id
    await reconciler.run(run_id, Lanes(), asyncio.Event())
    return reconcile_report(xw.store, run_id)


async def test_after_a_clean_export_reconciliation_finds_nothing(xw: ExportWorld) -> None:
    await _posted(xw)
    before, reads = xw.calls(), xw.calls(method="GET")
    report = await _reconcile(xw)
    assert (report.state, report.complete) == ("done", True)
    assert (report.duplicates, report.missing, report.unrecorded) == (0, 0, 0)
    assert report.findings == [] and report.clean
    # Two divisions, three lists each (sales, bank lines, journal lines): one page each.
    assert report.calls == xw.calls() - before == 6
    assert report.entries == 4
    assert xw.calls(method="GET") - reads == 6  # it only read


async def test_planted_damage_is_found_and_the_jobs_move(xw: ExportWorld) -> None:
    await _posted(xw)
    books = xw.sandbox
    twice = xw.job("INV-1").exact_entry_id
    gone = xw.job("PAY-1").exact_entry_id
    assert twice is not None and gone is not None
    books.copy_entry(NL, twice)
    books.delete_entry(NL, gone)
    posts = xw.calls(method="POST")
    report = await _reconcile(xw)
    assert (report.duplicates, report.missing, report.unrecorded) == (1, 1, 0)
    kinds = {(f.kind, f.number) for f in report.findings}
    assert kinds == {(FindingKind.DUPLICATE, "INV-1"), (FindingKind.MISSING, "PAY-1")}
    duplicate = next(f for f in report.findings if f.kind is FindingKind.DUPLICATE)
    assert len(duplicate.entries) == 2 and twice in {e["entry_id"] for e in duplicate.entries}
    assert xw.calls(method="POST") == posts  # nothing posted by reconciliation
    job = xw.job("INV-1")
    assert (job.state, job.category) == (JobState.FAILED, Category.DUPLICATE)
    assert xw.events("INV-1")[-1].level == "error"
    assert xw.job("PAY-1").state is JobState.UNKNOWN
    # Loud on Status.
    status = status_report(xw.store)
    assert status.duplicates == 1 and any("more than once" in a for a in status.alarms)
    # The worker looks the payment up, finds nothing over the horizon, and sends it again.
    await xw.run(advance=60)
    assert xw.job("PAY-1").state is JobState.POSTED
    assert len(xw.ledger()["bank_entries"]) == 1
    # A person reverses the extra invoice entry and retries; the next run is clean.
    extra = next(e["entry_id"] for e in duplicate.entries if e["entry_id"] != twice)
    books.delete_entry(NL, extra)
    Intents(xw.store, Actor("ops", "cli"), clock=xw.world).retry(job.id or 0)
    await xw.run(advance=30)
    assert xw.job("INV-1").state is JobState.POSTED
    again = await _reconcile(xw)
    assert again.clean, again.findings


async def test_a_run_past_its_call_budget_calls_nothing_missing(xw: ExportWorld) -> None:
    await _posted(xw)
    xw.sandbox.delete_entry(NL, xw.job("INV-2").exact_entry_id or "")
    report = await _reconcile(xw, max_calls=1)
    assert report.complete is False and report.missing == 0
    assert "call budget" in (report.result or "")
    assert xw.job("INV-2").state is JobState.POSTED
    assert report.calls <= 2  # one per division at most


async def test_an_entry_with_our_reference_and_no_job_holding_it_is_listed(
    xw: ExportWorld,
) -> None:
    await _posted(xw)
    # INV-3 is refused preflight (unmapped VAT) and waits for a person, while someone booked
    # it by hand in Exact with the reference it would carry.
    xw.ingest(
        invoices=[invoice("INV-3", "5", {"amount": "5.00", "gl_code": "REV", "vat_code": "0"})]
    )
    await xw.run()
    assert xw.job("INV-3").state is JobState.NEEDS_MAPPING
    sent = xw.job("INV-1").sent_request
    assert sent is not None
    await xw.session.client.post(NL, "salesentry/SalesEntries", {**sent, "YourRef": "INV-3"})
    report = await _reconcile(xw)
    (finding,) = report.findings
    assert (finding.kind, finding.number, report.unrecorded) == (
        FindingKind.UNRECORDED,
        "INV-3",
        1,
    )
    assert xw.job("INV-3").state is JobState.NEEDS_MAPPING  # listed, not moved


def test_asking_for_an_unknown_division_is_refused(xw: ExportWorld) -> None:
    try:
        request_reconcile(xw.store, Actor("ops", "cli"), division=999999)
    except ReconcileRefused as refused:
        assert "division 999999 is not known" in str(refused)
    else:
        raise AssertionError("an unknown division was accepted")


def test_the_command_queues_a_run_and_says_so(xw: ExportWorld) -> None:
    url = str(xw.store.url)
    result = CliRunner().invoke(
        group, ["--db", url, "reconcile", "--division", str(NL), "--no-wait", "--json"]
    )
    assert result.exit_code == 0, result.output
    queued = json.loads(result.stdout)
    report = reconcile_report(xw.store, queued["id"])
    assert (report.state, report.division) == ("pending", NL)
    bad = CliRunner().invoke(group, ["--db", url, "reconcile", "--since", "yesterday"])
    assert bad.exit_code == 2


def test_entry_ids_are_compared_whatever_their_case() -> None:
    entry = str(uuid.uuid4())
    ours = [OurDocument(1, INV, "INV-1", "INV-1", JobState.POSTED, entry.upper())]
    assert reconcile(ours, [TheirEntry(INV, entry, 1, "INV-1")]) == []


async def test_the_daily_import_is_followed_by_a_reconciliation(xw: ExportWorld) -> None:
    await _posted(xw)
    with xw.store.write() as session:
        session.add(SyncRequest(trigger="daily", requested_by="schedule"))
    # The documents are dated in March: a year back reaches them.
    setup = WorkerSetup(
        LinkOptions(), ExportOptions(), WorkerOptions(), reconcile=ReconcileOptions(days=365)
    )
    worker, link = build_worker(
        xw.store, open_secret_store("auto"), setup, clock=xw.world, transport=xw.world.transport
    )
    try:
        await worker.run(until_idle=True)
    finally:
        await link.close()
    with xw.store.read() as session:
        runs = list(session.exec(select(ReconcileRun)))
    assert [(run.trigger, run.state, run.duplicates, run.missing) for run in runs] == [
        ("daily", "done", 0, 0)
    ]
    assert runs[0].entries == 4 and runs[0].calls > 0
    assert status_report(xw.store).reconcile is not None
