"""What every command shares: the settings, the store opened on first use, the secret store,
the operator's intents, and the one way to refuse."""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from exact_tui import paths
from exact_tui.cli.output import refuse, say
from exact_tui.config import Settings, resolve_db_url
from exact_tui.store.engine import Store, StoreError, open_store

if TYPE_CHECKING:
    from exact_tui.secret_store import SecretStore
    from exact_tui.services.intents import Intents
    from exact_tui.services.runtime import WorkerSetup

F = TypeVar("F", bound=Callable[..., Any])


class AppContext:
    """What every command shares: the settings, and the store opened on first use."""

    def __init__(
        self,
        settings: Settings,
        db_override: str | None,
        *,
        config_file: Path | None = None,
        config_problem: str | None = None,
        tenant: str | None = None,
    ) -> None:
        self.settings = settings
        #: --tenant or EXACT_TUI_TENANT: the tenant commands act on (docs/tenants.md).
        self.tenant = tenant
        #: The settings file read (or that would have been): --config, else the default.
        self.config_file = config_file or paths.config_file()
        self.db_url = resolve_db_url(db_override) if db_override else settings.db_url()
        #: Why the configuration was refused, when a command that runs anyway (doctor) runs on
        #: the defaults.
        self.config_problem = config_problem
        self._store: Store | None = None
        self._tenant_store: Store | None = None

    def use_db(self, value: str) -> None:
        """`--db` given after the command: the same as before it."""
        self.db_url = resolve_db_url(value)

    def use_tenant(self, value: str) -> None:
        """`--tenant` given after the command: the same as before it."""
        self.tenant = value

    def root(self) -> Store:
        """The store, across tenants: for fleet commands (`tenants`, `status --all`)."""
        if self._store is None:
            try:
                self._store = open_store(self.db_url)
            except StoreError as exc:
                fail(str(exc))
        return self._store

    def store(self) -> Store:
        """The store of the tenant this command acts on: --tenant, else the only one; with
        several and none chosen, the command is refused saying how to choose."""
        if self._tenant_store is None:
            self._tenant_store = self._chosen(self.root())
        return self._tenant_store

    def store_or_root(self) -> Store:
        """The chosen (or only) tenant's store; with several and none chosen, the store across
        tenants, for input that names its tenants (`ingest` records with a tenant field)."""
        if self.tenant or len(self.root().tenants()) <= 1:
            return self.store()
        return self.root()

    def _chosen(self, root: Store) -> Store:
        from exact_tui.domain.tenants import BadTenantCode, normalise_code

        if self.tenant:
            try:
                return root.tenant(normalise_code(self.tenant))
            except (BadTenantCode, StoreError) as exc:
                fail(str(exc))
        tenants = root.tenants()
        if len(tenants) == 1 and tenants[0].id is not None:
            return root.tenant(tenants[0].id)
        if not tenants:
            fail("this store has no tenant: add one with `exact-tui tenants add CODE --name NAME`")
        codes = ", ".join(t.code for t in tenants[:5]) + (", …" if len(tenants) > 5 else "")
        fail(
            f"this store serves {len(tenants)} tenants ({codes}): choose one with "
            "--tenant CODE or EXACT_TUI_TENANT (`exact-tui tenants` lists them)"
        )

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()


pass_app = click.make_pass_decorator(AppContext)


def fail(message: str) -> NoReturn:
    """Refuse with a reason: one line on stderr, exit status 1."""
    refuse(message)
    sys.exit(1)


def explain(error: BaseException, db_url: str | None) -> str:
    """The one line for an error that escaped a command: what is wrong and what to do when the
    environment caused it, or that it is a bug."""
    from exact_tui.config import ConfigError
    from exact_tui.secret_store import SecretStoreError
    from exact_tui.services.worker import StorageUnavailable
    from exact_tui.store.failures import store_failure, unusable_url

    if isinstance(error, StorageUnavailable):
        return f"the worker stopped: {error}"
    known = (store_failure(error, db_url) or unusable_url(error, db_url)) if db_url else None
    if known is not None:
        return str(known)
    if isinstance(error, StoreError | ConfigError | SecretStoreError):
        return str(error)
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror or error}"
    return (
        f"internal error ({type(error).__name__}: {error}): this is a bug in exact-tui; "
        "`exact-tui --traceback …` shows where it happened, for a report"
    )


