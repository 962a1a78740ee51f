"""POST: Exact's validation and its answers for sales, bank and general journal entries and
accounts, and the lookups a client needs to find its own posting again."""

from __future__ import annotations

import random
from typing import Any

import pytest

from exact_tui.sandbox import Sandbox, assumptions
from exact_tui.sandbox.seed import be_vat_number, nl_vat_number

from .helpers import (
    BE,
    NL,
    Api,
    account_id,
    bank_body,
    error_text,
    gl_id,
    journal_body,
    sales_body,
)

SALES = f"{NL.number}/salesentry/SalesEntries"
BANK = f"{NL.number}/financialtransaction/BankEntries"
JOURNAL = f"{NL.number}/generaljournalentry/GeneralJournalEntries"
ACCOUNTS = f"{NL.number}/crm/Accounts"
REFUSED = "Ongeldig: Kostenplaats"


def line(
    sandbox: Sandbox, gl_code: str, *, division: int = NL.number, **extra: Any
) -> dict[str, Any]:
    return {"GLAccount": gl_id(sandbox, division, gl_code), "AmountFC": "100.00", **extra}


# -- sales entries ------------------------------------------------------------------------------


async def test_sales_entry_answers_201_with_entry_id_number_and_lines(
    api: Api, sandbox: Sandbox
) -> None:
    response = await api.post(SALES, sales_body(sandbox))
    assert response.status_code == 201
    entry = response.json()["d"]
    assert entry["EntryID"]
    assert entry["EntryNumber"] == 26_000_001
    assert entry["AmountFC"] == 121.0
    assert entry["VATAmountFC"] == 21.0
    assert entry["Type"] == 20
    assert entry["Journal"] == NL.sales_journal
    assert entry["YourRef"] == "INV-1001"
    assert response.headers["Location"] == entry["__metadata"]["uri"]
    (posted_line,) = entry["SalesEntryLines"]["results"]
    assert posted_line["EntryID"] == entry["EntryID"]
    assert posted_line["VATCode"] == "2  "
    assert posted_line["GLAccountCode"] == NL.gl["revenue"]


async def test_entry_numbers_count_up_per_journal(api: Api, sandbox: Sandbox) -> None:
    numbers = []
    for n in range(3):
        response = await api.post(SALES, sales_body(sandbox, your_ref=f"INV-{n}"))
        numbers.append(response.json()["d"]["EntryNumber"])
    assert numbers == [26_000_001, 26_000_002, 26_000_003]
    bank = await api.post(BANK, bank_body(sandbox))
    assert bank.json()["d"]["EntryNumber"] == 26_000_001


async def test_a_free_suggested_entry_number_is_used_a_taken_one_replaced(
    api: Api, sandbox: Sandbox
) -> None:
    first = await api.post(SALES, sales_body(sandbox, EntryNumber=26_000_500))
    assert first.json()["d"]["EntryNumber"] == 26_000_500
    taken = await api.post(SALES, sales_body(sandbox, your_ref="INV-2", EntryNumber=26_000_500))
    assert taken.status_code == 201
    assert taken.json()["d"]["EntryNumber"] == 26_000_001


async def test_without_prefer_the_answer_echoes_only_what_was_sent(
    api: Api, sandbox: Sandbox
) -> None:
    response = await api.post(SALES, sales_body(sandbox), prefer=False)
    assert response.status_code == 201
    entry = response.json()["d"]
    assert entry["EntryID"]
    assert entry["YourRef"] == "INV-1001"
    assert entry["EntryNumber"] is None
    assert entry["AmountFC"] is None
    assert "__deferred" in entry["SalesEntryLines"]
    assert sandbox.ledger(NL.number)["divisions"][str(NL.number)]["counts"]["sales_entries"] == 1  # type: ignore[index]


