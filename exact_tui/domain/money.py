"""Money: Decimal quantised to cents, never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
#: Largest absolute amount accepted anywhere (fits NUMERIC(18, 2)).
MAX_AMOUNT = Decimal("9999999999999999.99")


class AmountError(ValueError):
    """An amount that is not a finite number of at most two decimals within range."""


def parse_amount(value: object) -> Decimal:
    """Parse a decimal string or number with at most two decimals, refusing NaN, ±Inf and floats
    that cannot be represented exactly."""
    if isinstance(value, bool):
        raise AmountError("expected a decimal amount, got a boolean")
    if isinstance(value, float):
        # A float came from JSON: use its shortest repr so 12.1 stays 12.1, not 12.0999...
        value = repr(value)
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str | Decimal):
        try:
            amount = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raise AmountError(f"expected a decimal amount like 12.50, got {value!r}") from None
    else:
        raise AmountError(f"expected a decimal amount, got {type(value).__name__}")
    if not amount.is_finite():
        raise AmountError(f"expected a finite amount, got {value}")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and amount != amount.quantize(CENT):
        raise AmountError(f"expected at most two decimals, got {value}")
    if abs(amount) > MAX_AMOUNT:
        raise AmountError(f"amount {value} is out of range (at most {MAX_AMOUNT})")
    return amount.quantize(CENT)


def cents(amount: Decimal) -> Decimal:
    """Round to cents the way invoices do (half up)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_amount(amount: Decimal, currency: str | None = None) -> str:
    """`1234.5` → `1,234.50` (with the currency code after it when given)."""
    text = f"{cents(amount):,.2f}"
    return f"{text} {currency}" if currency else text


def to_wire(amount: Decimal) -> str:
    """Amounts go to Exact as decimal strings (no float artefacts)."""
    return str(cents(amount))
