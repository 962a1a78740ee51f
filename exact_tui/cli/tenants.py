"""`exact-tui tenants`: the companies this deployment serves, as fleet commands (no --tenant
needed): docs/tenants.md §Operating tenants."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TypeVar

import click

from exact_tui.cli.output import confirm, echo_json, plain, say
from exact_tui.cli.wiring import AppContext, fail, pass_app

T = TypeVar("T")


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def tenants(ctx: click.Context, as_json: bool) -> None:
    """The tenants (companies) this store serves: status and queue; add, disable, enable,
    remove."""
    if ctx.invoked_subcommand is None:
        app = ctx.find_object(AppContext)
        assert app is not None
        print_tenants(app, as_json)


def print_tenants(app: AppContext, as_json: bool) -> None:
    """Every tenant with its status and queue (`tenants`, `status --all`)."""
    from exact_tui.services.tenants import tenant_rows

    rows = tenant_rows(app.root())
    if as_json:
        echo_json(
            [
                {
                    **dataclasses.asdict(row),
                    "queue": {state.value: n for state, n in row.queue.items()},
                    "status": row.status,
                    "waiting": row.waiting,
                }
                for row in rows
            ]
        )
        return
    from exact_tui.domain.states import JobState

    # The status last and whole: its reason is what an operator reads the list for.
    say(f"{'CODE':<20} {'WAITING':>7} {'FAILED':>6} {'MAPPING':>7}  {'NAME':<24}  STATUS")
    for row in rows:
        status = f"{row.mark} {plain(row.status)}"
        say(
            f"{row.code:<20} {row.waiting:>7} "
            f"{row.queue.get(JobState.FAILED, 0):>6} "
            f"{row.queue.get(JobState.NEEDS_MAPPING, 0):>7}  {plain(row.name):<24}  {status}"
        )


def _refused(action: Callable[[], T]) -> T:
    """`action()`, or its refusal in one line (status 1)."""
    from exact_tui.domain.tenants import BadTenantCode
    from exact_tui.services.tenants import TenantRefused

    try:
        return action()
    except (TenantRefused, BadTenantCode) as exc:
        fail(str(exc))


@tenants.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The company's name, as operators know it.")
@pass_app
def add(app: AppContext, code: str, name: str) -> None:
    """Add a tenant: empty and not connected (then: exact-tui --tenant CODE connect)."""
    from exact_tui.services.audit import Actor
    from exact_tui.services.tenants import add_tenant

    row = _refused(lambda: add_tenant(app.root(), code, name, Actor.current("cli")))
    say(
        f"tenant {row.code} added ({plain(row.name)}); connect it with "
        f"`exact-tui --tenant {row.code} connect`"
    )


@tenants.command("disable")
@click.argument("code")
@click.option("--reason", help="Why, shown with the tenant.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@pass_app
def disable(app: AppContext, code: str, reason: str | None, yes: bool) -> None:
    """Disable a tenant: the worker serves nothing of it until it is enabled again."""
    from exact_tui.services.audit import Actor
    from exact_tui.services.tenants import contents, set_disabled

    held = _refused(lambda: contents(app.root(), code))
    question = (
        f"Disable tenant {code.strip().lower()}? The worker serves nothing of it: "
        f"{held.waiting} {'job waits' if held.waiting == 1 else 'jobs wait'} "
        "and stay until it is enabled."
    )
    if not yes and not confirm(question):
        fail("not disabled")
    say(
        _refused(
            lambda: set_disabled(
                app.root(), code, Actor.current("cli"), disabled=True, reason=reason
            )
        )
    )


@tenants.command("enable")
@click.argument("code")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@pass_app
def enable(app: AppContext, code: str, yes: bool) -> None:
    """Enable a disabled tenant: the worker serves it again."""
    from exact_tui.services.audit import Actor
    from exact_tui.services.tenants import contents, set_disabled

    held = _refused(lambda: contents(app.root(), code))
    question = (
        f"Enable tenant {code.strip().lower()}? The worker takes up its "
        f"{held.waiting} waiting {'job' if held.waiting == 1 else 'jobs'}."
    )
    if not yes and not confirm(question):
        fail("not enabled")
    say(_refused(lambda: set_disabled(app.root(), code, Actor.current("cli"), disabled=False)))


@tenants.command("remove")
@click.argument("code")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@pass_app
def remove(app: AppContext, code: str, yes: bool) -> None:
    """Remove an empty tenant (no documents, parties or jobs), with its master data,
    configuration, connection and tokens."""
    from exact_tui.services.audit import Actor
    from exact_tui.services.tenants import contents, remove_tenant

    held = _refused(lambda: contents(app.root(), code))
    if not held.empty:
        fail(
            f"tenant {code.strip().lower()} is not empty ({held.documents} documents and "
            f"parties, {held.jobs} jobs); only an empty tenant is removed "
            "(disable it instead: exact-tui tenants disable)"
        )
    question = (
        f"Remove tenant {code.strip().lower()} with its {held.divisions} divisions of master "
        f"data, {held.mappings} mappings"
        + (" and its connection" if held.connected else "")
        + "? This cannot be undone."
    )
    if not yes and not confirm(question):
        fail("not removed")
    say(_refused(lambda: remove_tenant(app.root(), code, Actor.current("cli"))))


COMMANDS = [tenants]
