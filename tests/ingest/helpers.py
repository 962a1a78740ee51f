"""Shared by the ingest tests: documents to ingest and a dump of what the store holds."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from sqlalchemy import text

from exact_tui.store.engine import Store

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "platform-data.json"
#: Every table ingest writes, in the order a dump lists them.
TABLES = (
    "organization",
    "bank_account",
    "customer",
    "invoice",
    "invoice_line",
    "payment",
    "write_off",
    "export_job",
    "export_event",
)


def example() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return document


def small() -> dict[str, Any]:
    """One record of each type, all referring to each other: the base that tests break."""
    return copy.deepcopy(
        {
            "organizations": [{"code": "ORG", "name": "Workhub B.V."}],
            "bank_accounts": [{"iban": "NL91ABNA0417164300", "organization": "ORG"}],
            "customers": [{"number": "C1", "name": "Jansen B.V.", "country": "NL"}],
            "invoices": [
                {
                    "number": "INV-1",
                    "date": "2026-01-05",
                    "customer": "C1",
                    "bank_account": "NL91ABNA0417164300",
                    "lines": [
                        {"amount": "100.00", "gl_code": "8000", "vat_code": "21"},
                        {"amount": "20.50", "gl_code": "8010", "vat_code": "21"},
                    ],
                }
            ],
            "payments": [
                {
                    "number": "PAY-1",
                    "date": "2026-01-10",
                    "amount": "120.50",
                    "customer": "C1",
                    "bank_account": "NL91ABNA0417164300",
                    "invoice": "INV-1",
                }
            ],
            "write_offs": [
                {
                    "number": "WO-1",
                    "date": "2026-03-01",
                    "amount": "5.00",
                    "invoice": "INV-1",
                    "kind": "collection_costs",
                }
            ],
        }
    )


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=2, ensure_ascii=False).encode()


def json_lines(document: dict[str, Any]) -> bytes:
    """The same records as JSON Lines, documents first so references point forward."""
    order = ("write_offs", "payments", "invoices", "customers", "bank_accounts", "organizations")
    lines = [
        json.dumps({"type": key[:-1], **record}, ensure_ascii=False)
        for key in order
        for record in document.get(key, [])
    ]
    return "\n".join(lines).encode() + b"\n"


def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table ingest writes: equal dumps mean nothing changed."""
    with store.engine.connect() as conn:
        return {
            table: [tuple(row) for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
            for table in TABLES
        }


def counts(store: Store) -> dict[str, int]:
    return {table: len(rows) for table, rows in dump(store).items()}
