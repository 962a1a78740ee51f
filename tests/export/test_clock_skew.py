"""Exact's clock and ours differ: rate-limit resets are Exact's times, so the client learns the
offset (from the `Date` header of every answer) and never waits longer than a window, however
far apart the clocks are; a worker that leaves work waiting says why."""

from __future__ import annotations

import datetime as dt
import random

from exact_tui.domain.states import JobState
from exact_tui.secret_store import open_secret_store
from exact_tui.services.export import ExportOptions, ExportService
from exact_tui.services.export.api import ExactApi
from exact_tui.services.runtime import LinkOptions, WorkerSetup, build_worker
from exact_tui.services.worker import WorkerOptions
from tests.connection.kit import World
from tests.export.kit import OWNER, customer, export_world, invoice

AHEAD = 580.0  # Exact's clock runs this many seconds ahead of ours


class _Behind:
    """Our clock: AHEAD seconds behind the sandbox's; sleeping moves the sandbox on."""

    def __init__(self, world: World) -> None:
        self.world = world

    def now(self) -> dt.datetime:
        return self.world.now() - dt.timedelta(seconds=AHEAD)

    async def sleep(self, seconds: float) -> None:
        await self.world.sleep(seconds)


async def test_a_clock_far_ahead_at_exact_does_not_stall_the_queue(world: World) -> None:
    async with export_world(world, lag=AHEAD) as xw:
        xw.sandbox.set_limits(minutely=5)
        xw.sandbox.clear_limit_counters()

        async def source() -> ExactApi | None:
            return xw.session.client

        service = ExportService(
            xw.store, source, options=xw.options, clock=_Behind(world), rng=random.Random(1)
        )
        xw.ingest(customers=[customer("5")], invoices=[invoice(f"INV-{n}", "5") for n in range(12)])
        started = xw.sandbox.now()
        for _ in range(300):
            service.prepare()
            busy = False
            for division in service.due_divisions():
                while await service.process_next(division, OWNER):
                    busy = True
            if set(xw.states().values()) == {JobState.POSTED}:
                break
            if not busy:
                xw.sandbox.advance(10)
        assert set(xw.states().values()) == {JobState.POSTED}
        # Twelve posts at five a minute take under three minutes, not one hold of ten per five.
        assert (xw.sandbox.now() - started).total_seconds() < 200
        assert max(world.slept, default=0) <= 62
        assert abs(xw.session.client.clock_offset - AHEAD) <= 1.5


async def test_until_idle_with_work_left_says_why(world: World) -> None:
    async with export_world(world) as xw:
        xw.sandbox.set_limits(daily=3)
        xw.sandbox.clear_limit_counters()
        xw.ingest(customers=[customer("5")], invoices=[invoice(f"INV-{n}", "5") for n in range(5)])
        setup = WorkerSetup(LinkOptions(), ExportOptions(), WorkerOptions())
        worker, link = build_worker(
            xw.store, open_secret_store("auto"), setup, clock=world, transport=world.transport
        )
        try:
            left = await worker.run(until_idle=True)
        finally:
            await link.close()
        waiting = [n for n, state in xw.states().items() if state is not JobState.POSTED]
        assert waiting
        assert left is not None and not left.blocked
        text = left.message
        assert f"{len(waiting)} jobs left waiting" in text
        assert "daily" in text and "101001" in text
