"""GET: response shapes, Exact's formatting, OData query options, paging and endpoint rules."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from exact_tui.sandbox import Sandbox, create_app

from .helpers import BASE_URL, BE, NL, NO_CONSENT, Api, error_text, make_sandbox

ACCOUNTS = f"{NL.number}/crm/Accounts"
DATE = re.compile(r"^/Date\(\d+\)/$")


# -- shapes and formatting --------------------------------------------------------------------


async def test_current_me_is_a_results_list(api: Api) -> None:
    response = await api.get("current/Me", {"$select": "CurrentDivision"})
    assert response.status_code == 200
    data = response.json()["d"]
    assert list(data) == ["results"]
    (me,) = data["results"]
    assert me["CurrentDivision"] == NL.number
    assert set(me) == {"__metadata", "CurrentDivision"}
    assert me["__metadata"]["uri"].startswith(f"{BASE_URL}/api/v1/current/Me(guid'")


async def test_system_divisions_lists_every_accessible_division(api: Api) -> None:
    rows = await api.results(f"{NL.number}/system/Divisions")
    assert [row["Code"] for row in rows] == [NL.number, BE.number, NO_CONSENT.number]
    nl = rows[0]
    assert nl["Current"] is True
    assert nl["Hid"] == "1"  # Edm.Int64 travels as a string
    assert DATE.match(nl["StartDate"])
    assert nl["DivisionMoveDate"] is None
    assert nl["__metadata"] == {
        "uri": f"{BASE_URL}/api/v1/{NL.number}/system/Divisions({NL.number})",
        "type": "Exact.Web.Api.Models.System.Division",
    }


@pytest.mark.parametrize("division", [NO_CONSENT.number, 999999])
async def test_division_lists_do_not_validate_the_url_division(api: Api, division: int) -> None:
    assert len(await api.results(f"{division}/system/Divisions")) == 3
    hrm = await api.results(f"{division}/hrm/Divisions", {"$select": "Code,Description,HID,Main"})
    assert hrm[0]["Main"] is True
    assert hrm[0]["HID"] == "1"


@pytest.mark.parametrize("division", [NO_CONSENT.number, 999999])
async def test_other_endpoints_refuse_divisions_without_consent(api: Api, division: int) -> None:
    response = await api.get(f"{division}/financial/Journals")
    assert response.status_code == 403
    assert response.headers["Reason"] == "NoDivisionAccess"
    assert response.json() == {
        "error": {"code": "", "message": {"lang": "", "value": "Forbidden - WrongDivision"}}
    }


async def test_single_entity_by_key_is_a_bare_object(api: Api, sandbox: Sandbox) -> None:
    account = sandbox.division(NL.number).account_by_code("8")
    assert account is not None
    response = await api.get(f"{ACCOUNTS}(guid'{account['ID']}')")
    assert response.status_code == 200
    entity = response.json()["d"]
    assert "results" not in entity
    assert entity["ID"] == str(account["ID"])
    assert entity["__metadata"] == {
        "uri": f"{BASE_URL}/api/v1/{NL.number}/crm/Accounts(guid'{account['ID']}')",
        "type": "Exact.Web.Api.Models.Account",
    }


async def test_account_code_is_padded_and_country_too(api: Api) -> None:
    rows = await api.results(ACCOUNTS, {"$filter": "Code eq '                 8'"})
    (row,) = rows
    assert row["Code"] == " " * 17 + "8"
    assert len(row["Country"]) == 3
    assert row["Country"].strip() in ("NL", "BE", "DE")
    assert DATE.match(row["Created"])
    assert isinstance(row["IsSales"], bool)


async def test_vat_codes_are_padded_and_percentages_are_fractions(api: Api) -> None:
    rows = await api.results(f"{NL.number}/vat/VATCodes")
    by_code = {row["Code"]: row for row in rows}
    high = by_code["2  "]
    assert high["Percentage"] == 0.21
    assert isinstance(high["Percentage"], float)
    assert by_code["1  "]["Percentage"] == 0.09
    assert set(NL.vat_rates) == {code.strip() for code in by_code}


async def test_journals_of_every_type_with_a_bank_iban(api: Api) -> None:
    rows = await api.results(f"{NL.number}/financial/Journals")
    assert {row["Code"]: row["Type"] for row in rows} == dict(NL.journals)
    bank = next(row for row in rows if row["Code"] == NL.bank_journals[0].code)
    assert bank["BankAccountIBAN"] == NL.bank_journals[0].iban
    assert bank["GLAccountCode"] == NL.bank_journals[0].gl_code


async def test_cost_centers_and_units(api: Api) -> None:
    centers = await api.results(f"{BE.number}/hrm/Costcenters")
    units = await api.results(f"{BE.number}/hrm/Costunits")
    assert {row["Code"] for row in centers} == set(BE.cost_centers)
    assert {row["Code"] for row in units} == set(BE.cost_units)


async def test_sync_timestamps_are_int64_strings(api: Api) -> None:
    rows = await api.results(
        f"{NL.number}/sync/Financial/GLAccounts",
        {"$select": "ID,Code,Type,Timestamp", "$filter": "Timestamp gt 1L"},
    )
    stamps = [row["Timestamp"] for row in rows]
    assert all(isinstance(stamp, str) for stamp in stamps)
    assert [int(s) for s in stamps] == sorted(int(s) for s in stamps)
    assert int(stamps[0]) > 2**32


# -- query options ----------------------------------------------------------------------------


async def test_select_limits_the_fields(api: Api) -> None:
    (row,) = await api.results(
        ACCOUNTS, {"$select": "ID,Name", "$filter": "Code eq '                 8'"}
    )
    assert set(row) == {"__metadata", "ID", "Name"}


async def test_select_of_an_unknown_field_is_400(api: Api) -> None:
    response = await api.get(ACCOUNTS, {"$select": "ID,Nmae", "$filter": "Status eq 'C'"})
    assert response.status_code == 400
    assert "No property 'Nmae'" in error_text(response)


async def test_filter_on_a_name_with_a_quote(api: Api, sandbox: Sandbox) -> None:
    division = sandbox.division(NL.number)
    account = sandbox.create_account(NL.number, Name="Café 't Hoekje", Status="C")
    escaped = "Café ''t Hoekje"
    rows = await api.results(ACCOUNTS, {"$filter": f"Name eq '{escaped}'", "$select": "ID"})
    assert [row["ID"] for row in rows] == [str(account["ID"])]
    assert division.accounts[account["ID"]]["Name"] == "Café 't Hoekje"  # type: ignore[index]


async def test_filter_forms_over_http(api: Api, sandbox: Sandbox) -> None:
    account = sandbox.division(NL.number).account_by_code("8")
    assert account is not None
    guid = account["ID"]
    forms = {
        f"ID eq guid'{guid}'": 1,
        "trim(Code) eq '8'": 1,
        "Code eq '8'": 0,
        "Code eq '8' or trim(Code) eq '9'": 1,
        "Country eq 'NL' and Status eq 'C' and Blocked eq false": None,
        "Created gt datetime'2000-01-01' and Created lt datetime'2030-01-01T00:00:00'": None,
    }
    for text, expected in forms.items():
        response = await api.get(ACCOUNTS, {"$filter": text, "$select": "ID", "$top": "100"})
        assert response.status_code == 200, (text, response.text)
        count = len(response.json()["d"]["results"])
        if expected is None:
            assert count > 0, text
        else:
            assert count == expected, text


async def test_top_skip_orderby_and_inlinecount(api: Api) -> None:
    params = {
        "$filter": "Status eq 'C'",
        "$select": "Code,Name",
        "$orderby": "Name desc",
        "$inlinecount": "allpages",
    }
    first = (await api.get(ACCOUNTS, {**params, "$top": "5"})).json()["d"]
    assert first["__count"] == str(NL.customers)
    names = [row["Name"] for row in first["results"]]
    assert names == sorted(names, key=str.casefold, reverse=True)
    assert len(names) == 5
    skipped = (await api.get(ACCOUNTS, {**params, "$top": "3", "$skip": "2"})).json()["d"]
    assert [row["Name"] for row in skipped["results"]] == names[2:5]


async def test_expand_embeds_lines_and_deferred_links_otherwise(api: Api, sandbox: Sandbox) -> None:
    from .helpers import sales_body

    created = (await api.post(f"{NL.number}/salesentry/SalesEntries", sales_body(sandbox))).json()
    key = created["d"]["EntryID"]
    plain = await api.results(
        f"{NL.number}/salesentry/SalesEntries", {"$filter": f"EntryID eq guid'{key}'"}
    )
    deferred = plain[0]["SalesEntryLines"]["__deferred"]["uri"]
    assert deferred.endswith(f"SalesEntries(guid'{key}')/SalesEntryLines")
    lines = await api.results(deferred)
    assert [line["LineNumber"] for line in lines] == [1]
    expanded = await api.results(
        f"{NL.number}/salesentry/SalesEntries",
        {"$filter": f"EntryID eq guid'{key}'", "$expand": "SalesEntryLines"},
    )
    assert expanded[0]["SalesEntryLines"]["results"][0]["AmountFC"] == 100.0


async def test_count_segment_answers_a_bare_number(api: Api) -> None:
    response = await api.get(f"{NL.number}/financial/Journals/$count")
    assert response.status_code == 200
    assert response.text == str(len(NL.journals))


async def test_unknown_endpoint_key_and_option(api: Api) -> None:
    assert (await api.get(f"{NL.number}/crm/Acounts")).status_code == 404
    missing = await api.get(f"{ACCOUNTS}(guid'00000000-0000-4000-8000-000000000000')")
    assert missing.status_code == 404
    assert error_text(missing) == "Resource not found for the segment 'Accounts'."
    odd = await api.get(f"{NL.number}/financial/Journals", {"$search": "x"})
    assert odd.status_code == 400


async def test_paths_are_case_insensitive(api: Api) -> None:
    assert len(await api.results(f"{NL.number}/FINANCIAL/journals")) == len(NL.journals)


async def test_methods_exact_does_not_document_are_405(api: Api) -> None:
    response = await api.post(f"{NL.number}/sync/CRM/Accounts", {"Name": "x"})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    response = await api.client.put(
        f"/api/v1/{NL.number}/financialtransaction/BankEntries(guid'{uuid.UUID(int=1)}')",
        json={},
        headers=api.headers(),
    )
    assert response.status_code == 405  # bank entries take GET, POST and DELETE


async def test_documented_methods_the_sandbox_does_not_imitate_are_501(api: Api) -> None:
    """A POST of a journal exists at Exact; the sandbox says it does not imitate it rather than
    pretend Exact refuses it."""
    response = await api.post(f"{NL.number}/financial/Journals", {"Code": "99"})
    assert response.status_code == 501
    assert "does not imitate POST on financial/Journals" in error_text(response)


# -- endpoint rules -----------------------------------------------------------------------------


MANDATORY = (
    "This endpoint has mandatory filtering applied. A GET request for this endpoint must have a "
    "$filter parameter with one of the following fields in the url: "
)


@pytest.mark.parametrize(
    "path",
    ["crm/Accounts", "financial/GLAccounts", "bulk/CRM/Accounts", "bulk/Financial/GLAccounts"],
)
async def test_mandatory_filtering(api: Api, path: str) -> None:
    response = await api.get(f"{NL.number}/{path}", {"$select": "ID"})
    assert response.status_code == 400
    assert error_text(response).startswith(MANDATORY)
    assert "Code" in error_text(response)


async def test_mandatory_filtering_names_exacts_account_fields(api: Api) -> None:
    message = error_text(await api.get(ACCOUNTS))
    fields = message.removeprefix(MANDATORY).rstrip(".").split(", ")
    assert {"Code", "Name", "VATNumber", "ChamberOfCommerce", "SearchCode", "Status"} <= set(fields)


async def test_a_filter_without_a_listed_field_does_not_count(api: Api) -> None:
    response = await api.get(ACCOUNTS, {"$filter": "Language eq 'NL'"})
    assert response.status_code == 400
    assert error_text(response).startswith(MANDATORY)


async def test_an_empty_filter_is_refused(api: Api) -> None:
    response = await api.get(ACCOUNTS, {"$filter": ""})
    assert response.status_code == 400
    assert error_text(response) == "This $filter parameter is not supported for this resource."


@pytest.mark.parametrize(
    ("path", "filter_text"),
    [
        ("bulk/CRM/Accounts", "Status eq 'C'"),
        ("bulk/Financial/GLAccounts", "Type eq 110"),
        ("sync/CRM/Accounts", "Timestamp gt 1"),
        ("sync/Financial/GLAccounts", "Timestamp gt 1"),
        ("sync/Deleted", "Timestamp gt 1"),
    ],
)
async def test_select_is_mandatory_on_bulk_and_sync(api: Api, path: str, filter_text: str) -> None:
    response = await api.get(f"{NL.number}/{path}", {"$filter": filter_text})
    assert response.status_code == 400
    assert error_text(response) == "Please add a $select statement to the query string."


async def test_bulk_restricts_filter_fields(api: Api) -> None:
    response = await api.get(
        f"{NL.number}/bulk/Financial/GLAccounts",
        {"$select": "ID", "$filter": "Description eq 'Kas' and Code eq '1000'"},
    )
    assert response.status_code == 400
    assert error_text(response) == "Filtering on these fields is not supported: Description."


async def test_sync_filters_only_on_timestamp(api: Api) -> None:
    response = await api.get(
        f"{NL.number}/sync/CRM/Accounts", {"$select": "ID", "$filter": "Name eq 'x'"}
    )
    assert response.status_code == 400
    assert error_text(response) == "Filtering on these fields is not supported: Name."


async def test_general_journal_entries_need_select_or_top_1(api: Api) -> None:
    path = f"{NL.number}/generaljournalentry/GeneralJournalEntries"
    refused = await api.get(path)
    assert refused.status_code == 400
    assert "Please add a $select or a $top=1 statement" in error_text(refused)
    assert (await api.get(path, {"$top": "1"})).status_code == 200
    assert (await api.get(path, {"$select": "EntryID"})).status_code == 200


# -- paging -------------------------------------------------------------------------------------


async def test_pages_of_60_follow_next_until_done(api: Api) -> None:
    first = (await api.get(ACCOUNTS, {"$filter": "Status eq 'C'", "$select": "ID"})).json()["d"]
    assert len(first["results"]) == 60
    assert first["__next"].startswith(f"{BASE_URL}/api/v1/{NL.number}/crm/Accounts?")
    assert "$skiptoken=guid'" in first["__next"]
    rows, calls = await api.all_pages(ACCOUNTS, {"$filter": "Status eq 'C'", "$select": "ID"})
    assert len(rows) == NL.customers
    assert len({row["ID"] for row in rows}) == NL.customers
    assert calls == -(-NL.customers // 60)


async def test_next_keeps_the_order_and_the_top(api: Api) -> None:
    params = {"$filter": "Status eq 'C'", "$select": "Name", "$orderby": "Name", "$top": "130"}
    rows, calls = await api.all_pages(ACCOUNTS, params)
    assert calls == 3
    assert len(rows) == 130
    names = [row["Name"] for row in rows]
    assert names == sorted(names, key=str.casefold)


async def test_a_top_spent_on_a_full_page_ends_without_next(api: Api) -> None:
    response = await api.get(ACCOUNTS, {"$filter": "Status eq 'C'", "$select": "ID", "$top": "60"})
    assert "__next" not in response.json()["d"]


async def test_an_exact_multiple_of_the_page_ends_with_an_empty_page(api: Api) -> None:
    """A full last page still links on; the next call answers no rows and no `__next`."""
    params = {"$filter": "Status eq 'C'", "$select": "ID"}  # in key order
    every, _ = await api.all_pages(ACCOUNTS, params)
    sixtieth = every[59]["ID"]
    exactly = {"$filter": f"Status eq 'C' and ID le guid'{sixtieth}'", "$select": "ID"}
    first = (await api.get(ACCOUNTS, exactly)).json()["d"]
    assert len(first["results"]) == 60
    last = (await api.get(first["__next"])).json()["d"]
    assert last == {"results": []}
    rows, calls = await api.all_pages(ACCOUNTS, exactly)
    assert (len(rows), calls) == (60, 2)


@pytest.fixture(scope="module")
def large() -> Sandbox:
    return make_sandbox(size="large")


@pytest.fixture
async def large_api(large: Sandbox) -> AsyncIterator[Api]:
    large.set_limits(minutely=10_000)
    tokens = large.issue_tokens()
    transport = httpx.ASGITransport(app=create_app(large))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield Api(http, tokens.access_token)


async def test_bulk_pages_of_1000(large_api: Api) -> None:
    rows, calls = await large_api.all_pages(
        f"{NL.number}/bulk/CRM/Accounts",
        {"$select": "ID,Code", "$filter": "Status eq 'C' or Status ne 'C'"},
    )
    assert len(rows) == 20_000
    assert calls == 21  # 20 full pages, then the empty one after an exact multiple
    assert len({row["ID"] for row in rows}) == 20_000


async def test_sync_pages_of_1000_by_timestamp(large_api: Api) -> None:
    rows, calls = await large_api.all_pages(
        f"{NL.number}/sync/Financial/GLAccounts",
        {"$select": "ID,Code,Timestamp", "$filter": "Timestamp gt 1"},
    )
    assert len(rows) == 2_000
    assert calls == 3
    stamps = [int(row["Timestamp"]) for row in rows]
    assert stamps == sorted(stamps)
    first = await large_api.get(
        f"{NL.number}/sync/Financial/GLAccounts",
        {"$select": "ID", "$filter": "Timestamp gt 1"},
    )
    assert re.search(r"\$skiptoken=\d+L$", first.json()["d"]["__next"])
