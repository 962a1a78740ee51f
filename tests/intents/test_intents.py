"""Operator intents: checked against the cache, refused without a change, audited, and moving
what they unblock back to pending."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from sqlmodel import col, select

from exact_tui.domain.states import Category, ConnectionStatus, JobState, LinkMethod, MappingKind
from exact_tui.services.audit import Actor
from exact_tui.services.intents import IntentRefused, Intents
from exact_tui.services.jobs import JobFilter
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    Audit,
    BankAccountBinding,
    CostCenter,
    Customer,
    CustomerLink,
    DivisionBinding,
    DivisionSettings,
    ExactAccount,
    ExactConnection,
    Mapping,
    Organization,
)
from exact_tui.store.scoping import tenant_key
from tests.console_seed import FrozenClock
from tests.export.kit import (
    BE,
    IBAN_BE,
    IBAN_LOOSE,
    NL,
    ExportWorld,
    customer,
    invoice,
    line,
    payment,
)

OPS = Actor("ops", "cli", "10.0.0.7")


def _intents(xw: ExportWorld) -> Intents:
    return Intents(xw.store, OPS, clock=xw.world)


def _audits(store: Store) -> list[Audit]:
    with store.read() as session:
        return list(session.exec(select(Audit).order_by(col(Audit.id))))


def _snapshot(store: Store) -> dict[str, Any]:
    """Everything an intent may change (to show that a refusal changes nothing)."""
    with store.read() as session:
        return {
            "mappings": sorted(
                (m.division, m.kind, m.platform_code, m.exact_code)
                for m in session.exec(select(Mapping))
            ),
            "bindings": sorted(
                (b.bank_account_id, b.division, b.journal_code)
                for b in session.exec(select(BankAccountBinding))
            ),
            "divisions": sorted(
                (b.division, b.organization_id) for b in session.exec(select(DivisionBinding))
            ),
            "links": sorted(
                (c.customer_id, c.division, c.exact_account_id)
                for c in session.exec(select(CustomerLink))
            ),
            "settings": sorted(
                (s.division, s.sales_journal, s.receivables_gl)
                for s in session.exec(select(DivisionSettings))
            ),
        }


# ---------------------------------------------------------------- map


async def test_a_saved_mapping_moves_what_it_unblocks_back_to_pending(xw: ExportWorld) -> None:
    xw.ingest(
        customers=[customer("5")],
        invoices=[
            invoice("INV-1", "5", line(vat="21-EU")),
            invoice("INV-2", "5", line(vat="21-EU"), line(gl="NEW")),
            invoice("INV-3", "5", line(gl="NEW")),
        ],
    )
    await xw.run()
    assert set(xw.states().values()) == {JobState.NEEDS_MAPPING}
    result = _intents(xw).map(NL, MappingKind.VAT, "21-EU", "7")
    assert result.requeued == 2 and "2 jobs back to pending" in result.message
    assert xw.job("INV-3").state is JobState.NEEDS_MAPPING
    await xw.run()
    assert xw.states() == {
        "INV-1": JobState.POSTED,
        "INV-2": JobState.NEEDS_MAPPING,  # still misses GL NEW
        "INV-3": JobState.NEEDS_MAPPING,
    }
    assert xw.job("INV-2").missing == [{"kind": "gl", "code": "NEW", "detail": "GL NEW missing"}]
    (audit,) = _audits(xw.store)[-1:]
    assert (audit.actor, audit.origin, audit.host, audit.action) == (
        "ops",
        "cli",
        "10.0.0.7",
        "map",
    )
    assert audit.detail == {"exact_code": "7", "previous": None, "requeued": 2}


@pytest.mark.parametrize(
    ("kind", "code", "why"),
    [
        (MappingKind.GL, "1300", "not a revenue account (type 20)"),
        (MappingKind.GL, "8090", "blocked in Exact"),
        (MappingKind.GL, "9999", "not in Exact"),
        (MappingKind.VAT, "8", "a purchase VAT code"),
        (MappingKind.VAT, "99", "not in Exact"),
        (MappingKind.COST_CENTER, "OUD", "inactive in Exact"),
        (MappingKind.COST_UNIT, "NOPE", "not in Exact"),
    ],
)
async def test_only_valid_targets_can_be_mapped(
    xw: ExportWorld, kind: MappingKind, code: str, why: str
) -> None:
    before = _snapshot(xw.store)
    with pytest.raises(IntentRefused, match=re.escape(why)):
        _intents(xw).map(NL, kind, "X", code)
    assert _snapshot(xw.store) == before
    assert _audits(xw.store)[-1].result.startswith("refused: ")


async def test_a_cost_center_ends_by_the_business_date_not_the_utc_date(xw: ExportWorld) -> None:
    # 23:30 UTC on 1 March is already 2 March in Amsterdam, the day the cost center ends:
    # preflight would refuse it, so the mapping is refused too.
    ends = dt.date(2026, 3, 2)
    with xw.store.write() as session:
        session.add(CostCenter(division=NL, id=str(uuid.uuid4()), code="ENDS", end_date=ends))
    late = FrozenClock(dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC))
    amsterdam = Intents(xw.store, OPS, clock=late, timezone="Europe/Amsterdam")
    with pytest.raises(IntentRefused, match="cost center ENDS: inactive in Exact"):
        amsterdam.map(NL, MappingKind.COST_CENTER, "X", "ENDS")
    # Where the business day is still 1 March, it may be mapped.
    utc = Intents(xw.store, OPS, clock=late, timezone="UTC")
    assert "saved" in utc.map(NL, MappingKind.COST_CENTER, "X", "ENDS").message


async def test_a_mapping_in_an_unknown_division_is_refused(xw: ExportWorld) -> None:
    with pytest.raises(IntentRefused, match="not among the imported divisions"):
        _intents(xw).map(999999, MappingKind.GL, "X", "8010")


# ---------------------------------------------------------------- bind


async def test_binding_a_bank_account_routes_its_blocked_documents(xw: ExportWorld) -> None:
    xw.ingest(
        customers=[customer("5")],
        invoices=[invoice("INV-1", "5", bank_account=IBAN_LOOSE)],
        payments=[payment("PAY-1", "5", "1.00", bank_account=IBAN_LOOSE)],
    )
    await xw.run()
    assert set(xw.states().values()) == {JobState.NEEDS_MAPPING}
    result = _intents(xw).bind_bank_account(IBAN_LOOSE.lower(), NL, "21")
    assert result.requeued == 2
    await xw.run()
    assert set(xw.states().values()) == {JobState.POSTED}
    (bank,) = xw.ledger()["bank_entries"]
    assert bank["JournalCode"] == "21"


async def test_unbinding_stops_what_is_not_in_exact_and_rebinding_reroutes(
    xw: ExportWorld,
) -> None:
    intents = _intents(xw)
    intents.bind_bank_account(IBAN_LOOSE, NL, "21")
    xw.ingest(
        customers=[customer("5")],
        invoices=[invoice("INV-1", "5", bank_account=IBAN_LOOSE)],
    )
    await xw.run()
    assert xw.states() == {"INV-1": JobState.POSTED}
    # Unbound: a new document waits for a binding, the posted one stays posted.
    result = intents.unbind_bank_account(IBAN_LOOSE)
    assert "unbound (was 101001/21)" in result.message
    xw.ingest(payments=[payment("PAY-1", "5", "1.00", bank_account=IBAN_LOOSE)])
    await xw.run()
    assert xw.states() == {"INV-1": JobState.POSTED, "PAY-1": JobState.NEEDS_MAPPING}
    with pytest.raises(IntentRefused, match="is not bound"):
        intents.unbind_bank_account(IBAN_LOOSE)
    # Bound again, to the other bank journal: the waiting payment goes that way.
    intents.bind_bank_account(IBAN_LOOSE, NL, "20")
    await xw.run()
    assert xw.states()["PAY-1"] is JobState.POSTED
    (bank,) = xw.ledger()["bank_entries"]
    assert bank["JournalCode"] == "20"
    assert [a.action for a in _audits(xw.store) if a.action in ("bind", "unbind")] == [
        "bind",
        "unbind",
        "unbind",
        "bind",
    ]


@pytest.mark.parametrize(
    ("division", "journal", "why"),
    [
        (NL, "70", "not a usable bank journal"),
        (NL, "99", "has no journal 99"),
        (999999, "20", "not among the imported divisions"),
    ],
)
async def test_a_bank_account_binds_only_to_a_bank_journal(
    xw: ExportWorld, division: int, journal: str, why: str
) -> None:
    before = _snapshot(xw.store)
    with pytest.raises(IntentRefused, match=why):
        _intents(xw).bind_bank_account(IBAN_LOOSE, division, journal)
    assert _snapshot(xw.store) == before


async def test_a_division_belongs_to_one_organization(xw: ExportWorld) -> None:
    xw.ingest(
        organizations=[{"code": "OTHER", "name": "Andere B.V."}],
        bank_accounts=[{"iban": "NL02ABNA0123456789", "organization": "OTHER"}],
    )
    intents = _intents(xw)
    # The first bank account bound to a division binds the division to its organization.
    intents.bind_bank_account(IBAN_LOOSE, NL, "21")
    with xw.store.read() as session:
        binding = session.get(DivisionBinding, NL)
        org = session.get(Organization, binding.organization_id if binding else 0)
    assert org is not None and org.code == "ORG"
    before = _snapshot(xw.store)
    with pytest.raises(IntentRefused, match=r"bound to organization ORG \(Flexwerk\)"):
        intents.bind_bank_account("NL02ABNA0123456789", NL, "20")
    with pytest.raises(IntentRefused, match=r"already bound to ORG \(Flexwerk\)"):
        intents.bind_division(NL, "OTHER")
    assert _snapshot(xw.store) == before
    # BE carries ORG's bank account (bound by the test setup): OTHER cannot have it.
    with pytest.raises(IntentRefused, match=f"bank account {IBAN_BE} of organization ORG"):
        intents.bind_division(BE, "OTHER")
    assert "bound to ORG" in intents.bind_division(BE, "ORG").message


# ---------------------------------------------------------------- link / unlink


async def test_link_applies_to_jobs_not_yet_posted_and_unblocks_held_ones(
    xw: ExportWorld,
) -> None:
    from exact_tui.services.export import ExportOptions

    xw.service = xw.make_service(ExportOptions(on_ambiguous="hold"))
    twin_vat = xw.sandbox.division(NL).account_by_code("7")["VATNumber"]
    xw.ingest(customers=[customer("TWIN", vat_number=twin_vat)], invoices=[invoice("A", "TWIN")])
    await xw.run()
    assert (xw.job("A").state, xw.job("A").category) == (
        JobState.NEEDS_MAPPING,
        Category.CUSTOMER,
    )
    result = _intents(xw).link("TWIN", NL, "202")
    assert result.requeued == 1
    await xw.run()
    (entry,) = xw.ledger()["sales_entries"]
    assert xw.job("A").state is JobState.POSTED
    with xw.store.read() as session:
        twin = session.exec(select(Customer).where(Customer.number == "TWIN")).one()
        link = session.get(CustomerLink, (twin.id, NL))
        account = session.get(
            ExactAccount, tenant_key(session, NL, link.exact_account_id if link else "")
        )
    assert link is not None and account is not None
    assert (link.method, link.linked_by, account.code) == (LinkMethod.MANUAL, "ops", "202")
    # A new link changes where the next documents go, never the posted ones.
    _intents(xw).link("TWIN", NL, "7")
    xw.ingest(invoices=[invoice("B", "TWIN")])
    await xw.run()
    names = {e["YourRef"]: e["lines"] and e["Customer"] for e in xw.ledger()["sales_entries"]}
    assert names["A"] == entry["Customer"] and names["B"] != entry["Customer"]


@pytest.mark.parametrize(
    ("number", "account", "why"),
    [
        ("NOBODY", "7", "there is no customer NOBODY"),
        ("5", "205", "not a usable customer \\(status P\\)"),
        ("5", "99999", "has no Exact account 99999"),
    ],
)
async def test_link_refuses_what_exact_would_refuse(
    xw: ExportWorld, number: str, account: str, why: str
) -> None:
    xw.ingest(customers=[customer("5")])
    before = _snapshot(xw.store)
    with pytest.raises(IntentRefused, match=why):
        _intents(xw).link(number, NL, account)
    assert _snapshot(xw.store) == before


async def test_unlink_removes_the_link_and_says_so(xw: ExportWorld) -> None:
    xw.ingest(customers=[customer("5")])
    intents = _intents(xw)
    with pytest.raises(IntentRefused, match="not linked"):
        intents.unlink("5", NL)
    guid = str(xw.sandbox.division(NL).account_by_code("3")["ID"])
    intents.link("5", NL, guid)
    assert "unlinked" in intents.unlink("5", NL).message
    assert _snapshot(xw.store)["links"] == []
    assert [a.action for a in _audits(xw.store)][-3:] == ["unlink", "link", "unlink"]


# ---------------------------------------------------------------- settings


async def test_settings_are_checked_and_unblock_their_jobs(xw: ExportWorld) -> None:
    intents = _intents(xw)
    intents.set_settings(NL, sales_journal="")
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-1", "5")])
    await xw.run()
    assert xw.job("INV-1").state is JobState.NEEDS_MAPPING
    before = _snapshot(xw.store)
    with pytest.raises(IntentRefused, match="a journal of type 12, not 20"):
        intents.set_settings(NL, sales_journal="20")
    with pytest.raises(IntentRefused, match="type 110, not 20"):
        intents.set_settings(NL, receivables_gl="8010")
    with pytest.raises(IntentRefused, match="unknown setting"):
        intents.set_settings(NL, bank_journal="20")
    assert _snapshot(xw.store) == before
    result = intents.set_settings(NL, sales_journal="70", write_off_gl=None)
    assert result.requeued == 1
    await xw.run()
    assert xw.job("INV-1").state is JobState.POSTED


# ---------------------------------------------------------------- retry


async def test_retry_moves_failed_needs_mapping_and_retry_wait_back_and_leaves_the_rest(
    xw: ExportWorld,
) -> None:
    xw.sandbox.block_gl_account(NL, "8030")
    with xw.store.write() as session:
        session.add(
            Mapping(
                division=NL,
                kind=MappingKind.GL,
                platform_code="LOW",
                exact_code="8030",
                updated_by="t",
            )
        )
    xw.ingest(
        customers=[customer("5")],
        invoices=[
            invoice("OK", "5"),
            invoice("REFUSED", "5", line(gl="LOW")),
            invoice("MISSING", "5", line(gl="NEW")),
            invoice("OLD", "5", date="2025-01-01"),
        ],
    )
    await xw.run()
    states = xw.states()
    assert states == {
        "OK": JobState.POSTED,
        "REFUSED": JobState.FAILED,
        "MISSING": JobState.NEEDS_MAPPING,
        "OLD": JobState.SKIPPED,
    }
    intents = _intents(xw)
    with pytest.raises(IntentRefused, match="already posted"):
        intents.retry(xw.job("OK").id or 0)
    with pytest.raises(IntentRefused, match="never exported"):
        intents.retry(xw.job("OLD").id or 0)
    assert intents.count_matching(JobFilter()) == 4
    result = intents.retry_matching(JobFilter())
    assert (result.requeued, result.lookups, result.unchanged) == (2, 0, 2)
    assert xw.job("REFUSED").state is JobState.PENDING
    assert xw.job("REFUSED").category is None and xw.job("REFUSED").division is None
    xw.sandbox.update_gl_account(NL, "8030", IsBlocked=False)
    await xw.run()
    assert xw.job("REFUSED").state is JobState.POSTED
    assert xw.job("MISSING").state is JobState.NEEDS_MAPPING
    audit = _audits(xw.store)[-1]
    assert audit.action == "retry" and audit.detail is not None
    assert (audit.detail["requeued"], audit.detail["unchanged"]) == (2, 2)


async def test_retry_by_filter_touches_only_what_it_matches(xw: ExportWorld) -> None:
    xw.ingest(
        customers=[customer("5")],
        invoices=[invoice("A", "5", line(gl="NEW")), invoice("B", "5", bank_account=IBAN_LOOSE)],
    )
    await xw.run()
    result = _intents(xw).retry_matching(JobFilter(category=Category.BINDING))
    assert (result.requeued, result.unchanged) == (1, 0)
    assert xw.job("A").state is JobState.NEEDS_MAPPING
    assert xw.job("B").state is JobState.PENDING
    by_cause = _intents(xw).retry_matching(JobFilter(cause="GL NEW missing in division 101001"))
    assert by_cause.requeued == 1


# ---------------------------------------------------------------- pause / resume


async def test_pause_and_resume_exports(xw: ExportWorld) -> None:
    intents = _intents(xw)
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-1", "5")])
    assert intents.pause("month-end close").message == "exports paused: month-end close"
    assert "already paused" in intents.pause().message
    await xw.run()
    assert xw.job("INV-1").state is JobState.PENDING and xw.sandbox.calls.count() == 0
    assert xw.service.paused_reason() == "exports are paused"
    with xw.store.read() as session:
        conn = session.get(ExactConnection, 1)
    assert conn is not None and conn.paused_reason == "month-end close"
    assert conn.status is ConnectionStatus.CONNECTED
    assert intents.resume().message == "exports resumed"
    await xw.run()
    assert xw.job("INV-1").state is JobState.POSTED
    assert [a.action for a in _audits(xw.store)][-2:] == ["pause", "resume"]