async def test_vat_override_including_codes_and_credit_notes(api: Api, sandbox: Sandbox) -> None:
    lines = [
        line(sandbox, NL.gl["revenue"], VATCode="2", VATAmountFC="21.01"),
        line(sandbox, NL.gl["revenue"], VATCode=NL.vat["high_including"], AmountFC="121.00"),
    ]
    entry = (await api.post(SALES, sales_body(sandbox, lines=lines))).json()["d"]
    vat = [row["VATAmountFC"] for row in entry["SalesEntryLines"]["results"]]
    assert vat == [21.01, 21.0]
    assert entry["VATAmountFC"] == 42.01
    assert entry["AmountFC"] == 242.01
    credit = [line(sandbox, NL.gl["revenue"], VATCode="2", AmountFC="-50.00")]
    note = (await api.post(SALES, sales_body(sandbox, your_ref="CN-1", lines=credit))).json()
    assert note["d"]["Type"] == 21
    assert note["d"]["AmountFC"] == -60.5


async def test_a_line_without_vat_code_takes_the_gl_accounts_default(
    api: Api, sandbox: Sandbox
) -> None:
    lines = [line(sandbox, NL.gl["revenue_low_vat"])]
    entry = (await api.post(SALES, sales_body(sandbox, lines=lines))).json()["d"]
    assert entry["SalesEntryLines"]["results"][0]["VATCode"].strip() == NL.vat["low"]
    assert entry["VATAmountFC"] == 9.0


async def test_missing_mandatory_fields_are_400_with_every_message(
    api: Api, sandbox: Sandbox
) -> None:
    body = sales_body(sandbox)
    del body["Journal"], body["Customer"]
    response = await api.post(SALES, body)
    assert response.status_code == 400
    assert error_text(response) == "Verplicht: Dagboek\r\nVerplicht: Klant"


async def test_an_entry_needs_at_least_one_line(api: Api, sandbox: Sandbox) -> None:
    response = await api.post(SALES, sales_body(sandbox, lines=[]))
    assert response.status_code == 400
    assert error_text(response) == "Verplicht: Regels"


async def test_line_fields_amount_and_gl_are_mandatory(api: Api, sandbox: Sandbox) -> None:
    response = await api.post(SALES, sales_body(sandbox, lines=[{"Description": "x"}]))
    assert response.status_code == 400
    assert error_text(response) == "Verplicht: Bedrag\r\nVerplicht: Grootboekrekening"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"Journal": NL.general_journal}, "Ongeldig: Dagboek"),
        ({"Journal": "999"}, "Ongeldige referentie: Dagboek"),
        ({"Currency": "USD"}, "Ongeldig: Valuta"),
    ],
)
async def test_journal_rules_are_500_business_errors(
    api: Api, sandbox: Sandbox, change: dict[str, str], message: str
) -> None:
    response = await api.post(SALES, {**sales_body(sandbox), **change})
    assert response.status_code == 500
    assert error_text(response) == message


async def test_customer_must_exist_and_have_status_c(api: Api, sandbox: Sandbox) -> None:
    suspect = sandbox.create_account(NL.number, Name="Suspect BV", Status="S")
    response = await api.post(SALES, {**sales_body(sandbox), "Customer": str(suspect["ID"])})
    assert response.status_code == 500
    assert error_text(response) == "Ongeldig: Klant (Type)"
    unknown = {**sales_body(sandbox), "Customer": "00000000-0000-4000-8000-000000000000"}
    response = await api.post(SALES, unknown)
    assert error_text(response) == "Ongeldige referentie: Klant"


@pytest.mark.parametrize(
    ("role", "extra", "message"),
    [
        ("receivables", {}, "Ongeldig: Grootboekrekeningtype"),
        ("vat_to_pay_high", {}, "Ongeldig: Grootboekrekeningtype"),
        ("revenue_blocked", {}, "Ongeldig: Grootboekrekening (Geblokkeerd)"),
        ("revenue_cost_center_required", {}, "Verplicht: Kostenplaats"),
        ("revenue_cost_unit_required", {}, "Verplicht: Kostendrager"),
        ("revenue_cost_center_refused", {"CostCenter": "AMS-C"}, f"{REFUSED} (Niet toegestaan)"),
        ("revenue", {"CostCenter": "NOPE"}, "Ongeldige referentie: Kostenplaats"),
        ("revenue", {"CostCenter": "OUD"}, "Ongeldig: Kostenplaats (Niet actief)"),
        ("revenue", {"VATCode": "99"}, "Ongeldige referentie: Btw-code"),
        ("revenue", {"VATCode": NL.vat["purchase_high"]}, "Ongeldig: Btw-code (Inkoop)"),
    ],
)  # fmt: skip
async def test_line_rules_are_500_business_errors(
    api: Api, sandbox: Sandbox, role: str, extra: dict[str, str], message: str
) -> None:
    lines = [{**line(sandbox, NL.gl[role]), **extra}]
    response = await api.post(SALES, sales_body(sandbox, lines=lines))
    assert response.status_code == 500
    assert error_text(response) == message
    assert sandbox.division(NL.number).sales_entries == {}


