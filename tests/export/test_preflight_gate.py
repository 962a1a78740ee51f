"""What is missing is caught before Exact is called: history, bindings, mappings, settings.
Each case asserts on the sandbox's call log that not one request went out."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from exact_tui.domain.states import Category, JobState
from exact_tui.store.models import BankAccount, BankAccountBinding, DivisionSettings
from exact_tui.store.scoping import tenant_key
from tests.export.kit import (
    IBAN_LOOSE,
    IBAN_NL,
    NL,
    ExportWorld,
    customer,
    invoice,
    line,
    payment,
    write_off,
)


@pytest.mark.parametrize(
    ("lines", "missing", "cause"),
    [
        (
            [line(gl="UNMAPPED")],
            [{"kind": "gl", "code": "UNMAPPED", "detail": "GL UNMAPPED missing"}],
            "GL UNMAPPED missing in division 101001",
        ),
        (
            [line(vat="21-EU"), line(vat="21-EU")],
            [{"kind": "vat", "code": "21-EU", "detail": "VAT code 21-EU missing"}],
            "VAT code 21-EU missing in division 101001",
        ),
        (
            [line(gl="REV-CC", cost_center="ZUID")],
            [{"kind": "cost_center", "code": "ZUID", "detail": "cost center ZUID missing"}],
            "cost center ZUID missing in division 101001",
        ),
        (
            [line(gl="REV-CC")],
            [{"kind": "cost_center", "code": "", "detail": "GL 8000 requires a cost center"}],
            "GL 8000 requires a cost center in division 101001",
        ),
        (
            [line(cost_unit="EXTRA")],
            [{"kind": "cost_unit", "code": "EXTRA", "detail": "cost unit EXTRA missing"}],
            "cost unit EXTRA missing in division 101001",
        ),
    ],
)
async def test_each_missing_mapping_blocks_without_a_call(
    xw: ExportWorld, lines: list[dict[str, Any]], missing: list[dict[str, str]], cause: str
) -> None:
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-1", "5", *lines)])
    await xw.run()
    job = xw.job("INV-1")
    assert (job.state, job.category, job.division) == (
        JobState.NEEDS_MAPPING,
        Category.MAPPING,
        NL,
    )
    assert job.missing == missing and job.cause == cause
    assert xw.sandbox.calls.count() == 0
    (event,) = xw.events("INV-1")
    assert (event.outcome, event.level, event.message) == ("needs_mapping", "warning", cause)


@pytest.mark.parametrize(
    ("setting", "document", "code"),
    [
        ("sales_journal", "invoice", "sales_journal"),
        ("receivables_gl", "payment", "receivables_gl"),
        ("general_journal", "write_off", "general_journal"),
        ("write_off_gl", "write_off", "write_off_gl"),
    ],
)
async def test_missing_division_settings_block_without_a_call(
    xw: ExportWorld, setting: str, document: str, code: str
) -> None:
    with xw.store.write() as session:
        row = session.get(DivisionSettings, tenant_key(session, NL))
        assert row is not None
        setattr(row, setting, None)
        session.add(row)
    records: dict[str, Any] = {"customers": [customer("5")]}
    if document == "payment":
        records["payments"] = [payment("PAY-1", "5", "5.00")]
    else:
        # The invoice of a write-off is itself blocked (unmapped GL): no call for it either.
        gl = "REV" if document == "invoice" else "NOPE"
        records["invoices"] = [invoice("INV-1", "5", line(gl=gl))]
    if document == "write_off":
        records["write_offs"] = [write_off("WO-1", "INV-1", "1.00", "write_off")]
    xw.ingest(**records)
    await xw.run()
    number = {"invoice": "INV-1", "payment": "PAY-1", "write_off": "WO-1"}[document]
    job = xw.job(number)
    assert job.state is JobState.NEEDS_MAPPING and job.category is Category.MAPPING
    assert {"kind": "setting", "code": code} in [
        {"kind": m["kind"], "code": m["code"]} for m in job.missing or []
    ]
    assert xw.sandbox.calls.count() == 0


async def test_an_unbound_bank_account_blocks_without_a_call(xw: ExportWorld) -> None:
    xw.ingest(
        customers=[customer("5")],
        invoices=[invoice("INV-1", "5", bank_account=IBAN_LOOSE)],
        payments=[payment("PAY-1", "5", "5.00", bank_account=IBAN_LOOSE)],
        write_offs=[write_off("WO-1", "INV-1", "1.00", "collection_costs")],
    )
    await xw.run()
    for number in ("INV-1", "PAY-1", "WO-1"):
        job = xw.job(number)
        assert (job.state, job.category, job.division) == (
            JobState.NEEDS_MAPPING,
            Category.BINDING,
            None,
        )
        assert job.missing == [
            {
                "kind": "binding",
                "code": IBAN_LOOSE,
                "detail": f"bank account {IBAN_LOOSE} is not bound to a division",
            }
        ]
    assert xw.sandbox.calls.count() == 0


async def test_a_binding_to_a_journal_that_is_no_bank_journal_blocks_payments(
    xw: ExportWorld,
) -> None:
    with xw.store.write() as session:
        bank = session.exec(select(BankAccount).where(BankAccount.iban == IBAN_NL)).one()
        binding = session.get(BankAccountBinding, bank.id)
        assert binding is not None
        binding.journal_code = "70"
        session.add(binding)
    xw.ingest(customers=[customer("5")], payments=[payment("PAY-1", "5", "5.00")])
    await xw.run()
    job = xw.job("PAY-1")
    assert (job.state, job.category) == (JobState.NEEDS_MAPPING, Category.BINDING)
    assert job.cause == "bank journal 70 is not a usable bank journal in division 101001"
    assert xw.sandbox.calls.count() == 0


async def test_history_is_skipped_visibly_and_never_sent(xw: ExportWorld) -> None:
    xw.ingest(
        customers=[customer("5")],
        invoices=[
            invoice("OLD-1", "5", date="2025-12-31"),
            invoice("OLD-2", "5", date="2025-06-01", bank_account=IBAN_LOOSE),
            invoice("NEW-1", "5", date="2026-01-01"),
        ],
    )
    await xw.run()
    assert xw.states() == {
        "OLD-1": JobState.SKIPPED,
        "OLD-2": JobState.SKIPPED,
        "NEW-1": JobState.POSTED,
    }
    (event,) = xw.events("OLD-1")
    assert event.outcome == "skipped" and "before the connection was activated" in event.message
    assert [e["YourRef"] for e in xw.ledger()["sales_entries"]] == ["NEW-1"]


async def test_a_mapping_to_something_gone_from_exact_blocks(xw: ExportWorld) -> None:
    xw.sandbox.block_gl_account(NL, "8010")
    async with xw.world.session() as session:
        from exact_tui.services.masterdata import MasterDataImporter

        await MasterDataImporter(xw.store, session.client, clock=xw.world).import_division(NL)
    calls = xw.sandbox.calls.count()
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-1", "5")])
    await xw.run()
    job = xw.job("INV-1")
    assert job.state is JobState.NEEDS_MAPPING
    assert job.cause == "GL REV → 8010 is blocked in division 101001"
    assert xw.sandbox.calls.count() == calls
