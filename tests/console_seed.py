"""A small store that gives the console's screens something to show, at a frozen time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from exact_tui.domain.states import Category, ConnectionStatus, DocumentKind, JobState
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    ApiErrorRecord,
    BankAccount,
    Budget,
    Customer,
    Division,
    ExactConnection,
    ExportEvent,
    ExportJob,
    Invoice,
    InvoiceLine,
    OAuthToken,
    Organization,
    Payment,
    SyncRun,
    WorkerHeartbeat,
    WriteOff,
)

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
MAPPING_CAUSE = "vat 21-EU missing in division 100001"


@dataclass
class FrozenClock:
    at: dt.datetime = NOW

    def now(self) -> dt.datetime:
        return self.at

    async def sleep(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


def _ago(minutes: float) -> dt.datetime:
    return NOW - dt.timedelta(minutes=minutes)


def seed(store: Store, *, customer_name: str = "Jansen BV", text: str | None = None) -> None:
    """Two divisions (one refused), eight jobs in every interesting state, their events.
    `text`, when given, is planted in every free-text field (the hostile-text test)."""
    odd = text or ""
    # A document number holds at most 64 characters (the column, as ingest checks): it carries
    # as much of `text` as fits.
    numbered = odd[: 64 - len("INV-2026-0000")]
    with store.write() as s:
        s.add(
            ExactConnection(
                region="nl",
                base_url="https://start.exactonline.nl",
                client_id="client",
                redirect_uri="http://localhost:8765/callback",
                user_name=f"Jan Jansen{odd}",
                status=ConnectionStatus.CONNECTED,
                activated_at=dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC),
                connected_at=_ago(60 * 24 * 3),
                updated_at=NOW,
            )
        )
        s.add(Division(code=100001, description=f"Demo NL BV{odd}", imported_at=_ago(3)))
        s.add(
            Division(
                code=100002,
                description="Demo BE NV",
                accessible=False,
                access_reason=f"NoDivisionAccess{odd}",
            )
        )
        s.add(Organization(id=1, code="ORG", name="Coworking Amsterdam", content_hash="x"))
        s.flush()
        s.add(
            OAuthToken(
                blob=b"not a real token",
                key_id="k1",
                issued_at=_ago(2),
                expires_at=NOW + dt.timedelta(minutes=8),
                refresh_expires_at=NOW + dt.timedelta(days=29),
            )
        )
        s.add(
            Budget(
                division=100001,
                minutely_limit=60,
                minutely_remaining=48,
                minutely_reset_at=NOW + dt.timedelta(seconds=32),
                daily_limit=5000,
                daily_remaining=3100,
                daily_reset_at=NOW + dt.timedelta(hours=14),
                updated_at=NOW,
            )
        )
        s.add(
            SyncRun(
                division=100001,
                entity="accounts",
                trigger="daily",
                started_at=_ago(4),
                finished_at=_ago(3),
            )
        )
        for minutes in (10, 20):
            s.add(
                ApiErrorRecord(
                    division=100001,
                    endpoint="salesentry/SalesEntries",
                    status=400,
                    at=_ago(minutes),
                )
            )
        s.add(BankAccount(id=1, iban="NL91ABNA0417164300", organization_id=1, content_hash="x"))
        s.add(Customer(id=1, number="C0001", name=customer_name + odd, content_hash="x"))
        s.add(Customer(id=2, number="C0002", name="De Vries & Zn", content_hash="x"))
        s.flush()
        for n in range(1, 7):
            s.add(
                Invoice(
                    id=n,
                    number=f"INV-2026-{n:04d}{numbered}",
                    date=dt.date(2026, 2, n),
                    customer_id=1 if n % 2 else 2,
                    bank_account_id=1,
                    description=f"Desk rental February{odd}",
                    content_hash="x",
                )
            )
        s.flush()
        for n in range(1, 7):
            s.add(
                InvoiceLine(
                    invoice_id=n,
                    position=1,
                    amount=Decimal("1000.00"),
                    gl_code="8000",
                    vat_code="21",
                    vat_amount=Decimal("210.00"),
                    description=f"Desk{odd}",
                )
            )
        s.add(
            Payment(
                id=1,
                number="PAY-2026-0001",
                date=dt.date(2026, 2, 20),
                amount=Decimal("1210.00"),
                customer_id=1,
                bank_account_id=1,
                invoice_id=1,
                content_hash="x",
            )
        )
        s.add(
            WriteOff(
                id=1,
                number="WO-2026-0001",
                date=dt.date(2026, 2, 25),
                amount=Decimal("15.00"),
                invoice_id=3,
                kind="collection_costs",
                content_hash="x",
            )
        )
        s.flush()
        jobs: list[dict[str, Any]] = [
            dict(kind=DocumentKind.INVOICE, doc=1, state=JobState.POSTED, entry=26001),
            dict(
                kind=DocumentKind.INVOICE,
                doc=2,
                state=JobState.NEEDS_MAPPING,
                category=Category.MAPPING,
                cause=MAPPING_CAUSE + odd,
            ),
            dict(
                kind=DocumentKind.INVOICE,
                doc=3,
                state=JobState.NEEDS_MAPPING,
                category=Category.MAPPING,
                cause=MAPPING_CAUSE + odd,
            ),
            dict(
                kind=DocumentKind.INVOICE,
                doc=4,
                state=JobState.FAILED,
                category=Category.VALIDATION,
                cause=f"GL 8000 is not a revenue account{odd}",
                error=f"Grootboekrekening 8000 is geen opbrengstenrekening{odd}",
                http=400,
            ),
            dict(
                kind=DocumentKind.INVOICE,
                doc=5,
                state=JobState.UNKNOWN,
                category=Category.TRANSIENT,
                cause="timeout after the request was sent",
            ),
            dict(kind=DocumentKind.INVOICE, doc=6, state=JobState.PENDING),
            dict(kind=DocumentKind.PAYMENT, doc=1, state=JobState.POSTED, entry=26002),
            dict(
                kind=DocumentKind.WRITE_OFF,
                doc=1,
                state=JobState.NEEDS_MAPPING,
                category=Category.BINDING,
                cause="bank account NL91ABNA0417164300 is not bound",
                division=None,
            ),
        ]
        numbers = {
            DocumentKind.INVOICE: lambda n: f"INV-2026-{n:04d}{numbered}",
            DocumentKind.PAYMENT: lambda n: f"PAY-2026-{n:04d}",
            DocumentKind.WRITE_OFF: lambda n: f"WO-2026-{n:04d}",
        }
        for job_id, job in enumerate(jobs, start=1):
            s.add(
                ExportJob(
                    id=job_id,
                    document_kind=job["kind"],
                    document_id=job["doc"],
                    document_number=numbers[job["kind"]](job["doc"]),
                    document_date=dt.date(2026, 2, job["doc"]),
                    division=job.get("division", 100001),
                    state=job["state"],
                    category=job.get("category"),
                    cause=job.get("cause"),
                    missing=[{"kind": "vat", "code": "21-EU"}]
                    if job.get("category") is Category.MAPPING
                    else None,
                    attempts=1 if job["state"] in (JobState.POSTED, JobState.FAILED) else 0,
                    last_error=job.get("error"),
                    last_http_status=job.get("http"),
                    exact_entry_number=job.get("entry"),
                    created_at=_ago(120),
                    updated_at=_ago(60 - job_id),
                    posted_at=_ago(60 - job_id) if job["state"] is JobState.POSTED else None,
                )
            )
        s.flush()
        request = {
            "Journal": "70",
            "YourRef": f"INV-2026-0004{numbered}",
            "Customer": "guid",
            "SalesEntryLines": [
                {
                    "GLAccount": "8000",
                    "AmountFC": "1000.00",
                    "VATCode": "21",
                    "Description": f"Desk{odd}",
                }
            ],
        }
        events = [
            (1, "info", "posted", "posted as entry 26001", 201, request),
            (2, "warning", "needs_mapping", f"{MAPPING_CAUSE}{odd}", None, None),
            (3, "warning", "needs_mapping", f"{MAPPING_CAUSE}{odd}", None, None),
            (
                4,
                "error",
                "failed",
                f"Grootboekrekening 8000 is geen opbrengstenrekening{odd}",
                400,
                request,
            ),
            (5, "warning", "unknown", "timeout after the request was sent", None, request),
            (7, "info", "posted", "posted as entry 26002", 201, None),
            (
                8,
                "warning",
                "needs_mapping",
                "bank account NL91ABNA0417164300 is not bound",
                None,
                None,
            ),
        ]
        for minute, (job_id, level, outcome, message, http, body) in enumerate(events):
            s.add(
                ExportEvent(
                    job_id=job_id,
                    at=_ago(50 - minute),
                    level=level,
                    outcome=outcome,
                    message=message,
                    http_status=http,
                    duration_ms=180 if http else None,
                    request=body,
                )
            )


def add_event(store: Store, job_id: int, message: str, *, state: JobState | None = None) -> None:
    """What the worker does: an event, and maybe the job's new state."""
    with store.write() as s:
        s.add(ExportEvent(job_id=job_id, at=NOW, level="info", outcome="attempt", message=message))
        if state is not None:
            job = s.get(ExportJob, job_id)
            assert job is not None
            job.state = state
            s.add(job)


def beat(store: Store) -> None:
    with store.write() as s:
        s.add(
            WorkerHeartbeat(
                worker_id="w1",
                host="ops-1",
                pid=4242,
                started_at=NOW - dt.timedelta(hours=3),
                beat_at=NOW,
            )
        )
