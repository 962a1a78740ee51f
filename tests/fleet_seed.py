"""A fleet in the middle of an Exact outage, for the failures across tenants: three tenants
whose jobs wait on the same 503, one of them also with a refusal and a mapping gap, and a
calm one. The tenants share document numbers, as real companies do."""

from __future__ import annotations

import datetime as dt
import itertools

from exact_tui.domain.states import Category, ConnectionStatus, DocumentKind, JobState
from exact_tui.store.engine import Store
from exact_tui.store.models import ExactConnection, ExportJob, Tenant
from tests.console_seed import NOW

OUTAGE = "Exact answered HTTP 503 with an HTML page instead of JSON"
REFUSAL = "GL 8000 is not a revenue account"
GAP = "vat 21-EU missing in division 100001"
#: When the outage began: the earliest job it still holds failed then.
OUTAGE_SINCE = NOW - dt.timedelta(hours=2, minutes=50)
#: Tenant code -> jobs held by the outage.
OUTAGE_JOBS = {"acme": 3, "bolt": 2, "corvo": 1}

_DOCUMENTS = itertools.count(1)


def job(
    number: int,
    state: JobState,
    *,
    category: Category | None = None,
    cause: str | None = None,
    since: dt.datetime | None = None,
) -> ExportJob:
    """An invoice's job; `since` is when its cause took hold (its last change is NOW)."""
    return ExportJob(
        document_kind=DocumentKind.INVOICE,
        document_id=next(_DOCUMENTS),
        document_number=f"INV-{number}",
        document_date=NOW.date(),
        division=100001,
        state=state,
        category=category,
        cause=cause,
        cause_since=since,
        created_at=NOW - dt.timedelta(hours=4),
        updated_at=NOW,
    )


def _outage(number: int, minutes_ago: int, state: JobState = JobState.RETRY_WAIT) -> ExportJob:
    return job(
        number,
        state,
        category=Category.TRANSIENT,
        cause=OUTAGE,
        since=NOW - dt.timedelta(minutes=minutes_ago),
    )


def seed_fleet(store: Store) -> None:
    """Tenants default (calm), acme, bolt and corvo; acme, bolt and corvo held by the outage."""
    with store.all_tenants().write() as session:
        for code, name in (("acme", "Acme B.V."), ("bolt", "Bolt B.V."), ("corvo", "Corvo B.V.")):
            session.add(Tenant(code=code, name=name))
    plans: dict[str, list[ExportJob]] = {
        "default": [job(1, JobState.POSTED)],
        "acme": [
            _outage(1, 170),
            _outage(2, 60),
            _outage(3, 30, JobState.FAILED),
            job(4, JobState.FAILED, category=Category.VALIDATION, cause=REFUSAL, since=NOW),
            job(5, JobState.NEEDS_MAPPING, category=Category.MAPPING, cause=GAP, since=NOW),
            job(6, JobState.POSTED),
        ],
        "bolt": [_outage(1, 120), _outage(2, 20)],
        "corvo": [_outage(1, 5, JobState.FAILED)],
    }
    for code, jobs in plans.items():
        with store.tenant(code).write() as session:
            session.add(
                ExactConnection(
                    region="nl",
                    base_url="https://start.exactonline.nl",
                    client_id="app",
                    redirect_uri="http://localhost/cb",
                    status=ConnectionStatus.CONNECTED,
                )
            )
            for row in jobs:
                session.add(row)
