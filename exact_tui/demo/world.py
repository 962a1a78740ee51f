"""Building the demo's world: an in-process sandbox, a fresh store connected to it with the
master data imported, the configuration an admin would have made (with gaps left on purpose),
and the platform data ingested."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx

from exact_tui.demo import data
from exact_tui.domain.states import MappingKind
from exact_tui.sandbox import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    Sandbox,
    create_app,
    facts_for,
)
from exact_tui.secret_store import (
    ENV_CLIENT_SECRET,
    ENV_SECRET_KEY,
    FileSecretStore,
    Secret,
    SecretStore,
    open_secret_store,
)
from exact_tui.services.audit import Actor
from exact_tui.services.clock import Clock, SystemClock
from exact_tui.services.connection import (
    ConnectionService,
    ConnectSettings,
    connect_settings,
    prepare_connect,
)
from exact_tui.services.export import ExportOptions
from exact_tui.services.ingest import IngestSummary, ingest_bytes
from exact_tui.services.intents import Intents
from exact_tui.services.runtime import LinkOptions, TenantLinks, WorkerSetup, build_worker
from exact_tui.services.worker import Worker, WorkerOptions
from exact_tui.store.engine import Store, open_store

#: Where the in-process sandbox appears to live (no socket: httpx.ASGITransport).
SANDBOX_URL = "http://sandbox.exact-tui.demo"
ADMIN = Actor("demo-admin", "cli", "local")
TIMEZONE = "Europe/Amsterdam"
#: The demo's client gives up on an answer after this long; the staged hang lasts longer.
CLIENT_TIMEOUT = 4.0
HANG_SECONDS = 6.0
#: The host the demo's workers say they run on (the Status screen's worker line): a name of the
#: demo's own, so screenshots do not show the machine they were taken on.
WORKER_HOST = "demo-host"


@dataclass
class DemoWorld:
    directory: Path
    store: Store
    sandbox: Sandbox
    #: Where the sandbox is: in-process (`transport` set) or served on 127.0.0.1.
    base_url: str
    transport: httpx.AsyncBaseTransport | None
    secrets: SecretStore
    clock: Clock
    ingested: IngestSummary | None = None
    #: The Exact user this world's store connects as (the sandbox's default user when None).
    user: str | None = None

    def connect_settings(self) -> ConnectSettings:
        return connect_settings(
            region="nl", base_url=self.base_url, client_id=CLIENT_ID, redirect_uri=REDIRECT_URI
        )

    def worker(self, *, poll_seconds: float = 0.5) -> tuple[Worker, TenantLinks]:
        """A worker on this world (hold=on ambiguous: the demo's ambiguous customer waits for
        a person to link it on the Exact accounts screen)."""
        setup = WorkerSetup(
            # Short enough that the staged hang (HANG_SECONDS) is a lost answer.
            link=LinkOptions(timeout=CLIENT_TIMEOUT),
            export=ExportOptions(
                on_ambiguous="hold", timezone=TIMEZONE, lookup_safety_delay=2.0, settle_horizon=20.0
            ),
            worker=WorkerOptions(poll_seconds=poll_seconds, timezone=TIMEZONE),
        )
        worker, link = build_worker(
            self.store, self.secrets, setup, clock=self.clock, transport=self.transport
        )
        # Named after the demo's host, not this machine (the id starts with the host).
        _, _, rest = worker.worker_id.partition(":")
        worker.host, worker.worker_id = WORKER_HOST, f"{WORKER_HOST}:{rest}"
        return worker, link


def demo_secrets() -> SecretStore:
    """A data key made for this demo run only, never written anywhere."""
    return open_secret_store(
        "env",
        environ={
            ENV_SECRET_KEY: base64.b64encode(os.urandom(32)).decode(),
            ENV_CLIENT_SECRET: CLIENT_SECRET,
        },
    )


#: Where `exact-tui sandbox` serves by default: a kept demo store reconnects to it.
SERVED_SANDBOX_URL = "http://127.0.0.1:8080"
CONFIG_FILE = "config.toml"
SECRETS_FILE = "secrets.json"
STORE_FILE = "demo.db"


def kept_secrets(directory: Path) -> SecretStore:
    """A kept demo store's secrets: a file store beside it (0600) holding its data key and the
    sandbox's client secret, so a worker, connect or the console can use it after the demo."""
    store = FileSecretStore(directory / SECRETS_FILE)
    store.save_client_secret(Secret(CLIENT_SECRET))
    return store


