"""Commands on the export queue: load documents, list jobs, retry them, pause and resume."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from exact_tui.cli.output import (
    confirm,
    describe_summary,
    echo_json,
    plain,
    print_jobs,
    refuse,
    say,
    when,
)
from exact_tui.cli.wiring import AppContext, choice, do, fail, intents, pass_app
from exact_tui.domain.states import Category, DocumentKind, JobState

if TYPE_CHECKING:
    from exact_tui.services.jobs import JobFilter


@click.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE... | -")
@pass_app
def ingest(app: AppContext, files: tuple[str, ...]) -> None:
    """Load platform documents (JSON or JSON Lines, see docs/ingest-format.md).

    Each file is validated whole and written in one transaction: a bad file changes nothing.
    """
    from exact_tui.services.audit import Actor
    from exact_tui.services.ingest import IngestError, ingest_bytes

    store = app.store_or_root()
    refused = 0
    for name in files:
        source = "<stdin>" if name == "-" else name
        try:
            data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            refuse(f"{source}: cannot read: {exc.strerror or exc}")
            refused += 1
            continue
        try:
            summary = ingest_bytes(store, source, data, actor=Actor.current("cli"))
        except IngestError as exc:
            # The first line names the file and says nothing of it was stored; then one line
            # per problem.
            first, *details = str(exc).split("\n")
            refuse(first)
            if details:
                say("\n".join(details), err=True)
            refused += 1
            continue
        say(describe_summary(summary))
    if refused:
        sys.exit(1)


def _job_filter(
    state: str | None,
    category: str | None,
    kind: str | None,
    division: int | None,
    text: str | None,
    cause: str | None = None,
) -> JobFilter:
    """The jobs the filter options name."""
    from exact_tui.services.jobs import JobFilter

    return JobFilter(
        state=JobState(state) if state else None,
        category=Category(category) if category else None,
        kind=DocumentKind(kind) if kind else None,
        division=division,
        text=text,
        cause=cause,
    )


@click.command()
@click.option("--state", type=choice(JobState), help="Only jobs in this state.")
@click.option("--category", type=choice(Category), help="Only jobs of this category.")
@click.option("--kind", type=choice(DocumentKind), help="Only this kind of document.")
@click.option("--division", type=int, help="Only jobs routed to this division.")
@click.option("--search", "text", help="Text in the document number, cause or error.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--all-tenants", is_flag=True, help="The jobs of every tenant, with its code.")
@click.option(
    "--by-cause",
    is_flag=True,
    help="The jobs waiting on something, counted by cause (with --all-tenants: in how many "
    "tenants, the cause a `retry --all-tenants --cause` takes).",
)
@pass_app
def jobs(
    app: AppContext,
    state: str | None,
    category: str | None,
    kind: str | None,
    division: int | None,
    text: str | None,
    limit: int,
    as_json: bool,
    all_tenants: bool,
    by_cause: bool,
) -> None:
    """List export jobs, newest first (or counted by cause)."""
    from exact_tui.services.jobs import list_jobs

    flt = _job_filter(state, category, kind, division, text)
    if by_cause:
        _by_cause(app, flt, all_tenants=all_tenants, limit=limit, as_json=as_json)
        return
    store = app.root().all_tenants() if all_tenants else app.store()
    rows = list_jobs(store, flt, limit=limit)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        say("no jobs match")
        return
    print_jobs(rows, tenants=all_tenants)


def _by_cause(
    app: AppContext, flt: JobFilter, *, all_tenants: bool, limit: int, as_json: bool
) -> None:
    """The failures by cause: of the tenant, or of every tenant with their count."""
    from exact_tui.services.export_log import failure_groups, failures_by_cause_all_tenants

    if all_tenants:
        causes = failures_by_cause_all_tenants(app.root(), flt, limit=limit)
        groups = [(cause.group, len(cause.tenants)) for cause in causes]
        if as_json:
            echo_json(causes)
            return
    else:
        groups = [(group, 1) for group in failure_groups(app.store(), flt, limit=limit)]
        if as_json:
            echo_json([group for group, _ in groups])
            return
    if not groups:
        say("no job waits on anything")
        return
    first = f"{'TENANTS':>7}  " if all_tenants else ""
    say(f"{'JOBS':>7}  {first}{'CATEGORY':<11} {'SINCE':<16}  CAUSE")
    for group, tenants in groups:
        many = f"{tenants:>7}  " if all_tenants else ""
        category = group.category.value if group.category else "-"
        say(
            f"{group.count:>7}  {many}{category:<11} {when(group.since)[:16]:<16}  "
            f"{plain(group.cause)}"
        )


@click.command()
@click.argument("job_ids", nargs=-1, type=int, metavar="[JOB_ID]...")
@click.option("--all", "matching", is_flag=True, help="Every job the options below match.")
@click.option("--state", type=choice(JobState), help="With --all: only jobs in this state.")
@click.option("--category", type=choice(Category), help="With --all: only this category.")
@click.option("--kind", type=choice(DocumentKind), help="With --all: only this kind.")
@click.option("--division", type=int, help="With --all: only this division.")
@click.option("--search", "text", help="With --all: text in the number, cause or error.")
@click.option(
    "--cause",
    help="With --all or --all-tenants: jobs of this cause, exactly as `jobs --by-cause` shows it.",
)
@click.option(
    "--all-tenants",
    is_flag=True,
    help="The jobs of --cause in every tenant, each retried in its own tenant.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@pass_app
def retry(
    app: AppContext,
    job_ids: tuple[int, ...],
    matching: bool,
    state: str | None,
    category: str | None,
    kind: str | None,
    division: int | None,
    text: str | None,
    cause: str | None,
    all_tenants: bool,
    yes: bool,
) -> None:
    """Retry jobs once their cause is fixed: failed, needs_mapping and retry_wait go back to
    pending; an unknown job is looked up in Exact first, never sent again blind.
    `--all-tenants --cause CAUSE` retries one cause in every tenant (after an outage)."""
    from exact_tui.services.intents import IntentRefused

    if all_tenants:
        if job_ids or matching:
            raise click.UsageError("--all-tenants retries by cause: give --cause, not job ids")
        if not cause:
            raise click.UsageError(
                "--all-tenants retries by cause: give --cause CAUSE "
                "(`exact-tui jobs --all-tenants --by-cause` lists them)"
            )
        _retry_across_tenants(app, _job_filter(state, category, kind, division, text, cause), yes)
        return
    if bool(job_ids) == matching:
        raise click.UsageError("give job ids, or --all with filter options")
    operator = intents(app)
    if job_ids:
        refused = 0
        for job_id in job_ids:
            try:
                say(f"job {job_id}: {plain(operator.retry(job_id).message)}")
            except IntentRefused as exc:
                refuse(f"job {job_id}: {exc}")
                refused += 1
        if refused:
            sys.exit(1)
        return
    flt = _job_filter(state, category, kind, division, text, cause)
    count = operator.count_matching(flt)
    if not count:
        say("no jobs match")
        return
    if not yes and not confirm(
        f"Retry {count} job(s)? The worker sends them paced by Exact's limits."
    ):
        fail("nothing retried")
    do(lambda: operator.retry_matching(flt))


def _retry_across_tenants(app: AppContext, flt: JobFilter, yes: bool) -> None:
    """One cause in every tenant: counted, confirmed, then retried tenant by tenant."""
    from exact_tui.services.audit import Actor
    from exact_tui.services.export_log import retry_preview_all_tenants
    from exact_tui.services.intents import IntentRefused
    from exact_tui.services.intents.retry import retry_across_tenants

    root = app.root()
    preview = retry_preview_all_tenants(root, flt)
    if not preview.jobs:
        say("no job of that cause waits in any tenant (`exact-tui jobs --all-tenants --by-cause`)")
        return
    question = (
        f"Retry {preview.jobs} job(s) in {preview.tenants} tenant(s)? "
        "The worker sends them paced by Exact's limits."
    )
    if preview.preview.unchanged:
        question += (
            f" {preview.preview.unchanged} of them Exact refused with nothing changed since: "
            "most likely refused again."
        )
    if preview.disabled_jobs:
        question += (
            f" {preview.disabled_jobs} of them in {len(preview.disabled_ids)} disabled "
            "tenant(s): they wait until the tenant is enabled."
        )
    if not yes and not confirm(question):
        fail("nothing retried")
    try:
        done = retry_across_tenants(
            root, Actor.current("cli"), flt, timezone=app.settings.sync.timezone, asked=preview
        )
    except IntentRefused as exc:
        fail(str(exc))
    for tenant in done.tenants:
        say(f"{tenant.code}: {tenant.result.message}")
    say(done.total.message)


@click.command()
@click.option("--reason", help="Shown on the status (default: paused by you).")
@pass_app
def pause(app: AppContext, reason: str | None) -> None:
    """Pause exports: nothing new is sent to Exact until `resume`."""
    operator = intents(app)
    do(lambda: operator.pause(reason))


@click.command()
@pass_app
def resume(app: AppContext) -> None:
    """Resume exports after `pause`."""
    do(intents(app).resume)


COMMANDS = (ingest, jobs, retry, pause, resume)
