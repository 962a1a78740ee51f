"""The platform's ingest format (design §11): one file's bytes in, validated records out.

Pure: no store, no I/O. Everything a file can get wrong on its own is found here (syntax,
encoding, types, limits, duplicates within the file); what needs the store (references to
earlier files, documents already posted) is the ingest service's part.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError
from stdnum import iban as stdnum_iban
from stdnum import vatin
from stdnum.exceptions import ValidationError as NumberError
from stdnum.util import get_cc_module

from exact_tui.domain.money import AmountError, parse_amount
from exact_tui.domain.states import WriteOffKind
from exact_tui.domain.text import clean_text
from exact_tui.domain.vat import normalise_vat

#: Most lines one invoice may carry; far above real invoices, low enough to bound memory.
MAX_LINES = 1000
#: How many characters of a refused value a message quotes.
_PREVIEW = 40
_BOM = b"\xef\xbb\xbf"


class RecordType(StrEnum):
    """The records of the format; the value is the JSON Lines `type`."""

    ORGANIZATION = "organization"
    BANK_ACCOUNT = "bank_account"
    CUSTOMER = "customer"
    INVOICE = "invoice"
    PAYMENT = "payment"
    WRITE_OFF = "write_off"

    @property
    def array(self) -> str:
        """The top-level key of the JSON shape."""
        return f"{self.value}s"

    @property
    def key_field(self) -> str:
        """The field that identifies a record of this type across files."""
        return _KEY_FIELDS[self]


_KEY_FIELDS = {
    RecordType.ORGANIZATION: "code",
    RecordType.BANK_ACCOUNT: "iban",
    RecordType.CUSTOMER: "number",
    RecordType.INVOICE: "number",
    RecordType.PAYMENT: "number",
    RecordType.WRITE_OFF: "number",
}
_ARRAYS = {t.array: t for t in RecordType}


# ---------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, located by line (JSON Lines, syntax) or JSON path."""

    message: str
    path: str = ""
    line: int | None = None
    column: int | None = None

    def render(self, source: str) -> str:
        head = source
        if self.line is not None:
            head += f", line {self.line}"
        if self.column is not None:
            head += f", column {self.column}"
        if self.path:
            head += f": {self.path}"
        return f"{head}: {self.message}"


class FormatError(ValueError):
    """The file is refused; `problems` says every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a record sits in its file: an index into its JSON array, or a JSON Lines line."""

    record: RecordType
    index: int
    line: int | None = None

    def problem(self, message: str, field_path: str = "") -> Problem:
        if self.line is None:
            path = f"{self.record.array}[{self.index}]"
            return Problem(message, f"{path}.{field_path}" if field_path else path)
        path = f"{self.record.value}.{field_path}" if field_path else self.record.value
        return Problem(message, path, line=self.line)

    def describe(self) -> str:
        """For "first at …" in duplicate messages."""
        if self.line is None:
            return f"{self.record.array}[{self.index}]"
        return f"line {self.line}"


# ---------------------------------------------------------------- field types


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
        return f"the number {text if len(text) <= _PREVIEW else text[:_PREVIEW] + '…'}"
    if isinstance(value, str):
        if len(value) > 10 * _PREVIEW:
            return f"a text of {len(value):,} characters"
        return f'"{_safe(value)}"'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _safe(text: str) -> str:
    """User text fit for a message: cleaned, short, and printable in any UTF-8 terminal."""
    cleaned = clean_text(text)
    cleaned = cleaned if len(cleaned) <= _PREVIEW else cleaned[:_PREVIEW] + "…"
    return cleaned.encode("utf-8", "backslashreplace").decode("utf-8")


def _refuse(message: str) -> PydanticCustomError:
    # The message goes in through the context: user input in it may hold braces.
    return PydanticCustomError("ingest", "{reason}", {"reason": message})


