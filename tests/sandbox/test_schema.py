"""The schema of Exact's documented resources, and the sandbox serving exactly it: every resource
walked with all its documented fields to the last page, invented fields refused, documented
ones answered (with sensible values where the seed sets none)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from exact_tui.sandbox import Sandbox
from exact_tui.sandbox.odata.types import FieldType
from exact_tui.sandbox.schema import ENTITY_SETS, EntitySet, Kind, Source, entity, load

from .helpers import NL, Api, bank_body, error_text, journal_body, sales_body

DATE = re.compile(r"^/Date\(-?\d+\)/$")
NO_ID = "00000000-0000-0000-0000-000000000000"


def _path(resource: EntitySet) -> str:
    return resource.path if not resource.in_division else f"{NL.number}/{resource.path}"


def _filter(resource: EntitySet) -> str | None:
    """A filter that every row passes and the resource's rules allow."""
    if resource.kind is Kind.SYNC:
        return "Timestamp gt 1"
    if resource.mandatory_filter is not None:
        assert "ID" in resource.mandatory_filter, resource.path
        return f"ID ne guid'{NO_ID}'"
    return None


def _value_fits(kind: FieldType, value: Any) -> bool:
    if kind is FieldType.BOOL:
        return isinstance(value, bool)
    if value is None:
        return True
    if kind is FieldType.GUID:
        return isinstance(value, str) and uuid.UUID(value) is not None
    if kind is FieldType.STRING:
        return isinstance(value, str)
    if kind.integral and kind is not FieldType.INT64:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is FieldType.INT64:
        return isinstance(value, str) and value.lstrip("-").isdigit()
    if kind is FieldType.DOUBLE:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is FieldType.DATETIME:
        return isinstance(value, str) and DATE.match(value) is not None
    return False  # Binary and complex values are never set in the sandbox


async def _post_one_of_each(api: Api, sandbox: Sandbox) -> None:
    for path, body in (
        ("salesentry/SalesEntries", sales_body(sandbox)),
        ("financialtransaction/BankEntries", bank_body(sandbox)),
        ("generaljournalentry/GeneralJournalEntries", journal_body(sandbox)),
    ):
        response = await api.post(f"{NL.number}/{path}", body)
        assert response.status_code == 201, response.text
    sandbox.delete_account(NL.number, "9")  # a sync/Deleted row


