"""The `exact-tui` group: the options every command shares, and the console a bare
`exact-tui` opens."""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from exact_tui import __version__
from exact_tui.cli.output import refuse, say
from exact_tui.cli.wiring import (
    AppContext,
    console_options,
    explain,
    fail,
    open_secrets,
    pass_app,
)
from exact_tui.config import ConfigError, Settings, load_settings
from exact_tui.store.engine import Store

if TYPE_CHECKING:
    from exact_tui.services.fleet import FleetServices


class Commands(click.Group):
    """The `exact-tui` group, which answers every failure in one line (exit status 1).

    What a broken environment raises (a damaged, read-only or full store, a folder for a file,
    no driver, an unreadable file) becomes the line that names it; an error nobody foresaw is
    a bug, told in one line too (`--traceback` shows where). Usage errors keep click's form,
    made plain like everything printed (cli/output.py).
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(
                args=args,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
            code = result if isinstance(result, int) else 0
        except click.ClickException as exc:
            shown = io.StringIO()
            exc.show(file=shown)
            say(shown.getvalue().rstrip("\n"), err=True)
            code = exc.exit_code
        except click.Abort:
            say(err=True)  # ends a question left without an answer (stdin closed, ctrl+c)
            refuse("stopped; nothing more was done")
            code = 1
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, BrokenPipeError):
            raise  # click's own answers (a closed pipe ends the output quietly)
        except Exception as exc:
            if ctx.params.get("show_traceback"):
                raise
            app = ctx.find_object(AppContext)
            fail(explain(exc, app.db_url if app is not None else None))


@click.group(
    cls=Commands,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--db",
    "db",
    metavar="URL-OR-PATH",
    envvar="EXACT_TUI_DB_URL",
    help="The store: a SQLAlchemy URL or a SQLite file path (default: a file in the data dir).",
)
@click.option(
    "--tenant",
    "tenant",
    metavar="CODE",
    envvar="EXACT_TUI_TENANT",
    help="The tenant (company) to act on; needed only when the store serves several.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Settings file (default: config.toml in the config dir).",
)
@click.option(
    "--traceback",
    "show_traceback",
    is_flag=True,
    hidden=True,
    help="On an internal error, show Python's traceback instead of one line.",
)
@console_options
@click.version_option(__version__, prog_name="exact-tui")
@click.pass_context
def group(
    ctx: click.Context,
    db: str | None,
    tenant: str | None,
    config_file: Path | None,
    show_traceback: bool,
    read_only: bool,
    ansi: bool,
) -> None:
    """Export engine and operations console for the Exact Online integration."""
    try:
        app = AppContext(load_settings(config_file), db, config_file=config_file, tenant=tenant)
    except ConfigError as exc:
        if ctx.invoked_subcommand != "doctor":
            fail(f"configuration: {exc}")
        # The doctor runs on the defaults and says what is wrong with the configuration.
        app = AppContext(
            Settings(), db, config_file=config_file, config_problem=str(exc), tenant=tenant
        )
    ctx.obj = app
    ctx.call_on_close(app.close)
    if ctx.invoked_subcommand is None:
        ctx.invoke(console, read_only=read_only, ansi=ansi)


@group.command("console", hidden=True)
@console_options
@pass_app
def console(app: AppContext, read_only: bool, ansi: bool) -> None:
    """Open the console (what a bare `exact-tui` does). With several tenants and none chosen,
    it opens on Fleet: enter opens a tenant's console, leaving it comes back (docs/tenants.md
    §Fleet)."""
    root = app.root()
    several = len(root.tenants()) > 1
    if app.tenant or not several:
        store = app.store()
        shown = getattr(store, "code", None) if several else None
        _console(app, store, read_only=read_only, ansi=ansi, tenant=shown)
        return
    from exact_tui.services.audit import Actor
    from exact_tui.services.fleet import fleet_services
    from exact_tui.ui.fleet import run_fleet

    fleet = fleet_services(
        root, Actor.current("tui"), read_only=read_only, timezone=app.settings.sync.timezone
    )
    run_fleet(
        fleet,
        lambda code: _console(
            app, root.tenant(code), read_only=read_only, ansi=ansi, tenant=code, fleet=fleet
        ),
        ansi=ansi,
        read_only=read_only,
    )


def _console(
    app: AppContext,
    store: Store,
    *,
    read_only: bool,
    ansi: bool,
    tenant: str | None = None,
    fleet: FleetServices | None = None,
) -> str | None:
    """The console of one tenant's store; opened from the Fleet (`fleet`), what it leaves
    with: the tenant to open next, or None."""
    from exact_tui.logging_setup import configure_logging
    from exact_tui.services.audit import Actor
    from exact_tui.services.connection import ConnectError, connect_settings
    from exact_tui.services.console import ConsoleServices, operator_actions
    from exact_tui.ui.app import KeymapError, build_app

    settings = app.settings
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
        open_secrets=lambda: open_secrets(settings),
        connect_settings=fallback,
        timezone=settings.sync.timezone,
    )
    services = ConsoleServices(
        store,
        error_budget=settings.export.error_budget,
        timezone=settings.sync.timezone,
        actions=actions,
        tenant=tenant,
        fleet=fleet,
    )
    # What goes wrong in the console is logged, with its traceback, in the log file.
    configure_logging(settings)
    try:
        console_app = build_app(services, read_only=read_only, ansi=ansi, keymap=settings.keys)
    except KeymapError as exc:
        fail(f"configuration: {exc}")
    return console_app.run()
