"""Failures grouped by cause across tenants, and the retry by cause across tenants: one
grouping serves a tenant's Export log and the fleet; the retry goes tenant by tenant through
each tenant's own store, with the retry rules and an audit row per tenant
(docs/tenants.md §Failures by cause, every tenant)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import col, select

from exact_tui.domain.states import Category, JobState
from exact_tui.domain.transitions import (
    Outcome,
    OutcomeKind,
    Policy,
    after_attempt,
    blocked,
    requeued,
)
from exact_tui.services import job_state
from exact_tui.services.audit import Actor
from exact_tui.services.export_log import (
    failure_groups,
    failures_by_cause_all_tenants,
    retry_check,
    retry_preview,
    retry_preview_all_tenants,
)
from exact_tui.services.intents import IntentRefused
from exact_tui.services.intents.retry import retry_across_tenants
from exact_tui.services.jobs import JobFilter
from exact_tui.store.engine import Store
from exact_tui.store.models import Audit, ExportEvent, ExportJob, SyncRun, Tenant
from tests.console_seed import NOW, FrozenClock
from tests.fleet_seed import GAP, OUTAGE, OUTAGE_JOBS, OUTAGE_SINCE, REFUSAL, job, seed_fleet

OPS = Actor("ops", "tui", "10.0.0.7")
BY_OUTAGE = JobFilter(category=Category.TRANSIENT, cause=OUTAGE)


@pytest.fixture
def fleet(store: Store) -> Store:
    seed_fleet(store)
    return store


def _jobs(store: Store) -> dict[tuple[str, str], ExportJob]:
    """Every job by (tenant code, document number)."""
    with store.all_tenants().read() as session:
        codes = {t.id: t.code for t in session.exec(select(Tenant))}
        return {(codes[j.tenant_id], j.document_number): j for j in session.exec(select(ExportJob))}


def test_failures_across_tenants_are_grouped_by_cause_with_their_tenants(fleet: Store) -> None:
    causes = failures_by_cause_all_tenants(fleet)
    assert [(c.group.category, c.group.cause, c.group.count) for c in causes] == [
        (Category.TRANSIENT, OUTAGE, 6),
        (Category.MAPPING, GAP, 1),
        (Category.VALIDATION, REFUSAL, 1),
    ]
    outage = causes[0]
    assert outage.group.states == {JobState.RETRY_WAIT: 4, JobState.FAILED: 2}
    assert outage.group.since == OUTAGE_SINCE
    assert [(t.code, t.count) for t in outage.tenants] == list(OUTAGE_JOBS.items())
    acme = outage.tenants[0]
    assert acme.name == "Acme B.V." and acme.since == OUTAGE_SINCE
    assert acme.states == {JobState.RETRY_WAIT: 2, JobState.FAILED: 1}
    assert outage.tenants[2].since == NOW - dt.timedelta(minutes=5)
    assert outage.filter == BY_OUTAGE


def test_a_tenants_groups_are_its_share_of_the_fleets(fleet: Store) -> None:
    """One grouping serves both: a tenant's Export log counts what the fleet view gives it."""
    across = failures_by_cause_all_tenants(fleet)
    for code in ("acme", "bolt", "corvo"):
        own = {
            (g.category, g.cause): (g.count, g.since) for g in failure_groups(fleet.tenant(code))
        }
        share = {
            (c.group.category, c.group.cause): (t.count, t.since)
            for c in across
            for t in c.tenants
            if t.code == code
        }
        assert own == share


def test_a_filter_narrows_the_grouping_across_tenants(fleet: Store) -> None:
    causes = failures_by_cause_all_tenants(fleet, JobFilter(state=JobState.FAILED))
    outage = next(c for c in causes if c.group.cause == OUTAGE)
    assert [(t.code, t.count) for t in outage.tenants] == [("acme", 1), ("corvo", 1)]


