"""`exact-tui demo --headless`: sandbox, connect, import, ingest and the worker until idle,
without the console; a summary of where every document ended up."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from exact_tui.demo.world import DemoWorld, build_world
from exact_tui.services.jobs import JobFilter, list_jobs
from exact_tui.services.status import status_report


@dataclass
class DemoSummary:
    store: str
    elapsed_seconds: float
    documents: dict[str, int]
    jobs_by_state: dict[str, int]
    #: Jobs waiting for a person, by cause, with counts.
    waiting: dict[str, int]
    exact_ledger: dict[str, int]
    api_calls: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [
            f"demo store: {self.store}",
            f"finished in {self.elapsed_seconds:.1f} s",
            "documents: " + ", ".join(f"{n} {kind}" for kind, n in self.documents.items()),
            "export jobs: " + ", ".join(f"{n} {state}" for state, n in self.jobs_by_state.items()),
        ]
        if self.waiting:
            out.append("waiting for a person:")
            out.extend(f"  {count:>3} × {cause}" for cause, count in self.waiting.items())
        out.append(
            "in Exact (sandbox ledger): "
            + ", ".join(f"{n} {what}" for what, n in self.exact_ledger.items())
        )
        out.append("API calls: " + ", ".join(f"{n} {what}" for what, n in self.api_calls.items()))
        return out


def summarise(world: DemoWorld, started: dt.datetime) -> DemoSummary:
    report = status_report(world.store)
    jobs = list_jobs(world.store, JobFilter(), limit=10_000)
    waiting = Counter(
        job.cause or job.last_error or job.state.value
        for job in jobs
        if job.state.value in ("needs_mapping", "failed", "retry_wait", "unknown")
    )
    divisions: Any = world.sandbox.ledger()["divisions"]
    exact_ledger: Counter[str] = Counter()
    for books in divisions.values():
        exact_ledger.update({what.replace("_", " "): int(n) for what, n in books["counts"].items()})
    calls = world.sandbox.calls
    api_calls = {
        "total": calls.count(),
        "POST": calls.count(method="POST"),
        "GET": calls.count(method="GET"),
    }
    return DemoSummary(
        store=str(world.store.sqlite_path),
        elapsed_seconds=(world.clock.now() - started).total_seconds(),
        documents=report.documents,
        jobs_by_state={state.value: n for state, n in sorted(report.queue.items())},
        waiting=dict(waiting.most_common()),
        exact_ledger=dict(exact_ledger),
        api_calls=api_calls,
    )


async def run_headless(directory: Path) -> DemoSummary:
    started = dt.datetime.now(dt.UTC)
    world = await build_world(directory)
    worker, link = world.worker(poll_seconds=0.1)
    try:
        await worker.run(until_idle=True)
    finally:
        await link.close()
    summary = summarise(world, started)
    world.store.dispose()
    return summary