def write_kept_config(directory: Path) -> Path:
    """The settings that make every command work on a kept demo store, given as
    `exact-tui --config DIR/config.toml …`; created 0600 (a config others can change is
    refused)."""

    def quoted(value: str) -> str:
        return json.dumps(value)  # a TOML basic string

    lines = [
        "# The kept demo store: exact-tui --config THIS-FILE <command>",
        "[store]",
        f"url = {quoted(str(directory / STORE_FILE))}",
        "[exact]",
        f"base_url = {quoted(SERVED_SANDBOX_URL)}",
        f"client_id = {quoted(CLIENT_ID)}",
        f"redirect_uri = {quoted(REDIRECT_URI)}",
        "[secrets]",
        'store = "file"',
        f"file = {quoted(str(directory / SECRETS_FILE))}",
        "[sync]",
        f"timezone = {quoted(TIMEZONE)}",
        "[customers]",
        'on_ambiguous = "hold"',
    ]
    path = directory / CONFIG_FILE
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write("\n".join(lines) + "\n")
    return path


def kept_store_help(directory: Path, *, fleet: bool = False) -> list[str]:
    """What the demo prints when it ends with a kept store: where it is and how to use it.
    A fleet's store (the console demo) has four tenants: commands of one name it."""
    config = directory / CONFIG_FILE
    use = f"exact-tui --config {config}"
    one = f"{use} --tenant kestrel" if fleet else use
    users = " --users 4" if fleet else ""
    lines = [
        f"The demo store is kept in {directory} (its settings in {config}).",
        f"Every command works on it with --config: `{one} status`, `{one} jobs`, `{use}` for the "
        "console.",
        "The demo's Exact (the sandbox) stopped with the demo. To export again, serve a new one "
        "and reconnect:",
        f"  exact-tui sandbox --seed 1{users} &",
        f"  {one} connect      (open the address, allow access, paste back where it ends)",
        f"  {use} worker",
        "The new sandbox has the demo's master data, but not the customers the demo created in "
        "its Exact: link those again (`link`) where Exact refuses them.",
    ]
    if fleet:
        people = facts_for("small", data.FLEET_USERS).users
        who = ", ".join(f"{p.code} {people[p.sandbox_user - 1].user_name}" for p in data.FLEET)
        lines.insert(
            5, f"  (the sandbox's login page asks who logs in; each tenant is its own user: {who})"
        )
    return lines


async def connect(world: DemoWorld) -> None:
    """The connect flow, with the sandbox's consent page approving at once."""
    # The demo's own secrets only: a client secret in the user's environment is not the
    # sandbox's.
    prepared = prepare_connect(
        world.secrets,
        world.connect_settings(),
        environ={},
        transport=world.transport,
        clock=world.clock.now,
    )
    service = ConnectionService(world.store, transport=world.transport, clock=world.clock.now)
    attempt = service.begin(prepared)
    # The browser logs in as the world's user on the sandbox's login page (docs/sandbox.md
    # §Users) and approves the consent page at once.
    login = f"&username={quote(world.user)}" if world.user else ""
    async with httpx.AsyncClient(transport=world.transport, timeout=10) as browser:
        answer = await browser.get(attempt.authorize_url + "&auto_approve=1" + login)
    await service.complete(prepared, attempt, answer.headers["location"], ADMIN)


Codes = Mapping[int, Mapping[str, str | None]]


