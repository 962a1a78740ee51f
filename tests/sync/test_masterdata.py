"""Master-data import against the in-process sandbox: what arrives, with how few calls."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import col, select

from exact_tui.domain.states import MappingKind
from exact_tui.sandbox import BE_DIVISION, NL_DIVISION, NO_CONSENT_DIVISION
from exact_tui.services.masterdata import ENTITIES, MasterDataImporter, stale_mappings
from exact_tui.services.status import status_report
from exact_tui.services.worker import Lanes, SyncRequestInfo
from exact_tui.store.models import (
    CostCenter,
    CostUnit,
    Division,
    ExactAccount,
    GLAccount,
    Journal,
    Mapping,
    SyncRun,
    VATCode,
)
from exact_tui.store.scoping import tenant_key
from tests.connection.kit import World

ALL = SyncRequestInfo(1, None, "initial", "tester")
#: The date stale mappings are judged on (no cost center here ends near it).
TODAY = dt.date(2026, 3, 2)

# cache model, sandbox table, and the fields compared (cache attribute ← sandbox field)
COMPARED: list[tuple[type[Any], str, dict[str, str]]] = [
    (Journal, "journals", {"code": "Code", "type": "Type", "is_blocked": "IsBlocked"}),
    (
        GLAccount,
        "gl_accounts",
        {"code": "Code", "type": "Type", "use_costcenter": "UseCostcenter",
         "is_blocked": "IsBlocked"},
    ),
    (VATCode, "vat_codes", {"code": "Code", "percentage": "Percentage"}),
    (CostCenter, "cost_centers", {"code": "Code", "description": "Description"}),
    (CostUnit, "cost_units", {"code": "Code", "description": "Description"}),
    (
        ExactAccount,
        "accounts",
        {"code": "Code", "search_code": "SearchCode", "name": "Name", "status": "Status",
         "vat_number": "VATNumber", "country": "Country"},
    ),
]  # fmt: skip


def _norm(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _sandbox_rows(world: World, division: int, table: str, fields: dict[str, str]) -> dict:
    records = getattr(world.sandbox.division(division), table)
    return {
        str(key).lower(): tuple(_norm(record.get(field)) or None for field in fields.values())
        for key, record in records.items()
    }


def _cache_rows(world: World, model: type[Any], division: int, fields: dict[str, str]) -> dict:
    with world.store.read() as session:
        rows = session.exec(select(model).where(model.division == division)).all()
    return {row.id: tuple(_norm(getattr(row, attr)) or None for attr in fields) for row in rows}


async def _run(world: World, request: SyncRequestInfo = ALL) -> str:
    async with world.session() as session:
        return await MasterDataImporter(world.store, session.client).run(request, Lanes())


def _last_runs(world: World, division: int) -> dict[str, SyncRun]:
    with world.store.read() as session:
        runs = session.exec(
            select(SyncRun).where(SyncRun.division == division).order_by(col(SyncRun.id))
        ).all()
    return {run.entity: run for run in runs}


async def test_initial_import_matches_the_sandbox(connected: World) -> None:
    await _run(connected)
    for division in (NL_DIVISION, BE_DIVISION):
        for model, table, fields in COMPARED:
            expected = _sandbox_rows(connected, division, table, fields)
            assert expected, (division, table)
            assert _cache_rows(connected, model, division, fields) == expected, (division, table)
    with connected.store.read() as session:
        divisions = {d.code: d for d in session.exec(select(Division))}
    assert set(divisions) == {NL_DIVISION, BE_DIVISION, NO_CONSENT_DIVISION}


async def test_change_and_removal_arrive_and_nothing_else_is_read(connected: World) -> None:
    await _run(connected)
    sandbox = connected.sandbox
    accounts = sandbox.division(NL_DIVISION).accounts
    changed_key, removed_key = [str(key) for key in list(accounts)[:2]]
    sandbox.update_account(NL_DIVISION, changed_key, Name="Renamed B.V.")
    sandbox.delete_account(NL_DIVISION, removed_key)
    gl_key = str(next(iter(sandbox.division(NL_DIVISION).gl_accounts)))
    sandbox.update_gl_account(NL_DIVISION, gl_key, Description="Omzet nieuw")

    result = await _run(connected, SyncRequestInfo(2, NL_DIVISION, "manual", "tester"))
    assert "3 change(s)" in result

    runs = _last_runs(connected, NL_DIVISION)
    assert (runs["accounts"].read, runs["accounts"].changed, runs["accounts"].full) == (1, 1, False)
    assert (runs["gl_accounts"].read, runs["gl_accounts"].changed) == (1, 1)
    assert (runs["deleted"].read, runs["deleted"].removed) == (1, 1)
    for entity in ("journals", "vat_codes", "cost_centers", "cost_units", "accounts", "deleted"):
        assert runs[entity].calls == 1, entity
    with connected.store.read() as session:
        assert (
            session.get(ExactAccount, tenant_key(session, NL_DIVISION, changed_key)).name
            == "Renamed B.V."
        )
        assert session.get(ExactAccount, tenant_key(session, NL_DIVISION, removed_key)) is None


async def test_nothing_changed_costs_one_call_per_entity(connected: World) -> None:
    await _run(connected)
    async with connected.session() as session:
        importer = MasterDataImporter(connected.store, session.client)
        before = session.client.calls[NL_DIVISION]
        result = await importer.import_division(NL_DIVISION)
        calls = session.client.calls[NL_DIVISION] - before
    assert result.ok
    # journals, GL accounts, VAT codes, cost centers, cost units, accounts, deletions
    assert calls == len(ENTITIES) + 1
    assert all(run.read == 0 for run in result.runs if run.entity in ("accounts", "gl_accounts"))


async def test_division_without_consent_is_reported_and_others_complete(
    connected: World,
) -> None:
    result = await _run(connected)
    assert f"{NO_CONSENT_DIVISION}: no access to this division" in result
    report = status_report(connected.store)
    by_code = {d.code: d for d in report.divisions}
    refused = by_code[NO_CONSENT_DIVISION]
    assert not refused.accessible
    assert "did not grant it" in (refused.access_reason or "")
    assert by_code[NL_DIVISION].accessible and by_code[NL_DIVISION].last_sync_at is not None
    # One refused call, not one per entity: each 403 costs error budget.
    assert connected.sandbox.calls.count(division=NO_CONSENT_DIVISION, status=403) == 1
    # A manual import does not try it again; a later initial/daily one does.
    manual = await _run(connected, SyncRequestInfo(3, None, "manual", "tester"))
    assert f"skipped without access: {NO_CONSENT_DIVISION}" in manual
    assert connected.sandbox.calls.count(division=NO_CONSENT_DIVISION, status=403) == 1


async def test_consent_given_later_is_picked_up(connected: World) -> None:
    await _run(connected)
    connected.sandbox.set_consent([NL_DIVISION, BE_DIVISION, NO_CONSENT_DIVISION])
    await _run(connected, SyncRequestInfo(4, None, "daily", "schedule"))
    with connected.store.read() as session:
        division = session.get(Division, tenant_key(session, NO_CONSENT_DIVISION))
        accounts = session.exec(
            select(ExactAccount).where(ExactAccount.division == NO_CONSENT_DIVISION)
        ).all()
    assert division is not None and division.accessible and division.access_reason is None
    assert accounts


async def test_moved_division_is_imported_in_full(connected: World) -> None:
    await _run(connected)
    sandbox = connected.sandbox
    gone = str(next(iter(sandbox.division(BE_DIVISION).accounts)))
    sandbox.delete_account(BE_DIVISION, gone)
    sandbox.move_division(BE_DIVISION)
    await _run(connected, SyncRequestInfo(5, None, "manual", "tester"))
    runs = _last_runs(connected, BE_DIVISION)
    assert runs["accounts"].full and runs["gl_accounts"].full
    fields = COMPARED[-1][2]
    assert _cache_rows(connected, ExactAccount, BE_DIVISION, fields) == _sandbox_rows(
        connected, BE_DIVISION, "accounts", fields
    )
    # and incremental again afterwards
    await _run(connected, SyncRequestInfo(6, BE_DIVISION, "manual", "tester"))
    assert not _last_runs(connected, BE_DIVISION)["accounts"].full


async def test_mappings_to_vanished_or_blocked_targets_are_flagged(connected: World) -> None:
    await _run(connected)
    with connected.store.write() as session:
        for code in ("8010", "8000", "8020"):
            session.add(
                Mapping(
                    division=NL_DIVISION,
                    kind=MappingKind.GL,
                    platform_code=f"P{code}",
                    exact_code=code,
                    updated_by="tester",
                )
            )
    assert stale_mappings(connected.store, today=TODAY) == []
    connected.sandbox.block_gl_account(NL_DIVISION, "8010")
    connected.sandbox.delete_gl_account(NL_DIVISION, "8000")
    result = await _run(connected, SyncRequestInfo(7, NL_DIVISION, "manual", "tester"))
    assert "2 mapping(s) point at something deleted or blocked" in result
    found = {
        s.exact_code: s.problem for s in stale_mappings(connected.store, NL_DIVISION, today=TODAY)
    }
    assert found == {"8010": "blocked in Exact", "8000": "no longer in Exact"}


async def test_mappings_to_targets_of_the_wrong_kind_are_flagged(connected: World) -> None:
    # The rule preflight applies: a receivables account or a purchase VAT code never fits a
    # sales line, so a mapping to one (saved before the rule, or changed in Exact) is stale.
    await _run(connected)
    with connected.store.write() as session:
        for kind, code in (
            (MappingKind.GL, "1300"),
            (MappingKind.VAT, "8"),
            (MappingKind.GL, "8020"),
        ):
            session.add(
                Mapping(
                    division=NL_DIVISION,
                    kind=kind,
                    platform_code=f"P{code}",
                    exact_code=code,
                    updated_by="tester",
                )
            )
    found = {
        s.exact_code: s.problem for s in stale_mappings(connected.store, NL_DIVISION, today=TODAY)
    }
    assert found == {"1300": "not a revenue account (20 receivable)", "8": "a purchase VAT code"}
