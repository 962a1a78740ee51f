"""0006 moves an existing store into tenant 1, "default": every row keeps its id and values and
gains the tenant; keys unique per store become unique per tenant; new rows get fresh ids (on
PostgreSQL too, whose sequences the rebuild must carry over)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from alembic import command
from sqlalchemy import text
from sqlmodel import col, select

from exact_tui.domain.states import ConnectionStatus, JobState
from exact_tui.store import migrations
from exact_tui.store.engine import create_engine, open_store
from exact_tui.store.models import (
    Audit,
    Customer,
    Division,
    ExactConnection,
    ExportEvent,
    ExportJob,
    Invoice,
    InvoiceLine,
    Journal,
    Mapping,
    OAuthToken,
    Organization,
    Tenant,
)
from exact_tui.store.scoping import tenant_key

AT = "2026-03-02 10:00:00"

ROWS: list[tuple[str, dict[str, Any]]] = [
    ("organization", {"id": 7, "code": "ORG", "name": "Org", "content_hash": "h"}),
    ("bank_account", {"id": 3, "iban": "NL91ABNA0417164300", "organization_id": 7,
                      "content_hash": "h"}),
    ("customer", {"id": 11, "number": "C1", "name": "Klant", "content_hash": "h"}),
    ("invoice", {"id": 21, "number": "INV-1", "date": "2026-03-01", "customer_id": 11,
                 "bank_account_id": 3, "currency": "EUR", "content_hash": "h"}),
    ("invoice_line", {"id": 31, "invoice_id": 21, "position": 0, "amount": None,
                      "gl_code": "8000", "vat_code": "21"}),
    ("export_job", {"id": 41, "document_kind": "invoice", "document_id": 21,
                    "document_number": "INV-1", "document_date": "2026-03-01", "state": "posted",
                    "attempts": 1, "lookups_empty": 0, "claim": 2}),
    ("export_event", {"id": 51, "job_id": 41, "level": "info", "outcome": "posted",
                      "message": "posted"}),
    ("division", {"code": 101001, "description": "NL B.V.", "status": 1, "blocking_status": 0,
                  "is_main": True, "accessible": True}),
    ("journal", {"division": 101001, "id": "00000000-0000-4000-8000-000000000001",
                 "code": "70", "description": "Sales", "type": 20, "allow_vat": True,
                 "is_blocked": False}),
    ("mapping", {"id": 61, "division": 101001, "kind": "gl", "platform_code": "8000",
                 "exact_code": "8000", "updated_by": "ops"}),
    ("connection", {"id": 1, "region": "nl", "base_url": "https://start.exactonline.nl",
                    "client_id": "app", "redirect_uri": "http://localhost/cb",
                    "status": "connected", "exports_paused": False}),
    ("oauth_token", {"connection_id": 1, "blob": b"sealed", "key_id": "k", "version": 4}),
    ("audit", {"id": 71, "actor": "ops", "origin": "cli", "host": "local", "action": "ingest",
               "result": "ok"}),
]  # fmt: skip
STAMPED = {
    "invoice": ("created_at", "updated_at"),
    "organization": ("created_at", "updated_at"),
    "bank_account": ("created_at", "updated_at"),
    "customer": ("created_at", "updated_at"),
    "export_job": ("created_at", "updated_at"),
    "export_event": ("at",),
    "mapping": ("updated_at",),
    "connection": ("updated_at",),
    "oauth_token": ("issued_at", "expires_at"),
    "audit": ("at",),
}


def _store_at_0005(url: str) -> None:
    engine = create_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn, conn.begin():
        command.upgrade(migrations.config(conn), "0005")
        for table, values in ROWS:
            row = dict(values)
            if table == "invoice_line":
                row["amount"] = 12100 if sqlite else Decimal("121.00")
            names = [*row, *STAMPED.get(table, ())]
            marks = [f":{name}" for name in row] + [f"'{AT}'" for _ in STAMPED.get(table, ())]
            conn.execute(
                text(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(marks)})"), row
            )
    engine.dispose()


def test_an_existing_store_moves_whole_into_the_default_tenant(empty_db_url: str) -> None:
    _store_at_0005(empty_db_url)
    store = open_store(empty_db_url)
    try:
        assert store.schema().current == migrations.HEAD
        (tenant,) = store.tenants()
        assert (tenant.id, tenant.code, tenant.disabled_at) == (1, "default", None)
        with store.read() as session:
            customer = session.get(Customer, 11)
            invoice = session.get(Invoice, 21)
            (line,) = session.exec(select(InvoiceLine)).all()
            job = session.get(ExportJob, 41)
            event = session.get(ExportEvent, 51)
            division = session.get(Division, tenant_key(session, 101001))
            journal = session.exec(select(Journal)).one()
            mapping = session.exec(select(Mapping)).one()
            conn = session.get(ExactConnection, tenant_key(session))
            token = session.get(OAuthToken, tenant_key(session))
            audit = session.exec(select(Audit)).one()
            organization = session.get(Organization, 7)
        assert customer is not None and customer.number == "C1"
        assert invoice is not None and (invoice.customer_id, invoice.bank_account_id) == (11, 3)
        assert (line.invoice_id, line.amount) == (21, Decimal("121.00"))
        assert job is not None and (job.state, job.claim) == (JobState.POSTED, 2)
        assert event is not None and event.job_id == 41
        assert division is not None and division.description == "NL B.V."
        assert (journal.division, journal.code) == (101001, "70")
        assert mapping.platform_code == "8000"
        assert conn is not None and conn.status is ConnectionStatus.CONNECTED
        assert token is not None and (token.blob, token.version) == (b"sealed", 4)
        assert organization is not None
        every = [customer, invoice, line, job, event, division, journal, mapping, conn, token]
        assert {row.tenant_id for row in [*every, audit, organization]} == {1}

        # New rows get ids past the old ones (PostgreSQL's sequences came along).
        with store.write() as session:
            fresh = Customer(number="C2", name="Nieuw", content_hash="h")
            session.add(fresh)
            session.flush()
            assert fresh.id is not None and fresh.id > 11
            session.add(Tenant(code="second", name="Second"))
        second = store.tenant("second")
        assert second.tenant_id > 1
        # A customer number is unique per tenant now, not per store.
        with second.write() as session:
            session.add(Customer(number="C1", name="Other", content_hash="h"))
        with store.tenant("default").read() as session:
            numbers = session.exec(select(Customer.number).order_by(col(Customer.id))).all()
        assert numbers == ["C1", "C2"]
    finally:
        store.dispose()
