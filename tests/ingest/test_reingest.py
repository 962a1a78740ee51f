"""Re-ingest: unchanged is a no-op, a change before posting updates the document and re-queues
its job, a change once Exact may hold the document refuses the whole file."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from exact_tui.services.ingest import IngestError, ingest_bytes
from exact_tui.store.engine import Store
from exact_tui.store.models import ExportJob, Invoice, InvoiceLine
from tests.ingest.helpers import EXAMPLE, dump, encode, example, small


def _job(store: Store, number: str) -> dict[str, Any]:
    with store.engine.connect() as conn:
        row = conn.execute(
            text("SELECT * FROM export_job WHERE document_number = :n"), {"n": number}
        ).one()
    return dict(row._mapping)


def _set_job(store: Store, number: str, **values: Any) -> None:
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    with store.engine.begin() as conn:
        conn.execute(
            text(f"UPDATE export_job SET {assignments} WHERE document_number = :number"),
            {**values, "number": number},
        )


def test_the_same_file_twice_changes_nothing(seeded: Store) -> None:
    before = dump(seeded)
    summary = ingest_bytes(seeded, "again.json", EXAMPLE.read_bytes())
    assert dump(seeded) == before
    assert sum(summary.added.values()) == sum(summary.updated.values()) == 0
    assert summary.unchanged == {
        "organization": 2,
        "bank_account": 3,
        "customer": 6,
        "invoice": 8,
        "payment": 4,
        "write_off": 2,
    }
    assert summary.jobs_created == summary.jobs_requeued == 0


def test_spelling_that_validates_to_the_same_record_is_unchanged(seeded: Store) -> None:
    document = example()
    document["bank_accounts"][1]["iban"] = "nl20 ingb 0001 2345 67"
    document["invoices"][1]["lines"][0]["amount"] = "195.00"  # was the number 195
    document["invoices"][1]["currency"] = "EUR"  # was the default
    document["customers"][0]["name"] = "  Grachtenpand Media B.V.\u200f "
    before = dump(seeded)
    summary = ingest_bytes(seeded, "respelled.json", encode(document))
    assert sum(summary.updated.values()) == 0
    assert dump(seeded) == before


def test_a_failed_invoice_changed_is_updated_and_back_to_pending(seeded: Store) -> None:
    _set_job(
        seeded,
        "INV-2026-0001",
        state="failed",
        category="validation",
        cause="gl 8020 blocked",
        missing='[{"kind": "gl", "code": "8020"}]',
        last_error="Exact refused the entry",
        attempts=2,
    )
    document = example()
    invoice = document["invoices"][0]
    invoice["date"] = "2026-01-06"
    invoice["lines"] = [
        {"amount": "2400.00", "gl_code": "8000", "vat_code": "21"},
        {"amount": "100.00", "gl_code": "8010", "vat_code": "21"},
    ]
    summary = ingest_bytes(seeded, "fix.json", encode(document))

    assert summary.updated["invoice"] == 1
    assert summary.unchanged["invoice"] == 7
    assert (summary.jobs_created, summary.jobs_requeued) == (0, 1)
    job = _job(seeded, "INV-2026-0001")
    assert job["state"] == "pending"
    assert job["category"] is job["cause"] is job["missing"] is job["last_error"] is None
    assert job["attempts"] == 2  # history stays
    assert str(job["document_date"]) == "2026-01-06"
    with seeded.engine.connect() as conn:
        lines = conn.execute(
            select(InvoiceLine.position, InvoiceLine.amount, InvoiceLine.gl_code)
            .join(Invoice, col(Invoice.id) == col(InvoiceLine.invoice_id))
            .where(Invoice.number == "INV-2026-0001")
            .order_by(col(InvoiceLine.position))
        ).all()
        events = conn.execute(
            text("SELECT outcome, message FROM export_event WHERE job_id = :id"), {"id": job["id"]}
        ).all()
    assert [tuple(line) for line in lines] == [
        (0, Decimal("2400.00"), "8000"),
        (1, Decimal("100.00"), "8010"),
    ]
    assert [tuple(event) for event in events] == [
        (
            "updated",
            "invoice INV-2026-0001 updated by ingest of fix.json; back to pending (was failed)",
        )
    ]


def test_a_pending_document_changed_stays_pending_with_an_event(seeded: Store) -> None:
    document = example()
    document["payments"][0]["description"] = "SEPA transfer, corrected reference"
    summary = ingest_bytes(seeded, "fix.json", encode(document))
    assert summary.updated["payment"] == 1
    assert summary.jobs_requeued == 0
    job = _job(seeded, "PAY-2026-0001")
    assert job["state"] == "pending"
    with seeded.engine.connect() as conn:
        messages = conn.execute(
            text("SELECT message FROM export_event WHERE job_id = :id"), {"id": job["id"]}
        ).scalars()
        assert list(messages) == ["payment PAY-2026-0001 updated by ingest of fix.json"]


@pytest.mark.parametrize(
    ("state", "entry", "expected"),
    [
        (
            "posted",
            70001,
            "invoices[0]: invoice INV-2026-0001 was already posted to Exact as entry 70001: "
            "it cannot change; issue a credit note instead",
        ),
        (
            "in_flight",
            None,
            "invoices[0]: invoice INV-2026-0001 is being posted to Exact right now: it cannot "
            "change; once it is posted, issue a credit note instead",
        ),
        (
            "unknown",
            None,
            "invoices[0]: invoice INV-2026-0001 may already be in Exact (its last export attempt "
            "has no known outcome): it cannot change until that job is settled",
        ),
    ],
)
def test_an_invoice_exact_may_hold_cannot_change(
    seeded: Store, state: str, entry: int | None, expected: str
) -> None:
    _set_job(seeded, "INV-2026-0001", state=state, exact_entry_number=entry)
    document = example()
    document["invoices"][0]["lines"][0]["amount"] = "2500.00"
    document["customers"].append({"number": "C9999", "name": "New in this file"})
    before = dump(seeded)
    with pytest.raises(IngestError) as caught:
        ingest_bytes(seeded, "late.json", encode(document))
    assert f"late.json: {expected}" in str(caught.value)
    assert dump(seeded) == before


def test_posted_payments_and_write_offs_are_refused_with_their_own_remedy(seeded: Store) -> None:
    _set_job(seeded, "PAY-2026-0002", state="posted", exact_entry_number=70002)
    _set_job(seeded, "WO-2026-0001", state="posted", exact_entry_number=None)
    document = example()
    document["payments"][1]["amount"] = "2000.00"
    document["write_offs"][0]["amount"] = "50.00"
    before = dump(seeded)
    with pytest.raises(IngestError) as caught:
        ingest_bytes(seeded, "late.json", encode(document))
    message = str(caught.value)
    assert "(2 problems)" in message
    assert (
        "payments[1]: payment PAY-2026-0002 was already posted to Exact as entry 70002: it "
        "cannot change; book the correction as a new payment instead"
    ) in message
    assert (
        "write_offs[0]: write-off WO-2026-0001 was already posted to Exact: it cannot change; "
        "book the correction as a new write-off instead"
    ) in message
    assert dump(seeded) == before


def test_unchanged_posted_documents_and_changed_master_data_are_fine(seeded: Store) -> None:
    _set_job(seeded, "INV-2026-0001", state="posted", exact_entry_number=70001)
    document = example()
    document["customers"][0]["name"] = "Grachtenpand Media Group B.V."
    document["organizations"][1]["name"] = "Workhub Gent"
    document["bank_accounts"][1]["organization"] = "HUB-BE"
    summary = ingest_bytes(seeded, "master.json", encode(document))
    assert summary.updated["customer"] == summary.updated["organization"] == 1
    assert summary.updated["bank_account"] == 1
    assert summary.unchanged["invoice"] == 8
    assert _job(seeded, "INV-2026-0001")["state"] == "posted"
    with seeded.engine.connect() as conn:
        name = conn.execute(text("SELECT name FROM customer WHERE number = 'C1001'")).scalar_one()
        organization = conn.execute(
            text(
                "SELECT o.code FROM bank_account b JOIN organization o "
                "ON o.id = b.organization_id WHERE b.iban = 'NL20INGB0001234567'"
            )
        ).scalar_one()
    assert (name, organization) == ("Grachtenpand Media Group B.V.", "HUB-BE")


def test_a_later_file_refers_to_what_the_store_holds(seeded: Store) -> None:
    later = {
        "invoices": [
            {
                "number": "INV-2026-0100",
                "date": "2026-03-01",
                "customer": "C1002",
                "bank_account": "BE71 0961 2345 6769",
                "lines": [{"amount": "10.00", "gl_code": "700000", "vat_code": "21"}],
            }
        ],
        "payments": [
            {
                "number": "PAY-2026-0100",
                "date": "2026-03-02",
                "amount": "12.10",
                "customer": "C1002",
                "bank_account": "BE71096123456769",
                "invoice": "INV-2026-0100",
            }
        ],
        "write_offs": [
            {
                "number": "WO-2026-0100",
                "date": "2026-04-01",
                "amount": "1.00",
                "invoice": "INV-2026-0004",
                "kind": "write_off",
            }
        ],
    }
    summary = ingest_bytes(seeded, "march.json", encode(later))
    assert (summary.added["invoice"], summary.added["payment"], summary.added["write_off"]) == (
        1,
        1,
        1,
    )
    assert summary.jobs_created == 3
    assert _job(seeded, "WO-2026-0100")["document_kind"] == "write_off"


def test_a_document_stored_without_a_job_gets_one_when_it_changes(store: Store) -> None:
    ingest_bytes(store, "small.json", encode(small()))
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM export_job WHERE document_number = 'INV-1'"))
    document = small()
    document["invoices"][0]["description"] = "now with a description"
    summary = ingest_bytes(store, "small.json", encode(document))
    assert (summary.updated["invoice"], summary.jobs_created) == (1, 1)
    assert _job(store, "INV-1")["state"] == "pending"


def test_new_documents_get_a_pending_job_each(store: Store) -> None:
    summary = ingest_bytes(store, "small.json", encode(small()))
    assert summary.jobs_created == 3
    with store.engine.connect() as conn:
        jobs = conn.execute(
            select(
                ExportJob.document_kind,
                ExportJob.document_number,
                ExportJob.document_date,
                ExportJob.state,
                ExportJob.attempts,
            ).order_by(col(ExportJob.id))
        ).all()
    assert [tuple(job) for job in jobs] == [
        ("invoice", "INV-1", dt.date(2026, 1, 5), "pending", 0),
        ("payment", "PAY-1", dt.date(2026, 1, 10), "pending", 0),
        ("write_off", "WO-1", dt.date(2026, 3, 1), "pending", 0),
    ]
