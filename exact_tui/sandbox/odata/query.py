"""System query options and paging: `$select`, `$filter`, `$orderby`, `$top`, `$skip`, `$expand`,
`$inlinecount`, and `$skiptoken` keyset paging behind `__next`."""

from __future__ import annotations

import bisect
import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from exact_tui.sandbox import assumptions
from exact_tui.sandbox.errors import bad_request
from exact_tui.sandbox.odata.filter import (
    Predicate,
    compile_filter,
    fields_used,
    parse_filter,
    parse_literals,
)
from exact_tui.sandbox.odata.format import literal
from exact_tui.sandbox.odata.types import Record, Value
from exact_tui.sandbox.schema import EntitySet, lookup

KNOWN_OPTIONS = frozenset(
    {"$select", "$filter", "$orderby", "$top", "$skip", "$expand", "$inlinecount", "$skiptoken",
     "$format"}
)  # fmt: skip
# Carried from a request into its `__next` link ($top is rewritten, $skip is spent).
CARRIED_OPTIONS = ("$filter", "$select", "$orderby", "$expand", "$inlinecount")


@dataclass(frozen=True)
class Query:
    select: tuple[str, ...] | None
    filter_text: str | None
    predicate: Predicate | None
    filter_fields: frozenset[str]
    orderby: tuple[tuple[str, bool], ...]  # (field, descending)
    top: int | None
    skip: int
    expand: tuple[str, ...]
    inlinecount: bool
    skiptoken: tuple[Value, ...] | None
    params: Mapping[str, str]


def _non_negative(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"Invalid value '{raw}' for the query option {name}.") from None
    if value < 0:
        raise bad_request(f"Invalid value '{raw}' for the query option {name}.")
    return value


def _check_line_field(name: str, entity: EntitySet) -> None:
    """`SalesEntryLines/AmountFC`: a field of an expanded collection (OData v2 $select)."""
    navigation, _, field = name.partition("/")
    spec = entity.navigations.get(navigation)
    if spec is None:
        raise _property_error(navigation, entity)
    target = lookup(spec.target) if spec.target else None
    if target is not None and field != "*" and field not in target.fields:
        raise _property_error(field, target)


def line_fields(query: Query, navigation: str, target: EntitySet) -> list[str]:
    """The fields of an expanded collection's rows: those `$select` names under it, else all."""
    prefix = f"{navigation}/"
    chosen = [name[len(prefix) :] for name in query.select or () if name.startswith(prefix)]
    if not chosen or "*" in chosen:
        return list(target.fields)
    return [name for name in chosen if name in target.fields]


def _property_error(name: str, entity: EntitySet) -> Exception:
    return bad_request(f"No property '{name}' exists in type '{entity.type_name}' at position 0.")


def parse_query(params: Mapping[str, str], entity: EntitySet) -> Query:
    for name in params:
        if name.startswith("$") and name not in KNOWN_OPTIONS:
            raise bad_request(
                f"The query parameter '{name}' begins with a system-reserved '$' character but "
                "is not recognized."
            )
    select: tuple[str, ...] | None = None
    if "$select" in params:
        names = tuple(part.strip() for part in params["$select"].split(",") if part.strip())
        for name in names:
            if "/" in name:
                _check_line_field(name, entity)
            elif name != "*" and name not in entity.fields and name not in entity.navigations:
                raise _property_error(name, entity)
        select = names or None

    filter_text = params.get("$filter")
    predicate: Predicate | None = None
    used: frozenset[str] = frozenset()
    if filter_text is not None:
        if not filter_text.strip():
            raise bad_request("This $filter parameter is not supported for this resource.")
        tree = parse_filter(filter_text)
        predicate = compile_filter(tree, entity.fields, entity.type_name, filter_text)
        used = frozenset(fields_used(tree))

    orderby: list[tuple[str, bool]] = []
    for part in (params.get("$orderby") or "").split(","):
        words = part.split()
        if not words:
            continue
        if len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise bad_request(f"Invalid $orderby expression '{part.strip()}'.")
        if words[0] not in entity.fields:
            raise _property_error(words[0], entity)
        orderby.append((words[0], len(words) == 2 and words[1] == "desc"))

    expand = tuple(p.strip() for p in (params.get("$expand") or "").split(",") if p.strip())
    for name in expand:
        if name not in entity.navigations:
            raise _property_error(name, entity)
    for name in select or ():
        if "/" in name and name.split("/", 1)[0] not in expand:
            raise bad_request(
                "Only properties specified in $expand can be traversed in $select query "
                f"options. Selected item: '{name}'."
            )

    inlinecount = params.get("$inlinecount", "none")
    if inlinecount not in ("allpages", "none"):
        raise bad_request(f"Invalid value '{inlinecount}' for the query option $inlinecount.")

    token = params.get("$skiptoken")
    return Query(
        select=select,
        filter_text=filter_text,
        predicate=predicate,
        filter_fields=used,
        orderby=tuple(orderby),
        top=_non_negative("$top", params["$top"]) if "$top" in params else None,
        skip=_non_negative("$skip", params["$skip"]) if "$skip" in params else 0,
        expand=expand,
        inlinecount=inlinecount == "allpages",
        skiptoken=tuple(parse_literals(token)) if token else None,
        params=params,
    )


