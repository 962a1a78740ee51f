"""Master-data changes made "in Exact" by a test or drill: accounts and GL accounts inserted,
updated, deleted or blocked, each bumping the sync Timestamp and writing sync/Deleted rows."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from datetime import datetime

from exact_tui.sandbox.errors import ApiError, bad_request
from exact_tui.sandbox.odata.types import FieldType, Record, Value
from exact_tui.sandbox.schema import ACCOUNT_FIELDS, GL_ACCOUNT_FIELDS, Source
from exact_tui.sandbox.state import (
    DivisionState,
    new_guid,
    pad_account_code,
    pad_country,
    pad_vat_code,
)
from exact_tui.sandbox.writes import account_record, convert

# Fields the sandbox maintains itself.
SYSTEM_FIELDS = frozenset({"ID", "Division", "Created", "Modified", "Timestamp"})
SCHEMAS: dict[Source, Mapping[str, FieldType]] = {
    Source.ACCOUNTS: ACCOUNT_FIELDS,
    Source.GL_ACCOUNTS: GL_ACCOUNT_FIELDS,
}


def _already_typed(kind: FieldType, value: object) -> uuid.UUID | datetime | None:
    """GUIDs and datetimes handed over from Python rather than as JSON strings."""
    if kind is FieldType.GUID and isinstance(value, uuid.UUID):
        return value
    if kind is FieldType.DATETIME and isinstance(value, datetime):
        return value
    return None


def _coerce(source: Source, changes: Mapping[str, object]) -> dict[str, Value]:
    """Values from JSON (strings for GUIDs, dates, decimals) or already typed from Python."""
    schema = SCHEMAS[source]
    out: dict[str, Value] = {}
    for name, value in changes.items():
        kind = schema.get(name)
        if kind is None or name in SYSTEM_FIELDS:
            raise bad_request(f"The field '{name}' cannot be set.")
        typed = _already_typed(kind, value)
        out[name] = typed if typed is not None else convert(name, kind, value)
    return _normalised(source, out)


def _normalised(source: Source, fields: dict[str, Value]) -> dict[str, Value]:
    if source is Source.ACCOUNTS:
        if isinstance(fields.get("Code"), str):
            fields["Code"] = pad_account_code(str(fields["Code"]))
        if isinstance(fields.get("Country"), str):
            fields["Country"] = pad_country(str(fields["Country"]).upper())
        if isinstance(fields.get("Status"), str):
            fields["IsSales"] = fields["Status"] == "C"
    elif isinstance(fields.get("VATCode"), str):
        fields["VATCode"] = pad_vat_code(str(fields["VATCode"]))
    return fields


def find(division: DivisionState, source: Source, key: str) -> Record:
    record = division.find(source, key)
    if record is None:
        raise ApiError(404, f"No record '{key}' in division {division.number}.")
    return record


def create_account(
    division: DivisionState, fields: Mapping[str, object], now: datetime, rng: random.Random
) -> Record:
    record = account_record(division, _coerce(Source.ACCOUNTS, fields), now, rng)
    return division.insert(Source.ACCOUNTS, record, now)


def create_gl_account(
    division: DivisionState, fields: Mapping[str, object], now: datetime, rng: random.Random
) -> Record:
    values = _coerce(Source.GL_ACCOUNTS, fields)
    code = values.get("Code")
    if not isinstance(code, str) or not code.strip() or not values.get("Description"):
        raise bad_request("A GL account needs a Code and a Description.")
    if not isinstance(values.get("Type"), int):
        raise bad_request("A GL account needs a Type.")
    if division.gl_by_code(code) is not None:
        raise bad_request(f"GL account code '{code}' already exists.")
    record: Record = dict.fromkeys(GL_ACCOUNT_FIELDS)
    kind = values["Type"]
    assert isinstance(kind, int)
    record.update(
        {
            "BalanceType": "B" if kind < 100 else "W",
            "BalanceSide": "C" if kind in (110, 140, 160) else "D",
            "UseCostcenter": 0,
            "UseCostunit": 0,
            "IsBlocked": False,
            "SearchCode": code,
        }
    )
    record.update(values)
    record["ID"] = new_guid(rng)
    return division.insert(Source.GL_ACCOUNTS, record, now)


def update(
    division: DivisionState, source: Source, key: str, changes: Mapping[str, object], now: datetime
) -> Record:
    record = find(division, source, key)
    values = _coerce(source, changes)
    code = values.get("Code")
    if isinstance(code, str):
        other = division.find(source, code.strip())
        if other is not None and other is not record:
            raise bad_request(f"Code '{code.strip()}' already exists.")
    return division.update(record, values, now)


def delete(
    division: DivisionState, source: Source, key: str, now: datetime, rng: random.Random
) -> Record:
    return division.delete(source, find(division, source, key), now, rng)
