"""The export tests' world: a connected store whose master data came from the sandbox by the
real import, bindings and mappings for both seeded divisions, and the pipeline driven by hand.

The sandbox clock stands still; the client, the token manager and the pipeline read it, and
every wait (pacing, backoff, the lookup safety delay) moves it forward, so nothing sleeps.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlmodel import col, select

from exact_tui.domain.states import JobState, MappingKind
from exact_tui.exact.oauth import TokenSet
from exact_tui.sandbox import BE_DIVISION, NL_DIVISION, Sandbox
from exact_tui.secret_store import TokenCipher
from exact_tui.services.exact_session import ExactSession
from exact_tui.services.export import ExportOptions, ExportService
from exact_tui.services.export.api import ExactApi
from exact_tui.services.ingest import ingest_bytes
from exact_tui.services.masterdata import MasterDataImporter
from exact_tui.services.tokens import save_token
from exact_tui.services.worker import Lanes, SyncRequestInfo
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    BankAccount,
    BankAccountBinding,
    DivisionSettings,
    ExactConnection,
    ExportEvent,
    ExportJob,
    Mapping,
    OAuthToken,
)
from exact_tui.store.scoping import tenant_key
from tests.connection.kit import World, secret_env

NL, BE = NL_DIVISION, BE_DIVISION
IBAN_NL = "NL67INGB0006543210"  # bound to NL bank journal 20 (ING)
IBAN_BE = "BE57734001234535"  # bound to BE bank journal 200 (KBC)
IBAN_LOOSE = "NL91ABNA0417164300"  # never bound
ACTIVATED = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)
DAY = "2026-03-02"
OWNER = "test-worker"
#: Endpoints that count against a division's budget (everything but the token endpoint).
ENTRY_ENDPOINTS = (
    "salesentry/SalesEntries",
    "financialtransaction/BankEntries",
    "generaljournalentry/GeneralJournalEntries",
)

SETTINGS = {
    NL: {
        "sales_journal": "70",
        "general_journal": "90",
        "receivables_gl": "1300",
        "write_off_gl": "4700",
        "collection_costs_gl": "8900",
    },
    BE: {
        "sales_journal": "700",
        "general_journal": "900",
        "receivables_gl": "400000",
        "write_off_gl": "634000",
        "collection_costs_gl": "746000",
    },
}
MAPPINGS = {
    NL: {
        MappingKind.GL: {"REV": "8010", "REV-CC": "8000", "REV-CU": "8020"},
        MappingKind.VAT: {"21": "2", "9": "1"},
        MappingKind.COST_CENTER: {"AMS": "AMS-C"},
        MappingKind.COST_UNIT: {"FLEX": "FLEX"},
    },
    BE: {
        MappingKind.GL: {"REV": "700100", "REV-CC": "700000", "REV-CU": "700200"},
        MappingKind.VAT: {"21": "21", "9": "6"},
        MappingKind.COST_CENTER: {"AMS": "GENT"},
        MappingKind.COST_UNIT: {"FLEX": "FLEX"},
    },
}


def organization_file() -> dict[str, Any]:
    return {
        "organizations": [{"code": "ORG", "name": "Flexwerk"}],
        "bank_accounts": [
            {"iban": IBAN_NL, "organization": "ORG"},
            {"iban": IBAN_BE, "organization": "ORG"},
            {"iban": IBAN_LOOSE, "organization": "ORG"},
        ],
    }


def customer(number: str, **fields: Any) -> dict[str, Any]:
    return {"number": number, "name": fields.pop("name", f"Klant {number}"), **fields}


def invoice(
    number: str, customer_number: str, *lines: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    return {
        "number": number,
        "date": fields.pop("date", DAY),
        "customer": customer_number,
        "bank_account": fields.pop("bank_account", IBAN_NL),
        "lines": list(lines) or [line()],
        **fields,
    }


def line(amount: str = "100.00", gl: str = "REV", vat: str = "21", **fields: Any) -> dict[str, Any]:
    return {"amount": amount, "gl_code": gl, "vat_code": vat, **fields}


def payment(number: str, customer_number: str, amount: str, **fields: Any) -> dict[str, Any]:
    return {
        "number": number,
        "date": fields.pop("date", DAY),
        "amount": amount,
        "customer": customer_number,
        "bank_account": fields.pop("bank_account", IBAN_NL),
        **fields,
    }


def write_off(number: str, invoice_number: str, amount: str, kind: str) -> dict[str, Any]:
    return {
        "number": number,
        "date": DAY,
        "amount": amount,
        "invoice": invoice_number,
        "kind": kind,
    }


@dataclass
class ExportWorld:
    world: World
    session: ExactSession
    options: ExportOptions
    service: ExportService = field(init=False)
    #: Set to None to make the pipeline see "not connected".
    client: ExactApi | None = field(init=False)

    def __post_init__(self) -> None:
        self.client = self.session.client
        self.service = self.make_service(self.options)

    def make_service(self, options: ExportOptions) -> ExportService:
        async def source() -> ExactApi | None:
            return self.client

        return ExportService(
            self.store, source, options=options, clock=self.world, rng=random.Random(3)
        )

    @property
    def store(self) -> Store:
        return self.world.store

    @property
    def sandbox(self) -> Sandbox:
        return self.world.sandbox

    def ingest(self, **records: Sequence[dict[str, Any]]) -> None:
        ingest_bytes(self.store, "test.json", json.dumps(records).encode())

    def calls(self, endpoint: str | None = None, **kw: Any) -> int:
        """REST calls the sandbox saw in the divisions (token calls excluded)."""
        if endpoint is not None:
            return int(self.sandbox.calls.count(endpoint, **kw))
        total = self.sandbox.calls.count(**kw)
        return int(total - self.sandbox.calls.count("oauth2/token", **kw))

    async def run(self, *, rounds: int = 50, advance: float = 0.0) -> None:
        """What the worker does, until nothing is due (moving the clock `advance` seconds
        between rounds so backoffs and safety delays pass)."""
        for _ in range(rounds):
            self.service.prepare()
            busy = False
            for division in self.service.due_divisions():
                while await self.service.process_next(division, OWNER):
                    busy = True
            if not busy:
                if not advance:
                    return
                self.sandbox.advance(advance)

    async def step(self) -> None:
        """One job per due division, as one turn of the worker's lanes."""
        self.service.prepare()
        for division in self.service.due_divisions():
            await self.service.process_next(division, OWNER)

    def outcomes(self, number: str) -> list[str]:
        """The job's events, without the customer's link (made once, on the first attempt)."""
        return [e.outcome for e in self.events(number) if e.outcome != "linked"]

    def job(self, number: str) -> ExportJob:
        with self.store.read() as session:
            job = session.exec(select(ExportJob).where(ExportJob.document_number == number)).one()
        return job

    def states(self) -> dict[str, JobState]:
        with self.store.read() as session:
            return {j.document_number: j.state for j in session.exec(select(ExportJob))}

    def events(self, number: str) -> list[ExportEvent]:
        job = self.job(number)
        with self.store.read() as session:
            return list(
                session.exec(
                    select(ExportEvent)
                    .where(ExportEvent.job_id == job.id)
                    .order_by(col(ExportEvent.id))
                )
            )

    def ledger(self, division: int = NL) -> dict[str, Any]:
        ledger: dict[str, Any] = self.sandbox.ledger()["divisions"][str(division)]
        return ledger


