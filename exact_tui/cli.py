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
from exact_tui.domain.states import Category, DocumentKind, JobState
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
@click.option("--read-only", is_flag=True, help="Console: offer no action that writes.")
@click.option("--ansi", is_flag=True, help="Console: draw with the terminal's own colours.")
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
@click.option("--read-only", is_flag=True, help="Offer no action that writes.")
@click.option("--ansi", is_flag=True, help="Draw with the terminal's own colours.")
@pass_app
def console(app: AppContext, read_only: bool, ansi: bool) -> None:
    """Open the console (what a bare `exact-tui` does)."""
    from exact_tui.services.console import ConsoleServices
    from exact_tui.ui.app import build_app

    services = ConsoleServices(
        app.store(),
        error_budget=app.settings.export.error_budget,
        timezone=app.settings.sync.timezone,
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
    from exact_tui.secrets import SecretStoreError, open_secret_store
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