def _db_after_the_command(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        app = ctx.find_object(AppContext)
        if app is not None:
            app.use_db(value)


def _tenant_after_the_command(
    ctx: click.Context, _param: click.Parameter, value: str | None
) -> None:
    if value:
        app = ctx.find_object(AppContext)
        if app is not None:
            app.use_tenant(value)


def accept_db_anywhere(command: click.Command) -> None:
    """Give `command` (and a group's commands) the `--db` and `--tenant` options the group has,
    so that `exact-tui status --db X --tenant T` works like `exact-tui --db X --tenant T
    status`."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_db_anywhere(sub)
        return
    command.params.append(
        click.Option(
            ["--db"],
            metavar="URL-OR-PATH",
            expose_value=False,
            is_eager=True,
            callback=_db_after_the_command,
            help="The store (as `exact-tui --db`).",
        )
    )
    command.params.append(
        click.Option(
            ["--tenant"],
            metavar="CODE",
            expose_value=False,
            is_eager=True,
            callback=_tenant_after_the_command,
            help="The tenant to act on (as `exact-tui --tenant`).",
        )
    )


def console_options(command: F) -> F:
    """--read-only and --ansi, wherever the console opens."""
    command = click.option(
        "--ansi", is_flag=True, help="Console: draw with the terminal's own colours."
    )(command)
    return click.option("--read-only", is_flag=True, help="Console: offer no action that writes.")(
        command
    )


def choice(enum: type[Enum]) -> click.Choice[str]:
    """An option whose values are an enum's."""
    return click.Choice([member.value for member in enum])


def open_secrets(settings: Settings) -> SecretStore:
    """The secret store the settings name. Raises SecretStoreError."""
    from exact_tui.secret_store import open_secret_store

    return open_secret_store(
        settings.secrets.store,
        file=settings.secrets.file,
        keyring_timeout=settings.secrets.keyring_timeout_seconds,
    )


def worker_setup(settings: Settings) -> WorkerSetup:
    """The worker's options from the settings."""
    from exact_tui.services.export import ExportOptions
    from exact_tui.services.reconcile import ReconcileOptions
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
            settle_horizon=settings.export.settle_horizon_seconds,
            lease_seconds=settings.export.lease_seconds,
            on_ambiguous=settings.customers.on_ambiguous,
            timezone=settings.sync.timezone,
        ),
        worker=WorkerOptions(
            daily_at=settings.sync.daily_at,
            timezone=settings.sync.timezone,
            heartbeat_seconds=settings.worker.heartbeat_seconds,
            lease_seconds=settings.worker.lease_seconds,
            # A clock off by more than a heartbeat would shorten the others' leases by that
            # much, at least two heartbeats short of taking a live worker for dead.
            max_clock_skew_seconds=settings.worker.heartbeat_seconds,
        ),
        reconcile=ReconcileOptions(
            days=settings.reconcile.days,
            max_calls=settings.reconcile.max_calls,
            timezone=settings.sync.timezone,
        ),
        reconcile_daily=settings.reconcile.daily,
    )


def intents(app: AppContext) -> Intents:
    """The operator's intents, as the person at this command line."""
    from exact_tui.services.audit import Actor
    from exact_tui.services.intents import Intents

    return Intents(app.store(), Actor.current("cli"), timezone=app.settings.sync.timezone)


def do(action: Callable[[], Any]) -> None:
    """Run an intent: its message on stdout, or its refusal on stderr with status 1."""
    from exact_tui.services.intents import IntentRefused

    try:
        result = action()
    except IntentRefused as exc:
        fail(str(exc))
    say(result.message)
