"""The `exact-tui` command: a bare `exact-tui` opens the console; subcommands are the headless
parity of every console action (design §13). Exit codes: 0 done, 1 refused, 2 usage."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from exact_tui import __version__, paths
from exact_tui.config import ConfigError, Settings, load_settings, resolve_db_url
from exact_tui.domain.states import Category, DocumentKind, JobState, MappingKind
from exact_tui.store.engine import Store, StoreError, open_store

F = TypeVar("F", bound=Callable[..., Any])


class AppContext:
    """What every command shares: the settings, and the store opened on first use."""

    def __init__(self, settings: Settings, db_override: str | None) -> None:
        self.settings = settings
        self.db_url = resolve_db_url(db_override) if db_override else settings.db_url()
        self._store: Store | None = None

    def store(self) -> Store:
        if self._store is None:
            try:
                self._store = open_store(self.db_url)
            except StoreError as exc:
                fail(str(exc))
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()


def fail(message: str) -> NoReturn:
    """Refuse with a reason: the message on stderr, exit status 1."""
    click.echo(f"exact-tui: {message}", err=True)
    sys.exit(1)


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


def _when(value: dt.datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "never"


pass_app = click.make_pass_decorator(AppContext)


def console_options(command: F) -> F:
    """--read-only and --ansi, wherever the console opens."""
    command = click.option(
        "--ansi", is_flag=True, help="Console: draw with the terminal's own colours."
    )(command)
    return click.option("--read-only", is_flag=True, help="Console: offer no action that writes.")(
        command
    )


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db",
    metavar="URL-OR-PATH",
    envvar="EXACT_TUI_DB_URL",
    help="The store: a SQLAlchemy URL or a SQLite file path (default: a file in the data dir).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Settings file (default: config.toml in the config dir).",
)
@console_options
@click.version_option(__version__, prog_name="exact-tui")
@click.pass_context
def group(
    ctx: click.Context, db: str | None, config_file: Path | None, read_only: bool, ansi: bool
) -> None:
    """Export engine and operations console for the Exact Online integration."""
    try:
        settings = load_settings(config_file)
    except ConfigError as exc:
        fail(f"configuration: {exc}")
    app = AppContext(settings, db)
    ctx.obj = app
    ctx.call_on_close(app.close)
    if ctx.invoked_subcommand is None:
        ctx.invoke(console, read_only=read_only, ansi=ansi)


@group.command("console", hidden=True)
@console_options
@pass_app
def console(app: AppContext, read_only: bool, ansi: bool) -> None:
    """Open the console (what a bare `exact-tui` does)."""
    from exact_tui.secret_store import open_secret_store
    from exact_tui.services.audit import Actor
    from exact_tui.services.connection import ConnectError, connect_settings
    from exact_tui.services.console import ConsoleServices, operator_actions
    from exact_tui.ui.app import build_app

    settings = app.settings
    store = app.store()
    exact = settings.exact
    try:
        fallback = connect_settings(
            region=exact.region,
            base_url=exact.base_url,
            client_id=exact.client_id,
            redirect_uri=exact.redirect_uri,
            timeout=exact.timeout_seconds,
        )
    except ConnectError as exc:
        fail(str(exc))
    actions = operator_actions(
        store,
        Actor.current("tui"),
        open_secrets=lambda: open_secret_store(
            settings.secrets.store,
            file=settings.secrets.file,
            keyring_timeout=settings.secrets.keyring_timeout_seconds,
        ),
        connect_settings=fallback,
    )
    services = ConsoleServices(
        store,
        error_budget=settings.export.error_budget,
        timezone=settings.sync.timezone,
        actions=actions,
    )
    build_app(services, read_only=read_only, ansi=ansi).run()


@group.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE... | -")
@pass_app
def ingest(app: AppContext, files: tuple[str, ...]) -> None:
    """Load platform documents (JSON or JSON Lines, see docs/ingest-format.md).

    Each file is validated whole and written in one transaction: a bad file changes nothing.
    """
    from exact_tui.services.audit import Actor
    from exact_tui.services.ingest import IngestError, ingest_bytes

    store = app.store()
    refused = 0
    for name in files:
        source = "<stdin>" if name == "-" else name
        try:
            data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            click.echo(f"exact-tui: {source}: cannot read: {exc.strerror}", err=True)
            refused += 1
            continue
        try:
            summary = ingest_bytes(store, source, data, actor=Actor.current("cli"))
        except IngestError as exc:
            click.echo(f"exact-tui: {exc}", err=True)
            click.echo(f"{source}: refused, nothing from this file was stored", err=True)
            refused += 1
            continue
        click.echo(_describe_summary(summary))
    if refused:
        sys.exit(1)


def _describe_summary(summary: Any) -> str:
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


def _choice(enum: type[Enum]) -> click.Choice[str]:
    return click.Choice([member.value for member in enum])


@group.command()
@click.option("--state", type=_choice(JobState), help="Only jobs in this state.")
@click.option("--category", type=_choice(Category), help="Only jobs of this category.")
@click.option("--kind", type=_choice(DocumentKind), help="Only this kind of document.")
@click.option("--division", type=int, help="Only jobs routed to this division.")
@click.option("--search", "text", help="Text in the document number, cause or error.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
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
) -> None:
    """List export jobs, newest first."""
    from exact_tui.services.jobs import JobFilter, list_jobs

    flt = JobFilter(
        state=JobState(state) if state else None,
        category=Category(category) if category else None,
        kind=DocumentKind(kind) if kind else None,
        division=division,
        text=text,
    )
    rows = list_jobs(app.store(), flt, limit=limit)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no jobs match")
        return
    click.echo(
        f"{'ID':>7}  {'KIND':<9} {'NUMBER':<16} {'DATE':<10} {'DIVISION':>8}  {'STATE':<13} CAUSE"
    )
    for row in rows:
        click.echo(
            f"{row.id:>7}  {row.kind.value:<9} {row.number[:16]:<16} {row.date.isoformat():<10} "
            f"{row.division or '':>8}  {row.state.value:<13} {row.cause or row.last_error or ''}"
        )


@group.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """The integration's health as the store knows it."""
    from exact_tui.services.status import status_report

    report = status_report(app.store())
    if as_json:
        data = dataclasses.asdict(report)
        data["worker_running"] = report.worker_running
        echo_json(data)
        return
    _print_status(report)


