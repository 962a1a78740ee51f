"""The field types of the ingest format: each checks and cleans one value, and refuses it
with a message that names what was expected."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError
from stdnum import iban as stdnum_iban
from stdnum import vatin
from stdnum.exceptions import InvalidChecksum, InvalidComponent
from stdnum.exceptions import ValidationError as NumberError
from stdnum.util import get_cc_module

from exact_tui.domain.money import AmountError, parse_amount
from exact_tui.domain.states import WriteOffKind
from exact_tui.domain.text import clean_text, cut
from exact_tui.domain.vat import normalise_vat

#: How many characters of a refused value a message quotes.
_PREVIEW = 40


@dataclass(frozen=True, slots=True)
class NonFinite:
    """A JSON NaN / Infinity token, kept as a value so validation can name the field."""

    token: str


def describe(value: object) -> str:
    """A refused value as a message quotes it: short, and safe to print on a terminal."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, NonFinite):
        return value.token
    if isinstance(value, Decimal | int | float):
        text = str(value)
        return f"the number {_preview(text)}"
    if isinstance(value, str):
        if len(value) > 10 * _PREVIEW:
            return f"a text of {len(value):,} characters"
        return f'"{safe_text(value)}"'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _preview(text: str) -> str:
    """The first _PREVIEW characters, and … when there was more."""
    return cut(text, _PREVIEW + 1, mark="…")


def safe_text(text: str) -> str:
    """User text fit for a message: cleaned, short, and printable in any UTF-8 terminal."""
    cleaned = clean_text(text)
    cleaned = _preview(cleaned)
    return cleaned.encode("utf-8", "backslashreplace").decode("utf-8")


def refuse(message: str) -> PydanticCustomError:
    # The message goes in through the context: user input in it may hold braces.
    return PydanticCustomError("ingest", "{reason}", {"reason": message})


_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise refuse(f"expected text, got {describe(value)}")
    # Printable ASCII is already clean and normal: skip the regexes for the common case.
    if value.isascii() and value.isprintable():
        text = value.strip()
    else:
        text = clean_text(value).strip()
        # A lone surrogate (a stray "\\ud800" escape) cannot be stored or printed as UTF-8.
        if _SURROGATE.search(text):
            raise refuse("expected valid Unicode text, got an unpaired surrogate escape")
    if len(text) > limit:
        raise refuse(f"expected at most {limit} characters, got {len(text):,}")
    return text


def required_text(limit: int) -> Callable[[object], str]:
    def check(value: object) -> str:
        text = _clean(value, limit)
        if not text:
            raise refuse("expected a non-empty text")
        return text

    return check


def optional_text(limit: int) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        return None if value is None else (_clean(value, limit) or None)

    return check


def _amount(value: object) -> Decimal:
    if isinstance(value, NonFinite):
        raise refuse(f"expected a finite amount, got {value.token}")
    if isinstance(value, bool) or not isinstance(value, str | Decimal | int | float):
        raise refuse(f"expected an amount (a decimal string or number), got {describe(value)}")
    if isinstance(value, str) and len(value) > _PREVIEW:
        raise refuse(f"expected an amount like 12.50, got {describe(value)}")
    try:
        return parse_amount(value)
    except AmountError as exc:
        raise refuse(str(exc)) from None


def _optional_amount(value: object) -> Decimal | None:
    return None if value is None else _amount(value)


