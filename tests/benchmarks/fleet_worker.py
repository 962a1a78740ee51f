"""One worker serving a fleet (docs/worker.md §Tenants): its idle cost, and how fast it posts
one tenant's document among many.

    .venv/bin/python tests/benchmarks/fleet_worker.py [--tenants 1000] [--seconds 30] [--docs 20]

One store (SQLite, or PostgreSQL under scripts/with-postgres) with `--tenants` connected
tenants; the first is configured and connected to the in-process sandbox, the others have a
connection and nothing to do. One worker serves them all, in this process (polling every 0.5 s,
a heartbeat every 5 s), with the sandbox on a real-time clock.

Prints:
- the worker's CPU while idle with every tenant connected and nothing due: the process's user
  and system time over `--seconds` of wall time, as a share of one core (bar ≤ 5 %); on
  PostgreSQL the server's own time is not in it;
- the same with the first tenant alone, for comparison;
- from ingest to posted, for `--docs` documents of the first tenant, one at a time at random
  moments (the customer already linked): median and max (bar 0.5 s median, 1 s at most).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import insert
from sqlmodel import select

from exact_tui.domain.states import ConnectionStatus, JobState
from exact_tui.sandbox import Sandbox
from exact_tui.sandbox.clock import SandboxClock
from exact_tui.services.clock import SystemClock
from exact_tui.services.export import ExportOptions
from exact_tui.services.ingest import ingest_bytes
from exact_tui.services.runtime import LinkOptions, WorkerSetup, build_worker
from exact_tui.services.worker import Worker, WorkerOptions
from exact_tui.store.engine import Store
from exact_tui.store.models import ExactConnection, ExportJob, OAuthToken, SyncRequest, Tenant
from tests.connection.kit import World, secret_env
from tests.export.kit import build_template, customer, fresh_tokens, invoice
from tests.stores import Stores, Template, stores_for_run


def add_tenants(store: Store, count: int) -> None:
    """`count` more tenants, each connected (a connection and a token like the first's, a
    daily import just done), with nothing to do."""
    now = SystemClock().now()
    with store.tenant("default").read() as session:
        conn = session.exec(select(ExactConnection)).one()
        token = session.exec(select(OAuthToken)).one()
    conn_row = conn.model_dump()
    token_row = token.model_dump()
    with store.all_tenants().write() as session:
        first = 1000
        session.execute(
            insert(Tenant),
            [
                {"id": first + n, "code": f"fleet-{n:04d}", "name": f"Fleet {n}", "created_at": now}
                for n in range(count)
            ],
        )
        ids = [first + n for n in range(count)]
        session.execute(
            insert(ExactConnection),
            [{**conn_row, "tenant_id": t, "status": ConnectionStatus.CONNECTED} for t in ids],
        )
        session.execute(insert(OAuthToken), [{**token_row, "tenant_id": t} for t in ids])
        session.execute(
            insert(SyncRequest),
            [
                {
                    "tenant_id": t,
                    "trigger": "daily",
                    "requested_by": "schedule",
                    "requested_at": now,
                    "state": "done",
                }
                for t in ids
            ],
        )


def setup() -> WorkerSetup:
    return WorkerSetup(
        link=LinkOptions(),
        export=ExportOptions(),
        worker=WorkerOptions(poll_seconds=0.5, heartbeat_seconds=5.0),
        reconcile_daily=False,
    )


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _settled(store: Store) -> bool:
    with store.all_tenants().read() as session:
        return set(session.exec(select(SyncRequest.state))) <= {"done", "failed"}


async def idle_share(world: World, seconds: float) -> float:
    """The worker's CPU over `seconds` with nothing due, as a share of one core."""
    worker, links = build_worker(
        world.store, world.secrets, setup(), clock=SystemClock(), transport=world.transport
    )
    task = asyncio.create_task(worker.run())
    try:
        while not _settled(world.store):  # the first tenant's initial import
            await asyncio.sleep(0.2)
        await asyncio.sleep(6)  # past a heartbeat, every tenant read
        cpu, wall = _cpu(), time.perf_counter()
        await asyncio.sleep(seconds)
        return (_cpu() - cpu) / (time.perf_counter() - wall)
    finally:
        await _stop(worker, task)
        await links.close()


async def latencies(world: World, docs: int) -> list[float]:
    """Seconds from the start of an ingest to the job posted, for each of `docs` invoices."""
    worker, links = build_worker(
        world.store, world.secrets, setup(), clock=SystemClock(), transport=world.transport
    )
    task = asyncio.create_task(worker.run())
    tenant = world.store.tenant("default")
    rng = random.Random(7)
    seen: list[float] = []
    try:
        for n in range(docs + 1):
            await asyncio.sleep(rng.uniform(0.2, 0.8))
            number = f"FLEET-{n}"
            records = {"customers": [customer("FW1")], "invoices": [invoice(number, "FW1")]}
            started = time.perf_counter()
            await asyncio.to_thread(
                ingest_bytes, tenant, "bench.json", json.dumps(records).encode()
            )
            while _state(tenant, number) is not JobState.POSTED:
                await asyncio.sleep(0.005)
            if n:  # the first one creates the customer: not measured
                seen.append(time.perf_counter() - started)
    finally:
        await _stop(worker, task)
        await links.close()
    return seen


def _state(store: Store, number: str) -> JobState | None:
    with store.read() as session:
        job = session.exec(select(ExportJob).where(ExportJob.document_number == number)).first()
        return job.state if job is not None else None


async def _stop(worker: Worker, task: asyncio.Task[object]) -> None:
    worker.stop()
    await asyncio.wait_for(task, 120)


async def measure(
    stores: Stores, template: Template, tmp: Path, tenants: int, seconds: float, docs: int
) -> None:
    with stores.open_copy(template, tmp / "alone") as store:
        world = World(store, sandbox=Sandbox(seed=7, size="small", clock=SandboxClock()))
        fresh_tokens(world)
        alone = await idle_share(world, seconds)
    with stores.open_copy(template, tmp / "fleet") as store:
        world = World(store, sandbox=Sandbox(seed=7, size="small", clock=SandboxClock()))
        fresh_tokens(world)
        started = time.perf_counter()
        add_tenants(store, tenants - 1)
        made = time.perf_counter() - started
        fleet = await idle_share(world, seconds)
        times = await latencies(world, docs)
    print(f"store: {store.engine.dialect.name}; {tenants} tenants made in {made:.1f} s")
    print(
        f"idle worker, {tenants} connected tenants, nothing due: {fleet:.1%} of one core "
        f"over {seconds:g} s (bar ≤ 5 %); the first tenant alone: {alone:.1%}"
    )
    print(
        f"ingest to posted, one tenant among {tenants}, {len(times)} documents: "
        f"median {statistics.median(times):.2f} s, max {max(times):.2f} s "
        "(bar 0.5 s median, 1 s max)"
    )


def main(tenants: int, seconds: float, docs: int) -> None:
    os.environ.update(secret_env())
    with tempfile.TemporaryDirectory() as tmp:
        stores = stores_for_run(Path(tmp))
        try:
            template = stores.template("export", build_template)
            asyncio.run(measure(stores, template, Path(tmp), tenants, seconds, docs))
        finally:
            stores.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=1000, help="Connected tenants.")
    parser.add_argument("--seconds", type=float, default=30.0, help="Idle time measured.")
    parser.add_argument("--docs", type=int, default=20, help="Documents timed.")
    args = parser.parse_args()
    main(args.tenants, args.seconds, args.docs)
