"""Reading one file: decoding, JSON or JSON Lines, each record validated, duplicates within
the file found; every problem reported, not just the first."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic

from pydantic import ValidationError

from exact_tui.domain.ingest_format.fields import NonFinite, describe, safe_text
from exact_tui.domain.ingest_format.problems import FormatError, Origin, Problem, translate
from exact_tui.domain.ingest_format.records import (
    BY_ARRAY,
    MODELS,
    BankAccountIn,
    CustomerIn,
    InvoiceIn,
    OrganizationIn,
    PaymentIn,
    R,
    RecordType,
    WriteOffIn,
)
from exact_tui.domain.tenants import BadTenantCode, normalise_code

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Item(Generic[R]):
    origin: Origin
    record: R
    #: The record's `tenant` field (a tenant code), when it has one (docs/tenants.md).
    tenant: str | None = None


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

    def by_tenant(self) -> dict[str | None, PlatformData]:
        """The records split by their `tenant` field (None: records without one), each
        type still in file order."""
        split: dict[str | None, PlatformData] = {}
        for record in RecordType:
            for item in self.items(record):
                split.setdefault(item.tenant, PlatformData()).items(record).append(item)
        return split


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
        self._first: dict[tuple[RecordType, str | None, str], Origin] = {}
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
        arrays = ", ".join(BY_ARRAY)
        if not isinstance(value, dict):
            message = f"expected a JSON object with the arrays {arrays}; got {describe(value)}"
            self.problems.append(Problem(message, line=1))
            return
        # Each raw record is dropped once validated: a large file then needs memory for its
        # records once, not twice.
        for key, items in list(value.items()):
            del value[key]
            record = BY_ARRAY.get(key)
            if record is None:
                message = f"unknown top-level key; expected one of {arrays}"
                self.problems.append(Problem(message, path=safe_text(key)))
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
        tenant = None
        if "tenant" in fields:
            fields = dict(fields)
            given = fields.pop("tenant")
            try:
                if not isinstance(given, str):
                    raise BadTenantCode(f"expected a tenant code (text), got {describe(given)}")
                tenant = normalise_code(given)
            except BadTenantCode as exc:
                self.problems.append(origin.problem(str(exc), "tenant"))
                return
        model = MODELS[origin.record]
        try:
            record = model.model_validate(fields)
        except ValidationError as exc:
            self.problems.extend(translate(exc, origin))
            return
        key_field = origin.record.key_field
        key: str = getattr(record, key_field)
        first = self._first.setdefault((origin.record, tenant, key), origin)
        if first is not origin:
            message = f"{describe(key)} appears twice in this file (first at {first.describe()})"
            self.problems.append(origin.problem(message, key_field))
            return
        self.data.items(origin.record).append(Item(origin, record, tenant))
