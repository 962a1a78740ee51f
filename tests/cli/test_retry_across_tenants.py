"""`exact-tui jobs --all-tenants --by-cause` and `exact-tui retry --all-tenants --cause CAUSE`:
the runbook's way to see what fails everywhere and retry one cause in every tenant, counted and
confirmed, each tenant in its own store (docs/tenants.md §Runbook: Exact is down for everyone)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlmodel import select

from exact_tui.cli import group
from exact_tui.domain.states import JobState
from exact_tui.store.engine import Store
from exact_tui.store.models import Audit, ExportJob, Tenant
from tests.console_seed import NOW
from tests.fleet_seed import OUTAGE, OUTAGE_JOBS, REFUSAL, seed_fleet


@pytest.fixture
def fleet(store: Store) -> Store:
    seed_fleet(store)
    return store


def _run(store: Store, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    url = store.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(group, ["--db", url, *args], input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _states(store: Store) -> dict[tuple[str, str], JobState]:
    with store.all_tenants().read() as session:
        codes = {t.id: t.code for t in session.exec(select(Tenant))}
        return {
            (codes[j.tenant_id], j.document_number): j.state
            for j in session.exec(select(ExportJob))
        }


def test_the_causes_across_tenants_are_listed_with_their_tenants(fleet: Store) -> None:
    code, out, _ = _run(fleet, "jobs", "--all-tenants", "--by-cause")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["JOBS", "TENANTS", "CATEGORY", "SINCE", "CAUSE"]
    assert lines[1].split()[:3] == ["6", "3", "transient"] and lines[1].endswith(OUTAGE)
    code, out, _ = _run(fleet, "jobs", "--all-tenants", "--by-cause", "--json")
    causes = json.loads(out)
    assert causes[0]["group"]["count"] == 6
    assert [t["code"] for t in causes[0]["tenants"]] == list(OUTAGE_JOBS)


def test_one_tenants_causes_need_its_tenant(fleet: Store) -> None:
    code, _, err = _run(fleet, "jobs", "--by-cause")
    assert code == 1 and "--tenant" in err
    code, out, _ = _run(fleet, "--tenant", "acme", "jobs", "--by-cause")
    assert code == 0 and OUTAGE in out and REFUSAL in out and len(out.splitlines()) == 4


def test_retry_by_cause_asks_with_the_counts_and_a_no_changes_nothing(fleet: Store) -> None:
    before = _states(fleet)
    code, _, err = _run(fleet, "retry", "--all-tenants", "--cause", OUTAGE, stdin="n\n")
    assert code == 1
    assert "Retry 6 job(s) in 3 tenant(s)?" in err and "nothing retried" in err
    assert _states(fleet) == before


def test_retry_by_cause_says_how_many_jobs_wait_in_disabled_tenants(fleet: Store) -> None:
    with fleet.write() as session:
        bolt = session.exec(select(Tenant).where(Tenant.code == "bolt")).one()
        bolt.disabled_at, bolt.disabled_reason = NOW, "contract ended"
        session.add(bolt)
    code, _, err = _run(fleet, "retry", "--all-tenants", "--cause", OUTAGE, stdin="n\n")
    assert code == 1
    waiting = OUTAGE_JOBS["bolt"]
    assert (
        f"{waiting} of them in 1 disabled tenant(s): they wait until the tenant is enabled"
    ) in err


def test_retry_by_cause_retries_each_tenant_and_says_how_many(fleet: Store) -> None:
    before = _states(fleet)
    code, out, _ = _run(fleet, "retry", "--all-tenants", "--cause", OUTAGE, "--yes")
    assert code == 0, out
    assert out.splitlines() == [
        "acme: 3 jobs back to pending",
        "bolt: 2 jobs back to pending",
        "corvo: 1 job back to pending",
        "6 jobs in 3 tenants retried: 6 jobs back to pending",
    ]
    after = _states(fleet)
    moved = {key for key in before if after[key] != before[key]}
    assert len(moved) == 6 and all(after[key] is JobState.PENDING for key in moved)
    assert after[("acme", "INV-4")] is JobState.FAILED
    with fleet.all_tenants().read() as session:
        codes = {t.id: t.code for t in session.exec(select(Tenant))}
        audits = session.exec(select(Audit)).all()
    assert sorted(
        (codes[a.tenant_id], a.origin) for a in audits if a.target == "cause across tenants"
    ) == [("acme", "cli"), ("bolt", "cli"), ("corvo", "cli")]
    code, out, _ = _run(fleet, "retry", "--all-tenants", "--cause", OUTAGE, "--yes")
    assert code == 0 and "no job of that cause waits in any tenant" in out


def test_retry_across_tenants_is_by_cause(fleet: Store) -> None:
    code, _, err = _run(fleet, "retry", "--all-tenants", "--state", "failed", "--yes")
    assert code == 2 and "--cause" in err
    code, _, err = _run(fleet, "retry", "--all-tenants", "--cause", OUTAGE, "7")
    assert code == 2 and "not job ids" in err


def test_a_retry_confirmed_after_the_queue_moved_says_so(
    fleet: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the operator reads the question, the outage fails one more job of a tenant that
    had none: it was not counted, so it is not retried, and the answer says what was."""
    from exact_tui.cli import exports
    from exact_tui.domain.states import Category
    from tests.fleet_seed import job

    def meanwhile(question: str) -> bool:
        assert "Retry 6 job(s) in 3 tenant(s)?" in question
        with fleet.tenant("default").write() as session:
            session.add(job(9, JobState.RETRY_WAIT, category=Category.TRANSIENT, cause=OUTAGE))
        return True

    monkeypatch.setattr(exports, "confirm", meanwhile)
    code, out, _ = _run(fleet, "retry", "--all-tenants", "--cause", OUTAGE)
    assert code == 0, out
    assert out.splitlines()[-1] == "6 jobs in 3 tenants retried: 6 jobs back to pending"
    assert _states(fleet)[("default", "INV-9")] is JobState.RETRY_WAIT