def enforce_rules(query: Query, entity: EntitySet) -> None:
    """Exact's per-endpoint rules: mandatory filtering, restricted filters, required $select."""
    if entity.select_required and query.select is None:
        raise bad_request(assumptions.SELECT_REQUIRED_MESSAGE)
    if entity.select_or_top_required and query.select is None and query.top != 1:
        raise bad_request("Please add a $select or a $top=1 statement to the query string.")
    if entity.filterable is not None:
        refused = sorted(query.filter_fields - entity.filterable)
        if refused:
            raise bad_request(f"Filtering on these fields is not supported: {', '.join(refused)}.")
    if entity.mandatory_filter is not None and not (query.filter_fields & entity.mandatory_filter):
        raise bad_request(
            "This endpoint has mandatory filtering applied. A GET request for this endpoint must "
            "have a $filter parameter with one of the following fields in the url: "
            f"{', '.join(sorted(entity.mandatory_filter))}."
        )


# -- Ordering and keyset paging ---------------------------------------------------------------


@functools.total_ordering
class _Descending:
    __slots__ = ("inner",)

    def __init__(self, inner: tuple[bool, object]) -> None:
        self.inner = inner

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.inner == other.inner

    def __lt__(self, other: _Descending) -> bool:
        return other.inner < self.inner

    def __hash__(self) -> int:
        return hash(self.inner)


def _sortable(value: Value) -> tuple[bool, object]:
    # Nulls sort first; strings in the collation $filter uses; GUIDs by their integer, which
    # compares far faster than uuid.UUID objects do.
    if value is None:
        return (False, 0)
    if isinstance(value, str):
        return (True, assumptions.collate(value))
    if isinstance(value, uuid.UUID):
        return (True, value.int)
    return (True, value)


@dataclass(frozen=True)
class Page:
    rows: list[Record]
    next_token: str | None
    next_top: int | None
    count: int | None


def order_fields(query: Query, entity: EntitySet) -> list[tuple[str, bool]]:
    """The row order; it ends in a unique field so a $skiptoken points at one row."""
    if not query.orderby:
        # The key, or the sync Timestamp (unique, a rowversion).
        return [(entity.sort_field, False)]
    fields = list(query.orderby)
    if all(name != entity.key for name, _ in fields):
        fields.append((entity.key, False))
    return fields


def _sort_key(values: Sequence[Value], order: Sequence[tuple[str, bool]]) -> tuple[object, ...]:
    key: list[object] = []
    for value, (_, descending) in zip(values, order, strict=True):
        if descending:
            key.append(_Descending(_sortable(value)))
        else:
            key.extend(_sortable(value))
    return tuple(key)


def _keyed(rows: list[Record], order: Sequence[tuple[str, bool]]) -> list[tuple[Any, Record]]:
    if len(order) == 1 and not order[0][1]:
        # The usual case (key or Timestamp order): the same key, built far cheaper.
        name = order[0][0]
        return [(_sortable(row.get(name)), row) for row in rows]
    return [(_sort_key([row.get(name) for name, _ in order], order), row) for row in rows]


def paginate(rows: list[Record], query: Query, entity: EntitySet, page_size: int) -> Page:
    if query.predicate is not None:
        predicate = query.predicate
        rows = [row for row in rows if predicate(row)]
    count = len(rows) if query.inlinecount else None
    order = order_fields(query, entity)
    keyed = sorted(_keyed(rows, order), key=lambda pair: pair[0])
    start = query.skip
    if query.skiptoken is not None:
        if len(query.skiptoken) != len(order):
            raise bad_request(f"Invalid $skiptoken '{query.params.get('$skiptoken')}'.")
        keys = [key for key, _ in keyed]
        start = bisect.bisect_right(keys, _sort_key(query.skiptoken, order))
    remaining = keyed[start:]
    take = page_size if query.top is None else min(page_size, query.top)
    page = [row for _, row in remaining[:take]]
    left_after = None if query.top is None else query.top - len(page)
    # A full page always links to the next, even when nothing is left: after an exact multiple
    # of the page size the client makes one more call and gets an empty page (docs/sandbox.md).
    full = len(page) == page_size
    more = (len(remaining) > len(page) or full) and (left_after is None or left_after > 0)
    token = None
    if more and page:
        token = ",".join(literal(page[-1].get(name)) for name, _ in order)
    return Page(page, token, left_after, count)


def next_link(base_path: str, query: Query, page: Page) -> str | None:
    if page.next_token is None:
        return None
    parts = [
        f"{name}={_quote(query.params[name])}" for name in CARRIED_OPTIONS if name in query.params
    ]
    if page.next_top is not None:
        parts.append(f"$top={page.next_top}")
    parts.append(f"$skiptoken={_quote(page.next_token)}")
    return f"{base_path}?{'&'.join(parts)}"


def _quote(value: str) -> str:
    return quote(value, safe="$'(),:*/")


def selected(query: Query, entity: EntitySet) -> tuple[list[str], list[str]]:
    """(fields, navigation properties) to write for each row."""
    if query.select is None or "*" in query.select:
        return list(entity.fields), list(entity.navigations)
    fields = [name for name in query.select if name in entity.fields]
    navigations = [name for name in query.select if name in entity.navigations]
    navigations += [name for name in query.expand if name not in navigations]
    return fields, navigations
