"""How the commands print: JSON for machines, aligned lines for people."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from exact_tui.services.ingest import IngestSummary
    from exact_tui.services.jobs import JobRow
    from exact_tui.services.status import StatusReport


def _json_default(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def echo_json(data: object) -> None:
    click.echo(json.dumps(data, default=_json_default, indent=2, ensure_ascii=False))


def when(value: dt.datetime | None) -> str:
    """A moment in the local time zone, to the second, or "never"."""
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "never"


def describe_summary(summary: IngestSummary) -> str:
    def part(counts: dict[str, int]) -> str:
        items = [f"{count} {kind.replace('_', ' ')}" for kind, count in counts.items() if count]
        return ", ".join(items) or "nothing"

    lines = [
        f"{summary.source}:",
        f"  added      {part(summary.added)}",
        f"  updated    {part(summary.updated)}",
        f"  unchanged  {part(summary.unchanged)}",
        f"  export jobs created {summary.jobs_created}, re-queued {summary.jobs_requeued}",
    ]
    return "\n".join(lines)


def print_jobs(rows: Sequence[JobRow]) -> None:
    click.echo(
        f"{'ID':>7}  {'KIND':<9} {'NUMBER':<16} {'DATE':<10} {'DIVISION':>8}  {'STATE':<13} CAUSE"
    )
    for row in rows:
        click.echo(
            f"{row.id:>7}  {row.kind.value:<9} {row.number[:16]:<16} {row.date.isoformat():<10} "
            f"{row.division or '':>8}  {row.state.value:<13} {row.cause or row.last_error or ''}"
        )


def print_status(report: StatusReport) -> None:
    conn = report.connection
    if conn is None:
        click.echo("Connection: ⚫ Inactive (not connected yet: run `exact-tui connect`)")
    else:
        reason = f" ({conn.reason})" if conn.reason else ""
        click.echo(f"Connection: {conn.mark} {conn.label}{reason}")
        click.echo(f"  region {conn.region}, user {conn.user_name or 'unknown'}")
        click.echo(f"  activated {when(conn.activated_at)}")
        if conn.exports_paused:
            click.echo(f"  exports paused: {conn.paused_reason or 'by an operator'}")
    queue = ", ".join(f"{state.value} {count}" for state, count in sorted(report.queue.items()))
    click.echo(f"Queue: {queue or 'empty'}")
    docs = report.documents
    click.echo(
        f"Documents: {docs['invoices']} invoices, {docs['payments']} payments, "
        f"{docs['write_offs']} write-offs"
    )
    for division in report.divisions:
        access = "" if division.accessible else f"  ⛔ {division.access_reason}"
        if division.hold:
            access += f"  ⏸ {division.hold}"
        click.echo(
            f"Division {division.code} {division.description}: "
            f"last sync {when(division.last_sync_at)}{access}"
        )
    if report.worker_running:
        worker = next(w for w in report.workers if w.alive)
        click.echo(
            f"Worker: running on {worker.host} (pid {worker.pid}), beat {when(worker.beat_at)}"
        )
    else:
        click.echo("Worker: not running (start it with `exact-tui worker`)")