def configure(store: Store) -> None:
    """Bindings, division settings and mappings for both divisions (what an admin sets up)."""
    with store.write() as session:
        conn = session.get(ExactConnection, tenant_key(session))
        assert conn is not None
        conn.activated_at = ACTIVATED
        session.add(conn)
        banks = {b.iban: b.id for b in session.exec(select(BankAccount))}
        for iban, division, journal in ((IBAN_NL, NL, "20"), (IBAN_BE, BE, "200")):
            session.add(
                BankAccountBinding(
                    bank_account_id=banks[iban],
                    division=division,
                    journal_code=journal,
                    bound_by="tester",
                )
            )
        for division, values in SETTINGS.items():
            session.add(DivisionSettings(division=division, updated_by="tester", **values))
        for division, kinds in MAPPINGS.items():
            for kind, codes in kinds.items():
                for platform, exact in codes.items():
                    session.add(
                        Mapping(
                            division=division,
                            kind=kind,
                            platform_code=platform,
                            exact_code=exact,
                            updated_by="tester",
                        )
                    )


async def _prepare(world: World) -> None:
    await world.connect()
    async with world.session() as session:
        await MasterDataImporter(world.store, session.client, clock=world).run(
            SyncRequestInfo(0, None, "initial", "tester"), Lanes()
        )
    ingest_bytes(world.store, "org.json", json.dumps(organization_file()).encode())
    configure(world.store)


def build_template(store: Store) -> None:
    """A store connected to a sandbox of the tests' seed, with every consented division's master
    data imported by the real import and the configuration above: what each test starts from
    (a copy, so no test pays for the import)."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in secret_env().items():
            env.setenv(name, value)
        asyncio.run(_prepare(World(store)))


def fresh_tokens(world: World) -> None:
    """The template's tokens belong to another sandbox and key: issue this sandbox's and store
    them encrypted with this test's key."""
    pair = world.sandbox.issue_tokens()
    now = world.now()
    tokens = TokenSet(
        pair.access_token,
        pair.refresh_token,
        issued_at=now,
        expires_at=now + dt.timedelta(seconds=pair.expires_in),
        refresh_expires_at=now + dt.timedelta(days=30),
    )
    cipher = TokenCipher(world.secrets.data_key(create=True))
    with world.store.write() as session:
        current = session.get(OAuthToken, tenant_key(session))
        assert current is not None
        assert save_token(session, cipher, tokens, expected_version=current.version)


@asynccontextmanager
async def export_world(
    world: World,
    options: ExportOptions | None = None,
    *,
    error_threshold: int = 8,
    lag: float = 0.0,
) -> AsyncIterator[ExportWorld]:
    """A pipeline over a configured store (a clone of the template) and its own sandbox; the
    client's clock runs `lag` seconds behind the sandbox's."""
    fresh_tokens(world)
    async with world.session(error_threshold=error_threshold, lag=lag) as session:
        world.sandbox.calls.clear()
        yield ExportWorld(
            world,
            session,
            options or ExportOptions(backoff_base=5, backoff_cap=60, lookup_safety_delay=30),
        )
