"""Commands that set up how documents reach Exact: mappings, bindings, customer links and a
division's journals and GL accounts."""

from __future__ import annotations

import click

from exact_tui.cli.output import confirm, echo_json, plain, say
from exact_tui.cli.wiring import AppContext, choice, do, fail, intents, pass_app
from exact_tui.domain.states import MappingKind


@click.command("map")
@click.option("--division", type=int, required=True, help="The Exact division.")
@click.option("--kind", type=choice(MappingKind), required=True, help="What is mapped.")
@click.argument("platform_code")
@click.argument("exact_code")
@pass_app
def map_code(
    app: AppContext, division: int, kind: str, platform_code: str, exact_code: str
) -> None:
    """Map a platform GL / VAT / cost center / cost unit code to an Exact code; the documents
    it unblocks go back to the queue."""
    operator = intents(app)
    do(lambda: operator.map(division, MappingKind(kind), platform_code, exact_code))


@click.group()
def bind() -> None:
    """Bind a bank account to a division and bank journal, or a division to an organization."""


@bind.command("bank-account")
@click.argument("iban")
@click.option("--division", type=int, required=True, help="The Exact division.")
@click.option("--journal", required=True, help="The division's bank journal (its code).")
@pass_app
def bind_bank_account(app: AppContext, iban: str, division: int, journal: str) -> None:
    """Route a bank account's invoices, payments and write-offs to a division."""
    operator = intents(app)
    do(lambda: operator.bind_bank_account(iban, division, journal))


@bind.command("division")
@click.argument("division", type=int)
@click.option("--organization", required=True, help="The organization's code.")
@pass_app
def bind_division(app: AppContext, division: int, organization: str) -> None:
    """Bind a division to an organization (a division belongs to one at most)."""
    operator = intents(app)
    do(lambda: operator.bind_division(division, organization))


@click.group()
def unbind() -> None:
    """Take a bank account's binding away (its documents wait for a new one)."""


@unbind.command("bank-account")
@click.argument("iban")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def unbind_bank_account(app: AppContext, iban: str, yes: bool) -> None:
    """Unbind a bank account: documents not yet in Exact wait until it is bound again."""
    if not yes and not confirm(
        f"Unbind {iban}? Its documents not yet in Exact stop until it is bound again"
    ):
        fail("nothing unbound")
    operator = intents(app)
    do(lambda: operator.unbind_bank_account(iban))


@click.command()
@click.argument("customer")
@click.argument("account")
@click.option("--division", type=int, required=True, help="The Exact division.")
@pass_app
def link(app: AppContext, customer: str, account: str, division: int) -> None:
    """Link a platform customer (its number) to an Exact account (its code or ID). Documents
    not yet posted go to that account; posted ones stay where they are."""
    operator = intents(app)
    do(lambda: operator.link(customer, division, account))


@click.command()
@click.argument("customer")
@click.option("--division", type=int, required=True, help="The Exact division.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@pass_app
def unlink(app: AppContext, customer: str, division: int, yes: bool) -> None:
    """Remove a customer's link: documents not yet posted are matched again."""
    if not yes and not confirm(f"Unlink customer {customer} in division {division}?"):
        fail("nothing unlinked")
    operator = intents(app)
    do(lambda: operator.unlink(customer, division))


@click.command()
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
    from exact_tui.domain.targets import SETTING_LABELS
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
            say(f"{SETTING_LABELS[name]:<28} {plain(value) or '(not set)'}")
        return
    operator = intents(app)
    do(lambda: operator.set_settings(division, **changes))


COMMANDS = (map_code, bind, unbind, link, unlink, settings)
