"""How the commands print: JSON for machines, aligned lines for people.

Everything the command line prints goes through here. Text for people passes through the same
cleaning as the console's (`domain.text.clean_text`): whatever came from data, Exact, file names
or the environment loses its escape sequences, control and bidi characters, so printing it
does nothing to the terminal. A value inside a line is cleaned to one line (`plain`), so data
cannot add lines either. JSON stays exact: what a terminal would act on is escaped in it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING

import click

from exact_tui.domain.text import clean_text, cut, terminal_safe_json

if TYPE_CHECKING:
    from exact_tui.services.ingest import IngestSummary
    from exact_tui.services.jobs import JobRow
    from exact_tui.services.reconcile import ReconcileReport
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
    encoded = json.dumps(data, default=_json_default, indent=2, ensure_ascii=False)
    click.echo(terminal_safe_json(encoded))


def plain(value: object) -> str:
    """A value from data, Exact, a file name or the environment, as one line of plain text."""
    return "" if value is None else clean_text(str(value))


def say(text: str = "", *, err: bool = False) -> None:
    """Print lines for a person (stdout, or stderr with `err`), each made plain."""
    click.echo("\n".join(clean_text(line) for line in text.split("\n")), err=err)


def refuse(message: str) -> None:
    """A refusal, on stderr, as the one line `exact-tui: …`."""
    click.echo(f"exact-tui: {clean_text(message)}", err=True)


def confirm(question: str) -> bool:
    """Ask on stderr; the question may quote data."""
    return click.confirm(clean_text(question), err=True)


def when(value: dt.datetime | None) -> str:
    """A moment in the local time zone, to the second, or "never"."""
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "never"


def describe_summary(summary: IngestSummary) -> str:
    def part(counts: dict[str, int]) -> str:
        items = [f"{count} {kind.replace('_', ' ')}" for kind, count in counts.items() if count]
        return ", ".join(items) or "nothing"

    lines = [
        f"{plain(summary.source)}:",
        f"  added      {part(summary.added)}",
        f"  updated    {part(summary.updated)}",
        f"  unchanged  {part(summary.unchanged)}",
        f"  export jobs created {summary.jobs_created}, re-queued {summary.jobs_requeued}",
    ]
    return "\n".join(lines)


def print_jobs(rows: Sequence[JobRow], *, tenants: bool = False) -> None:
    """The jobs, one a line; with `tenants`, each with its tenant's code first."""
    first = f"{'TENANT':<16} " if tenants else ""
    say(
        f"{first}{'ID':>7}  {'KIND':<9} {'NUMBER':<16} {'DATE':<10} {'DIVISION':>8}  "
        f"{'STATE':<13} CAUSE"
    )
    for row in rows:
        tenant = f"{cut(row.tenant or '', 16):<16} " if tenants else ""
        say(
            f"{tenant}{row.id:>7}  {row.kind.value:<9} {cut(plain(row.number), 16):<16} "
            f"{row.date.isoformat():<10} {row.division or '':>8}  {row.state.value:<13} "
            f"{plain(row.cause or row.last_error)}"
        )


def print_reconcile(report: ReconcileReport) -> None:
    """A reconciliation's result: the counts, then each finding with its entries."""
    scope = f"division {report.division}" if report.division is not None else "every division"
    say(f"Reconciliation {report.id} ({scope}, {report.trigger}): {report.state}")
    say(f"  {plain(report.result)}")
    for finding in report.findings:
        entries = ", ".join(
            f"{e.get('entry_number') or '?'} ({e.get('entry_id')})" for e in finding.entries
        )
        say(
            f"  {'⚠' if finding.kind.value != 'unrecorded' else '?'} {finding.kind.label:<28} "
            f"division {finding.division}  {plain(finding.message)}"
            + (f"  [{entries}]" if entries and finding.kind.value != "duplicate" else "")
        )


def print_status(report: StatusReport) -> None:
    conn = report.connection
    if conn is None:
        say("Connection: ⚫ Inactive (not connected yet: run `exact-tui connect`)")
    else:
        reason = f" ({plain(conn.reason)})" if conn.reason else ""
        say(f"Connection: {conn.mark} {conn.label}{reason}")
        say(f"  region {plain(conn.region)}, user {plain(conn.user_name) or 'unknown'}")
        say(f"  activated {when(conn.activated_at)}")
        if conn.exports_paused:
            say(f"  exports paused: {plain(conn.paused_reason) or 'by an operator'}")
    for alarm in report.alarms:
        say(f"⚠ {plain(alarm)}")
    queue = ", ".join(f"{state.value} {count}" for state, count in sorted(report.queue.items()))
    say(f"Queue: {queue or 'empty'}")
    docs = report.documents
    say(
        f"Documents: {docs['invoices']} invoices, {docs['payments']} payments, "
        f"{docs['write_offs']} write-offs"
    )
    for division in report.divisions:
        access = "" if division.accessible else f"  ⛔ {plain(division.access_reason)}"
        if division.hold:
            access += f"  ⏸ {plain(division.hold)}"
        say(
            f"Division {division.code} {plain(division.description)}: "
            f"last sync {when(division.last_sync_at)}{access}"
        )
    alive = [worker for worker in report.workers if worker.alive]
    if not alive:
        say("Worker: not running (start it with `exact-tui worker`)")
    for worker in alive:
        say(
            f"Worker: running on {plain(worker.host)} (pid {worker.pid}), "
            f"beat {when(worker.beat_at)}"
        )
        if worker.share:
            say(f"  {worker.share}")
        if worker.detail:
            say(f"  ⚠ {plain(worker.detail)}")
    if alive:
        for worker in report.workers:
            if worker.lost:
                say(
                    f"Worker: {plain(worker.host)} (pid {worker.pid}): no heartbeat since "
                    f"{when(worker.beat_at)}, taken for dead (its divisions and jobs move to "
                    "the others)"
                )
    last = report.reconcile
    if last is not None:
        say(f"Reconciliation: {when(last.finished_at)}: {plain(last.result)}")
