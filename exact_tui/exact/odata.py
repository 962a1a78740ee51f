"""OData v2 as Exact speaks it: the one filter builder, query options, and response decoding.

Filters are built from fields and Python values, never by pasting strings: quotes are doubled,
GUIDs and dates get their typed literals, account codes are padded the way Exact stores them.
Responses come back as plain dicts with `/Date(ms)/` turned into aware UTC datetimes and JSON
numbers with a fraction turned into `Decimal` (never float).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Final

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")
_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")
_OPERATORS: Final = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})


class ODataError(ValueError):
    """A filter or response that does not fit OData as Exact speaks it."""


@dataclass(frozen=True)
class Literal:
    """A value already written as an OData literal (made by the functions below)."""

    text: str


def string(value: str) -> Literal:
    """A quoted string; a quote inside is doubled (`O''Brien`)."""
    return Literal("'" + value.replace("'", "''") + "'")


def guid(value: str | uuid.UUID) -> Literal:
    """`guid'…'`; refuses anything that is not a GUID, so no text reaches the URL unchecked."""
    try:
        parsed = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise ODataError(f"not a GUID: {value!r}") from None
    return Literal(f"guid'{parsed}'")


def datetime_(value: dt.datetime | dt.date) -> Literal:
    """`datetime'YYYY-MM-DDTHH:MM:SS'`, zone-less: aware values are converted to UTC first, so a
    local offset can never shift a date (docs/exact-api.md §Dates and numbers)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        moment = value.replace(microsecond=0)
    else:
        moment = dt.datetime(value.year, value.month, value.day)
    return Literal(f"datetime'{moment.isoformat()}'")


def int64(value: int) -> Literal:
    """An Edm.Int64 such as a sync Timestamp: `12345L`."""
    return Literal(f"{int(value)}L")


def literal(value: object) -> Literal:
    """The literal for a plain Python value (str, int, Decimal, bool, UUID, date, datetime)."""
    if isinstance(value, Literal):
        return value
    if isinstance(value, bool):
        return Literal("true" if value else "false")
    if isinstance(value, uuid.UUID):
        return guid(value)
    if isinstance(value, dt.date):
        return datetime_(value)
    if isinstance(value, int):
        return Literal(str(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ODataError(f"not a finite number: {value}")
        return Literal(f"{value}M")
    if isinstance(value, str):
        return string(value)
    raise ODataError(f"no OData literal for {type(value).__name__}")


@dataclass(frozen=True)
class Filter:
    """A `$filter` expression; combine with `&` and `|` (each side is parenthesised)."""

    text: str

    def __and__(self, other: Filter) -> Filter:
        return Filter(f"({self.text}) and ({other.text})")

    def __or__(self, other: Filter) -> Filter:
        return Filter(f"({self.text}) or ({other.text})")


def _field(name: str) -> str:
    if not _FIELD.match(name):
        raise ODataError(f"not a field name: {name!r}")
    return name


def compare(name: str, op: str, value: object) -> Filter:
    if op not in _OPERATORS:
        raise ODataError(f"unknown operator {op!r}")
    return Filter(f"{_field(name)} {op} {literal(value).text}")


def eq(name: str, value: object) -> Filter:
    return compare(name, "eq", value)


def any_of(name: str, values: Sequence[object]) -> Filter:
    """`Field eq a or Field eq b …` (keep batches small: Exact's URLs get long)."""
    if not values:
        raise ODataError("any_of needs at least one value")
    return Filter(" or ".join(f"{_field(name)} eq {literal(v).text}" for v in values))


@dataclass(frozen=True)
class Query:
    """The query options of one GET; `params()` gives what goes on the URL. Every field named
    must be one Exact documents for the resource, and not obsolete (docs/sandbox.md, "The
    schema"; the contract tests hold the client to it)."""

    select: Sequence[str] = ()
    filter: Filter | None = None
    top: int | None = None
    orderby: str | None = None
    inlinecount: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)

    def params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.select:
            params["$select"] = ",".join(_field(name) for name in self.select)
        if self.filter is not None:
            params["$filter"] = self.filter.text
        if self.top is not None:
            params["$top"] = str(int(self.top))
        if self.orderby:
            params["$orderby"] = self.orderby
        if self.inlinecount:
            params["$inlinecount"] = "allpages"
        params.update(self.extra)
        return params


# ---------------------------------------------------------------- responses


@dataclass(frozen=True)
class Page:
    """One response's rows, the `__next` URL to follow verbatim, and `__count` when asked."""

    rows: list[dict[str, Any]]
    next_url: str | None = None
    count: int | None = None


def loads(text: str | bytes) -> Any:
    """JSON with fractional numbers as Decimal and `/Date(ms)/` strings as UTC datetimes."""
    try:
        return _convert(json.loads(text, parse_float=Decimal))
    except (ValueError, InvalidOperation) as exc:
        raise ODataError(f"not a JSON body: {exc}") from None


def _convert(value: Any) -> Any:
    if isinstance(value, str):
        match = _DATE.match(value)
        if match:
            return dt.datetime.fromtimestamp(int(match.group(1)) / 1000, tz=dt.UTC)
        return value
    if isinstance(value, dict):
        return {key: _convert(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_convert(item) for item in value]
    return value


def dumps(body: Mapping[str, Any]) -> bytes:
    """A request body: amounts as decimal strings (no float artefacts), dates zone-less in UTC,
    GUIDs as text."""

    def default(value: object) -> object:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, dt.date):
            return datetime_(value).text[len("datetime'") : -1]
        if isinstance(value, uuid.UUID):
            return str(value)
        raise TypeError(f"cannot send {type(value).__name__} to Exact")

    return json.dumps(body, default=default, ensure_ascii=False).encode()


def unwrap(body: Any) -> Page:
    """Normalise the three shapes of `d`: `{"results": [...], "__next": …}`, a bare list, and a
    single entity."""
    if not isinstance(body, dict) or "d" not in body:
        raise ODataError("the response has no 'd' member")
    data = body["d"]
    if isinstance(data, list):
        return Page(rows=[_entity(row) for row in data])
    if not isinstance(data, dict):
        raise ODataError("the response's 'd' is neither an object nor a list")
    if isinstance(data.get("results"), list):
        count = data.get("__count")
        return Page(
            rows=[_entity(row) for row in data["results"]],
            next_url=data.get("__next") or None,
            count=int(count) if count is not None else None,
        )
    return Page(rows=[_entity(data)])


def _entity(row: Any) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise ODataError("a result row is not an object")
    return {key: value for key, value in row.items() if key != "__metadata"}


def as_date(value: object) -> dt.date | None:
    """A date-only field (Exact sends midnight UTC)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date()
    if isinstance(value, dt.date):
        return value
    raise ODataError(f"not a date: {value!r}")


def as_decimal(value: object) -> Decimal | None:
    """An Edm.Double or Edm.Decimal field: whole numbers arrive as JSON integers."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ODataError(f"not a number: {value!r}")
    if isinstance(value, Decimal | int | str):
        try:
            return Decimal(value)
        except InvalidOperation:
            raise ODataError(f"not a number: {value!r}") from None
    raise ODataError(f"not a number: {value!r}")