async def test_cost_center_and_unit_where_required_are_accepted(api: Api, sandbox: Sandbox) -> None:
    lines = [
        line(sandbox, NL.gl["revenue_cost_center_required"], CostCenter=NL.cost_centers[0]),
        line(sandbox, NL.gl["revenue_cost_unit_required"], CostUnit=NL.cost_units[0]),
    ]
    response = await api.post(SALES, sales_body(sandbox, lines=lines))
    assert response.status_code == 201
    posted = response.json()["d"]["SalesEntryLines"]["results"]
    assert [(p["CostCenter"], p["CostUnit"]) for p in posted] == [
        (NL.cost_centers[0], None),
        (None, NL.cost_units[0]),
    ]


async def test_every_problem_is_listed_at_once(api: Api, sandbox: Sandbox) -> None:
    lines = [line(sandbox, NL.gl["receivables"]), line(sandbox, NL.gl["revenue"], VATCode="99")]
    response = await api.post(SALES, {**sales_body(sandbox, lines=lines), "Journal": "90"})
    assert response.status_code == 500
    assert error_text(response).split("\r\n") == [
        "Ongeldig: Dagboek",
        "Ongeldig: Grootboekrekeningtype",
        "Ongeldige referentie: Btw-code",
    ]


async def test_divisions_outside_dutch_legislation_answer_in_english(
    api: Api, sandbox: Sandbox
) -> None:
    lines = [line(sandbox, BE.gl["receivables"], division=BE.number)]
    body = sales_body(sandbox, division=BE.number, lines=lines)
    response = await api.post(f"{BE.number}/salesentry/SalesEntries", body)
    assert response.status_code == 500
    assert error_text(response) == "Invalid: G/L account type"
    del body["Journal"]
    response = await api.post(f"{BE.number}/salesentry/SalesEntries", body)
    assert error_text(response) == "Mandatory: Journal"


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[1, 2]", b'{"Journal": "70", "SalesEntryLines": {"GLAccount": "x"}}'],
)
async def test_malformed_bodies_are_400(api: Api, raw: bytes) -> None:
    response = await api.post(SALES, None, raw=raw)
    assert response.status_code == 400
    assert error_text(response) == (
        "Error processing request stream. The request should be a valid top-level resource object."
    )


async def test_unknown_properties_and_unconvertible_values_are_400(
    api: Api, sandbox: Sandbox
) -> None:
    unknown = await api.post(SALES, {**sales_body(sandbox), "Customr": "x"})
    assert unknown.status_code == 400
    assert error_text(unknown) == (
        "Error processing request stream. The property name 'Customr' specified for type "
        "'Exact.Web.Api.Models.SalesEntry' is not valid."
    )
    bad_guid = await api.post(SALES, {**sales_body(sandbox), "Customer": "C-1001"})
    assert bad_guid.status_code == 400
    assert "for property 'Customer' to type 'System.Guid'" in error_text(bad_guid)


async def test_read_only_fields_sent_by_older_clients_are_ignored(
    api: Api, sandbox: Sandbox
) -> None:
    body = {**sales_body(sandbox), "AmountFC": "999.99", "AmountDC": "999.99", "VATAmountDC": "1"}
    entry = (await api.post(SALES, body)).json()["d"]
    assert entry["AmountFC"] == 121.0