def _print_status(report: Any) -> None:
    conn = report.connection
    if conn is None:
        click.echo("Connection: ⚫ Inactive (not connected yet: run `exact-tui connect`)")
    else:
        reason = f" ({conn.reason})" if conn.reason else ""
        click.echo(f"Connection: {conn.mark} {conn.label}{reason}")
        click.echo(f"  region {conn.region}, user {conn.user_name or 'unknown'}")
        click.echo(f"  activated {_when(conn.activated_at)}")
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
            f"last sync {_when(division.last_sync_at)}{access}"
        )
    if report.worker_running:
        worker = next(w for w in report.workers if w.alive)
        click.echo(
            f"Worker: running on {worker.host} (pid {worker.pid}), beat {_when(worker.beat_at)}"
        )
    else:
        click.echo("Worker: not running (start it with `exact-tui worker`)")


_REGIONS = ["nl", "be", "de", "fr", "uk", "es", "us"]


@group.command()
@click.option(
    "--base-url", metavar="URL", help="Exact's host, or the sandbox's (overrides --region)."
)
@click.option("--client-id", metavar="ID", help="The app's client id from Exact's App Center.")
@click.option("--redirect-uri", metavar="URI", help="The redirect URI registered for the app.")
@click.option("--region", type=click.Choice(_REGIONS), help="Which Exact host (default: config).")
@click.option(
    "--listen",
    is_flag=True,
    help="Wait for the browser on 127.0.0.1 at the redirect URI's port instead of reading "
    "the redirect from stdin (locally, or through `ssh -L PORT:127.0.0.1:PORT`).",
)
@click.option(
    "--force-login",
    is_flag=True,
    help="Make Exact ask for a login even if a browser "
    "session exists (when the browser is logged in as someone else).",
)
@pass_app
def connect(
    app: AppContext,
    base_url: str | None,
    client_id: str | None,
    redirect_uri: str | None,
    region: str | None,
    listen: bool,
    force_login: bool,
) -> None:
    """Connect to Exact Online, or reconnect.

    Prints the address where an Exact user allows access, then reads the address the browser
    ends on (or just the code) from stdin. The client secret comes from
    EXACT_TUI_CLIENT_SECRET or the secret store (see docs/connecting.md).
    """
    import asyncio

    from exact_tui.logging_setup import configure_logging
    from exact_tui.secret_store import SecretStoreError, open_secret_store
    from exact_tui.services.audit import Actor
    from exact_tui.services.connection import (
        ConnectError,
        ConnectionService,
        connect_settings,
        prepare_connect,
        region_of,
        wait_for_redirect,
    )

    settings = app.settings
    configure_logging(settings)
    exact = settings.exact
    host = base_url or exact.base_url
    chosen_region = region or (region_of(base_url) if base_url else exact.region)
    try:
        target = connect_settings(
            region=chosen_region,
            base_url=host,
            client_id=client_id or exact.client_id,
            redirect_uri=redirect_uri or exact.redirect_uri,
            timeout=exact.timeout_seconds,
        )
        # The secrets are checked before the store is opened: a refusal changes nothing.
        secret_store = open_secret_store(
            settings.secrets.store,
            file=settings.secrets.file,
            keyring_timeout=settings.secrets.keyring_timeout_seconds,
        )
        prepared = prepare_connect(secret_store, target)
    except (ConnectError, SecretStoreError) as exc:
        fail(str(exc))
    service = ConnectionService(app.store())
    attempt = service.begin(prepared, force_login=force_login)
    click.echo(attempt.authorize_url)
    if listen:
        click.echo(
            f"Open the address above, log in to Exact and allow access. Waiting for the "
            f"browser at {target.redirect_uri} …",
            err=True,
        )
        try:
            pasted = asyncio.run(wait_for_redirect(target.redirect_uri))
        except ConnectError as exc:
            fail(str(exc))
    else:
        click.echo(
            "Open the address above, log in to Exact and allow access. Then paste the address "
            "the browser ends on (or just the code) and press enter:",
            err=True,
        )
        pasted = sys.stdin.readline()
        if not pasted.strip():
            fail("nothing was pasted: run connect again")
    try:
        result = asyncio.run(service.complete(prepared, attempt, pasted, Actor.current("cli")))
    except ConnectError as exc:
        fail(str(exc))
    who = f" as {result.user_name}" if result.user_name else ""
    click.echo(f"✔ Connected{who} to {target.base_url}", err=True)
    click.echo(
        f"  activated {_when(result.activated_at)}"
        + ("" if result.first_connect else " (kept from the first connect)"),
        err=True,
    )
    if result.sync_requested:
        click.echo("  initial master-data import requested (the worker runs it)", err=True)
    if result.secret_saved_in:
        click.echo(f"  client secret stored in {result.secret_saved_in}", err=True)
    if result.note:
        click.echo(f"  note: {result.note}", err=True)


