"""The sandbox's books: per-division tables of records, sync timestamps and deletions."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from exact_tui.sandbox import assumptions
from exact_tui.sandbox.odata.types import Record, Value
from exact_tui.sandbox.schema import Source

# sync/Deleted EntityType values (Exact doc text via PI).
ENTITY_TYPE_ACCOUNTS = 2
ENTITY_TYPE_GL_ACCOUNTS = 7

Table = dict[uuid.UUID, Record]

# Master data that a control call may insert, update or delete, with its sync/Deleted type.
MUTABLE = {Source.ACCOUNTS: ENTITY_TYPE_ACCOUNTS, Source.GL_ACCOUNTS: ENTITY_TYPE_GL_ACCOUNTS}


def new_guid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def pad_account_code(code: str) -> str:
    """Account codes are 18 characters, right-aligned with spaces (PQ, OSSO, BVB)."""
    return f"{code.strip():>18}"


def pad_country(country: str) -> str:
    """Countries come back padded to three characters ("NL ") (NET fixture, OSSO)."""
    return f"{country.strip():<3}" if country.strip() else country


def pad_vat_code(code: str) -> str:
    return f"{code.strip():<{assumptions.VAT_CODE_WIDTH}}"


@dataclass
class DivisionState:
    number: int
    info: Record
    journals: Table = field(default_factory=dict)
    gl_accounts: Table = field(default_factory=dict)
    vat_codes: Table = field(default_factory=dict)
    vat_percentages: Table = field(default_factory=dict)
    cost_centers: Table = field(default_factory=dict)
    cost_units: Table = field(default_factory=dict)
    accounts: Table = field(default_factory=dict)
    deleted: Table = field(default_factory=dict)
    sales_entries: Table = field(default_factory=dict)
    sales_entry_lines: Table = field(default_factory=dict)
    bank_entries: Table = field(default_factory=dict)
    bank_entry_lines: Table = field(default_factory=dict)
    gj_entries: Table = field(default_factory=dict)
    gj_entry_lines: Table = field(default_factory=dict)
    # The last rowversion handed out (sync Timestamp); Exact's are large int64 values.
    timestamp: int = 0
    # Last entry number per (journal code, year).
    entry_numbers: dict[tuple[str, int], int] = field(default_factory=dict)
    used_entry_numbers: dict[str, set[int]] = field(default_factory=dict)
    closing_balances: dict[str, Decimal] = field(default_factory=dict)
    # Keys of accounts created through the REST API, for the ledger.
    api_accounts: list[uuid.UUID] = field(default_factory=list)

    @property
    def legislation(self) -> str:
        return str(self.info["Legislation"])

    @property
    def dutch(self) -> bool:
        return self.legislation in assumptions.DUTCH_LEGISLATIONS

    def table(self, source: Source) -> Table:
        tables: dict[Source, Table] = {
            Source.JOURNALS: self.journals,
            Source.GL_ACCOUNTS: self.gl_accounts,
            Source.VAT_CODES: self.vat_codes,
            Source.VAT_PERCENTAGES: self.vat_percentages,
            Source.COST_CENTERS: self.cost_centers,
            Source.COST_UNITS: self.cost_units,
            Source.ACCOUNTS: self.accounts,
            Source.DELETED: self.deleted,
            Source.SALES_ENTRIES: self.sales_entries,
            Source.SALES_ENTRY_LINES: self.sales_entry_lines,
            Source.BANK_ENTRIES: self.bank_entries,
            Source.BANK_ENTRY_LINES: self.bank_entry_lines,
            Source.GJ_ENTRIES: self.gj_entries,
            Source.GJ_ENTRY_LINES: self.gj_entry_lines,
        }
        return tables[source]

    def next_timestamp(self) -> int:
        self.timestamp += 1
        return self.timestamp

    # -- lookups by code, as entries reference them ----------------------------------------

    def journal_by_code(self, code: str) -> Record | None:
        return _by_code(self.journals, code)

    def vat_code(self, code: str) -> Record | None:
        return _by_code(self.vat_codes, code)

    def cost_center(self, code: str) -> Record | None:
        return _by_code(self.cost_centers, code)

    def cost_unit(self, code: str) -> Record | None:
        return _by_code(self.cost_units, code)

    def gl_by_code(self, code: str) -> Record | None:
        return _by_code(self.gl_accounts, code)

    def account_by_code(self, code: str) -> Record | None:
        return _by_code(self.accounts, pad_account_code(code))

    def find(self, source: Source, key: str) -> Record | None:
        """A master-data record by GUID or by (unpadded) code."""
        table = self.table(source)
        try:
            return table.get(uuid.UUID(key))
        except ValueError:
            if source is Source.ACCOUNTS:
                return self.account_by_code(key)
            return _by_code(table, key)

    # -- master-data changes made "in Exact" (control API) ---------------------------------

    def touch(self, record: Record, now: datetime) -> None:
        record["Modified"] = now
        record["Timestamp"] = self.next_timestamp()

    def insert(self, source: Source, record: Record, now: datetime) -> Record:
        record.setdefault("Created", now)
        record["Division"] = self.number
        self.touch(record, now)
        self.table(source)[_key(record)] = record
        return record

    def update(self, record: Record, changes: dict[str, Value], now: datetime) -> Record:
        record.update(changes)
        self.touch(record, now)
        return record

    def delete(self, source: Source, record: Record, now: datetime, rng: random.Random) -> Record:
        key = _key(record)
        del self.table(source)[key]
        tombstone_id = new_guid(rng)
        tombstone: Record = {
            "ID": tombstone_id,
            "EntityKey": key,
            "EntityType": MUTABLE[source],
            "DeletedBy": None,
            "DeletedDate": now,
            "Division": self.number,
            "Timestamp": self.next_timestamp(),
        }
        self.deleted[tombstone_id] = tombstone
        return tombstone

    def move(self, now: datetime, base: int) -> None:
        """A division move: DivisionMoveDate changes and every sync timestamp starts over."""
        self.info["DivisionMoveDate"] = now
        self.timestamp = base
        rows = [*self.accounts.values(), *self.gl_accounts.values(), *self.deleted.values()]
        for row in sorted(rows, key=lambda r: as_int(r["Timestamp"])):
            row["Timestamp"] = self.next_timestamp()


def as_int(value: Value) -> int:
    return value if isinstance(value, int) else 0


def _key(record: Record) -> uuid.UUID:
    key = record["ID"]
    assert isinstance(key, uuid.UUID)
    return key


def _by_code(table: Table, code: str) -> Record | None:
    wanted = assumptions.collate(code)
    for record in table.values():
        value = record.get("Code")
        if isinstance(value, str) and assumptions.collate(value) == wanted:
            return record
    return None


@dataclass
class World:
    """Everything the seed creates: the user, their divisions and the books."""

    me: Record
    divisions: dict[int, DivisionState]
    # Divisions the user consents to by default (the consent page's pre-ticked boxes).
    default_consent: frozenset[int]
    # Creator and Modifier of every record: the one user, unless a record says otherwise.
    audit_defaults: Record = field(init=False)

    def __post_init__(self) -> None:
        user, name = self.me["UserID"], self.me["FullName"]
        self.audit_defaults = {
            "Creator": user,
            "CreatorFullName": name,
            "Modifier": user,
            "ModifierFullName": name,
        }