def test_the_preview_counts_jobs_and_tenants(fleet: Store) -> None:
    preview = retry_preview_all_tenants(fleet, BY_OUTAGE)
    assert (preview.jobs, preview.tenants) == (6, 3)
    assert preview.preview.states == {JobState.RETRY_WAIT: 4, JobState.FAILED: 2}
    refusal = retry_preview_all_tenants(fleet, JobFilter(cause=REFUSAL))
    # Refused by Exact and nothing changed since in that tenant: asked about first.
    assert (refusal.jobs, refusal.tenants, refusal.preview.unchanged) == (1, 1, 1)
    assert (preview.disabled_ids, preview.disabled_jobs) == ((), 0)


def test_the_preview_names_the_jobs_of_disabled_tenants(fleet: Store) -> None:
    """A disabled tenant gets no export: its jobs, retried, wait until it is enabled, and
    the question says how many."""
    with fleet.write() as session:
        bolt = session.exec(select(Tenant).where(Tenant.code == "bolt")).one()
        bolt.disabled_at, bolt.disabled_reason = NOW, "contract ended"
        session.add(bolt)
    preview = retry_preview_all_tenants(fleet, BY_OUTAGE)
    assert (preview.jobs, preview.tenants) == (6, 3)
    assert (preview.disabled_ids, preview.disabled_jobs) == ((bolt.id,), OUTAGE_JOBS["bolt"])


def test_retry_by_cause_moves_each_tenants_jobs_and_nothing_else(fleet: Store) -> None:
    before = _jobs(fleet)
    done = retry_across_tenants(fleet, OPS, BY_OUTAGE, clock=FrozenClock())
    assert [(t.code, t.result.requeued) for t in done.tenants] == list(OUTAGE_JOBS.items())
    assert done.total.requeued == 6
    assert done.total.message == "6 jobs in 3 tenants retried: 6 jobs back to pending"
    after = _jobs(fleet)
    for key, was in before.items():
        now = after[key]
        if was.cause == OUTAGE:
            assert now.state is JobState.PENDING and now.cause is None, key
        else:
            assert (now.state, now.cause, now.updated_at) == (was.state, was.cause, was.updated_at)
    assert after[("acme", "INV-4")].state is JobState.FAILED  # another cause, same tenant
    with fleet.all_tenants().read() as session:
        codes = {t.id: t.code for t in session.exec(select(Tenant))}
        audits = session.exec(select(Audit).order_by(col(Audit.id))).all()
    assert [(codes[a.tenant_id], a.target, a.actor) for a in audits if a.tenant_id] == [
        ("acme", "cause across tenants", "ops"),
        ("bolt", "cause across tenants", "ops"),
        ("corvo", "cause across tenants", "ops"),
    ]
    assert [a.detail["requeued"] for a in audits if a.detail] == [3, 2, 1]
    assert all(a.detail and a.detail["filter"]["cause"] == OUTAGE for a in audits)
    # Every view agrees afterwards: nothing of the outage is left to group or retry.
    assert all(c.group.cause != OUTAGE for c in failures_by_cause_all_tenants(fleet))
    assert retry_preview_all_tenants(fleet, BY_OUTAGE).tenants == 0


def test_unknown_jobs_of_the_cause_are_looked_up_not_sent(store: Store) -> None:
    with store.all_tenants().write() as session:
        session.add(Tenant(code="acme", name="Acme"))
    lost = "sent, but the answer was lost: looked up in Exact first"
    for code in ("default", "acme"):
        with store.tenant(code).write() as session:
            session.add(job(1, JobState.UNKNOWN, category=Category.AMBIGUOUS, cause=lost))
    done = retry_across_tenants(store, OPS, JobFilter(cause=lost), clock=FrozenClock())
    assert (done.total.requeued, done.total.lookups) == (0, 2)
    assert all(j.state is JobState.UNKNOWN for j in _jobs(store).values())


def test_a_retry_across_tenants_names_a_cause(fleet: Store) -> None:
    before = _jobs(fleet)
    with pytest.raises(IntentRefused, match="by cause"):
        retry_across_tenants(fleet, OPS, JobFilter(category=Category.TRANSIENT))
    assert {k: (j.state, j.updated_at) for k, j in _jobs(fleet).items()} == {
        k: (j.state, j.updated_at) for k, j in before.items()
    }


