"""Connecting to Exact Online and disconnecting."""

from __future__ import annotations

import sys

import click

from exact_tui.cli.output import confirm, plain, say, when
from exact_tui.cli.wiring import AppContext, fail, open_secrets, pass_app

_REGIONS = ["nl", "be", "de", "fr", "uk", "es", "us"]


@click.command()
@click.option(
    "--base-url", metavar="URL", help="Exact's host, or the sandbox's (overrides --region)."
)
@click.option("--client-id", metavar="ID", help="The app's client id from Exact's App Center.")
@click.option("--redirect-uri", metavar="URI", help="The redirect URI registered for the app.")
@click.option("--region", type=click.Choice(_REGIONS), help="Which Exact host (default: config).")
@click.option(
    "--listen",
    is_flag=True,
    help="Wait for the browser on 127.0.0.1 (exact.listen_port, 8765) instead of reading the "
    "redirect from stdin: the page at the redirect URI forwards it there, through "
    "`ssh -L PORT:127.0.0.1:PORT` from another machine (docs/connecting.md).",
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
    from exact_tui.secret_store import SecretStoreError
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
        prepared = prepare_connect(open_secrets(settings), target)
    except (ConnectError, SecretStoreError) as exc:
        fail(str(exc))
    service = ConnectionService(app.store())
    attempt = service.begin(prepared, force_login=force_login)
    say(attempt.authorize_url)
    if listen:
        say(
            f"Open the address above, log in to Exact and allow access. Waiting on "
            f"127.0.0.1:{exact.listen_port} for the redirect to {plain(target.redirect_uri)} …",
            err=True,
        )
        try:
            pasted = asyncio.run(wait_for_redirect(target.redirect_uri, port=exact.listen_port))
        except ConnectError as exc:
            fail(str(exc))
    else:
        say(
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
    who = f" as {plain(result.user_name)}" if result.user_name else ""
    say(f"✔ Connected{who} to {plain(target.base_url)}", err=True)
    say(
        f"  activated {when(result.activated_at)}"
        + ("" if result.first_connect else " (kept from the first connect)"),
        err=True,
    )
    if result.sync_requested:
        say("  initial master-data import requested (the worker runs it)", err=True)
    if result.secret_saved_in:
        say(f"  client secret stored in {plain(result.secret_saved_in)}", err=True)
    if result.note:
        say(f"  note: {plain(result.note)}", err=True)


@click.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@pass_app
def disconnect(app: AppContext, yes: bool) -> None:
    """Disconnect from Exact: the tokens are deleted and exports stop at once; master data,
    mappings and jobs stay. `connect` again to resume."""
    from exact_tui.logging_setup import configure_logging
    from exact_tui.services.audit import Actor
    from exact_tui.services.connection import ConnectionService

    configure_logging(app.settings)
    if not yes and not confirm(
        "Disconnect from Exact? The tokens are deleted and exports stop until you connect again."
    ):
        fail("not disconnected")
    if ConnectionService(app.store()).disconnect(Actor.current("cli")):
        say("⚫ Disconnected: tokens deleted, exports stopped; master data kept.")
    else:
        say("not connected: nothing to disconnect")


COMMANDS = (connect, disconnect)
