"""The demo's fleet: four platform customers (tenants) in one store, each connected to its own
Exact user of one sandbox, each left with something for the Fleet screen to show
(data.FLEET): flexwerk with mapping gaps (the single-tenant demo's world), northwind clean,
brightdesk needing Reconnect, kestrel with invoices Exact refuses."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from exact_tui.demo import data
from exact_tui.demo.world import (
    ADMIN,
    SANDBOX_URL,
    STORE_FILE,
    TIMEZONE,
    DemoWorld,
    configure,
    configure_tenant,
    connect,
    demo_secrets,
    ingest,
    kept_secrets,
    stage_exact,
    write_kept_config,
)
from exact_tui.sandbox import Sandbox, create_app, division_number
from exact_tui.secret_store import SecretStore
from exact_tui.services.clock import Clock, SystemClock
from exact_tui.services.ingest import ingest_bytes
from exact_tui.services.runtime import TenantLinks
from exact_tui.services.tenants import add_tenant, remove_tenant
from exact_tui.services.worker import Worker
from exact_tui.store.engine import Store, open_store


@dataclass
class DemoFleet:
    """The fleet's store (every tenant), its sandbox, and each tenant's world by code."""

    directory: Path
    store: Store
    sandbox: Sandbox
    base_url: str
    transport: httpx.AsyncBaseTransport | None
    secrets: SecretStore
    clock: Clock
    tenants: dict[str, DemoWorld] = field(default_factory=dict)

    def workers(self, *, poll_seconds: float = 0.5) -> list[tuple[Worker, TenantLinks]]:
        """The worker that serves the fleet: one, on the store of every tenant (docs/worker.md
        §Tenants)."""
        return [self.world().worker(poll_seconds=poll_seconds)]

    def world(self) -> DemoWorld:
        """The fleet as one world: its store of every tenant, what its worker runs on."""
        return DemoWorld(
            directory=self.directory,
            store=self.store,
            sandbox=self.sandbox,
            base_url=self.base_url,
            transport=self.transport,
            secrets=self.secrets,
            clock=self.clock,
        )

    async def drain(self) -> None:
        """The fleet's worker until no tenant has anything left for it to do."""
        await drain(self.world())


async def drain(world: DemoWorld, poll_seconds: float = 0.05) -> None:
    worker, link = world.worker(poll_seconds=poll_seconds)
    try:
        await worker.run(until_idle=True)
    finally:
        await link.close()


def _divisions(plan: data.TenantPlan) -> tuple[int, int]:
    """A fleet tenant's Dutch and Belgian division: its sandbox user's first two."""
    return division_number(plan.sandbox_user, 1), division_number(plan.sandbox_user, 2)


def configure_plan(world: DemoWorld, plan: data.TenantPlan) -> None:
    """A fleet tenant's configuration: both organizations bound, both bank accounts bound,
    every code it uses mapped (a clean start; the trouble comes from Exact)."""
    nl, be = _divisions(plan)
    mappings = data.fleet_mappings(nl, be)
    configure_tenant(
        world,
        organizations={nl: f"{plan.prefix}-NL", be: f"{plan.prefix}-BE"},
        banks={data.IBAN_NL_ING: (nl, "20"), data.IBAN_BE_KBC: (be, "200")},
        gl=mappings["gl"],
        vat=mappings["vat"],
        cost_centers=mappings["cost_center"],
        settings=data.fleet_settings(nl, be),
    )


def stage_trouble(world: DemoWorld, plan: data.TenantPlan) -> None:
    """What happens "in Exact" after the tenant was set up."""
    nl, _ = _divisions(plan)
    if plan.trouble == "reconnect":
        # Its user disconnected the app in Exact: the next call finds the tokens dead.
        world.sandbox.revoke_tokens(user=world.user)
    elif plan.trouble == "refusals":
        # A GL account blocked in Exact after the import: its invoices are refused.
        world.sandbox.block_gl_account(nl, data.KESTREL_BLOCKED_GL)


def _tenants(store: Store) -> None:
    """The fleet's tenants in place of the store's first (empty) one."""
    for tenant in store.tenants():
        remove_tenant(store, tenant.code, ADMIN)
    for plan in data.FLEET:
        add_tenant(store, plan.code, plan.name, ADMIN)


async def build_fleet(
    directory: Path,
    *,
    sandbox: Sandbox | None = None,
    served_at: str | None = None,
    clock: Clock | None = None,
    keep: bool = False,
    store: Store | None = None,
) -> DemoFleet:
    """The fleet before its workers start exporting: every tenant connected as its own sandbox
    user, imported, configured, its documents ingested and its trouble staged. The store is
    `directory`'s demo store unless one is given (it must hold no documents)."""
    clock = clock or SystemClock()
    sandbox = sandbox or Sandbox(seed=1, size="small", users=data.FLEET_USERS)
    if keep:
        write_kept_config(directory)
    fleet = DemoFleet(
        directory=directory,
        store=store or open_store(f"sqlite:///{directory / STORE_FILE}"),
        sandbox=sandbox,
        base_url=served_at or SANDBOX_URL,
        transport=None if served_at else httpx.ASGITransport(app=create_app(sandbox)),
        secrets=kept_secrets(directory) if keep else demo_secrets(),
        clock=clock,
    )
    _tenants(fleet.store)
    today = clock.now().astimezone(ZoneInfo(TIMEZONE)).date()
    for plan in data.FLEET:
        world = DemoWorld(
            directory=directory,
            store=fleet.store.tenant(plan.code),
            sandbox=sandbox,
            base_url=fleet.base_url,
            transport=fleet.transport,
            secrets=fleet.secrets,
            clock=clock,
            user=sandbox.facts.users[plan.sandbox_user - 1].user_name,
        )
        fleet.tenants[plan.code] = world
        await connect(world)
        await drain(world)  # the initial import, so the configuration can name Exact's codes
        if plan.trouble == "gaps":
            ingest(world, today)
            configure(world)
            stage_exact(world)
        else:
            _ingest_plan(world, plan, today)
            configure_plan(world, plan)
            stage_trouble(world, plan)
    return fleet


def _ingest_plan(world: DemoWorld, plan: data.TenantPlan, today: dt.date) -> None:
    payload = json.dumps(data.fleet_data(plan, today)).encode()
    world.ingested = ingest_bytes(world.store, f"{plan.code} demo data", payload, actor=ADMIN)
