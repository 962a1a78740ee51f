"""The OData helper: literals, filters, query options and the three shapes of `d`."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest

from exact_tui.exact import odata
from exact_tui.exact.odata import ODataError, Query


def test_strings_double_their_quotes() -> None:
    assert odata.eq("Name", "O'Brien & Zn").text == "Name eq 'O''Brien & Zn'"
    assert odata.string("''").text == "''''''"


def test_guid_literal_refuses_anything_else() -> None:
    key = uuid.UUID("097a82a9-6ef7-4edc-8036-3f7559d9ef82")
    assert odata.eq("ID", key).text == "ID eq guid'097a82a9-6ef7-4edc-8036-3f7559d9ef82'"
    assert odata.guid(str(key).upper()).text == f"guid'{key}'"
    with pytest.raises(ODataError):
        odata.guid("x' or 1 eq 1 or 'a")


def test_datetimes_are_sent_zone_less_in_utc() -> None:
    cet = dt.timezone(dt.timedelta(hours=1))
    assert odata.datetime_(dt.date(2025, 3, 1)).text == "datetime'2025-03-01T00:00:00'"
    # Midnight in Amsterdam is still 28 February in UTC: the literal must say so.
    moment = dt.datetime(2025, 3, 1, 0, 0, 30, 123, tzinfo=cet)
    assert odata.datetime_(moment).text == "datetime'2025-02-28T23:00:30'"


def test_filters_combine_with_parentheses_and_check_field_names() -> None:
    flt = odata.eq("Status", "C") & (odata.eq("Blocked", False) | odata.compare("Type", "ge", 20))
    assert flt.text == "(Status eq 'C') and ((Blocked eq false) or (Type ge 20))"
    assert odata.int64(12345).text == "12345L"
    assert odata.literal(Decimal("12.50")).text == "12.50M"
    assert odata.any_of("Code", ["a", "b"]).text == "Code eq 'a' or Code eq 'b'"
    for bad in ("Name eq 'x' or 1", "Na me", ""):
        with pytest.raises(ODataError):
            odata.eq(bad, "x")
    with pytest.raises(ODataError):
        odata.compare("Name", "like", "x")


def test_query_params() -> None:
    query = Query(
        select=["ID", "Code"], filter=odata.eq("Code", "1"), top=5, orderby="Code", inlinecount=True
    )
    assert query.params() == {
        "$select": "ID,Code",
        "$filter": "Code eq '1'",
        "$top": "5",
        "$orderby": "Code",
        "$inlinecount": "allpages",
    }
    assert Query().params() == {}


def test_the_three_shapes_of_d() -> None:
    paged = odata.unwrap(
        odata.loads(
            json.dumps(
                {
                    "d": {
                        "results": [{"__metadata": {"uri": "x"}, "ID": "a"}],
                        "__next": "https://start.exactonline.nl/api/v1/1/crm/Accounts?$skiptoken=x",
                        "__count": "61",
                    }
                }
            )
        )
    )
    assert paged.rows == [{"ID": "a"}]
    assert paged.next_url and paged.next_url.endswith("$skiptoken=x")
    assert paged.count == 61
    assert odata.unwrap({"d": [{"ID": "b"}]}).rows == [{"ID": "b"}]
    single = odata.unwrap({"d": {"ID": "c", "__metadata": {}}})
    assert single.rows == [{"ID": "c"}] and single.next_url is None
    with pytest.raises(ODataError):
        odata.unwrap({"error": {}})
    with pytest.raises(ODataError):
        odata.unwrap({"d": "text"})


def test_dates_and_numbers_are_decoded_exactly() -> None:
    body = odata.loads(
        b'{"d": {"Created": "/Date(1392163200000)/", "Amount": 0.1, "Type": 20,'
        b' "Old": "/Date(-86400000+0100)/", "Text": "Date(1)"}}'
    )
    row = odata.unwrap(body).rows[0]
    assert row["Created"] == dt.datetime(2014, 2, 12, tzinfo=dt.UTC)
    assert odata.as_date(row["Created"]) == dt.date(2014, 2, 12)
    assert row["Old"] == dt.datetime(1969, 12, 31, tzinfo=dt.UTC)
    assert row["Amount"] == Decimal("0.1") and isinstance(row["Amount"], Decimal)
    assert row["Type"] == 20 and row["Text"] == "Date(1)"
    assert odata.as_decimal(121) == Decimal(121)
    with pytest.raises(ODataError):
        odata.as_decimal(True)
    with pytest.raises(ODataError):
        odata.loads(b"<html>maintenance</html>")


def test_request_bodies_send_amounts_as_strings() -> None:
    body = odata.dumps(
        {
            "AmountFC": Decimal("121.00"),
            "Date": dt.date(2025, 3, 10),
            "Account": uuid.UUID(int=1),
            "Lines": [{"VATAmountFC": Decimal("0.10")}],
        }
    )
    assert json.loads(body) == {
        "AmountFC": "121.00",
        "Date": "2025-03-10T00:00:00",
        "Account": "00000000-0000-0000-0000-000000000001",
        "Lines": [{"VATAmountFC": "0.10"}],
    }
    with pytest.raises(TypeError):
        odata.dumps({"x": 1.5j})