@group.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@pass_app
def disconnect(app: AppContext, yes: bool) -> None:
    """Disconnect from Exact: the tokens are deleted and exports stop at once; master data,
    mappings and jobs stay. `connect` again to resume."""
    from exact_tui.logging_setup import configure_logging
    from exact_tui.services.audit import Actor
    from exact_tui.services.connection import ConnectionService

    configure_logging(app.settings)
    if not yes and not click.confirm(
        "Disconnect from Exact? The tokens are deleted and exports stop until you connect again.",
        err=True,
    ):
        fail("not disconnected")
    if ConnectionService(app.store()).disconnect(Actor.current("cli")):
        click.echo("⚫ Disconnected: tokens deleted, exports stopped; master data kept.")
    else:
        click.echo("not connected: nothing to disconnect")


@group.command()
@pass_app
def doctor(app: AppContext) -> None:
    """Check paths, the database and its schema, file modes, the secret store and the terminal."""
    from exact_tui.services.doctor import DoctorInput, Level, run_checks

    settings = app.settings
    checks = run_checks(
        DoctorInput(
            config_file=paths.config_file(),
            data_dir=paths.data_dir(),
            state_dir=paths.state_dir(),
            db_url=app.db_url,
            secret_store=settings.secrets.store,
            secret_file=settings.secrets.file,
            keyring_timeout=settings.secrets.keyring_timeout_seconds,
        )
    )
    area = ""
    for check in checks:
        if check.area != area:
            area = check.area
            click.echo(area)
        click.echo(f"  {check.level.mark} {check.name}: {check.detail}")
    if any(check.level is Level.FAIL for check in checks):
        sys.exit(1)


def worker_setup(settings: Settings) -> Any:
    """The worker's options from the settings (one place, shared with the demo)."""
    from exact_tui.services.export import ExportOptions
    from exact_tui.services.runtime import LinkOptions, WorkerSetup
    from exact_tui.services.worker import WorkerOptions

    return WorkerSetup(
        link=LinkOptions(
            error_threshold=settings.export.error_budget,
            timeout=settings.exact.timeout_seconds,
        ),
        export=ExportOptions(
            backoff_base=settings.export.backoff_base_seconds,
            backoff_cap=settings.export.backoff_cap_seconds,
            lookup_safety_delay=settings.export.lookup_safety_delay_seconds,
            on_ambiguous=settings.customers.on_ambiguous,
            timezone=settings.sync.timezone,
        ),
        worker=WorkerOptions(daily_at=settings.sync.daily_at, timezone=settings.sync.timezone),
    )


