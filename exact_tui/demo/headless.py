"""`exact-tui demo --headless`: sandbox, connect, import, ingest and the worker until idle,
without the console; a summary of where every document ended up."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from exact_tui.demo.world import DemoWorld, build_world
from exact_tui.domain.states import JobState
from exact_tui.services.jobs import JobFilter, JobRow, list_jobs
from exact_tui.services.status import status_report


@dataclass(frozen=True)
class DocumentOutcome:
    """Where one document ended up: its export job's state, and the entry in Exact or why not."""

    kind: str
    number: str
    date: dt.date
    division: int | None
    state: str
    entry_number: int | None
    why: str | None

    def line(self) -> str:
        where = f"entry {self.entry_number}" if self.entry_number is not None else self.why or ""
        return (
            f"  {self.kind:<9} {self.number:<16} {self.date.isoformat()}  "
            f"{self.division or '':>8}  {self.state.replace('_', ' '):<13}  {where}"
        ).rstrip()


_KIND_ORDER = {"invoice": 0, "payment": 1, "write_off": 2}


def outcome_of(job: JobRow) -> DocumentOutcome:
    why = job.cause or job.last_error
    if why is None and job.state is JobState.SKIPPED:
        why = "dated before the activation date: never exported"
    return DocumentOutcome(
        kind=job.kind.value,
        number=job.number,
        date=job.date,
        division=job.division,
        state=job.state.value,
        entry_number=job.entry_number,
        why=why,
    )


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
    #: Every document, in kind and number order.
    outcomes: list[DocumentOutcome] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [
            f"demo store: {self.store}",
            f"finished in {self.elapsed_seconds:.1f} s",
            "where every document ended up:",
            f"  {'KIND':<9} {'NUMBER':<16} {'DATE':<10}  {'DIVISION':>8}  {'STATE':<13}  "
            "IN EXACT, OR WHY NOT",
            *(outcome.line() for outcome in self.outcomes),
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
        outcomes=sorted(
            (outcome_of(job) for job in jobs),
            key=lambda o: (_KIND_ORDER.get(o.kind, 9), o.number),
        ),
    )


async def run_headless(directory: Path, *, keep: bool = False) -> DemoSummary:
    started = dt.datetime.now(dt.UTC)
    world = await build_world(directory, keep=keep)
    worker, link = world.worker(poll_seconds=0.1)
    try:
        await worker.run(until_idle=True)
    finally:
        await link.close()
    summary = summarise(world, started)
    world.store.dispose()
    return summary
