from decimal import Decimal

import pytest

from exact_tui.domain.money import AmountError, format_amount, parse_amount, to_wire


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12.5", Decimal("12.50")),
        ("-3", Decimal("-3.00")),
        (7, Decimal("7.00")),
        (0.1, Decimal("0.10")),
        ("12.500", Decimal("12.50")),
        (" 1.25 ", Decimal("1.25")),
    ],
)
def test_parse_amount_accepts_two_decimals(raw: object, expected: Decimal) -> None:
    assert parse_amount(raw) == expected
    assert parse_amount(raw).as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("12.345", "at most two decimals"),
        ("NaN", "finite"),
        ("Infinity", "finite"),
        ("1e400", "out of range"),
        ("twelve", "decimal amount like 12.50"),
        (True, "boolean"),
        (None, "decimal amount"),
    ],
)
def test_parse_amount_refuses(raw: object, message: str) -> None:
    with pytest.raises(AmountError, match=message):
        parse_amount(raw)


def test_format_and_wire() -> None:
    assert format_amount(Decimal("1234567.5")) == "1,234,567.50"
    assert format_amount(Decimal("-0.5"), "EUR") == "-0.50 EUR"
    assert to_wire(Decimal("121")) == "121.00"