def _nonzero_amount(value: object) -> Decimal:
    amount = _amount(value)
    if not amount:
        raise refuse("expected a non-zero amount")
    return amount


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _date(value: object) -> dt.date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise refuse(f"expected a date as YYYY-MM-DD, got {describe(value)}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise refuse(f"expected a real date as YYYY-MM-DD, got {describe(value)} ({exc})") from None


def _optional_date(value: object) -> dt.date | None:
    return None if value is None else _date(value)


_CURRENCY = re.compile(r"[A-Z]{3}", re.ASCII)
_COUNTRY = re.compile(r"[A-Za-z]{2}", re.ASCII)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _currency(value: object) -> str:
    if value is None:
        return "EUR"
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise refuse(
            f"expected a currency code of three capital letters like EUR, got {describe(value)}"
        )
    return value


def _country(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _COUNTRY.fullmatch(value):
        raise refuse(f"expected a two-letter ISO country code like NL, got {describe(value)}")
    return value.upper()


_optional_name = optional_text(200)
_iban_text = required_text(50)


def _email(value: object) -> str | None:
    text = _optional_name(value)
    if text is not None and not _EMAIL.fullmatch(text):
        raise refuse(f"expected an e-mail address, got {describe(text)}")
    return text


_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}")


def iban_problem(number: str) -> str | None:
    """Why `number` (compact, upper case) is not an IBAN by ISO 13616, or None when it is one:
    a country that has IBANs, that country's length and BBAN format, and the mod-97 check
    digits. The bank code is not looked up: python-stdnum's bank lists lag behind new banks,
    and refusing a real customer's account for that would be wrong."""
    if not _IBAN_SHAPE.fullmatch(number):
        return "an IBAN is a country code, two check digits and letters and digits"
    try:
        stdnum_iban.validate(number, check_country=False)
    except InvalidChecksum:
        return "its check digits do not match (mod 97)"
    except InvalidComponent:
        return f"{number[:2]!r} is not a country with IBANs"
    except NumberError:
        country = number[:2]
        return f"not the length and format of a {country} IBAN"
    return None


def _iban(value: object) -> str:
    text = _iban_text(value)
    number = str(stdnum_iban.compact(text))
    problem = iban_problem(number)
    if problem is not None:
        raise refuse(f"expected a valid IBAN, got {describe(text)} ({problem})")
    return number


def _iban_reference(value: object) -> str:
    # Compacted like the IBANs it refers to; whether it exists is the reference check's part.
    return str(stdnum_iban.compact(_iban_text(value)))


def _write_off_kind(value: object) -> WriteOffKind:
    if isinstance(value, str):
        try:
            return WriteOffKind(value)
        except ValueError:
            pass
    kinds = " or ".join(f'"{k.value}"' for k in WriteOffKind)
    raise refuse(f"expected {kinds}, got {describe(value)}")


# Prefixes python-stdnum files under another country: Greece (EL) and Northern Ireland (XI).
_VAT_MODULES = {"el": "gr", "xi": "gb"}


def vat_problem(vat_number: str, country: str | None) -> str | None:
    """Why a VAT number is invalid, or None when it is valid or cannot be checked.

    Checked where python-stdnum knows the country (the number's prefix, else the customer's
    country); a number from a country it does not know is stored as given.
    """
    normalised = normalise_vat(vat_number, country) or ""
    prefix = normalised[:2].lower()
    if not prefix.isalpha() or get_cc_module(_VAT_MODULES.get(prefix, prefix), "vat") is None:
        return None
    try:
        vatin.validate(normalised)
    except NumberError as exc:
        reason = _number_reason(exc)
        return (
            f"expected a valid {prefix.upper()} VAT number, got {describe(vat_number)} ({reason})"
        )
    return None


def _number_reason(exc: NumberError) -> str:
    # python-stdnum's messages are sentences ("The number's checksum … is invalid.").
    return str(exc).rstrip(".").lower().replace("the number's ", "")


Code = Annotated[str, BeforeValidator(required_text(64))]
OptionalCode = Annotated[str | None, BeforeValidator(optional_text(64))]
Name = Annotated[str, BeforeValidator(required_text(200))]
OptionalName = Annotated[str | None, BeforeValidator(optional_text(200))]
Description = Annotated[str | None, BeforeValidator(optional_text(500))]
Amount = Annotated[Decimal, BeforeValidator(_amount)]
OptionalAmount = Annotated[Decimal | None, BeforeValidator(_optional_amount)]
NonZeroAmount = Annotated[Decimal, BeforeValidator(_nonzero_amount)]
Date = Annotated[dt.date, BeforeValidator(_date)]
OptionalDate = Annotated[dt.date | None, BeforeValidator(_optional_date)]
Currency = Annotated[str, BeforeValidator(_currency)]
Country = Annotated[str | None, BeforeValidator(_country)]
Email = Annotated[str | None, BeforeValidator(_email)]
Iban = Annotated[str, BeforeValidator(_iban)]
IbanReference = Annotated[str, BeforeValidator(_iban_reference)]
Kind = Annotated[WriteOffKind, BeforeValidator(_write_off_kind)]
