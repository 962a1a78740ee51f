"""Running the integration: its status, the worker, a master-data import, and the doctor."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from typing import TYPE_CHECKING

import click

from exact_tui import paths
from exact_tui.cli.output import echo_json, plain, print_status, say
from exact_tui.cli.wiring import AppContext, fail, open_secrets, pass_app, worker_setup

if TYPE_CHECKING:
    from exact_tui.store.engine import Store


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--all", "every", is_flag=True, help="Every tenant: status and queue, one a line.")
@pass_app
def status(app: AppContext, as_json: bool, every: bool) -> None:
    """The integration's health as the store knows it."""
    from exact_tui.services.status import status_report

    if every:
        from exact_tui.cli.tenants import print_tenants

        print_tenants(app, as_json)
        return

    report = status_report(app.store())
    if as_json:
        data = dataclasses.asdict(report)
        data["worker_running"] = report.worker_running
        echo_json(data)
        return
    print_status(report)


@click.command()
@pass_app
def doctor(app: AppContext) -> None:
    """Check paths, the database and its schema, file modes, the secret store and the terminal."""
    from exact_tui.logging_setup import log_path
    from exact_tui.services.doctor import DoctorInput, Level, run_checks

    settings = app.settings
    checks = run_checks(
        DoctorInput(
            config_file=app.config_file,
            data_dir=paths.data_dir(),
            state_dir=paths.state_dir(),
            db_url=app.db_url,
            secret_store=settings.secrets.store,
            secret_file=settings.secrets.file,
            keyring_timeout=settings.secrets.keyring_timeout_seconds,
            config_problem=app.config_problem,
            log_file=log_path(settings),
        )
    )
    area = ""
    for check in checks:
        if check.area != area:
            area = check.area
            say(area)
        say(f"  {check.level.mark} {check.name}: {plain(check.detail)}")
    if any(check.level is Level.FAIL for check in checks):
        sys.exit(1)


@click.command()
@click.option(
    "--until-idle",
    is_flag=True,
    help="Do what is due (imports, exports) and exit, instead of running until stopped.",
)
@pass_app
def worker(app: AppContext, until_idle: bool) -> None:
    """Run the worker: the process that calls Exact (imports and exports) for every enabled
    tenant of the store, or with --tenant for that one only.

    Stops cleanly on SIGTERM or ctrl+c: nothing new starts, what is in flight finishes.
    """
    import asyncio
    import logging

    from exact_tui.logging_setup import PlainFormatter, configure_logging
    from exact_tui.secret_store import RedactingFilter, SecretStoreError
    from exact_tui.services.runtime import build_worker
    from exact_tui.services.worker import WorkLeft

    settings = app.settings
    log_file = configure_logging(settings)
    # A fleet command: without --tenant it serves every tenant.
    store = app.store() if app.tenant else app.root()
    try:
        secrets = open_secrets(settings)
    except SecretStoreError as exc:
        fail(str(exc))
    # The worker also reports to its terminal (journald under systemd), redacted like the file;
    # the one line per Exact call stays in the log file.
    console_handler = logging.StreamHandler()
    console_handler.setFormatter(PlainFormatter("%(levelname)s %(name)s: %(message)s"))
    console_handler.addFilter(RedactingFilter())
    console_handler.addFilter(lambda record: record.name != "exact_tui.requests")
    logging.getLogger("exact_tui").addHandler(console_handler)
    runner, link = build_worker(store, secrets, worker_setup(settings))

    async def main() -> WorkLeft | None:
        runner.install_signal_handlers()
        try:
            return await runner.run(until_idle=until_idle)
        finally:
            await link.close()

    if not until_idle:  # a batch run says nothing unless something is wrong
        serving = _serving(store)
        say(
            f"exact-tui worker {plain(runner.worker_id)} on {plain(store.url)}, serving "
            f"{plain(serving)}; log {plain(log_file)}; SIGTERM or ctrl+c stops",
            err=True,
        )
    left = asyncio.run(main())
    if left is not None:
        # Idle with work left: say why (a spent budget waits for its reset; a paused or broken
        # connection waits for a person, exit 1).
        say(f"exact-tui worker: {plain(left.message)}", err=True)
        if left.blocked:
            sys.exit(1)


@click.command()
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
    say(f"sync request {request_id} queued for {scope}")
    if not status_report(store).worker_running:
        say(
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
            say(f"  {plain(state)}")
        for run in view.runs[shown:]:
            where = f"division {run.division}" if run.division is not None else "divisions"
            outcome = (
                f"failed: {plain(run.error)}"
                if run.error
                else f"{run.read} read, +{run.added} ~{run.changed} -{run.removed}"
            )
            say(f"  {where:<17} {plain(run.entity):<13} {outcome} ({run.calls} calls)")
        shown = len(view.runs)
        if view.finished:
            say(f"{plain(view.state)}: {plain(view.result)}")
            if view.state == "failed":
                sys.exit(1)
            return
        if time.monotonic() > deadline:
            fail(f"gave up waiting after {timeout:g} s; sync request {request_id} stays queued")
        time.sleep(0.5)


@click.command()
@click.option("--division", type=int, help="Only this division (default: every division).")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Entries dated from this day (YYYY-MM-DD; default: reconcile.days back).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Wait for the worker to finish the run and show what it found.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(1),
    default=900,
    show_default=True,
    help="Give up waiting after this many seconds (the run stays queued).",
)
@pass_app
def reconcile(
    app: AppContext,
    division: int | None,
    since: dt.datetime | None,
    as_json: bool,
    wait: bool,
    timeout: float,
) -> None:
    """Reconcile: compare what Exact holds with the store (duplicates, missing, unrecorded).

    The worker reads the period back from Exact; nothing is posted or deleted. Exit 1 when the
    run found something or failed.
    """
    import time

    from exact_tui.cli.output import print_reconcile
    from exact_tui.services.audit import Actor
    from exact_tui.services.reconcile import ReconcileRefused, reconcile_report, request_reconcile
    from exact_tui.services.status import status_report

    store = app.store()
    day = since.date() if since is not None else None
    try:
        run_id = request_reconcile(store, Actor.current("cli"), division=division, since=day)
    except ReconcileRefused as exc:
        fail(str(exc))
    if not as_json:
        scope = f"division {division}" if division is not None else "every division"
        say(f"reconciliation {run_id} queued for {scope}", err=True)
    if not status_report(store).worker_running:
        say("no worker is running: the run waits until one starts (`exact-tui worker`)", err=True)
    if not wait:
        if as_json:
            echo_json({"id": run_id, "state": "pending"})
        return
    deadline = time.monotonic() + timeout
    while True:
        report = reconcile_report(store, run_id)
        if report.finished:
            break
        if time.monotonic() > deadline:
            fail(f"gave up waiting after {timeout:g} s; reconciliation {run_id} stays queued")
        time.sleep(0.5)
    if as_json:
        echo_json(dataclasses.asdict(report))
    else:
        print_reconcile(report)
    if not report.clean:
        sys.exit(1)


COMMANDS = (status, doctor, worker, sync, reconcile)


def _serving(store: Store) -> str:
    """What a worker on `store` serves, for its start line: "tenant CODE", or how many
    tenants (and how many of them are disabled)."""
    from exact_tui.store.engine import TenantStore

    if isinstance(store, TenantStore):
        return f"tenant {store.code}"
    tenants = store.tenants()
    enabled = sum(1 for tenant in tenants if tenant.disabled_at is None)
    disabled = len(tenants) - enabled
    served = f"{enabled} tenant{'' if enabled == 1 else 's'}"
    return served + (f" ({disabled} disabled)" if disabled else "")
