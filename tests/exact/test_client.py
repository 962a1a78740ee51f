"""The client against the in-process sandbox: paging, pacing, the error budget, outcomes."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from sqlmodel import select

from exact_tui.exact import odata
from exact_tui.exact.errors import (
    AccessDenied,
    Ambiguous,
    ErrorBudgetSpent,
    NotFound,
    ReconnectNeeded,
    Refused,
    Transient,
)
from exact_tui.exact.http import ExactClient
from exact_tui.exact.odata import Query
from exact_tui.sandbox import SMALL
from exact_tui.store.models import ApiErrorRecord, Budget, Division
from exact_tui.store.scoping import tenant_key
from tests.connection.kit import BE, NL, NO_CONSENT, World

ACCOUNT_FIELDS = ["ID", "Code", "Name", "Created"]


async def test_2500_accounts_are_read_across_pages(connected: World) -> None:
    world = connected
    for number in range(2300):
        world.sandbox.create_account(
            NL, Name=f"Paging customer {number}", Code=str(700000 + number), Status="C"
        )
    expected = SMALL.division(NL).customers + 2300
    async with world.session() as session:
        rows = await session.client.get_all(
            NL, "crm/Accounts", Query(select=ACCOUNT_FIELDS, filter=odata.eq("Status", "C"))
        )
        bulk = await session.client.get_all(
            NL, "bulk/CRM/Accounts", Query(select=["ID"], filter=odata.eq("Status", "C"))
        )
    assert len(rows) == expected == 2504
    assert len({row["ID"] for row in rows}) == expected
    assert rows[0].keys() == set(ACCOUNT_FIELDS)
    assert {row["ID"] for row in bulk} == {row["ID"] for row in rows}
    pages = -(-expected // 60)
    assert world.sandbox.calls.count("crm/Accounts", status=200) == pages == 42
    assert world.sandbox.calls.count("bulk/CRM/Accounts", status=200) == 3
    assert world.sandbox.calls.count(status=429) == 0


async def test_200_calls_against_60_a_window_get_no_429(connected: World) -> None:
    world = connected
    # A compressed window: 60 calls per 10 s of sandbox time.
    world.sandbox.set_limits(minutely=60, minute_window=10)
    async with world.session() as session:
        for _ in range(200):
            await session.client.get_page(NL, "financial/Journals", Query(select=["ID", "Code"]))
        state = session.client.rate_state(NL)
    assert world.sandbox.calls.count("financial/Journals", status=200) == 200
    assert world.sandbox.calls.count(status=429) == 0
    # 200 calls need four windows: the client waited out at least two whole ones.
    assert sum(world.slept) >= 20
    with world.store.read() as db:
        budget = db.get(Budget, tenant_key(db, NL))
    assert budget is not None and state.minutely is not None
    assert budget.minutely_limit == 60 and budget.minutely_remaining == state.minutely.remaining
    assert budget.daily_remaining == 5000 - 200


async def test_after_a_429_the_client_waits_for_the_reset(connected: World) -> None:
    world = connected
    world.sandbox.set_faults(
        {"faults": [{"endpoint": "financial/*", "kind": "rate_limit_storm", "count": 1}]}
    )
    async with world.session() as session:
        page = await session.client.get_page(NL, "financial/Journals")
    assert page.rows
    assert world.sandbox.calls.count("financial/Journals", status=429) == 1
    assert world.sandbox.calls.count("financial/Journals", status=200) == 1
    assert world.slept and world.slept[0] > 1


async def test_the_error_budget_stops_before_exacts_block(connected: World) -> None:
    world = connected
    async with world.session() as session:
        # crm/Accounts without a filter is refused (mandatory filtering): 400, counted.
        refused = spent = 0
        for _ in range(12):
            try:
                await session.client.get_page(NL, "crm/Accounts", Query(select=["ID"]))
            except ErrorBudgetSpent as exc:
                spent += 1
                assert exc.endpoint == "crm/Accounts" and exc.count == 8
                assert "crm/Accounts" in exc.message
            except Refused as exc:
                refused += 1
                assert "mandatory filtering" in exc.message
        assert (refused, spent) == (8, 4)
        # Other endpoints and divisions are not held back.
        assert (await session.client.get_page(NL, "financial/Journals")).rows
        assert (
            await session.client.get_page(
                BE, "crm/Accounts", Query(select=["ID"], filter=odata.eq("Status", "C"))
            )
        ).rows
    assert world.sandbox.calls.count("crm/Accounts", division=NL, status=400) == 8
    blocked = world.sandbox.limits.snapshot()["blocked"]
    assert blocked == []
    # A second process counts from the same store.
    async with world.session() as other:
        with pytest.raises(ErrorBudgetSpent):
            await other.client.get_page(NL, "crm/Accounts", Query(select=["ID"]))
    with world.store.read() as db:
        rows = db.exec(select(ApiErrorRecord)).all()
    assert {(row.division, row.endpoint, row.status) for row in rows} == {(NL, "crm/Accounts", 400)}
    assert len(rows) == 8


async def test_no_division_access_in_words(connected: World) -> None:
    world = connected
    with world.store.write() as db:
        db.add(Division(code=NO_CONSENT, description="Not consented"))
    async with world.session() as session:
        with pytest.raises(AccessDenied) as caught:
            await session.client.get_page(NO_CONSENT, "financial/Journals")
    error = caught.value
    assert error.reason == "NoDivisionAccess"
    assert error.message == (
        "no access to this division: the Exact user did not grant it or lacks rights"
    )
    world.service.note_access_denied(NO_CONSENT, error)
    with world.store.read() as db:
        division = db.get(Division, tenant_key(db, NO_CONSENT))
    assert division is not None and not division.accessible
    assert division.access_reason == error.message


async def test_posts_ask_for_the_representation(connected: World) -> None:
    world = connected
    async with world.session() as session:
        created = await session.client.post(
            NL, "crm/Accounts", {"Name": "Prefer & Co", "Status": "C", "Country": "NL"}
        )
    assert created["Name"] == "Prefer & Co"
    assert created["ID"] and created["Code"]  # computed by Exact: only with the Prefer header
    assert world.sandbox.calls.count("crm/Accounts", method="POST", status=201) == 1


async def test_a_500_with_exacts_message_is_a_refusal(connected: World) -> None:
    world = connected
    facts = SMALL.division(NL)
    async with world.session() as session:
        gl = (
            await session.client.get_page(
                NL,
                "financial/GLAccounts",
                Query(select=["ID"], filter=odata.eq("Code", facts.gl["revenue"])),
            )
        ).rows[0]["ID"]
        lines = [{"GLAccount": gl, "AmountFC": "10.00"}, {"GLAccount": gl, "AmountFC": "-10.00"}]
        with pytest.raises(Refused) as caught:
            await session.client.post(
                NL,
                "generaljournalentry/GeneralJournalEntries",
                {"JournalCode": facts.sales_journal, "GeneralJournalEntryLines": lines},
            )
    assert caught.value.status == 500 and caught.value.message == "Ongeldig: Dagboek"


async def test_lost_answers_to_posts_are_ambiguous_to_gets_transient(connected: World) -> None:
    world = connected
    world.sandbox.set_faults(
        {
            "faults": [
                {
                    "endpoint": "crm/Accounts",
                    "method": "POST",
                    "kind": "error_after_commit",
                    "count": 1,
                },
                {
                    "endpoint": "crm/Accounts",
                    "method": "POST",
                    "kind": "commit_then_hang",
                    "count": 1,
                },
                {
                    "endpoint": "financial/Journals",
                    "kind": "error_before_commit",
                    "count": 1,
                    "status": 502,
                },
            ]
        }
    )
    async with world.session() as session:
        with pytest.raises(Ambiguous, match="HTML page"):
            await session.client.post(NL, "crm/Accounts", {"Name": "Maybe 1", "Status": "C"})
        with pytest.raises(Ambiguous, match="ReadTimeout"):
            await session.client.post(NL, "crm/Accounts", {"Name": "Maybe 2", "Status": "C"})
        with pytest.raises(Transient):
            await session.client.get_page(NL, "financial/Journals")
        with pytest.raises(NotFound):
            await session.client.get_page(NL, "crm/NoSuchThing")
    created = world.sandbox.ledger(NL)
    assert "Maybe 1" in json.dumps(created) and "Maybe 2" in json.dumps(created)


async def test_one_request_log_line_per_call(
    connected: World, caplog: pytest.LogCaptureFixture
) -> None:
    world = connected
    caplog.set_level(logging.INFO, logger="exact_tui.requests")
    async with world.session() as session:
        await session.client.get_page(
            NL, "crm/Accounts", Query(select=["ID"], filter=odata.eq("Name", "x"))
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "exact_tui.requests"]
    assert len(lines) == 1
    assert lines[0].startswith("GET /api/v1/101001/crm/Accounts 200 ")
    assert "minutely 59/60" in lines[0] and "daily 4999/5000" in lines[0]
    assert "?" not in lines[0] and "$filter" not in lines[0]


class _StaticToken:
    async def access_token(self) -> str:
        return "static-token"

    async def after_unauthorized(self, rejected: str) -> str:
        raise AssertionError("not expected")


async def test_next_links_are_followed_only_on_the_same_host() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        body = {
            "d": {
                "results": [{"ID": "1"}],
                "__next": "https://elsewhere.test/api/v1/1/crm/Accounts?$skiptoken=x",
            }
        }
        return httpx.Response(200, json=body)

    client = ExactClient(
        "https://start.exactonline.nl", _StaticToken(), transport=httpx.MockTransport(answer)
    )
    async with client:
        with pytest.raises(odata.ODataError, match="another host"):
            await client.get_all(1, "crm/Accounts", Query(filter=odata.eq("Name", "x")))
    assert len(seen) == 1 and seen[0].startswith(
        "https://start.exactonline.nl/api/v1/1/crm/Accounts?"
    )


class _CountingToken:
    def __init__(self) -> None:
        self.refreshed = 0

    async def access_token(self) -> str:
        return f"token-{self.refreshed}"

    async def after_unauthorized(self, rejected: str) -> str:
        self.refreshed += 1
        return f"token-{self.refreshed}"


async def test_a_second_401_is_final_and_html_successes_are_not_trusted() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        if request.url.path.endswith("/current/Me"):
            return httpx.Response(401, text="<html><body>Object moved</body></html>")
        return httpx.Response(200, text="<html><body>Maintenance</body></html>")

    tokens = _CountingToken()
    client = ExactClient(
        "https://start.exactonline.nl", tokens, transport=httpx.MockTransport(answer)
    )
    async with client:
        with pytest.raises(ReconnectNeeded, match="HTML page"):
            await client.current_me()
        with pytest.raises(Transient, match="not JSON"):
            await client.get_page(1, "financial/Journals")
        with pytest.raises(Ambiguous, match="may have been created"):
            await client.post(1, "crm/Accounts", {"Name": "x"})
    assert seen[:2] == ["Bearer token-0", "Bearer token-1"] and tokens.refreshed == 1