async def test_a_date_with_an_offset_is_booked_on_the_utc_date(api: Api, sandbox: Sandbox) -> None:
    body = sales_body(sandbox, EntryDate="2026-03-01T00:00:00+01:00")
    entry = (await api.post(SALES, body)).json()["d"]
    # 2026-02-28T00:00:00Z in epoch ms: the hazard of sending local times with an offset.
    assert entry["EntryDate"] == "/Date(1772236800000)/"
    assert entry["ReportingPeriod"] == 2


# -- bank entries -------------------------------------------------------------------------------


async def test_bank_entry_with_balances_chained_per_journal(api: Api, sandbox: Sandbox) -> None:
    first = (await api.post(BANK, bank_body(sandbox))).json()["d"]
    assert first["OpeningBalanceFC"] == 0.0
    assert first["ClosingBalanceFC"] == 121.0
    (posted,) = first["BankEntryLines"]["results"]
    assert posted["OurRef"] == 26000001
    assert posted["AccountCode"].strip() == "5"
    second = (await api.post(BANK, bank_body(sandbox, our_ref=26000002))).json()["d"]
    assert second["OpeningBalanceFC"] == 121.0
    assert second["ClosingBalanceFC"] == 242.0


async def test_bank_entry_closing_balance_must_add_up(api: Api, sandbox: Sandbox) -> None:
    response = await api.post(BANK, bank_body(sandbox, ClosingBalanceFC="100.00"))
    assert response.status_code == 500
    assert error_text(response) == "Ongeldig: Eindsaldo"


async def test_bank_entries_need_a_bank_journal(api: Api, sandbox: Sandbox) -> None:
    response = await api.post(BANK, bank_body(sandbox, JournalCode=NL.cash_journal))
    assert response.status_code == 500
    assert error_text(response) == "Ongeldig: Dagboek (het dagboek moet een bankboek zijn)"
    be_body = bank_body(sandbox, division=BE.number, JournalCode=BE.sales_journal)
    response = await api.post(f"{BE.number}/financialtransaction/BankEntries", be_body)
    assert error_text(response) == "Invalid journal. The journal must be a bank journal."


async def test_a_receivables_line_needs_the_customer(api: Api, sandbox: Sandbox) -> None:
    body = bank_body(sandbox)
    del body["BankEntryLines"][0]["Account"]
    response = await api.post(BANK, body)
    assert response.status_code == 500
    assert error_text(response) == "Verplicht: Relatie"


# -- general journal entries --------------------------------------------------------------------


async def test_general_journal_entry(api: Api, sandbox: Sandbox) -> None:
    response = await api.post(JOURNAL, journal_body(sandbox))
    assert response.status_code == 201
    entry = response.json()["d"]
    assert entry["Type"] == 90
    amounts = [row["AmountFC"] for row in entry["GeneralJournalEntryLines"]["results"]]
    assert amounts == [-25.0, 25.0]


async def test_general_journal_entries_must_balance(api: Api, sandbox: Sandbox) -> None:
    body = journal_body(sandbox)
    body["GeneralJournalEntryLines"][1]["AmountFC"] = "24.99"
    response = await api.post(JOURNAL, body)
    assert response.status_code == 500
    assert error_text(response) == "Ongeldig: Boeking is niet in balans (verschil -0.01)"


async def test_general_journal_entries_need_a_general_journal(api: Api, sandbox: Sandbox) -> None:
    response = await api.post(JOURNAL, journal_body(sandbox, JournalCode=NL.sales_journal))
    assert response.status_code == 500
    assert error_text(response) == "Ongeldig: Dagboek"


async def test_vat_only_in_a_journal_that_allows_it(api: Api, sandbox: Sandbox) -> None:
    body = journal_body(sandbox)
    body["GeneralJournalEntryLines"][1]["VATCode"] = NL.vat["high"]
    refused = await api.post(JOURNAL, body)
    assert error_text(refused) == "Ongeldig: Btw-code (Niet toegestaan)"
    allowed = await api.post(JOURNAL, {**body, "JournalCode": NL.general_journal_vat})
    assert allowed.status_code == 201


# -- accounts -----------------------------------------------------------------------------------


async def test_account_needs_a_name(api: Api) -> None:
    response = await api.post(ACCOUNTS, {"Status": "C"})
    assert response.status_code == 400
    assert error_text(response) == "Verplicht: Naam"


