"""API calls of the export pipeline (docs/architecture.md §Numbers), against the in-process sandbox.

    .venv/bin/python tests/benchmarks/export_calls.py [--drain 5000]

Prints:
- calls per exported invoice whose customer is already linked (bar 1.0);
- calls per invoice with a new customer: the live check, the creation, the post (bar ≤ 3);
- draining N jobs (default 5,000) at the sandbox's limits (60 calls a minute, 5,000 a day)
  on a compressed clock (a 10-second "minute", and the sandbox clock moves only while the
  client waits for the next window): 429s received (bar 0) and the share of the allowed calls
  that were used (bar ≥ 95 %).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from exact_tui.domain.states import JobState
from tests.connection.kit import World, secret_env
from tests.export.kit import ExportWorld, build_template, customer, export_world, invoice
from tests.stores import Stores, Template, stores_for_run

SALES = "salesentry/SalesEntries"
#: The compressed minute of the drain.
WINDOW = 10.0


def _posted(xw: ExportWorld) -> int:
    return sum(1 for state in xw.states().values() if state is JobState.POSTED)


async def linked(xw: ExportWorld, count: int) -> float:
    xw.ingest(customers=[customer(str(n)) for n in range(1, 21)])
    xw.ingest(invoices=[invoice(f"FIRST-{n}", str(n)) for n in range(1, 21)])
    await xw.run()  # every customer matched and linked once
    xw.sandbox.calls.clear()
    xw.ingest(invoices=[invoice(f"L-{n}", str(1 + n % 20)) for n in range(count)])
    await xw.run()
    assert _posted(xw) == 20 + count
    return xw.calls() / count


async def new_customers(xw: ExportWorld, count: int) -> float:
    xw.sandbox.calls.clear()
    records = [customer(f"NEW-{n}", country="NL") for n in range(count)]
    xw.ingest(customers=records, invoices=[invoice(f"N-{n}", f"NEW-{n}") for n in range(count)])
    await xw.run()
    assert len(xw.ledger()["accounts"]) == count
    return xw.calls() / count


async def drain(xw: ExportWorld, count: int) -> tuple[int, int, float, float]:
    """(calls, 429s, share of the allowed calls used, seconds of real time)."""
    xw.sandbox.set_limits(minutely=60, daily=5000, minute_window=WINDOW)
    xw.sandbox.clear_limit_counters()
    xw.ingest(customers=[customer(str(n)) for n in range(1, 21)])
    xw.ingest(invoices=[invoice(f"D-{n}", str(1 + n % 20)) for n in range(count)])
    # Matching is done before the clock starts: the drain is posts only.
    xw.service.prepare()
    xw.sandbox.calls.clear()
    started_at = xw.world.now()
    started = time.perf_counter()
    await xw.run(rounds=10_000)
    seconds = time.perf_counter() - started
    calls = xw.calls(SALES)
    # The windows the drain touched (they are aligned to multiples of the window) and what
    # they allowed.
    first = math.floor(started_at.timestamp() / WINDOW)
    last = math.floor(xw.world.now().timestamp() / WINDOW)
    allowed = (last - first + 1) * 60
    return calls, xw.calls(status=429), calls / allowed, seconds


async def measure(stores: Stores, template: Template, tmp: Path, count: int) -> None:
    results = []
    for n, part in enumerate(("linked", "new", "drain")):
        with stores.open_copy(template, tmp / f"store-{n}") as store:
            async with export_world(World(store)) as xw:
                if part == "linked":
                    results.append(await linked(xw, 200))
                elif part == "new":
                    results.append(await new_customers(xw, 50))
                else:
                    calls, rejected, share, seconds = await drain(xw, count)
    print(f"calls per invoice, customer already linked: {results[0]:.2f} (bar 1.0)")
    print(f"calls per invoice, new customer:            {results[1]:.2f} (bar ≤ 3)")
    print(
        f"drain of {count} jobs at 60 calls a {WINDOW:g}-second minute: {calls} calls, "
        f"{rejected} 429s (bar 0), {share:.1%} of the allowed calls used (bar ≥ 95 %), "
        f"{seconds:.0f} s of real time"
    )


def main(count: int) -> None:
    os.environ.update(secret_env())
    with tempfile.TemporaryDirectory() as tmp:
        stores = stores_for_run(Path(tmp))
        try:
            template = stores.template("export", build_template)
            asyncio.run(measure(stores, template, Path(tmp), count))
        finally:
            stores.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drain", type=int, default=5000, help="Jobs to drain.")
    main(parser.parse_args().drain)
