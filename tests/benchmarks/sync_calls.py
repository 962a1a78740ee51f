"""API calls for a master-data import of the `large` sandbox (docs/architecture.md §Numbers).

    .venv/bin/python tests/benchmarks/sync_calls.py

Prints, per division of 20,000 accounts and 2,000 GL accounts: calls for the full import
(bar ≤ 30) and for a re-import with nothing changed (bar ≤ 1 per incremental entity plus the
small lists), and the time each took in-process.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from exact_tui.sandbox import Sandbox
from exact_tui.sandbox.clock import SandboxClock
from exact_tui.services.masterdata import ENTITIES, MasterDataImporter
from exact_tui.store.engine import open_store
from tests.connection.kit import World, secret_env

INCREMENTAL = [e.name for e in ENTITIES if e.incremental] + ["deleted"]
SMALL_LISTS = [e.name for e in ENTITIES if not e.incremental]


async def main() -> None:
    os.environ.update(secret_env())
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        world = World(store, Sandbox(seed=3, size="large", clock=SandboxClock(frozen=True)))
        await world.connect()
        async with world.session() as session:
            importer = MasterDataImporter(store, session.client)
            await importer.import_divisions()
            print(f"division list (Me + system/Divisions): {session.client.calls.total()} calls")
            for division in sorted(d.number for d in world.sandbox.facts.divisions):
                before = session.client.calls[division]
                started = time.perf_counter()
                full = await importer.import_division(division)
                full_calls = session.client.calls[division] - before
                full_time = time.perf_counter() - started
                accounts = next(r for r in full.runs if r.entity == "accounts")
                gl = next(r for r in full.runs if r.entity == "gl_accounts")
                before = session.client.calls[division]
                started = time.perf_counter()
                again = await importer.import_division(division)
                again_calls = session.client.calls[division] - before
                again_time = time.perf_counter() - started
                bar = len(INCREMENTAL) + len(SMALL_LISTS)
                print(
                    f"division {division}: full import of {accounts.added:,} accounts and "
                    f"{gl.added:,} GL accounts: {full_calls} calls "
                    f"(bar 30: {'met' if full_calls <= 30 else 'MISSED'}), {full_time:.1f} s"
                )
                print(
                    f"division {division}: re-import with nothing changed: {again_calls} calls "
                    f"({len(INCREMENTAL)} incremental + {len(SMALL_LISTS)} small lists; bar {bar}: "
                    f"{'met' if again_calls <= bar and again.ok else 'MISSED'}), {again_time:.2f} s"
                )
        store.dispose()


if __name__ == "__main__":
    asyncio.run(main())