async def test_account_code_is_assigned_and_padded(api: Api) -> None:
    response = await api.post(ACCOUNTS, {"Name": "Nieuw BV", "Status": "C", "Country": "nl"})
    assert response.status_code == 201
    account = response.json()["d"]
    assert account["Code"] == f"{NL.relations + 1:>18}"
    assert account["Country"] == "NL "
    assert account["IsSales"] is True


async def test_account_code_given_is_padded_and_must_be_free(api: Api) -> None:
    given = await api.post(ACCOUNTS, {"Name": "Eigen code BV", "Code": "90001"})
    assert given.json()["d"]["Code"] == f"{'90001':>18}"
    assert given.json()["d"]["Status"] == "A"
    taken = await api.post(ACCOUNTS, {"Name": "Dubbel BV", "Code": "8"})
    assert taken.status_code == 500
    assert error_text(taken) == "Ongeldig: Code (Bestaat al)"


@pytest.mark.parametrize("vat", ["NL123456789B01", "BE0123456789", "nl 1234.5678.9b01"])
async def test_invalid_vat_numbers_are_400(api: Api, vat: str) -> None:
    response = await api.post(ACCOUNTS, {"Name": "Btw BV", "VATNumber": vat, "Country": "NL"})
    assert response.status_code == 400
    assert error_text(response) == "Ongeldig: Btw-nummer"


async def test_vat_numbers_outside_the_eu_are_not_checked(api: Api) -> None:
    body = {"Name": "Uhrwerk AG", "VATNumber": "CHE-123.456.789 MWST", "Country": "CH"}
    assert (await api.post(ACCOUNTS, body)).status_code == 201


async def test_a_vat_number_without_prefix_is_read_in_the_accounts_country(api: Api) -> None:
    dutch = nl_vat_number(random.Random(1))
    belgian = be_vat_number(random.Random(1))
    # No Country: the division's (NL) country.
    assert (await api.post(ACCOUNTS, {"Name": "A", "VATNumber": dutch[2:]})).status_code == 201
    assert (await api.post(ACCOUNTS, {"Name": "B", "VATNumber": belgian[2:]})).status_code == 400
    with_country = {"Name": "C", "VATNumber": belgian[2:], "Country": "BE"}
    assert (await api.post(ACCOUNTS, with_country)).status_code == 201


# -- finding a posting again ----------------------------------------------------------------------


async def test_each_documented_lookup_finds_exactly_the_posting(api: Api, sandbox: Sandbox) -> None:
    await api.post(SALES, sales_body(sandbox, your_ref="INV-X'1"))
    await api.post(SALES, sales_body(sandbox, your_ref="INV-OTHER"))
    await api.post(BANK, bank_body(sandbox, our_ref=26000001))
    await api.post(BANK, bank_body(sandbox, our_ref=26000002))
    await api.post(JOURNAL, journal_body(sandbox))
    filters = {
        "salesentry/SalesEntries": f"YourRef eq 'INV-X''1' and Journal eq '{NL.sales_journal}'",
        "financialtransaction/BankEntryLines": (
            "OurRef eq 26000002 and Description eq 'PAY-26000002'"
        ),
        "generaljournalentry/GeneralJournalEntryLines": (
            "Description eq 'WO-77 write-off' and OurRef eq 26000001"
        ),
    }
    assert set(filters) == set(assumptions.ENTRY_LOOKUP_FIELDS)
    for path, text in filters.items():
        for field in assumptions.ENTRY_LOOKUP_FIELDS[path]:
            assert field in text
        rows = await api.results(f"{NL.number}/{path}", {"$filter": text})
        assert len(rows) == 1, path


async def test_account_created_through_the_api_is_in_the_ledger(api: Api, sandbox: Sandbox) -> None:
    response = await api.post(ACCOUNTS, {"Name": "Ledger BV", "Status": "C"})
    key = response.json()["d"]["ID"]
    accounts = sandbox.ledger(NL.number)["divisions"][str(NL.number)]["accounts"]  # type: ignore[index]
    assert [a["ID"] for a in accounts] == [key]
    assert account_id(sandbox, NL.number, str(NL.relations + 1)) == key
