"""OData v2 verbose JSON: entities with `__metadata`, `/Date(ms)/`, Int64 as strings, literals."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from exact_tui.sandbox.odata.types import FieldType, Record, Value

Json = dict[str, object]


_DEFAULTS: dict[FieldType, Value] = {FieldType.BOOL: False, FieldType.BYTE: 0}


def wire_value(value: Value, kind: FieldType) -> object:
    """A stored value as Exact writes it in JSON."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return f"/Date({int(value.timestamp() * 1000)})/"
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        # Edm.Double: a JSON number; two-decimal amounts survive the float round trip.
        return float(value)
    if kind is FieldType.INT64:
        return str(value)
    return value


def literal(value: Value) -> str:
    """A value as an OData URI literal (keys, $skiptoken)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, uuid.UUID):
        return f"guid'{value}'"
    if isinstance(value, datetime):
        naive = value.astimezone(UTC).replace(tzinfo=None)
        return f"datetime'{naive.isoformat()}'"
    if isinstance(value, Decimal):
        return f"{value}M"
    if isinstance(value, int):
        # Int64 literals carry the L so a Timestamp skiptoken reads like Exact's (387L).
        return f"{value}L" if abs(value) > 2**31 - 1 else str(value)
    return "'" + value.replace("'", "''") + "'"


def entity_uri(base: str, division: int | None, path: str, key: Value) -> str:
    scope = "current" if path.startswith("current/") else str(division)
    resource = path.split("/", 1)[1] if path.startswith("current/") else path
    return f"{base}/api/v1/{scope}/{resource}({literal(key)})"


def entity_json(
    record: Record,
    *,
    fields: Mapping[str, FieldType],
    select: Sequence[str],
    uri: str,
    type_name: str,
    navigations: Sequence[str] = (),
    expanded: Mapping[str, list[Json]] | None = None,
    defaults: Mapping[str, Value] | None = None,
) -> Json:
    """An entity as Exact writes it. A documented field the record does not hold gets its
    default: `defaults` (the audit fields such as Creator), false for a Boolean, 0 for a Byte
    (Exact's flags, such as IsAccountant), else null."""
    out: Json = {"__metadata": {"uri": uri, "type": type_name}}
    for name in select:
        if name in fields:
            kind = fields[name]
            if name in record:
                value = record[name]
            elif defaults is not None and name in defaults:
                value = defaults[name]
            else:
                value = _DEFAULTS.get(kind)
            out[name] = wire_value(value, kind)
    for name in navigations:
        if expanded is not None and name in expanded:
            out[name] = {"results": expanded[name]}
        else:
            out[name] = {"__deferred": {"uri": f"{uri}/{name}"}}
    return out
