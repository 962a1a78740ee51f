"""VAT numbers: one normal form for matching, validated with python-stdnum."""

from __future__ import annotations

import re

from stdnum import vatin
from stdnum.exceptions import ValidationError

_STRIP = re.compile(r"[\s.\-/]")


def normalise_vat(value: str | None, country: str | None = None) -> str | None:
    """Compact a VAT number to ``CC`` + digits, the form used to compare numbers.

    ``"NL 8544.78.372 B01"`` → ``"NL854478372B01"``. A number without a country prefix gets
    the customer's country. Returns None for an empty value; a number python-stdnum cannot
    validate is still compacted (Exact holds such numbers too) so equal spellings match.
    """
    if not value:
        return None
    compact = _STRIP.sub("", value).upper()
    if not compact:
        return None
    if country and not compact[:2].isalpha():
        compact = country.strip().upper() + compact
    if compact.startswith("GR"):
        compact = "EL" + compact[2:]
    try:
        return str(vatin.compact(compact))
    except ValidationError:
        return compact


def is_valid_vat(value: str) -> bool:
    try:
        vatin.validate(value)
    except ValidationError:
        return False
    return True
