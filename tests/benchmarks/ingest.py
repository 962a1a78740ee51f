"""Ingest speed: invoices per second for one file of N invoices of three lines each.

    .venv/bin/python tests/benchmarks/ingest.py [--count N]

Builds a temporary store, generates N invoices (plus the customers and bank accounts they
refer to) as one JSON file, ingests it through the same service the CLI uses, and prints the
rate. The bar (docs/architecture.md §Numbers) is 2,000 invoices per second.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from exact_tui.services.ingest import ingest_bytes
from exact_tui.store.engine import open_store

BAR = 2000
IBANS = ["NL91ABNA0417164300", "NL20INGB0001234567", "BE71096123456769"]


def platform_file(count: int) -> bytes:
    customers = max(1, count // 10)
    invoices: list[dict[str, Any]] = []
    for n in range(count):
        day = 1 + n % 28
        invoices.append(
            {
                "number": f"INV-{n:07d}",
                "date": f"2026-01-{day:02d}",
                "due_date": f"2026-02-{day:02d}",
                "customer": f"C{n % customers:06d}",
                "bank_account": IBANS[n % len(IBANS)],
                "payment_reference": f"{n:010d}",
                "description": f"Services January 2026, contract {n % 977}",
                "lines": [
                    {
                        "amount": f"{100 + line * 25 + n % 100}.{n % 100:02d}",
                        "vat_amount": f"{21 + line}.00",
                        "gl_code": f"80{line}0",
                        "vat_code": "21",
                        "description": f"Line {line + 1}: desk, room and parking",
                        "cost_center": "AMS",
                    }
                    for line in range(3)
                ],
            }
        )
    document = {
        "organizations": [{"code": "HUB", "name": "Workhub B.V."}],
        "bank_accounts": [{"iban": iban, "organization": "HUB"} for iban in IBANS],
        "customers": [
            {"number": f"C{c:06d}", "name": f"Customer {c}", "city": "Amsterdam", "country": "NL"}
            for c in range(customers)
        ],
        "invoices": invoices,
    }
    return json.dumps(document).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="invoices (default 100,000)")
    count = parser.parse_args().count
    data = platform_file(count)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        started = time.perf_counter()
        summary = ingest_bytes(store, "bench.json", data)
        elapsed = time.perf_counter() - started
        store.dispose()
    assert summary.added["invoice"] == count, summary
    rate = count / elapsed
    print(f"ingest: {count:,} invoices x 3 lines ({len(data) / 1e6:.1f} MB JSON)")
    print(f"elapsed: {elapsed:.2f} s")
    print(f"rate: {rate:,.0f} invoices/s (bar {BAR:,}/s: {'met' if rate >= BAR else 'MISSED'})")


if __name__ == "__main__":
    main()