def configure(world: DemoWorld) -> None:
    """What an admin set up before the demo starts; the gaps (a GL and a VAT code without a
    mapping, the Rabobank account unbound) are left for the console."""
    configure_tenant(
        world,
        organizations=data.DIVISION_ORGANIZATIONS,
        banks=data.BANK_BINDINGS,
        gl=data.GL_MAPPINGS,
        vat=data.VAT_MAPPINGS,
        cost_centers=data.COST_CENTER_MAPPINGS,
        settings=data.SETTINGS,
    )


def configure_tenant(
    world: DemoWorld,
    *,
    organizations: Mapping[int, str],
    banks: Mapping[str, tuple[int, str]],
    gl: Codes,
    vat: Codes,
    cost_centers: Codes,
    settings: Mapping[int, Mapping[str, str]],
) -> None:
    """An admin's setup of one tenant: divisions bound to organizations, bank accounts to
    journals, platform codes mapped (None: left unmapped), division settings."""
    intents = Intents(world.store, ADMIN, clock=world.clock, timezone=TIMEZONE)
    for division, organization in organizations.items():
        intents.bind_division(division, organization)
    for iban, (division, journal) in banks.items():
        intents.bind_bank_account(iban, division, journal)
    for kind, table in (
        (MappingKind.GL, gl),
        (MappingKind.VAT, vat),
        (MappingKind.COST_CENTER, cost_centers),
    ):
        for division, mappings in table.items():
            for platform_code, exact_code in mappings.items():
                if exact_code is not None:
                    intents.map(division, kind, platform_code, exact_code)
    for division, values in settings.items():
        intents.set_settings(division, **values)


def stage_exact(world: DemoWorld) -> None:
    """Changes "in Exact" after the import: a customer's account gets blocked (so Exact refuses
    its invoice although the cache said fine), and the first sales entry's answer is lost after
    Exact committed it (the job becomes unknown and is settled by a lookup)."""
    division = 101001
    accounts = world.sandbox.division(division).accounts.values()
    account = next(a for a in accounts if a.get("SearchCode") == data.STALE_BLOCKED_CUSTOMER)
    world.sandbox.update_account(division, str(account["ID"]), Blocked=True)
    world.sandbox.set_faults(
        {
            "faults": [
                {
                    "endpoint": "salesentry/SalesEntries",
                    "method": "POST",
                    "division": division,
                    "kind": "commit_then_hang",
                    "seconds": HANG_SECONDS,
                    "count": 1,
                }
            ]
        }
    )


def ingest(world: DemoWorld, today: dt.date) -> IngestSummary:
    payload = json.dumps(data.platform_data(today)).encode()
    world.ingested = ingest_bytes(world.store, "demo data", payload, actor=ADMIN)
    return world.ingested


async def build_world(
    directory: Path,
    *,
    sandbox: Sandbox | None = None,
    served_at: str | None = None,
    clock: Clock | None = None,
    keep: bool = False,
) -> DemoWorld:
    """Everything before the worker starts exporting: connected, imported, configured, staged
    and ingested. The sandbox runs in-process unless `served_at` says where it is served.
    A store to `keep` gets its secrets and settings beside it (`kept_store_help`)."""
    clock = clock or SystemClock()
    sandbox = sandbox or Sandbox(seed=1, size="small")
    if keep:
        write_kept_config(directory)
    world = DemoWorld(
        directory=directory,
        store=open_store(f"sqlite:///{directory / STORE_FILE}"),
        sandbox=sandbox,
        base_url=served_at or SANDBOX_URL,
        transport=None if served_at else httpx.ASGITransport(app=create_app(sandbox)),
        secrets=kept_secrets(directory) if keep else demo_secrets(),
        clock=clock,
    )
    await connect(world)
    # The initial import the connect asked for, so the configuration can name Exact's codes.
    worker, link = world.worker()
    try:
        await worker.run(until_idle=True)
    finally:
        await link.close()
    # The platform's organizations and bank accounts exist before an admin can bind them.
    ingest(world, clock.now().astimezone(ZoneInfo(TIMEZONE)).date())
    configure(world)
    stage_exact(world)
    return world