@group.command()
@click.option(
    "--until-idle",
    is_flag=True,
    help="Do what is due (imports, exports) and exit, instead of running until stopped.",
)
@pass_app
def worker(app: AppContext, until_idle: bool) -> None:
    """Run the worker: the one process that calls Exact (imports and exports).

    Stops cleanly on SIGTERM or ctrl+c: nothing new starts, what is in flight finishes.
    """
    import asyncio
    import logging

    from exact_tui.logging_setup import configure_logging
    from exact_tui.secret_store import RedactingFilter, SecretStoreError, open_secret_store
    from exact_tui.services.runtime import build_worker

    settings = app.settings
    log_file = configure_logging(settings)
    store = app.store()
    try:
        secrets = open_secret_store(
            settings.secrets.store,
            file=settings.secrets.file,
            keyring_timeout=settings.secrets.keyring_timeout_seconds,
        )
    except SecretStoreError as exc:
        fail(str(exc))
    # The worker also reports to its terminal (journald under systemd), redacted like the file;
    # the one line per Exact call stays in the log file.
    console_handler = logging.StreamHandler()
    console_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    console_handler.addFilter(RedactingFilter())
    console_handler.addFilter(lambda record: record.name != "exact_tui.requests")
    logging.getLogger("exact_tui").addHandler(console_handler)
    runner, link = build_worker(store, secrets, worker_setup(settings))

    async def main() -> None:
        runner.install_signal_handlers()
        try:
            await runner.run(until_idle=until_idle)
        finally:
            await link.close()

    click.echo(
        f"exact-tui worker {runner.worker_id} on {store.url}; log {log_file}"
        + ("; until idle" if until_idle else "; SIGTERM or ctrl+c stops"),
        err=True,
    )
    asyncio.run(main())


@group.command()
@click.option("--division", type=int, help="Only this division (default: every division).")
@click.option("--wait", is_flag=True, help="Wait for the worker to finish, showing progress.")
@click.option(
    "--timeout",
    type=click.FloatRange(1),
    default=900,
    show_default=True,
    help="With --wait: give up waiting after this many seconds (the request stays queued).",
)
@pass_app
def sync(app: AppContext, division: int | None, wait: bool, timeout: float) -> None:
    """Retrieve data: ask the worker to import Exact's master data now."""
    import time

    from exact_tui.services.audit import Actor
    from exact_tui.services.status import status_report
    from exact_tui.services.sync_requests import SyncRefused, request_sync, sync_request

    store = app.store()
    try:
        request_id = request_sync(store, Actor.current("cli"), division)
    except SyncRefused as exc:
        fail(str(exc))
    scope = f"division {division}" if division is not None else "every division"
    click.echo(f"sync request {request_id} queued for {scope}")
    if not status_report(store).worker_running:
        click.echo(
            "no worker is running: the request waits until one starts (`exact-tui worker`)",
            err=True,
        )
    if not wait:
        return
    deadline = time.monotonic() + timeout
    shown = 0
    state = ""
    while True:
        view = sync_request(store, request_id)
        if view.state != state:
            state = view.state
            click.echo(f"  {state}")
        for run in view.runs[shown:]:
            where = f"division {run.division}" if run.division is not None else "divisions"
            outcome = (
                f"failed: {run.error}"
                if run.error
                else f"{run.read} read, +{run.added} ~{run.changed} -{run.removed}"
            )
            click.echo(f"  {where:<17} {run.entity:<13} {outcome} ({run.calls} calls)")
        shown = len(view.runs)
        if view.finished:
            click.echo(f"{view.state}: {view.result or ''}")
            if view.state == "failed":
                sys.exit(1)
            return
        if time.monotonic() > deadline:
            fail(f"gave up waiting after {timeout:g} s; sync request {request_id} stays queued")
        time.sleep(0.5)


# ---------------------------------------------------------------- operator intents


def _intents(app: AppContext) -> Any:
    from exact_tui.services.audit import Actor
    from exact_tui.services.intents import Intents

    return Intents(app.store(), Actor.current("cli"))


def _do(action: Callable[[], Any]) -> None:
    """Run an intent: its message on stdout, or its refusal on stderr with status 1."""
    from exact_tui.services.intents import IntentRefused

    try:
        result = action()
    except IntentRefused as exc:
        fail(str(exc))
    click.echo(result.message)


