"""A worker that stopped inside an attempt (SIGSTOP, a frozen VM, a clock step) and came back
after another worker took its job over never posts: the claim carries a token that every claim
increments, checked right before the request leaves, and an outcome recorded under a claim that
has moved on never overwrites the job."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from typing import Any

from exact_tui.domain.states import JobState
from exact_tui.services.export import ExportService
from exact_tui.services.export.api import ExactApi
from tests.export.kit import ExportWorld, customer, invoice

SALES = "salesentry/SalesEntries"


class _Stopped:
    """A client whose entry POSTs wait for `go` before going on: the worker was stopped just
    before its request left."""

    def __init__(self, inner: ExactApi) -> None:
        self.inner = inner
        self.reached = asyncio.Event()
        self.go = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def post(
        self, division: int, path: str, body: Mapping[str, Any], **kw: Any
    ) -> dict[str, Any]:
        if path.endswith("Entries"):
            self.reached.set()
            await self.go.wait()
        return await self.inner.post(division, path, body, **kw)


async def _drain(xw: ExportWorld, service: ExportService, owner: str) -> None:
    """Another worker's loop, moving the clock so its lookups' delays pass."""
    for _ in range(200):
        service.prepare()
        busy = False
        for division in service.due_divisions():
            while await service.process_next(division, owner):
                busy = True
        if not busy:
            xw.sandbox.advance(30)
        if xw.job("INV-1").state is JobState.POSTED:
            return


async def test_a_worker_stopped_past_its_lease_never_posts(xw: ExportWorld) -> None:
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-1", "5")])
    stopped = _Stopped(xw.session.client)
    xw.client = stopped  # type: ignore[assignment]
    first = asyncio.create_task(xw.run())
    await stopped.reached.wait()
    claimed = xw.job("INV-1")
    assert claimed.state is JobState.IN_FLIGHT

    # Worker B, on the same store: the claim runs out, B settles the job and posts it.
    async def source() -> ExactApi | None:
        return xw.session.client

    other = ExportService(
        xw.store, source, options=xw.options, clock=xw.world, rng=random.Random(5)
    )
    xw.sandbox.advance(xw.options.lease_seconds + 1)
    await _drain(xw, other, "worker-b")
    assert xw.job("INV-1").state is JobState.POSTED
    assert len(xw.ledger()["sales_entries"]) == 1

    # Worker A comes back and finishes its attempt.
    stopped.go.set()
    await first
    sales = xw.ledger()["sales_entries"]
    assert len(sales) == 1
    job = xw.job("INV-1")
    assert (job.state, job.exact_entry_id) == (JobState.POSTED, sales[0]["EntryID"])
    assert xw.calls(SALES, method="POST") == 1
