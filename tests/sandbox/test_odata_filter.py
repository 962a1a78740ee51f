"""The $filter parser and compiler, on plain records (no HTTP)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from exact_tui.sandbox.errors import ApiError
from exact_tui.sandbox.odata.filter import (
    compile_filter,
    fields_used,
    parse_filter,
    parse_literals,
    tokenize,
)
from exact_tui.sandbox.odata.types import FieldType, Record

FIELDS = {
    "ID": FieldType.GUID,
    "Code": FieldType.STRING,
    "Name": FieldType.STRING,
    "Country": FieldType.STRING,
    "Type": FieldType.INT,
    "Timestamp": FieldType.INT64,
    "Amount": FieldType.DOUBLE,
    "Blocked": FieldType.BOOL,
    "Created": FieldType.DATETIME,
}
KEY = uuid.UUID("097a82a9-6ef7-4edc-8036-3f7559d9ef82")
ROWS: list[Record] = [
    {
        "ID": KEY,
        "Code": "                 8",
        "Name": "Café 't Hoekje",
        "Country": "NL ",
        "Type": 20,
        "Timestamp": 9_000_000_123,
        "Amount": Decimal("121.00"),
        "Blocked": False,
        "Created": datetime(2015, 1, 2, 10, 30, tzinfo=UTC),
    },
    {
        "ID": uuid.UUID("00000000-0000-4000-8000-000000000001"),
        "Code": "                12",
        "Name": "Bakkerij Jansen B.V.",
        "Country": "BE ",
        "Type": 110,
        "Timestamp": 42,
        "Amount": Decimal("-5.50"),
        "Blocked": True,
        "Created": datetime(2014, 12, 31, tzinfo=UTC),
    },
    {
        "ID": uuid.UUID("00000000-0000-4000-8000-000000000002"),
        "Code": "                13",
        "Name": None,
        "Country": None,
        "Type": 12,
        "Timestamp": 43,
        "Amount": None,
        "Blocked": False,
        "Created": None,
    },
]


def matching(text: str) -> list[int]:
    """Indexes of the rows the filter keeps."""
    predicate = compile_filter(parse_filter(text), FIELDS, "Test.Account", text)
    return [i for i, row in enumerate(ROWS) if predicate(row)]


def refused(text: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        matching(text)
    return caught.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Type eq 20", [0]),
        ("Type ne 20", [1, 2]),
        ("Type gt 12", [0, 1]),
        ("Type ge 20", [0, 1]),
        ("Type lt 20", [2]),
        ("Type le 20", [0, 2]),
        ("Type eq 20 or Type eq 110", [0, 1]),
        ("Type gt 10 and Type lt 100", [0, 2]),
        # and binds tighter than or; parentheses override it
        ("Type eq 12 or Type eq 20 and Blocked eq true", [2]),
        ("(Type eq 12 or Type eq 20) and Blocked eq false", [0, 2]),
        ("not (Type eq 20)", [1, 2]),
        ("((Type eq 20))", [0]),
    ],
)
def test_comparison_and_logical_operators(text: str, expected: list[int]) -> None:
    assert matching(text) == expected


def test_guid_literal() -> None:
    assert matching(f"ID eq guid'{KEY}'") == [0]
    assert matching(f"ID eq guid'{str(KEY).upper()}'") == [0]
    assert matching(f"ID ne guid'{KEY}'") == [1, 2]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Created gt datetime'2015-01-01'", [0]),
        ("Created ge DateTime'2015-01-02T10:30:00'", [0]),
        ("Created lt datetime'2015-01-01T00:00:00'", [1]),
        ("Created eq datetime'2014-12-31T00:00:00.000'", [1]),
        ("Created lt datetime'2015-01-02T11:30:00+01:00'", [1]),
    ],
)
def test_datetime_literals(text: str, expected: list[int]) -> None:
    assert matching(text) == expected


def test_quoted_strings_double_their_quotes() -> None:
    assert matching("Name eq 'Café ''t Hoekje'") == [0]
    assert parse_literals("'it''s'") == ["it's"]


def test_an_unescaped_quote_inside_a_string_is_refused() -> None:
    error = refused("Name eq 'Café 't Hoekje'")
    assert error.status == 400
    assert "Unterminated string literal" in error.message


def test_account_codes_compare_with_their_leading_spaces() -> None:
    assert matching("Code eq '                 8'") == [0]
    assert matching("Code eq '8'") == []
    assert matching("trim(Code) eq '8'") == [0]


def test_strings_ignore_case_and_trailing_spaces_like_sql_server() -> None:
    assert matching("Country eq 'NL'") == [0]
    assert matching("Country eq 'nl'") == [0]
    assert matching("Name eq 'BAKKERIJ JANSEN B.V.'") == [1]


@pytest.mark.parametrize("literal", ["43", "43L", "43l"])
def test_int64_with_or_without_suffix(literal: str) -> None:
    assert matching(f"Timestamp eq {literal}") == [2]


def test_int64_above_int32_range() -> None:
    assert matching("Timestamp gt 8999999999L") == [0]
    assert matching("Timestamp gt 8999999999") == [0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Blocked eq true", [1]),
        ("Blocked eq false", [0, 2]),
        ("Blocked eq 1", [1]),
        ("Blocked eq 0", [0, 2]),
    ],
)
def test_booleans_as_words_and_as_integers(text: str, expected: list[int]) -> None:
    assert matching(text) == expected


def test_decimals_and_negative_numbers() -> None:
    assert matching("Amount gt 100") == [0]
    assert matching("Amount eq 121.00M") == [0]
    assert matching("Amount lt -5") == [1]
    assert matching("Amount eq -5.5") == [1]


def test_null_comparisons() -> None:
    assert matching("Name eq null") == [2]
    assert matching("Name ne null") == [0, 1]
    assert matching("Amount gt 0") == [0]  # null is neither greater nor smaller


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("startswith(Name, 'bakkerij')", [1]),
        ("endswith(Name, 'B.V.')", [1]),
        ("indexof(Name, 'hoekje') ge 0", [0]),
        ("tolower(Name) eq 'bakkerij jansen b.v.'", [1]),
        ("length(trim(Code)) eq 2", [1, 2]),
    ],
)
def test_functions(text: str, expected: list[int]) -> None:
    assert matching(text) == expected


def test_substringof_is_not_implemented_as_on_exact() -> None:
    error = refused("substringof('Jansen', Name)")
    assert error.status == 501


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Foo eq 1", "No property 'Foo' exists in type 'Test.Account' at position 0."),
        ("ID eq 'abc'", "Operator 'eq' incompatible with operand types 'System.Guid' and"),
        ("Name", "Expression of type 'System.Boolean' expected at position 0."),
        ("Type add 1 eq 2", "The operator 'add' is not supported"),
        ("Name eq 'open", "Unterminated string literal"),
        ("Type eq 20 and", "Syntax error"),
        ("Type eq 20)", "Syntax error"),
        ("Type eq 20 # 3", "character '#' is not valid"),
        ("ID eq guid'not-a-guid'", "Unrecognized 'Edm.Guid' literal"),
        ("Created eq datetime'yesterday'", "Unrecognized 'Edm.DateTime' literal"),
        ("soundex(Name) eq 'x'", "Unknown function 'soundex'"),
        ("trim(Type) eq '1'", "No function signature for the function with name 'trim'"),
        ("Type gt null", "Operator 'gt' incompatible"),
        ("Type eq 1 and Name", "Expression of type 'System.Boolean' expected at position 14."),
    ],
)
def test_unsupported_or_malformed_filters_are_400(text: str, fragment: str) -> None:
    error = refused(text)
    assert error.status == 400
    assert fragment in error.message


def test_deep_nesting_is_refused_not_crashed() -> None:
    error = refused("(" * 200 + "Type eq 1" + ")" * 200)
    assert error.status == 400


def test_fields_used_lists_every_property() -> None:
    tree = parse_filter("trim(Code) eq '8' and (Name eq 'x' or not Blocked eq true)")
    assert set(fields_used(tree)) == {"Code", "Name", "Blocked"}


def test_tokenizer_keeps_positions_for_messages() -> None:
    tokens = tokenize("Name eq 'a''b'")
    assert [t.pos for t in tokens] == [0, 5, 8, 14]
    assert tokens[2].value == "a'b"


def test_skiptoken_literal_lists() -> None:
    assert parse_literals(f"'x',guid'{KEY}',387L") == ["x", KEY, 387]
    with pytest.raises(ApiError):
        parse_literals("'x' 'y'")