@group.command()
@click.argument("job_ids", nargs=-1, type=int, metavar="[JOB_ID]...")
@click.option("--all", "matching", is_flag=True, help="Every job the options below match.")
@click.option("--state", type=_choice(JobState), help="With --all: only jobs in this state.")
@click.option("--category", type=_choice(Category), help="With --all: only this category.")
@click.option("--kind", type=_choice(DocumentKind), help="With --all: only this kind.")
@click.option("--division", type=int, help="With --all: only this division.")
@click.option("--search", "text", help="With --all: text in the number, cause or error.")
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
    yes: bool,
) -> None:
    """Retry jobs once their cause is fixed: failed, needs_mapping and retry_wait go back to
    pending; an unknown job is looked up in Exact first, never sent again blind."""
    from exact_tui.services.intents import IntentRefused
    from exact_tui.services.jobs import JobFilter

    if bool(job_ids) == matching:
        raise click.UsageError("give job ids, or --all with filter options")
    intents = _intents(app)
    if job_ids:
        refused = 0
        for job_id in job_ids:
            try:
                click.echo(f"job {job_id}: {intents.retry(job_id).message}")
            except IntentRefused as exc:
                click.echo(f"exact-tui: job {job_id}: {exc}", err=True)
                refused += 1
        if refused:
            sys.exit(1)
        return
    flt = JobFilter(
        state=JobState(state) if state else None,
        category=Category(category) if category else None,
        kind=DocumentKind(kind) if kind else None,
        division=division,
        text=text,
    )
    count = intents.count_matching(flt)
    if not count:
        click.echo("no jobs match")
        return
    if not yes and not click.confirm(
        f"Retry {count} job(s)? The worker sends them paced by Exact's limits.", err=True
    ):
        fail("nothing retried")
    _do(lambda: intents.retry_matching(flt))


@group.command("map")
@click.option("--division", type=int, required=True, help="The Exact division.")
@click.option("--kind", type=_choice(MappingKind), required=True, help="What is mapped.")
@click.argument("platform_code")
@click.argument("exact_code")
@pass_app
def map_code(
    app: AppContext, division: int, kind: str, platform_code: str, exact_code: str
) -> None:
    """Map a platform GL / VAT / cost center / cost unit code to an Exact code; the documents
    it unblocks go back to the queue."""
    intents = _intents(app)
    _do(lambda: intents.map(division, MappingKind(kind), platform_code, exact_code))


@group.group()
def bind() -> None:
    """Bind a bank account to a division and bank journal, or a division to an organization."""


@bind.command("bank-account")
@click.argument("iban")
@click.option("--division", type=int, required=True, help="The Exact division.")
@click.option("--journal", required=True, help="The division's bank journal (its code).")
@pass_app
def bind_bank_account(app: AppContext, iban: str, division: int, journal: str) -> None:
    """Route a bank account's invoices, payments and write-offs to a division."""
    intents = _intents(app)
    _do(lambda: intents.bind_bank_account(iban, division, journal))


@bind.command("division")
@click.argument("division", type=int)
@click.option("--organization", required=True, help="The organization's code.")
@pass_app
def bind_division(app: AppContext, division: int, organization: str) -> None:
    """Bind a division to an organization (a division belongs to one at most)."""
    intents = _intents(app)
    _do(lambda: intents.bind_division(division, organization))


@group.group()
def unbind() -> None:
    """Take a bank account's binding away (its documents wait for a new one)."""


@unbind.command("bank-account")
@click.argument("iban")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def unbind_bank_account(app: AppContext, iban: str, yes: bool) -> None:
    """Unbind a bank account: documents not yet in Exact wait until it is bound again."""
    if not yes:
        click.confirm(
            f"Unbind {iban}? Its documents not yet in Exact stop until it is bound again",
            abort=True,
            err=True,
        )
    intents = _intents(app)
    _do(lambda: intents.unbind_bank_account(iban))


@group.command()
@click.argument("customer")
@click.argument("account")
@click.option("--division", type=int, required=True, help="The Exact division.")
@pass_app
def link(app: AppContext, customer: str, account: str, division: int) -> None:
    """Link a platform customer (its number) to an Exact account (its code or ID). Documents
    not yet posted go to that account; posted ones stay where they are."""
    intents = _intents(app)
    _do(lambda: intents.link(customer, division, account))