_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise _refuse(f"expected text, got {describe(value)}")
    # Printable ASCII is already clean and normal: skip the regexes for the common case.
    if value.isascii() and value.isprintable():
        text = value.strip()
    else:
        text = clean_text(value).strip()
        # A lone surrogate (a stray "\\ud800" escape) cannot be stored or printed as UTF-8.
        if _SURROGATE.search(text):
            raise _refuse("expected valid Unicode text, got an unpaired surrogate escape")
    if len(text) > limit:
        raise _refuse(f"expected at most {limit} characters, got {len(text):,}")
    return text


def _required_text(limit: int) -> Callable[[object], str]:
    def check(value: object) -> str:
        text = _clean(value, limit)
        if not text:
            raise _refuse("expected a non-empty text")
        return text

    return check


def _optional_text(limit: int) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        return None if value is None else (_clean(value, limit) or None)

    return check


def _amount(value: object) -> Decimal:
    if isinstance(value, NonFinite):
        raise _refuse(f"expected a finite amount, got {value.token}")
    if isinstance(value, bool) or not isinstance(value, str | Decimal | int | float):
        raise _refuse(f"expected an amount (a decimal string or number), got {describe(value)}")
    if isinstance(value, str) and len(value) > _PREVIEW:
        raise _refuse(f"expected an amount like 12.50, got {describe(value)}")
    try:
        return parse_amount(value)
    except AmountError as exc:
        raise _refuse(str(exc)) from None


def _optional_amount(value: object) -> Decimal | None:
    return None if value is None else _amount(value)


def _nonzero_amount(value: object) -> Decimal:
    amount = _amount(value)
    if not amount:
        raise _refuse("expected a non-zero amount")
    return amount


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _date(value: object) -> dt.date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise _refuse(f"expected a date as YYYY-MM-DD, got {describe(value)}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise _refuse(
            f"expected a real date as YYYY-MM-DD, got {describe(value)} ({exc})"
        ) from None


def _optional_date(value: object) -> dt.date | None:
    return None if value is None else _date(value)


_CURRENCY = re.compile(r"[A-Z]{3}", re.ASCII)
_COUNTRY = re.compile(r"[A-Za-z]{2}", re.ASCII)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _currency(value: object) -> str:
    if value is None:
        return "EUR"
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise _refuse(
            f"expected a currency code of three capital letters like EUR, got {describe(value)}"
        )
    return value


