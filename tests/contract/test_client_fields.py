"""The client sends only what Exact documents: every request of a full master-data import, an
incremental one, and an export with new and known customers, cost centers and units, payments,
write-offs and lost answers (so the lookups run) is recorded and judged against the schema.
The day someone selects, filters on or posts an invented or obsolete field, this fails."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest

from exact_tui.domain.states import JobState
from exact_tui.sandbox.seed import nl_vat_number
from exact_tui.services.audit import Actor
from exact_tui.services.connection import ConnectionService
from exact_tui.services.export.api import ExactApi
from exact_tui.services.ingest import ingest_bytes
from exact_tui.services.masterdata import MasterDataImporter
from exact_tui.services.reconcile import Reconciler, reconcile_report, request_reconcile
from exact_tui.services.worker import Lanes, SyncRequestInfo
from exact_tui.store.engine import Store
from tests.connection.kit import World, secret_env
from tests.export.kit import (
    NL,
    configure,
    customer,
    export_world,
    invoice,
    line,
    organization_file,
    payment,
    write_off,
)

from .checks import Recorder, Sent, undocumented

#: What the run must have exercised, or the test proves nothing about it.
EXPECTED = {
    ("GET", "current/Me"),
    ("GET", "system/Divisions"),
    ("GET", "financial/Journals"),
    ("GET", "sync/Financial/GLAccounts"),
    ("GET", "vat/VATCodes"),
    ("GET", "hrm/Costcenters"),
    ("GET", "hrm/Costunits"),
    ("GET", "sync/CRM/Accounts"),
    ("GET", "sync/Deleted"),
    ("GET", "crm/Accounts"),
    ("POST", "crm/Accounts"),
    ("POST", "salesentry/SalesEntries"),
    ("GET", "salesentry/SalesEntries"),
    ("POST", "financialtransaction/BankEntries"),
    ("GET", "financialtransaction/BankEntryLines"),
    ("POST", "generaljournalentry/GeneralJournalEntries"),
    ("GET", "generaljournalentry/GeneralJournalEntryLines"),
}


@dataclass
class RecordedWorld(World):
    """The tests' sandbox world, with every request the client sends kept."""

    states: dict[str, JobState] = field(default_factory=dict)
    reconciled: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        self.recorder = Recorder(self.transport)
        self.transport = self.recorder
        self.service = ConnectionService(self.store, transport=self.transport, clock=self.now)


async def _import(world: World, trigger: str) -> None:
    async with world.session() as session:
        importer = MasterDataImporter(world.store, session.client, clock=world)
        await importer.run(SyncRequestInfo(0, None, trigger, "tester"), Lanes())


async def _lost_answers(world: RecordedWorld) -> None:
    """Each kind of entry posted once with its answer lost, so the lookups run too."""
    world.sandbox.set_faults(
        {
            "faults": [
                {"endpoint": endpoint, "method": "POST", "kind": "error_after_commit", "count": 1}
                for endpoint in (
                    "salesentry/SalesEntries",
                    "financialtransaction/BankEntries",
                    "generaljournalentry/GeneralJournalEntries",
                )
            ]
        }
    )


@pytest.fixture
async def recorded(store: Store, monkeypatch: pytest.MonkeyPatch) -> RecordedWorld:
    for name, value in secret_env().items():
        monkeypatch.setenv(name, value)
    world = RecordedWorld(store)
    await world.connect()
    await _import(world, "initial")
    # Changes in Exact, then the incremental import reads them (and the deletions).
    world.sandbox.delete_account(NL, "9")
    world.sandbox.update_gl_account(NL, "8010", Description="Omzet zalen")
    await _import(world, "manual")
    ingest_bytes(world.store, "org.json", json.dumps(organization_file()).encode())
    configure(world.store)
    new_vat = nl_vat_number(random.Random(13))
    async with export_world(world) as xw:
        xw.ingest(
            customers=[customer("5"), customer("NEW-1", name="Nieuwe Klant B.V.",
                                                vat_number=new_vat, country="NL")],
            invoices=[
                invoice("INV-1", "5", line(gl="REV-CC", cost_center="AMS"),
                        line(gl="REV-CU", cost_unit="FLEX")),
                invoice("INV-2", "NEW-1"),
            ],
        )  # fmt: skip
        await _lost_answers(world)
        await xw.run(advance=60)
        xw.ingest(
            payments=[payment("PAY-1", "5", "121.00", invoice="INV-1")],
            write_offs=[
                write_off("WO-1", "INV-2", "1.00", "write_off"),
                write_off("CC-1", "INV-2", "15.00", "collection_costs"),
            ],
        )
        await _lost_answers(world)
        await xw.run(advance=60)
        world.states = xw.states()

        # And the period read back, as the daily reconciliation does.
        async def source() -> ExactApi | None:
            return xw.client

        reconciler = Reconciler(xw.store, source, clock=world)
        run_id = request_reconcile(xw.store, Actor("ops", "cli"), since=dt.date(2026, 1, 1))
        assert reconciler.claim("contract") == run_id
        await reconciler.run(run_id, Lanes(), asyncio.Event())
        world.reconciled = reconcile_report(xw.store, run_id).clean
    return world