@group.command()
@click.argument("customer")
@click.option("--division", type=int, required=True, help="The Exact division.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@pass_app
def unlink(app: AppContext, customer: str, division: int, yes: bool) -> None:
    """Remove a customer's link: documents not yet posted are matched again."""
    if not yes and not click.confirm(
        f"Unlink customer {customer} in division {division}?", err=True
    ):
        fail("nothing unlinked")
    intents = _intents(app)
    _do(lambda: intents.unlink(customer, division))


@group.command()
@click.option("--division", type=int, required=True, help="The Exact division.")
@click.option("--sales-journal", help="Sales journal code (type 20).")
@click.option("--general-journal", help="General journal code (type 90).")
@click.option("--receivables-gl", help="Receivables GL account code (type 20).")
@click.option("--write-off-gl", help="Write-off GL account code.")
@click.option("--collection-costs-gl", help="Collection-costs GL account code.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (when showing).")
@pass_app
def settings(
    app: AppContext,
    division: int,
    as_json: bool,
    sales_journal: str | None,
    general_journal: str | None,
    receivables_gl: str | None,
    write_off_gl: str | None,
    collection_costs_gl: str | None,
) -> None:
    """Show or change a division's journals and GL accounts ("" clears a value)."""
    from exact_tui.domain.preflight import SETTING_LABELS
    from exact_tui.services.intents import current_settings

    changes = {
        "sales_journal": sales_journal,
        "general_journal": general_journal,
        "receivables_gl": receivables_gl,
        "write_off_gl": write_off_gl,
        "collection_costs_gl": collection_costs_gl,
    }
    if all(value is None for value in changes.values()):
        values = current_settings(app.store(), division)
        if as_json:
            echo_json({"division": division, **values})
            return
        for name, value in values.items():
            click.echo(f"{SETTING_LABELS[name]:<28} {value or '(not set)'}")
        return
    intents = _intents(app)
    _do(lambda: intents.set_settings(division, **changes))


@group.command()
@click.option("--reason", help="Shown on the status (default: paused by you).")
@pass_app
def pause(app: AppContext, reason: str | None) -> None:
    """Pause exports: nothing new is sent to Exact until `resume`."""
    intents = _intents(app)
    _do(lambda: intents.pause(reason))


@group.command()
@pass_app
def resume(app: AppContext) -> None:
    """Resume exports after `pause`."""
    intents = _intents(app)
    _do(intents.resume)


@group.command()
@click.option(
    "--headless",
    is_flag=True,
    help="No console: connect, import, ingest and export until idle, then print a summary.",
)
@click.option("--json", "as_json", is_flag=True, help="With --headless: the summary as JSON.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the demo store in this directory (default: a temporary one, removed at exit).",
)
@console_options
def demo(
    headless: bool, as_json: bool, directory: Path | None, read_only: bool, ansi: bool
) -> None:
    """A first look without an Exact account: the sandbox, a fresh demo store, demo documents
    and a worker, with the console in front (never touches your own store)."""
    import asyncio
    import tempfile
    from contextlib import ExitStack

    if as_json and not headless:
        raise click.UsageError("--json goes with --headless")
    with ExitStack() as stack:
        kept = directory is not None
        if directory is None:
            directory = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="exact-tui-demo-"))
            )
        elif directory.exists() and any(directory.iterdir()):
            fail(f"{directory} is not empty: the demo starts from a fresh store")
        directory.mkdir(parents=True, exist_ok=True)
        if headless:
            from exact_tui.demo.headless import run_headless

            summary = asyncio.run(run_headless(directory))
            if not kept:
                summary.store = "removed at exit (--dir keeps it)"
            if as_json:
                echo_json(summary.as_dict())
            else:
                click.echo("\n".join(summary.lines()))
            return
        from exact_tui.demo.console import run_console

        run_console(directory, read_only=read_only, ansi=ansi)


@group.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the generated data.")
@click.option(
    "--size",
    type=click.Choice(["small", "large"]),
    default="small",
    show_default=True,
    help="small: the demo's 3 divisions; large: 2 divisions of 20,000 accounts each.",
)
def sandbox(port: int, seed: int, size: str) -> None:
    """Serve the Exact Online sandbox on 127.0.0.1 until stopped (control API under /_sandbox/)."""
    from exact_tui.sandbox.server import serve

    click.echo(
        f"Exact Online sandbox on http://127.0.0.1:{port} (seed {seed}, {size}); ctrl+c stops"
    )
    serve(port, seed=seed, size=size)


def main() -> None:
    group(prog_name="exact-tui")