def _country(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _COUNTRY.fullmatch(value):
        raise _refuse(f"expected a two-letter ISO country code like NL, got {describe(value)}")
    return value.upper()


_optional_name = _optional_text(200)
_iban_text = _required_text(50)


def _email(value: object) -> str | None:
    text = _optional_name(value)
    if text is not None and not _EMAIL.fullmatch(text):
        raise _refuse(f"expected an e-mail address, got {describe(text)}")
    return text


def _iban(value: object) -> str:
    text = _iban_text(value)
    try:
        return str(stdnum_iban.validate(text))
    except NumberError as exc:
        raise _refuse(
            f"expected a valid IBAN, got {describe(text)} ({_number_reason(exc)})"
        ) from None


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
    raise _refuse(f"expected {kinds}, got {describe(value)}")


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


Code = Annotated[str, BeforeValidator(_required_text(64))]
OptionalCode = Annotated[str | None, BeforeValidator(_optional_text(64))]
Name = Annotated[str, BeforeValidator(_required_text(200))]
OptionalName = Annotated[str | None, BeforeValidator(_optional_text(200))]
Description = Annotated[str | None, BeforeValidator(_optional_text(500))]
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


# ---------------------------------------------------------------- records


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrganizationIn(_Record):
    code: Code
    name: Name


class BankAccountIn(_Record):
    #: Stored compact ("NL91ABNA0417164300").
    iban: Iban
    #: The organization's code.
    organization: Code
    name: OptionalName = None


class CustomerIn(_Record):
    number: Code
    name: Name
    # Before vat_number: its check needs the country.
    country: Country = None
    #: Stored as given (cleaned); matching uses `vat_normalised`.
    vat_number: Annotated[str | None, BeforeValidator(_optional_text(40))] = None
    address_line: OptionalName = None
    postcode: Annotated[str | None, BeforeValidator(_optional_text(20))] = None
    city: Annotated[str | None, BeforeValidator(_optional_text(100))] = None
    email: Email = None
    phone: Annotated[str | None, BeforeValidator(_optional_text(50))] = None

    @field_validator("vat_number")
    @classmethod
    def _valid_vat(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            problem = vat_problem(value, info.data.get("country"))
            if problem:
                raise _refuse(problem)
        return value

    @property
    def vat_normalised(self) -> str | None:
        return normalise_vat(self.vat_number, self.country)


class InvoiceLineIn(_Record):
    #: Excluding VAT; negative on a credit note.
    amount: Amount
    gl_code: Code
    vat_code: Code
    vat_amount: OptionalAmount = None
    description: Description = None
    cost_center: OptionalCode = None
    cost_unit: OptionalCode = None


class InvoiceIn(_Record):
    number: Code
    date: Date
    #: The customer's number.
    customer: Code
    #: The IBAN of the bank account the invoice is paid into.
    bank_account: IbanReference
    due_date: OptionalDate = None
    payment_reference: Annotated[str | None, BeforeValidator(_optional_text(100))] = None
    currency: Currency = "EUR"
    description: Description = None
    lines: list[InvoiceLineIn] = Field(min_length=1, max_length=MAX_LINES)


class PaymentIn(_Record):
    number: Code
    date: Date
    #: Received from the customer; negative for a refund.
    amount: NonZeroAmount
    customer: Code
    bank_account: IbanReference
    #: The number of the invoice it pays, when known.
    invoice: OptionalCode = None
    description: Description = None


class WriteOffIn(_Record):
    number: Code
    date: Date
    amount: NonZeroAmount
    invoice: Code
    kind: Kind
    description: Description = None


Record = OrganizationIn | BankAccountIn | CustomerIn | InvoiceIn | PaymentIn | WriteOffIn
R = TypeVar("R", bound=Record)

MODELS: dict[RecordType, type[Record]] = {
    RecordType.ORGANIZATION: OrganizationIn,
    RecordType.BANK_ACCOUNT: BankAccountIn,
    RecordType.CUSTOMER: CustomerIn,
    RecordType.INVOICE: InvoiceIn,
    RecordType.PAYMENT: PaymentIn,
    RecordType.WRITE_OFF: WriteOffIn,
}


def content_hash(record: Record) -> str:
    """sha256 of the validated record: equal hashes mean "unchanged" on re-ingest.

    Absent optional fields are left out, so a field added to the format later does not make
    every stored record look changed.
    """
    return hashlib.sha256(record.model_dump_json(exclude_none=True).encode()).hexdigest()


# ---------------------------------------------------------------- the file


@dataclass(frozen=True, slots=True)
class Item(Generic[R]):
    origin: Origin
    record: R


@dataclass
class PlatformData:
    """One file's records, validated, each type in file order."""

    organizations: list[Item[OrganizationIn]] = field(default_factory=list)
    bank_accounts: list[Item[BankAccountIn]] = field(default_factory=list)
    customers: list[Item[CustomerIn]] = field(default_factory=list)
    invoices: list[Item[InvoiceIn]] = field(default_factory=list)
    payments: list[Item[PaymentIn]] = field(default_factory=list)
    write_offs: list[Item[WriteOffIn]] = field(default_factory=list)

    def items(self, record: RecordType) -> list[Item[Any]]:
        items: list[Item[Any]] = getattr(self, record.array)
        return items


def parse(data: bytes, *, json_lines: bool = False) -> PlatformData:
    """Decode, parse and validate one file, JSON or JSON Lines (recognised by its content;
    `json_lines` forces the latter, for a `.jsonl` name).

    Raises FormatError with every problem found: one bad record does not hide the next.
    """
    text = _decode(data)
    if not text.strip():
        raise FormatError([Problem("the file is empty; expected a JSON object or JSON Lines")])
    reader = _Reader()
    if json_lines:
        reader.read_lines(text)
    else:
        reader.read(text)
    if reader.problems:
        raise FormatError(reader.problems)
    return reader.data


# Amounts never pass through float: 0.1 stays 0.1 and 1e400 stays a (refused) number, not inf.
# NaN and Infinity become values that validation refuses with the field's name. Raw control
# characters inside strings are let through (strict=False) because text is cleaned at the door.
_DECODER = json.JSONDecoder(
    parse_float=Decimal, parse_int=Decimal, parse_constant=NonFinite, strict=False
)
_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _decode(data: bytes) -> str:
    body = data.removeprefix(_BOM)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start + len(data) - len(body)
        line = data.count(b"\n", 0, offset) + 1
        column = offset - data.rfind(b"\n", 0, offset)
        message = (
            f"not valid UTF-8: byte 0x{data[offset]:02X} at byte offset {offset:,} "
            "(is the file in another encoding, such as Windows-1252? save it as UTF-8)"
        )
        raise FormatError([Problem(message, line=line, column=column)]) from None


_JSON_REASONS = {
    "Extra data": "more text after the JSON value",
    "Expecting value": "expected a value (a text, number, object, list, true, false or null)",
}


def _syntax_problem(exc: json.JSONDecodeError, line: int | None = None) -> Problem:
    if exc.pos >= len(exc.doc.rstrip()) or exc.msg.startswith("Unterminated string"):
        message = "the JSON ends too early (is the file cut off?)"
    else:
        reason = _JSON_REASONS.get(exc.msg, exc.msg.replace("Expecting", "expected").lower())
        message = f"invalid JSON: {reason}"
    if line is None:
        return Problem(message, line=exc.lineno, column=exc.colno)
    return Problem(message, line=line, column=exc.colno)


class _Reader:
    def __init__(self) -> None:
        self.data = PlatformData()
        self.problems: list[Problem] = []
        self._first: dict[tuple[RecordType, str], Origin] = {}
        self._counts = dict.fromkeys(RecordType, 0)

    def read(self, text: str) -> None:
        """JSON or JSON Lines, told apart by the first value: a record (it has a `type`)
        starts JSON Lines, anything else must be the one JSON document."""
        start = _JSON_SPACE.match(text).end()  # type: ignore[union-attr]
        try:
            value, end = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError as exc:
            self.problems.append(_syntax_problem(exc))
            return
        is_record = isinstance(value, dict) and "type" in value
        extra = _JSON_SPACE.match(text, end).end()  # type: ignore[union-attr]
        if is_record and extra == len(text):
            # One record alone (perhaps spread over several lines): read it where it starts.
            self._read_line(text.count("\n", 0, start) + 1, value)
        elif is_record:
            self.read_lines(text)
        elif extra == len(text):
            self._read_document(value)
        else:
            line = text.count("\n", 0, extra) + 1
            column = extra - text.rfind("\n", 0, extra)
            message = (
                "expected the end of the file after the JSON object "
                "(several records go one per line, each with a type: JSON Lines)"
            )
            self.problems.append(Problem(message, line=line, column=column))

    def read_lines(self, text: str) -> None:
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                value = _DECODER.decode(line)
            except json.JSONDecodeError as exc:
                self.problems.append(_syntax_problem(exc, line=number))
                continue
            self._read_line(number, value)

    def _read_line(self, number: int, value: object) -> None:
        types = ", ".join(t.value for t in RecordType)
        if not isinstance(value, dict):
            message = f"expected an object with a type ({types}), got {describe(value)}"
            self.problems.append(Problem(message, line=number))
            return
        fields = dict(value)
        kind = fields.pop("type") if "type" in fields else None
        if kind is None:
            self.problems.append(Problem(f"missing type; expected one of {types}", line=number))
            return
        try:
            record = RecordType(kind)
        except ValueError:
            message = f"unknown type {describe(kind)}; expected one of {types}"
            self.problems.append(Problem(message, line=number))
            return
        self._add(Origin(record, self._counts[record], number), fields)

    def _read_document(self, value: object) -> None:
        arrays = ", ".join(_ARRAYS)
        if not isinstance(value, dict):
            message = f"expected a JSON object with the arrays {arrays}; got {describe(value)}"
            self.problems.append(Problem(message, line=1))
            return
        # Each raw record is dropped once validated: a large file then needs memory for its
        # records once, not twice.
        for key, items in list(value.items()):
            del value[key]
            record = _ARRAYS.get(key)
            if record is None:
                message = f"unknown top-level key; expected one of {arrays}"
                self.problems.append(Problem(message, path=_safe(key)))
            elif not isinstance(items, list):
                message = f"expected a list of {record.value} records, got {describe(items)}"
                self.problems.append(Problem(message, path=key))
            else:
                for index, fields in enumerate(items):
                    items[index] = None
                    self._add(Origin(record, index), fields)

    def _add(self, origin: Origin, fields: object) -> None:
        self._counts[origin.record] += 1
        if not isinstance(fields, dict):
            self.problems.append(origin.problem(f"expected an object, got {describe(fields)}"))
            return
        model = MODELS[origin.record]
        try:
            record = model.model_validate(fields)
        except ValidationError as exc:
            self.problems.extend(_translate(exc, origin))
            return
        key_field = origin.record.key_field
        key: str = getattr(record, key_field)
        first = self._first.setdefault((origin.record, key), origin)
        if first is not origin:
            message = f"{describe(key)} appears twice in this file (first at {first.describe()})"
            self.problems.append(origin.problem(message, key_field))
            return
        self.data.items(origin.record).append(Item(origin, record))


def _translate(exc: ValidationError, origin: Origin) -> Iterator[Problem]:
    """pydantic's errors in the words of this format: the field and what was expected."""
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        in_line = len(loc) > 1 and loc[0] == "lines"
        model: type[BaseModel] = InvoiceLineIn if in_line else MODELS[origin.record]
        label = "invoice line" if in_line else origin.record.value.replace("_", " ")
        kind = error["type"]
        given = error.get("input")
        ctx = error.get("ctx") or {}
        if kind == "ingest":
            message = error["msg"]
        elif kind == "missing":
            name = str(loc[-1])
            expected = _EXPECTED.get(name, f"the {label}'s {name.replace('_', ' ')}")
            message = f"required field missing; expected {expected}"
        elif kind == "extra_forbidden":
            message = _unknown_field(str(loc[-1]), model)
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            message = f"expected an object, got {describe(given)}"
        elif kind == "list_type":
            message = f"expected a list, got {describe(given)}"
        elif kind == "too_short":
            message = "expected at least one line, got none"
        elif kind == "too_long":
            message = f"expected at most {MAX_LINES:,} lines, got {ctx.get('actual_length'):,}"
        else:
            message = error["msg"][:1].lower() + error["msg"][1:]
        yield origin.problem(message, _path(loc))


# What a missing required field should have held, for the message.
# (Fields not named here read "the invoice's number", "the invoice line's gl code".)
_EXPECTED = {
    "iban": "an IBAN",
    "organization": "the code of an organization",
    "customer": "the number of a customer",
    "bank_account": "the IBAN of a bank account",
    "invoice": "the number of an invoice",
    "date": "a date as YYYY-MM-DD",
    "amount": "an amount like 12.50",
    "kind": '"write_off" or "collection_costs"',
    "lines": "a list of at least one line",
}


def _path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{_safe(part)}" if path else _safe(part)
    return path


def _unknown_field(name: str, model: type[BaseModel]) -> str:
    known = list(model.model_fields)
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"unknown field; did you mean {close[0]}?"
    return f"unknown field; expected one of {', '.join(known)}"