def test_a_cause_keeps_its_start_through_retries_and_a_new_cause_starts_again(
    store: Store,
) -> None:
    """What "since" reads: set when the cause changes, kept while it stays."""
    with store.write() as session:
        session.add(job(1, JobState.IN_FLIGHT))
    policy = Policy()
    down = Outcome(OutcomeKind.NOT_SENT, OUTAGE, 503)
    times = [NOW + dt.timedelta(minutes=m) for m in (0, 10, 20)]
    for at in times[:2]:
        with store.write() as session:
            row = session.exec(select(ExportJob)).one()
            row.state = JobState.IN_FLIGHT
            t = after_attempt(down, job_state.facts(row), now=at, policy=policy, jitter=0.5)
            job_state.apply(session, row, t, now=at)
    with store.read() as session:
        row = session.exec(select(ExportJob)).one()
    assert (row.cause, row.cause_since) == (OUTAGE, times[0])
    with store.write() as session:
        row = session.exec(select(ExportJob)).one()
        other = Outcome(OutcomeKind.NOT_SENT, "could not reach Exact (ConnectError)")
        t = after_attempt(other, job_state.facts(row), now=times[2], policy=policy, jitter=0.5)
        job_state.apply(session, row, t, now=times[2])
    with store.read() as session:
        row = session.exec(select(ExportJob)).one()
    assert row.cause_since == times[2]
    with store.write() as session:
        row = session.exec(select(ExportJob)).one()
        job_state.apply(session, row, requeued("retry by ops"), now=times[2])
    with store.read() as session:
        row = session.exec(select(ExportJob)).one()
    assert (row.cause, row.cause_since) == (None, None)


def test_a_bulk_change_keeps_the_start_of_a_cause_that_stays(store: Store) -> None:
    with store.write() as session:
        session.add(job(1, JobState.NEEDS_MAPPING, category=Category.MAPPING, cause=GAP, since=NOW))
        session.add(job(2, JobState.NEEDS_MAPPING, category=Category.MAPPING, cause=GAP, since=NOW))
    later = NOW + dt.timedelta(hours=1)
    with store.read() as session:
        first, second = session.exec(select(ExportJob).order_by(col(ExportJob.id))).all()
    assert first.id is not None and second.id is not None
    with store.write() as session:
        job_state.apply_bulk(
            session.connection(),
            first.tenant_id,
            [
                (first.id, blocked(Category.MAPPING, GAP), {}),
                (second.id, blocked(Category.MAPPING, "another gap"), {}),
            ],
            now=later,
        )
    with store.read() as session:
        first, second = session.exec(select(ExportJob).order_by(col(ExportJob.id))).all()
    assert (first.cause, first.cause_since) == (GAP, NOW)
    assert (second.cause, second.cause_since) == ("another gap", later)


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        (None, 1),
        (SyncRun(division=100001, entity="accounts", trigger="daily"), 0),
        (SyncRun(division=100002, entity="accounts", trigger="daily"), 1),
        (SyncRun(division=100001, entity="accounts", trigger="daily", error="503"), 1),
        (Audit(actor="ops", origin="tui", action="map", target="gl 8000"), 0),
        (Audit(actor="ops", origin="tui", action="map", target="gl", result="refused: x"), 1),
        (Audit(actor="ops", origin="tui", action="retry", target="job 1"), 1),
    ],
)
def test_a_refusal_nothing_changed_since_is_counted_as_such(
    fleet: Store, since: SyncRun | Audit | None, expected: int
) -> None:
    """What could change Exact's answer: a successful import of the job's division, or an
    operator's fix, after the refusal; the preview and a job's own check agree."""
    acme = fleet.tenant("acme")
    with acme.write() as session:
        refused = session.exec(select(ExportJob).where(col(ExportJob.cause) == REFUSAL)).one()
        assert refused.id is not None
        session.add(
            ExportEvent(job_id=refused.id, at=NOW, level="error", outcome="failed", message="x")
        )
        if since is not None:
            stamp = NOW + dt.timedelta(minutes=5)
            if isinstance(since, SyncRun):
                since.started_at = since.finished_at = stamp
            else:
                since.at = stamp
            session.add(since)
    preview = retry_preview_all_tenants(fleet, JobFilter(cause=REFUSAL))
    assert preview.preview.unchanged == expected
    assert retry_preview(acme, JobFilter(cause=REFUSAL)).unchanged == expected
    check = retry_check(acme, refused.id)
    assert check is not None and check.unchanged is bool(expected)


