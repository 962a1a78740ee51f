"""The two shapes of the format, standard input, and the documented example file."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from exact_tui.domain.states import WriteOffKind
from exact_tui.services.audit import Actor
from exact_tui.services.ingest import IngestError, ingest_bytes
from exact_tui.store.engine import Store
from exact_tui.store.models import Audit, Customer, Invoice, InvoiceLine, WriteOff
from tests.ingest.helpers import EXAMPLE, counts, dump, encode, example, json_lines, small


def test_the_example_file_ingests_cleanly(store: Store) -> None:
    summary = ingest_bytes(store, "docs/examples/platform-data.json", EXAMPLE.read_bytes())
    assert summary.source == "docs/examples/platform-data.json"
    assert summary.added == {
        "organization": 2,
        "bank_account": 3,
        "customer": 6,
        "invoice": 8,
        "payment": 4,
        "write_off": 2,
    }
    assert summary.jobs_created == 14
    with store.read() as session:
        credit_note = session.exec(select(Invoice).where(Invoice.number == "CN-2026-0001")).one()
        credit_lines = session.exec(
            select(InvoiceLine).where(InvoiceLine.invoice_id == credit_note.id)
        ).all()
        belgian = session.exec(select(Customer).where(Customer.number == "C1002")).one()
        kinds = session.exec(select(WriteOff.kind).order_by(col(WriteOff.id))).all()
        total = session.exec(select(col(InvoiceLine.amount))).all()
    assert [(line.amount, line.vat_amount) for line in credit_lines] == [
        (Decimal("-89.95"), Decimal("-18.89"))
    ]
    assert credit_note.currency == "EUR"
    assert (belgian.vat_number, belgian.vat_normalised) == ("BE 0403.170.701", "BE0403170701")
    assert kinds == [WriteOffKind.WRITE_OFF, WriteOffKind.COLLECTION_COSTS]
    assert sum(total) == Decimal("10592.50")
    with store.engine.connect() as conn:
        ibans = conn.execute(text("SELECT iban FROM bank_account ORDER BY id")).scalars().all()
    assert ibans == ["NL91ABNA0417164300", "NL20INGB0001234567", "BE71096123456769"]


def _without_times(store: Store) -> dict[str, list[tuple[object, ...]]]:
    """A dump minus ids and clocks, to compare two stores filled from different shapes."""
    with store.engine.connect() as conn:
        return {
            "invoice_line": sorted(
                tuple(row)
                for row in conn.execute(
                    text(
                        "SELECT i.number, l.position, l.amount, l.vat_amount, l.gl_code, "
                        "l.description FROM invoice_line l JOIN invoice i ON i.id = l.invoice_id"
                    )
                )
            ),
            "hashes": sorted(
                tuple(row)
                for table in ("organization", "bank_account", "customer")
                for row in conn.execute(text(f"SELECT '{table}', content_hash FROM {table}"))
            )
            + sorted(
                tuple(row)
                for table in ("invoice", "payment", "write_off")
                for row in conn.execute(text(f"SELECT number, content_hash FROM {table}"))
            ),
            "jobs": sorted(
                tuple(row)
                for row in conn.execute(
                    text("SELECT document_kind, document_number, state FROM export_job")
                )
            ),
        }


@pytest.mark.parametrize("name", ["platform-data.jsonl", "platform-data.txt", "-"])
def test_json_lines_hold_the_same_as_json(store: Store, seeded: Store, name: str) -> None:
    # Documents come before the customers they name: references are resolved per file.
    data = json_lines(example()).replace(b"\n", b"\r\n", 3) + b"\n\n"
    summary = ingest_bytes(store, name, data)
    assert summary.added["invoice"] == 8
    assert _without_times(store) == _without_times(seeded)


def test_a_single_record_is_json_lines(store: Store) -> None:
    data = b'\n{\n  "type": "organization",\n  "code": "ORG",\n  "name": "Workhub"\n}\n'
    summary = ingest_bytes(store, "one.json", data)
    assert summary.added["organization"] == 1
    bad = data.replace(b'"Workhub"', b"42")
    with pytest.raises(IngestError, match=r"one\.json, line 2: organization\.name: expected text"):
        ingest_bytes(store, "one.json", bad)


def test_stdin_is_named_as_such(store: Store) -> None:
    summary = ingest_bytes(store, "-", encode(small()))
    assert summary.source == "<stdin>"
    with pytest.raises(IngestError) as caught:
        ingest_bytes(store, "-", b'{"customers": [}')
    message = str(caught.value)
    assert message.startswith("<stdin>: refused, nothing was ingested (1 problem):")
    assert "<stdin>, line 1, column 16: invalid JSON: expected a value" in message


def test_an_empty_document_is_accepted_and_adds_nothing(store: Store) -> None:
    summary = ingest_bytes(store, "empty.json", b'{"invoices": []}')
    assert sum(summary.added.values()) == 0
    assert counts(store) == dict.fromkeys(counts(store), 0)


def test_each_file_is_its_own_transaction(store: Store) -> None:
    ingest_bytes(store, "good.json", encode(small()))
    after_good = dump(store)
    bad = small()
    bad["invoices"][0]["number"] = "INV-2"
    bad["payments"] = []
    bad["write_offs"][0]["invoice"] = "INV-404"
    with pytest.raises(IngestError):
        ingest_bytes(store, "bad.json", encode(bad))
    assert dump(store) == after_good
    assert counts(store)["invoice"] == 1


@pytest.mark.parametrize(
    ("vat_number", "country", "normalised"),
    [
        ("US 12-3456789", "US", "US123456789"),  # python-stdnum has no US VAT rules
        ("123456789", None, "123456789"),  # no country to check it against
        ("0403.170.701", "BE", "BE0403170701"),  # the country comes from the customer
    ],
)
def test_vat_numbers_are_checked_where_the_country_is_known(
    store: Store, vat_number: str, country: str | None, normalised: str
) -> None:
    document = small()
    document["customers"][0].update({"vat_number": vat_number, "country": country})
    ingest_bytes(store, "vat.json", encode(document))
    with store.engine.connect() as conn:
        row = conn.execute(text("SELECT vat_number, vat_normalised FROM customer")).one()
    assert tuple(row) == (vat_number, normalised)


def test_an_actor_leaves_an_audit_row_with_the_summary(store: Store) -> None:
    actor = Actor("ops", "cli", "10.0.0.7")
    ingest_bytes(store, "small.json", encode(small()), actor=actor)
    with pytest.raises(IngestError):
        ingest_bytes(store, "bad.json", b"{", actor=actor)
    with store.read() as session:
        rows = session.exec(select(Audit)).all()
    assert [(row.actor, row.origin, row.host, row.action, row.target) for row in rows] == [
        ("ops", "cli", "10.0.0.7", "ingest", "small.json")
    ]
    assert rows[0].detail is not None
    assert rows[0].detail["added"]["invoice"] == 1
    assert rows[0].detail["jobs_created"] == 3
