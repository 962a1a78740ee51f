"""The sandbox's books: per-division tables of records, sync timestamps and deletions."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator, Mapping
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


class Divisions(Mapping[int, DivisionState]):
    """Every division of the sandbox by number, each built from the seed when first read.

    A sandbox with thousands of divisions (benchmarks) builds only those a test touches; the
    same seed gives the same books whenever a division is built. `info(number)` answers a
    division's own record (what `system/Divisions` lists) without building its books.
    """

    def __init__(
        self,
        builders: Mapping[int, Callable[[], DivisionState]],
        infos: Mapping[int, Callable[[], Record]],
    ) -> None:
        self._builders = dict(builders)
        self._infos = dict(infos)
        self._built: dict[int, DivisionState] = {}
        self._info_cache: dict[int, Record] = {}

    def __getitem__(self, number: int) -> DivisionState:
        division = self._built.get(number)
        if division is None:
            division = self._builders[number]()
            self._built[number] = division
        return division

    def __contains__(self, number: object) -> bool:
        return number in self._builders

    def __iter__(self) -> Iterator[int]:
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)

    def info(self, number: int) -> Record:
        built = self._built.get(number)
        if built is not None:
            return built.info
        info = self._info_cache.get(number)
        if info is None:
            info = self._infos[number]()
            self._info_cache[number] = info
        return info

    def built(self) -> list[DivisionState]:
        """The divisions built so far (the others hold nothing but the seed)."""
        return [self._built[n] for n in self._builders if n in self._built]


def audit_fields(me: Record) -> Record:
    """Creator and Modifier of the records a user's divisions hold."""
    user, name = me["UserID"], me["FullName"]
    return {"Creator": user, "CreatorFullName": name, "Modifier": user, "ModifierFullName": name}


@dataclass
class User:
    """An Exact user: their `current/Me` record, the divisions their user card gives them
    access to, and the ones their consent page ticks by default."""

    me: Record
    divisions: tuple[int, ...]
    default_consent: frozenset[int]
    audit: Record = field(init=False)

    def __post_init__(self) -> None:
        self.audit = audit_fields(self.me)

    @property
    def name(self) -> str:
        return str(self.me["UserName"])


def user_key(name: str) -> str:
    """User names compare as Exact's logins do: without case or surrounding spaces."""
    return name.strip().lower()


@dataclass
class World:
    """Everything the seed creates: the users, their divisions and the books."""

    users: dict[str, User]  # by user_key(UserName); the first is the default user
    divisions: Divisions
    owners: dict[int, str] = field(init=False)  # division -> user key

    def __post_init__(self) -> None:
        self.owners = {number: key for key, user in self.users.items() for number in user.divisions}

    @property
    def default_user(self) -> User:
        return next(iter(self.users.values()))

    @property
    def me(self) -> Record:
        """The default user's `current/Me` record."""
        return self.default_user.me

    @property
    def default_consent(self) -> frozenset[int]:
        """The default user's pre-ticked consent."""
        return self.default_user.default_consent

    @property
    def audit_defaults(self) -> Record:
        return self.default_user.audit

    def user(self, name: str | None) -> User:
        """A user by name (any case); the default user for None; KeyError naming it."""
        if name is None:
            return self.default_user
        try:
            return self.users[user_key(name)]
        except KeyError:
            raise KeyError(f"no user {name!r} in this sandbox") from None

    def audit_for(self, division: int | None) -> Record:
        """Creator and Modifier defaults of a division's records: its user's."""
        owner = self.owners.get(division) if division is not None else None
        return self.users[owner].audit if owner is not None else self.audit_defaults
