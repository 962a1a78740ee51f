"""The `exact-tui` group: the options every command shares, and the console a bare
`exact-tui` opens."""

from __future__ import annotations

from pathlib import Path

import click

from exact_tui import __version__
from exact_tui.cli.wiring import AppContext, console_options, fail, open_secrets, pass_app
from exact_tui.config import ConfigError, load_settings


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
        open_secrets=lambda: open_secrets(settings),
        connect_settings=fallback,
        timezone=settings.sync.timezone,
    )
    services = ConsoleServices(
        store,
        error_budget=settings.export.error_budget,
        timezone=settings.sync.timezone,
        actions=actions,
    )
    build_app(services, read_only=read_only, ansi=ansi).run()