def test_a_fix_in_another_tenant_does_not_count_for_a_refusal(fleet: Store) -> None:
    with fleet.tenant("acme").write() as session:
        refused = session.exec(select(ExportJob).where(col(ExportJob.cause) == REFUSAL)).one()
        assert refused.id is not None
        session.add(
            ExportEvent(job_id=refused.id, at=NOW, level="error", outcome="failed", message="x")
        )
    later = NOW + dt.timedelta(minutes=5)
    with fleet.tenant("bolt").write() as session:
        session.add(Audit(at=later, actor="ops", origin="tui", action="map", target="gl 8000"))
        session.add(
            SyncRun(
                division=100001,
                entity="accounts",
                trigger="daily",
                started_at=later,
                finished_at=later,
            )
        )
    assert retry_preview_all_tenants(fleet, JobFilter(cause=REFUSAL)).preview.unchanged == 1


def test_a_retry_touches_only_the_tenants_counted_and_says_when_the_count_changed(
    fleet: Store,
) -> None:
    """Between the counted question and the confirmation the queue moves on: a tenant that
    came into the cause meanwhile is not touched (it was not in the question), and a different
    number of jobs in the tenants counted is said, not passed over."""
    asked = retry_preview_all_tenants(fleet, BY_OUTAGE)
    assert (asked.jobs, asked.tenants) == (6, 3)
    with fleet.tenant("default").write() as session:
        session.add(job(7, JobState.RETRY_WAIT, category=Category.TRANSIENT, cause=OUTAGE))
    done = retry_across_tenants(fleet, OPS, BY_OUTAGE, clock=FrozenClock(), asked=asked)
    assert [t.code for t in done.tenants] == ["acme", "bolt", "corvo"]
    assert done.total.message == "6 jobs in 3 tenants retried: 6 jobs back to pending"
    assert _jobs(fleet)[("default", "INV-7")].state is JobState.RETRY_WAIT
    # Asked again: the new job is counted; one more fails in a counted tenant meanwhile.
    asked = retry_preview_all_tenants(fleet, BY_OUTAGE)
    assert (asked.jobs, asked.tenants) == (1, 1)
    with fleet.tenant("default").write() as session:
        session.add(job(8, JobState.FAILED, category=Category.TRANSIENT, cause=OUTAGE))
    done = retry_across_tenants(fleet, OPS, BY_OUTAGE, clock=FrozenClock(), asked=asked)
    assert done.total.requeued == 2
    assert done.total.message == (
        "2 jobs in 1 tenant retried: 2 jobs back to pending "
        "(1 job counted when asked: the queue changed meanwhile)"
    )


def test_causes_that_differ_only_in_case_or_spaces_are_retried_apart(store: Store) -> None:
    """Exact's messages are kept as they came: "…Exact" and "…exact" and one with a trailing
    space are three causes, grouped and retried apart (on SQLite and PostgreSQL alike)."""
    causes = ("503 from Exact", "503 from exact", "503 from Exact ")
    with store.write() as session:
        for n, cause in enumerate(causes, start=1):
            session.add(job(n, JobState.FAILED, category=Category.TRANSIENT, cause=cause))
    grouped = {c.group.cause: c.group.count for c in failures_by_cause_all_tenants(store)}
    assert grouped == dict.fromkeys(causes, 1)
    asked = retry_preview_all_tenants(store, JobFilter(cause=causes[0]))
    assert asked.jobs == 1
    done = retry_across_tenants(store, OPS, JobFilter(cause=causes[0]), asked=asked)
    assert done.total.requeued == 1
    with store.read() as session:
        states = {j.cause: j.state for j in session.exec(select(ExportJob))}
    assert states == {
        None: JobState.PENDING,
        causes[1]: JobState.FAILED,
        causes[2]: JobState.FAILED,
    }