async def test_every_resource_answers_every_documented_field_to_the_last_page(
    api: Api, sandbox: Sandbox
) -> None:
    await _post_one_of_each(api, sandbox)
    for resource in ENTITY_SETS:
        params = {"$select": ",".join(resource.documented)}
        where = _filter(resource)
        if where is not None:
            params["$filter"] = where
        rows, calls = await api.all_pages(_path(resource), params)
        assert rows, f"{resource.path} answered no rows"
        assert calls == -(-len(rows) // resource.page_size) + (len(rows) % resource.page_size == 0)
        expected = {"__metadata", *resource.documented}
        for row in rows:
            assert set(row) == expected, resource.path
            assert row["__metadata"]["type"] == resource.type_name
            for name, kind in resource.fields.items():
                assert _value_fits(kind, row[name]), (resource.path, name, row[name])
            for name in resource.navigations:
                assert set(row[name]) == {"__deferred"}, (resource.path, name)


async def test_the_sandbox_keeps_no_field_exact_does_not_document(
    api: Api, sandbox: Sandbox
) -> None:
    """Every stored record holds documented fields only: nothing invented can leak out."""
    await _post_one_of_each(api, sandbox)
    documented: dict[Source, set[str]] = {}
    for resource in ENTITY_SETS:
        documented.setdefault(resource.source, set()).update(resource.documented)
    assert set(sandbox.world.me) <= documented[Source.ME]
    for division in sandbox.world.divisions.values():
        assert set(division.info) <= documented[Source.DIVISIONS]
        for source in Source:
            if source in (Source.ME, Source.DIVISIONS, Source.HRM_DIVISIONS):
                continue
            for record in division.table(source).values():
                assert set(record) <= documented[source], (source, set(record) - documented[source])


@pytest.mark.parametrize(
    ("path", "field", "type_name"),
    [
        ("hrm/Divisions", "Current", "Exact.Web.Api.Models.HRM.Division"),
        ("sync/Deleted", "FullName", "Exact.Web.Api.Models.Sync.Deleted"),
        ("hrm/Costunits", "Active", "Exact.Web.Api.Models.Costunit"),
    ],
)
async def test_fields_exact_does_not_document_are_refused(
    api: Api, path: str, field: str, type_name: str
) -> None:
    params = {"$select": f"Code,{field}" if "Deleted" not in path else f"ID,{field}"}
    if path.startswith("sync/"):
        params["$filter"] = "Timestamp gt 1"
    response = await api.get(f"{NL.number}/{path}", params)
    assert response.status_code == 400
    assert error_text(response) == (
        f"No property '{field}' exists in type '{type_name}' at position 0."
    )


async def test_obsolete_but_documented_fields_still_answer(api: Api) -> None:
    """Exact still documents Active on cost centers (as obsolete); a client may read it, this
    project does not (the contract tests). It follows the EndDate."""
    rows = await api.results(f"{NL.number}/hrm/Costcenters", {"$select": "Code,Active,EndDate"})
    active = {row["Code"]: row["Active"] for row in rows}
    assert active == {**dict.fromkeys(NL.cost_centers, True), "OUD": False}


async def test_the_documented_select_list_of_sync_accounts_is_served(api: Api) -> None:
    fields = list(entity("sync/CRM/Accounts").documented)
    assert len(fields) > 150 and "Accountant" in fields
    rows = await api.results(
        f"{NL.number}/sync/CRM/Accounts",
        {"$select": ",".join(fields), "$filter": "Timestamp gt 1"},
    )
    assert len(rows) == NL.relations


async def test_fields_the_seed_does_not_set_answer_sensibly(api: Api, sandbox: Sandbox) -> None:
    me = sandbox.world.me
    (row,) = await api.results(
        f"{NL.number}/crm/Accounts",
        {
            "$select": "Accountant,IsAccountant,IsPilot,Creator,CreatorFullName,ModifierFullName",
            "$filter": "trim(Code) eq '8'",
        },
    )
    assert row["Accountant"] is None
    assert row["IsAccountant"] == 0  # an Edm.Byte flag
    assert row["IsPilot"] is False
    assert row["Creator"] == str(me["UserID"])
    assert row["CreatorFullName"] == row["ModifierFullName"] == me["FullName"]


async def test_vat_percentages_of_a_code_and_of_the_division(api: Api, sandbox: Sandbox) -> None:
    low = sandbox.division(NL.number).vat_code(NL.vat["low"])
    assert low is not None
    lines = await api.results(f"{NL.number}/vat/VATCodes(guid'{low['ID']}')/VATPercentages")
    assert [(line["LineNumber"], line["Percentage"]) for line in lines] == [(1, 0.06), (2, 0.09)]
    assert {line["VATCodeID"] for line in lines} == {str(low["ID"])}
    assert lines[0]["EndDate"] is not None and lines[1]["EndDate"] is None
    every = await api.results(f"{NL.number}/vat/VatPercentages")
    assert len(every) == len(NL.vat_rates) + 1  # one line per code, two for the low rate
    (code,) = await api.results(
        f"{NL.number}/vat/VATCodes",
        {"$select": "Code,Percentage,VATPercentages", "$expand": "VATPercentages",
         "$filter": f"ID eq guid'{low['ID']}'"},
    )  # fmt: skip
    assert code["Percentage"] == 0.09
    assert len(code["VATPercentages"]["results"]) == 2


async def test_collections_the_sandbox_does_not_model_are_empty(api: Api, sandbox: Sandbox) -> None:
    account = sandbox.division(NL.number).account_by_code("8")
    assert account is not None
    response = await api.get(f"{NL.number}/crm/Accounts(guid'{account['ID']}')/BankAccounts")
    assert response.status_code == 200
    assert response.json() == {"d": {"results": []}}


def test_the_schema_names_its_sources_and_holds_together() -> None:
    resources = load()["resources"]
    for path, resource in resources.items():
        assert resource["reference"].startswith(
            "https://start.exactonline.nl/docs/HlpRestAPIResourcesDetails.aspx?name="
        ), path
        assert resource["fields_from"], path
        assert resource["key"] in resource["fields"], path
        assert resource["page_size"]["source"], path
        assert resource["metadata_type"]["source"], path
        for rule in ("mandatory_filter", "filterable"):
            if rule in resource:
                assert resource[rule]["source"], (path, rule)
                assert set(resource[rule]["fields"]) <= set(resource["fields"]), (path, rule)
        for name, spec in resource["fields"].items():
            assert spec["methods"], (path, name)
            if spec["type"] == "collection" and spec["target"] is not None:
                target = resources[spec["target"]]
                assert spec["foreign_key"] in target["fields"], (path, name)
            elif spec["type"] != "collection":
                assert FieldType.of(spec["type"]) is not FieldType.COMPLEX or spec[
                    "type"
                ].startswith("Exact.Web.Api.Models."), (path, name)


async def test_select_reaches_into_an_expanded_collection(api: Api, sandbox: Sandbox) -> None:
    """OData v2 `$select=SalesEntryLines/AmountFC` with `$expand=SalesEntryLines`."""
    assert (await api.post(f"{NL.number}/salesentry/SalesEntries", sales_body(sandbox))).is_success
    path = f"{NL.number}/salesentry/SalesEntries"
    (entry,) = await api.results(
        path,
        {"$select": "YourRef,SalesEntryLines/AmountFC,SalesEntryLines/GLAccountCode",
         "$expand": "SalesEntryLines"},
    )  # fmt: skip
    (line,) = entry["SalesEntryLines"]["results"]
    assert set(line) == {"__metadata", "AmountFC", "GLAccountCode"}
    assert entry["YourRef"] == "INV-1001"
    unexpanded = await api.get(path, {"$select": "SalesEntryLines/AmountFC"})
    assert unexpanded.status_code == 400
    assert "Only properties specified in $expand can be traversed" in error_text(unexpanded)
    unknown = await api.get(path, {"$select": "SalesEntryLines/Foo", "$expand": "SalesEntryLines"})
    assert unknown.status_code == 400
    assert error_text(unknown) == (
        "No property 'Foo' exists in type 'Exact.Web.Api.Models.SalesEntryLine' at position 0."
    )
