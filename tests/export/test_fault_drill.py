"""The fault drill, small: real sandbox and worker processes, every fault kind, SIGKILLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.fault_drill import run_drill


@pytest.mark.slow
def test_a_small_fault_drill_loses_and_doubles_nothing(tmp_path: Path, empty_db_url: str) -> None:
    # An empty store (this folder's db_url is the configured store of another sandbox).
    report = run_drill(
        docs=100,
        kills=5,
        seed=11,
        workdir=tmp_path,
        drain_seconds=60,
        say=lambda *_: None,
        db_url=empty_db_url,
    )
    assert report.kills == 5 and report.documents >= 100  # with the case twins
    assert (report.duplicates, report.lost, report.unnamed, report.unsafe_posts) == (0, 0, 0, 0)
    assert report.accounts_twice == 0 and report.wrong_settles == 0
    # The hard cases were there: colliding references, a late commit, a worker stopped past its
    # lease.
    assert report.case_twins > 0 and report.settlements > 1
    assert report.faults.get("commit_late", 0) > 0 and report.stalls == 1
    # Reconciliation: nothing after the drill; the planted damage found, each kind once.
    assert (report.reconciled["duplicates"], report.reconciled["missing"]) == (0, 0)
    assert report.reconciled["unrecorded"] == 0 and report.reconciled["calls"] > 0
    assert (report.damaged["duplicates"], report.damaged["missing"]) == (1, 1)
    # The storm was real: answers were lost, and the lookups settled them.
    assert {"error_after_commit", "commit_then_hang"} <= set(report.faults)
    assert report.lookups > 0
    assert report.states.get("posted", 0) >= 90


@pytest.mark.slow
@pytest.mark.postgres_only("several workers on several hosts share a PostgreSQL store")
def test_a_small_drill_with_several_workers_loses_and_doubles_nothing(
    tmp_path: Path, empty_db_url: str
) -> None:
    report = run_drill(
        docs=60,
        kills=3,
        seed=5,
        workdir=tmp_path,
        drain_seconds=60,
        say=lambda *_: None,
        db_url=empty_db_url,
        workers=3,
    )
    assert report.workers == 3 and report.kills == 3
    assert (report.duplicates, report.lost, report.unnamed, report.unsafe_posts) == (0, 0, 0, 0)
    assert report.accounts_twice == 0 and report.wrong_settles == 0
    assert report.states.get("posted", 0) >= 50


@pytest.mark.slow
def test_a_small_drill_over_several_tenants_loses_and_doubles_nothing(
    tmp_path: Path, empty_db_url: str
) -> None:
    """The documents spread over three tenants, each connected as its own Exact user: nothing
    doubled or lost in any, and each tenant's entries in its own user's divisions only (an
    entry in another tenant's division would count as lost for the tenant that posted it)."""
    report = run_drill(
        docs=60,
        kills=3,
        seed=7,
        workdir=tmp_path,
        drain_seconds=90,
        say=lambda *_: None,
        db_url=empty_db_url,
        tenants=3,
    )
    assert report.tenants == 3 and report.kills == 3
    assert (report.duplicates, report.lost, report.unnamed, report.unsafe_posts) == (0, 0, 0, 0)
    assert report.accounts_twice == 0 and report.wrong_settles == 0
    assert report.states.get("posted", 0) >= 55
    assert (report.damaged["duplicates"], report.damaged["missing"]) == (1, 1)