async def test_every_request_of_an_import_and_an_export_names_documented_fields_only(
    recorded: RecordedWorld,
) -> None:
    sent = recorded.recorder.sent
    assert undocumented(sent) == []
    seen = {(s.method, s.resource.path) for s in sent if s.resource is not None}
    assert seen >= EXPECTED, EXPECTED - seen


async def test_the_lost_answers_were_settled_by_lookups(recorded: RecordedWorld) -> None:
    """The run above went through the lookup paths, not only the happy ones, and every
    document ended posted."""
    assert len(recorded.states) == 5  # two invoices, a payment, two write-offs
    assert set(recorded.states.values()) == {JobState.POSTED}
    assert recorded.reconciled
    lookups = Counter(
        s.resource.path
        for s in recorded.recorder.sent
        if s.method == "GET" and s.resource is not None and "$filter" in s.url.params
    )
    for path in (
        "salesentry/SalesEntries",
        "financialtransaction/BankEntryLines",
        "generaljournalentry/GeneralJournalEntryLines",
    ):
        assert lookups[path] >= 1, path


def _sent(method: str, url: str, body: object = None) -> Sent:
    content = json.dumps(body).encode() if body is not None else b""
    return Sent(method, httpx.URL(url), content)


def test_the_check_finds_invented_obsolete_and_read_only_fields() -> None:
    base = "https://start.exactonline.nl/api/v1/101001"
    requests = [
        _sent("GET", f"{base}/hrm/Costunits?$select=ID,Code,Active"),
        _sent("GET", f"{base}/hrm/Costcenters?$select=ID,Active"),
        _sent("GET", f"{base}/sync/Deleted?$select=EntityKey&$filter=FullName eq 'x'"),
        _sent("GET", f"{base}/hrm/Divisions?$orderby=Current desc"),
        _sent(
            "POST",
            f"{base}/salesentry/SalesEntries",
            {"Journal": "70", "AmountDC": 1, "SalesEntryLines": [{"GLAccount": "x", "Foo": 1}]},
        ),
        _sent("GET", f"{base}/crm/Accounts?$select=ID,Name&$filter=trim(Code) eq '8'"),
        _sent(
            "GET",
            f"{base}/salesentry/SalesEntries?$select=EntryID,SalesEntryLines/AmountFC,"
            "SalesEntryLines/Bogus&$expand=SalesEntryLines",
        ),
    ]
    assert undocumented(requests) == [
        "GET hrm/Costunits $select: Active is not documented on hrm/Costunits",
        "GET hrm/Costcenters $select: Active is obsolete on hrm/Costcenters",
        "GET sync/Deleted $filter: FullName is not documented on sync/Deleted",
        "GET hrm/Divisions $orderby: Current is not documented on hrm/Divisions",
        "POST salesentry/SalesEntries body: AmountDC cannot be sent in a POST to "
        "salesentry/SalesEntries",
        "POST salesentry/SalesEntries SalesEntryLines: Foo is not documented on "
        "salesentry/SalesEntryLines",
        "GET salesentry/SalesEntries $select: Bogus is not documented on "
        "salesentry/SalesEntryLines",
    ]
