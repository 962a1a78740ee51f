"""The control API and the Python control surface: ledger, call log, clock, reset, limits,
consent, and master data changed "in Exact"."""

from __future__ import annotations

from typing import Any

import httpx

from exact_tui.sandbox import SMALL, Sandbox, create_app

from .helpers import BASE_URL, BE, NL, NO_CONSENT, Api, bank_body, journal_body, sales_body

SALES = f"{NL.number}/salesentry/SalesEntries"


async def control(client: httpx.AsyncClient, method: str, path: str, body: Any = None) -> Any:
    response = await client.request(method, f"/_sandbox/{path}", json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


# -- ledger and calls ---------------------------------------------------------------------------


async def test_ledger_lists_every_committed_entry_with_its_references(
    api: Api, client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    await api.post(SALES, sales_body(sandbox, your_ref="INV-7"))
    await api.post(f"{NL.number}/financialtransaction/BankEntries", bank_body(sandbox))
    await api.post(f"{NL.number}/generaljournalentry/GeneralJournalEntries", journal_body(sandbox))
    await api.post(f"{NL.number}/crm/Accounts", {"Name": "Via API BV", "Status": "C"})
    ledger = await control(client, "GET", f"ledger?division={NL.number}")
    books = ledger["divisions"][str(NL.number)]
    assert books["counts"] == {
        "sales_entries": 1,
        "bank_entries": 1,
        "general_journal_entries": 1,
        "accounts": 1,
    }
    (sale,) = books["sales_entries"]
    assert sale["YourRef"] == "INV-7"
    assert sale["AmountFC"] == "121.00"
    assert sale["Journal"] == NL.sales_journal
    assert sale["lines"] == [
        {
            "LineNumber": 1,
            "GLAccountCode": NL.gl["revenue"],
            "AmountFC": "100.00",
            "VATCode": "2",
            "VATAmountFC": "21.00",
            "Description": "Meeting room",
            "CostCenter": None,
            "CostUnit": None,
        }
    ]
    (bank,) = books["bank_entries"]
    assert bank["lines"][0]["OurRef"] == 26000001
    assert bank["lines"][0]["Description"] == "PAY-26000001"
    (journal,) = books["general_journal_entries"]
    assert [line["AmountFC"] for line in journal["lines"]] == ["-25.00", "25.00"]
    assert books["accounts"][0]["Name"] == "Via API BV"
    assert books["duplicate_your_refs"] == []


async def test_ledger_shows_duplicates_and_covers_every_division(
    api: Api, client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    await api.post(SALES, sales_body(sandbox, your_ref="INV-9"))
    await api.post(SALES, sales_body(sandbox, your_ref="INV-9"))
    ledger = await control(client, "GET", "ledger")
    assert set(ledger["divisions"]) == {str(d.number) for d in SMALL.divisions}
    assert ledger["divisions"][str(NL.number)]["duplicate_your_refs"] == ["INV-9"]


async def test_call_log_counts_per_endpoint_method_and_status(
    api: Api, client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    await api.get(f"{NL.number}/financial/Journals")
    await api.get(f"{NL.number}/financial/Journals")
    await api.get(f"{NL.number}/crm/Accounts")
    await api.post(SALES, sales_body(sandbox))
    calls = await control(client, "GET", "calls")
    assert calls["total"] == 4
    assert calls["by_status"] == {"200": 2, "400": 1, "201": 1}
    assert calls["by_method"] == {"GET": 3, "POST": 1}
    assert {
        "endpoint": "financial/Journals",
        "division": NL.number,
        "method": "GET",
        "status": 200,
        "count": 2,
    } in calls["calls"]
    assert sandbox.calls.count("salesentry/SalesEntries", method="POST", status=201) == 1
    cleared = await control(client, "DELETE", "calls")
    assert cleared["total"] == 0


async def test_token_calls_are_logged_too(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    await client.post("/api/oauth2/token", data={"grant_type": "refresh_token"})
    assert sandbox.calls.count("oauth2/token", status=401) == 1


# -- clock, reset, limits, consent ----------------------------------------------------------------


async def test_clock_advances_through_the_control_api(api: Api, client: httpx.AsyncClient) -> None:
    before = await control(client, "GET", "clock")
    after = await control(client, "POST", "clock", {"advance": 600})
    assert after["epoch_ms"] - before["epoch_ms"] == 600_000
    assert after["frozen"] is True
    assert (await api.get("current/Me")).status_code == 401


async def test_reset_goes_back_to_the_seed(
    api: Api, client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    await api.post(SALES, sales_body(sandbox))
    sandbox.create_account(NL.number, Name="Temporary BV")
    await control(client, "POST", "reset")
    assert sandbox.division(NL.number).sales_entries == {}
    assert len(sandbox.division(NL.number).accounts) == NL.relations
    assert (await api.get("current/Me")).status_code == 401  # tokens are gone too


async def test_reset_can_keep_the_tokens(
    api: Api, client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    await api.post(SALES, sales_body(sandbox))
    await control(client, "POST", "reset", {"keep_tokens": True})
    assert sandbox.division(NL.number).sales_entries == {}
    assert (await api.get("current/Me")).status_code == 200


async def test_the_same_seed_gives_the_same_guids(sandbox: Sandbox) -> None:
    before = sorted(str(key) for key in sandbox.division(NL.number).accounts)
    sandbox.reset()
    assert sorted(str(key) for key in sandbox.division(NL.number).accounts) == before


async def test_limits_over_the_control_api(api: Api, client: httpx.AsyncClient) -> None:
    settings = await control(client, "POST", "limits", {"minutely": 2, "daily": 100})
    assert settings["settings"]["minutely"] == 2
    await api.get(f"{NL.number}/financial/Journals")
    await api.get(f"{NL.number}/financial/Journals")
    assert (await api.get(f"{NL.number}/financial/Journals")).status_code == 429
    limits = await control(client, "GET", "limits")
    assert limits["usage"] == [
        {"client_id": "sandbox-client", "division": NL.number, "minute_count": 2, "day_count": 2}
    ]
    # The minute's history: the two calls let through, not the one refused.
    (minute,) = limits["minutes"]
    assert (minute["division"], minute["calls"]) == (NL.number, 2)
    assert minute["start_ms"] == minute["minute"] * 60_000
    await control(client, "DELETE", "limits")
    assert (await control(client, "GET", "limits"))["minutes"] == []
    assert (await api.get(f"{NL.number}/financial/Journals")).status_code == 200
    refused = await client.post("/_sandbox/limits", json={"minutely": 0})
    assert refused.status_code == 400
    unknown = await client.post("/_sandbox/limits", json={"hourly": 5})
    assert unknown.status_code == 400


async def test_consent_withdrawn_for_a_division(api: Api, client: httpx.AsyncClient) -> None:
    assert (await control(client, "GET", "consent"))["divisions"] == [NL.number, BE.number]
    remaining = await control(client, "DELETE", f"consent/{BE.number}")
    assert remaining["divisions"] == [NL.number]
    response = await api.get(f"{BE.number}/financial/Journals")
    assert response.status_code == 403
    assert response.headers["Reason"] == "NoDivisionAccess"
    granted = await control(client, "POST", "consent", {"divisions": [NO_CONSENT.number]})
    assert granted["divisions"] == [NO_CONSENT.number]
    assert (await api.get(f"{NO_CONSENT.number}/financial/Journals")).status_code == 200


async def test_facts_are_published(client: httpx.AsyncClient) -> None:
    facts = await control(client, "GET", "facts")
    assert facts["client_id"] == "sandbox-client"
    assert facts["default_consent"] == [NL.number, BE.number]
    assert facts["divisions"][0]["sales_journal"] == NL.sales_journal


async def test_the_control_api_is_absent_unless_asked_for(sandbox: Sandbox) -> None:
    transport = httpx.ASGITransport(app=create_app(sandbox, control=False))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        assert (await http.get("/_sandbox/ledger")).status_code == 404
        assert (await http.get("/api/v1/current/Me")).status_code == 401


async def test_app_exposes_its_sandbox() -> None:
    app = create_app()
    assert isinstance(app.state.sandbox, Sandbox)
    assert app.state.sandbox.size == "small"


# -- master data changed in Exact -----------------------------------------------------------------


async def sync_rows(api: Api, path: str, since: int) -> list[Any]:
    rows, _ = await api.all_pages(
        f"{NL.number}/{path}", {"$select": "ID,Timestamp", "$filter": f"Timestamp gt {since}L"}
    )
    return rows


async def highest(api: Api, path: str) -> int:
    return max(int(row["Timestamp"]) for row in await sync_rows(api, path, 1))


async def test_inserted_and_updated_accounts_come_back_through_sync(
    api: Api, client: httpx.AsyncClient
) -> None:
    mark = await highest(api, "sync/CRM/Accounts")
    created = await control(
        client,
        "POST",
        f"divisions/{NL.number}/accounts",
        {"Name": "Nieuw in Exact", "Status": "C", "VATNumber": None},
    )
    assert created["Code"] == str(NL.relations + 1)
    await control(client, "PATCH", f"divisions/{NL.number}/accounts/8", {"City": "Zwolle"})
    changed = await sync_rows(api, "sync/CRM/Accounts", mark)
    assert len(changed) == 2
    assert changed[0]["ID"] == created["ID"]
    assert all(int(row["Timestamp"]) > mark for row in changed)


async def test_deleted_accounts_and_gl_accounts_land_in_sync_deleted(
    api: Api, client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    account = sandbox.division(NL.number).account_by_code("9")
    assert account is not None
    deleted = await control(client, "DELETE", f"divisions/{NL.number}/accounts/{account['ID']}")
    assert deleted["EntityKey"] == str(account["ID"])
    sandbox.delete_gl_account(NL.number, "9000")
    rows = await api.results(
        f"{NL.number}/sync/Deleted",
        {"$select": "EntityKey,EntityType,Timestamp", "$filter": "Timestamp gt 1"},
    )
    assert [(row["EntityType"]) for row in rows] == [2, 7]
    assert rows[0]["EntityKey"] == str(account["ID"])
    assert sandbox.division(NL.number).account_by_code("9") is None


async def test_a_blocked_gl_account_refuses_new_entries(
    api: Api, client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    await control(
        client, "PATCH", f"divisions/{NL.number}/glaccounts/{NL.gl['revenue']}", {"IsBlocked": True}
    )
    response = await api.post(SALES, sales_body(sandbox))
    assert response.status_code == 500
    assert "Geblokkeerd" in response.json()["error"]["message"]["value"]


async def test_a_gl_account_created_in_exact(api: Api, client: httpx.AsyncClient) -> None:
    created = await control(
        client,
        "POST",
        f"divisions/{NL.number}/glaccounts",
        {"Code": "8100", "Description": "Omzet nieuw", "Type": 110, "UseCostcenter": 1},
    )
    assert created["BalanceType"] == "W"
    rows = await api.results(
        f"{NL.number}/financial/GLAccounts", {"$filter": "Code eq '8100'", "$select": "ID,Type"}
    )
    assert rows[0]["ID"] == created["ID"]
    duplicate = await client.post(
        f"/_sandbox/divisions/{NL.number}/glaccounts",
        json={"Code": "8100", "Description": "x", "Type": 110},
    )
    assert duplicate.status_code == 400


async def test_a_division_move_restarts_the_timestamps(api: Api, client: httpx.AsyncClient) -> None:
    mark = await highest(api, "sync/CRM/Accounts")
    moved = await control(client, "POST", f"divisions/{NL.number}/move")
    assert moved["DivisionMoveDate"].startswith("2026-03-02T09:00:10")
    (division,) = await api.results(
        f"{NL.number}/system/Divisions", {"$filter": f"Code eq {NL.number}"}
    )
    assert division["DivisionMoveDate"] == "/Date(1772442010000)/"
    # A client that kept its high-water mark sees nothing: it must notice the move and resync.
    assert await sync_rows(api, "sync/CRM/Accounts", mark) == []
    assert len(await sync_rows(api, "sync/CRM/Accounts", 1)) == NL.relations


async def test_bad_control_input_is_400(client: httpx.AsyncClient) -> None:
    unknown_field = await client.patch(
        f"/_sandbox/divisions/{NL.number}/accounts/8", json={"Colour": "red"}
    )
    assert unknown_field.status_code == 400
    missing = await client.delete(f"/_sandbox/divisions/{NL.number}/accounts/999999")
    assert missing.status_code == 404
    not_json = await client.post("/_sandbox/clock", content=b"soon")
    assert not_json.status_code == 400
