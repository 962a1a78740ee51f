"""Master-data import (docs/architecture.md §Master data): Exact's divisions and, per division,
journals, GL accounts, VAT codes, cost centers, cost units and accounts, into the read-only cache.

Few calls: GL accounts and accounts come from `sync/` endpoints with a Timestamp cursor (1,000
rows a page; removals from `sync/Deleted`), the small lists from their plain endpoints with a
narrow `$select`. A division whose DivisionMoveDate changed is imported in full again (Exact
restarts its timestamps after a move). Every run leaves one SyncRun row per division and entity.
A division Exact refuses is marked with the reason and the others carry on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, delete, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from exact_tui.domain.states import MappingKind
from exact_tui.domain.text import clean_line, cut
from exact_tui.domain.vat import normalise_vat
from exact_tui.exact import odata
from exact_tui.exact.errors import AccessDenied, ExactError, Fenced, ReconnectNeeded
from exact_tui.exact.http import ExactClient
from exact_tui.exact.odata import Query
from exact_tui.services.admin.mappings import target_problem
from exact_tui.services.clock import Clock, SystemClock
from exact_tui.services.target_rows import MAPPING_TABLES, row_by_code
from exact_tui.services.worker import Lanes, SyncInterrupted, SyncRequestInfo
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    CostCenter,
    CostUnit,
    Division,
    ExactAccount,
    GLAccount,
    Journal,
    SyncRun,
    SyncState,
    VATCode,
    width,
)
from exact_tui.store.models import Mapping as MappingRow
from exact_tui.store.scoping import tenant_key, tenant_of

log = logging.getLogger("exact_tui.sync")

#: sync/Deleted EntityType values (docs/exact-api.md §Sync and bulk).
ENTITY_TYPE_ACCOUNTS = 2
ENTITY_TYPE_GL_ACCOUNTS = 7
#: Where a first sync starts (Exact: "first call Timestamp gt 1").
FIRST_TIMESTAMP = 1
_CHUNK = 500


def _guid(value: Any) -> str:
    return str(value).lower()


def _int(value: Any, default: int = 0) -> int:
    return default if value is None else int(value)


def _date(value: Any) -> dt.date | None:
    return odata.as_date(value)


def _moment(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    return None


@dataclass(frozen=True)
class Entity:
    """One kind of master data: where it comes from and how a row of it is stored."""

    name: str
    model: type[Any]
    path: str
    select: tuple[str, ...]
    convert: Callable[[int, Mapping[str, Any]], dict[str, Any]]
    #: Read incrementally from a sync endpoint with a Timestamp cursor.
    incremental: bool = False
    deleted_type: int | None = None

    @property
    def table(self) -> Table:
        return self.model.__table__  # type: ignore[no-any-return]


def _coded(division: int, row: Mapping[str, Any], *, code_width: int) -> dict[str, Any]:
    """The fields every cached list of Exact's has: division, ID, code and description."""
    return {
        "division": division,
        "id": _guid(row["ID"]),
        "code": clean_line(row.get("Code"), code_width) or "",
        "description": clean_line(row.get("Description"), 200) or "",
    }


def _journal(division: int, row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **_coded(division, row, code_width=20),
        "type": _int(row.get("Type")),
        "gl_account": _guid(row["GLAccount"]) if row.get("GLAccount") else None,
        "bank_account_iban": clean_line(row.get("BankAccountIBAN"), 34),
        "currency": clean_line(row.get("Currency"), 3),
        "allow_vat": bool(row.get("AllowVAT")),
        "is_blocked": bool(row.get("IsBlocked")),
    }


def _gl_account(division: int, row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **_coded(division, row, code_width=20),
        "type": _int(row.get("Type")),
        "balance_type": clean_line(row.get("BalanceType"), 1),
        "balance_side": clean_line(row.get("BalanceSide"), 1),
        "use_costcenter": _int(row.get("UseCostcenter")),
        "use_costunit": _int(row.get("UseCostunit")),
        "vat_code": clean_line(row.get("VATCode"), 10),
        "is_blocked": bool(row.get("IsBlocked")),
    }


def _vat_code(division: int, row: Mapping[str, Any]) -> dict[str, Any]:
    percentage = odata.as_decimal(row.get("Percentage")) or Decimal(0)
    return {
        # Exact pads VAT codes ("2  "); entries reference them trimmed.
        **_coded(division, row, code_width=10),
        "percentage": percentage,
        "type": clean_line(row.get("Type"), 1),
        "transaction_type": clean_line(row.get("VATTransactionType"), 1),
        "is_blocked": bool(row.get("IsBlocked")),
    }


def _cost(division: int, row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **_coded(division, row, code_width=20),
        # Usable while EndDate is empty or still ahead: Exact documents no Active flag on cost
        # units and marks it obsolete on cost centers (docs/sandbox.md).
        "end_date": _date(row.get("EndDate")),
    }


def _account(division: int, row: Mapping[str, Any]) -> dict[str, Any]:
    country = clean_line(row.get("Country"), 3)
    vat_number = clean_line(row.get("VATNumber"), 40)
    return {
        "division": division,
        "id": _guid(row["ID"]),
        # Exact right-aligns codes in 18 characters; the cache keeps them trimmed.
        "code": clean_line(row.get("Code"), 18),
        "search_code": clean_line(row.get("SearchCode"), 64),
        "name": clean_line(row.get("Name"), 200) or "",
        "vat_number": vat_number,
        "vat_normalised": normalise_vat(vat_number, country),
        "status": clean_line(row.get("Status"), 1),
        "address_line": clean_line(row.get("AddressLine1"), 200),
        "postcode": clean_line(row.get("Postcode"), 20),
        "city": clean_line(row.get("City"), 100),
        "country": country,
        "email": clean_line(row.get("Email"), 200),
        "phone": clean_line(row.get("Phone"), 50),
        "is_blocked": bool(row.get("Blocked")),
    }


ENTITIES: tuple[Entity, ...] = (
    Entity(
        "journals",
        Journal,
        "financial/Journals",
        ("ID", "Code", "Description", "Type", "GLAccount", "BankAccountIBAN", "Currency",
         "AllowVAT", "IsBlocked"),
        _journal,
    ),
    Entity(
        "gl_accounts",
        GLAccount,
        "sync/Financial/GLAccounts",
        ("ID", "Code", "Description", "Type", "BalanceType", "BalanceSide", "UseCostcenter",
         "UseCostunit", "VATCode", "IsBlocked", "Timestamp"),
        _gl_account,
        incremental=True,
        deleted_type=ENTITY_TYPE_GL_ACCOUNTS,
    ),
    Entity(
        "vat_codes",
        VATCode,
        "vat/VATCodes",
        ("ID", "Code", "Description", "Percentage", "Type", "VATTransactionType", "IsBlocked"),
        _vat_code,
    ),
    Entity("cost_centers", CostCenter, "hrm/Costcenters",
           ("ID", "Code", "Description", "EndDate"), _cost),
    Entity("cost_units", CostUnit, "hrm/Costunits",
           ("ID", "Code", "Description", "EndDate"), _cost),
    Entity(
        "accounts",
        ExactAccount,
        "sync/CRM/Accounts",
        ("ID", "Code", "SearchCode", "Name", "VATNumber", "Status", "AddressLine1", "Postcode",
         "City", "Country", "Email", "Phone", "Blocked", "Timestamp"),
        _account,
        incremental=True,
        deleted_type=ENTITY_TYPE_ACCOUNTS,
    ),
)  # fmt: skip
DELETED = "deleted"
#: Triggers that try divisions Exact refused before (consent may have changed).
RETRY_REFUSED_ON = frozenset({"initial", "daily"})
DIVISIONS = "divisions"
_BY_DELETED_TYPE = {e.deleted_type: e for e in ENTITIES if e.deleted_type is not None}


@dataclass
class EntityRun:
    division: int | None
    entity: str
    full: bool = False
    read: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    calls: int = 0
    duration_ms: int = 0
    error: str | None = None


@dataclass
class DivisionResult:
    division: int
    runs: list[EntityRun] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(run.error is None for run in self.runs)

    def summary(self) -> str:
        if self.error:
            return f"{self.division}: {self.error}"
        changes = sum(run.added + run.changed + run.removed for run in self.runs)
        calls = sum(run.calls for run in self.runs)
        failed = [run.entity for run in self.runs if run.error]
        tail = f", failed: {', '.join(failed)}" if failed else ""
        return f"{self.division}: {changes} change(s) in {calls} call(s){tail}"


@dataclass(frozen=True)
class StaleMapping:
    division: int
    kind: str
    platform_code: str
    exact_code: str
    problem: str


class MasterDataImporter:
    """Imports master data; one instance serves one worker (implements the worker's
    `SyncRunner`)."""

    def __init__(
        self,
        store: Store,
        client: ExactClient,
        *,
        clock: Clock | None = None,
        stop: asyncio.Event | None = None,
        timezone: str = "Europe/Amsterdam",
    ) -> None:
        self.store = store
        self.client = client
        self.clock = clock or SystemClock()
        #: The business time zone (`sync.timezone`): its date decides what has ended.
        self.timezone = ZoneInfo(timezone)
        #: Set when the worker is stopping: the import ends between two entities.
        self.stop = stop or asyncio.Event()

    # ---------------------------------------------------------------- the worker's entry

    async def run(self, request: SyncRequestInfo, lanes: Lanes) -> str:
        if request.division is not None:
            divisions = [request.division]
            head = ""
        else:
            # The list is read through a known division, in its lane like every call to it
            # (docs/worker.md §Several workers).
            anchor = await asyncio.to_thread(self._anchor_division)
            if anchor is None:
                divisions = await self.import_divisions()
            else:
                async with lanes.lock(anchor):
                    divisions = await self.import_divisions()
            head = f"{len(divisions)} division(s); "
            if request.trigger not in RETRY_REFUSED_ON:
                # Each call to a division Exact refuses costs one of the hourly error budget:
                # a manual import skips them; the initial and daily imports try them again.
                refused = await asyncio.to_thread(self._refused_divisions)
                skipped = [d for d in divisions if d in refused]
                divisions = [d for d in divisions if d not in refused]
                if skipped:
                    head += f"skipped without access: {', '.join(map(str, skipped))}; "
        outcomes = await asyncio.gather(
            *(self._in_lane(lanes, division, request.trigger) for division in divisions),
            return_exceptions=True,
        )
        # Every division has ended (none is left running); then the first failure counts.
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        results = [o for o in outcomes if isinstance(o, DivisionResult)]
        today = self.clock.now().astimezone(self.timezone).date()
        stale = await asyncio.to_thread(stale_mappings, self.store, today=today)
        tail = f"; {len(stale)} mapping(s) point at something deleted or blocked" if stale else ""
        return head + "; ".join(result.summary() for result in results) + tail

    async def _in_lane(self, lanes: Lanes, division: int, trigger: str) -> DivisionResult:
        async with lanes.lock(division):
            return await self.import_division(division, trigger=trigger)

    # ---------------------------------------------------------------- divisions

    async def import_divisions(self, trigger: str = "manual") -> list[int]:
        """`system/Divisions`: every division the user can access, upserted; returns their
        numbers. Any division number works in this URL (docs/exact-api.md §Divisions)."""
        started = time.perf_counter()
        run = EntityRun(None, DIVISIONS, full=True)
        anchor = await asyncio.to_thread(self._anchor_division)
        before = self.client.calls[0] + self.client.calls[anchor or 0]
        try:
            if anchor is None:
                anchor = int((await self.client.current_me())["CurrentDivision"])
                before = self.client.calls[0]
            rows = await self.client.get_all(
                anchor,
                "system/Divisions",
                Query(
                    select=("Code", "Description", "Hid", "Country", "Currency", "Legislation",
                            "Status", "BlockingStatus", "IsMainDivision", "VATNumber",
                            "DivisionMoveDate"),
                ),
            )  # fmt: skip
        except ExactError as exc:
            run.error = exc.message
            run.calls = self.client.calls[0] + self.client.calls[anchor or 0] - before
            run.duration_ms = int((time.perf_counter() - started) * 1000)
            await asyncio.to_thread(self._record, [run], self.clock.now())
            raise
        run.calls = self.client.calls[0] + self.client.calls[anchor] - before
        run.read = len(rows)
        now = self.clock.now()
        run.added, run.changed = await asyncio.to_thread(self._save_divisions, rows, now)
        run.duration_ms = int((time.perf_counter() - started) * 1000)
        await asyncio.to_thread(self._record, [run], now)
        return sorted(int(row["Code"]) for row in rows)

    def _refused_divisions(self) -> set[int]:
        with self.store.read() as session:
            return set(
                session.exec(select(Division.code).where(col(Division.accessible).is_(False)))
            )

    def _anchor_division(self) -> int | None:
        with self.store.read() as session:
            return session.exec(
                select(Division.code).where(col(Division.accessible)).order_by(col(Division.code))
            ).first()

    def _save_divisions(
        self, rows: Sequence[Mapping[str, Any]], now: dt.datetime
    ) -> tuple[int, int]:
        added = changed = 0
        with self.store.write() as session:
            for row in rows:
                code = int(row["Code"])
                hid = row.get("Hid")
                values: dict[str, Any] = {
                    "description": clean_line(row.get("Description"), 200) or str(code),
                    "hid": int(hid) if hid not in (None, "") else None,
                    "country": clean_line(row.get("Country"), 3),
                    "currency": clean_line(row.get("Currency"), 3),
                    "legislation": clean_line(row.get("Legislation"), 10),
                    "status": _int(row.get("Status"), 1),
                    "blocking_status": _int(row.get("BlockingStatus")),
                    "is_main": bool(row.get("IsMainDivision")),
                    "vat_number": clean_line(row.get("VATNumber"), 40),
                    "move_date": _moment(row.get("DivisionMoveDate")),
                }
                existing = session.get(Division, tenant_key(session, code))
                if existing is None:
                    session.add(Division(code=code, imported_at=now, **values))
                    added += 1
                    continue
                if any(getattr(existing, k) != v for k, v in values.items()):
                    changed += 1
                for key, value in values.items():
                    setattr(existing, key, value)
                existing.imported_at = now
                session.add(existing)
        return added, changed

    # ---------------------------------------------------------------- one division

    async def import_division(self, division: int, *, trigger: str = "manual") -> DivisionResult:
        """Every entity of one division; stops at the first refusal of access (each further
        call would only spend the error budget) and on a lost connection (raised)."""
        result = DivisionResult(division)
        full = await asyncio.to_thread(self._needs_full, division)
        for entity in ENTITIES:
            if self.stop.is_set():
                # Each entity is written with its cursor, so stopping here leaves the cache
                # consistent; the request is taken again by the next run.
                await asyncio.to_thread(self._record, result.runs, self.clock.now())
                raise SyncInterrupted(f"stopped in division {division}")
            run = await self._import_entity(division, entity, full=full)
            result.runs.append(run)
            if run.error is not None and run.entity == "stop":
                break
        if not any(r.error for r in result.runs):
            if full:
                # Everything up to the highest timestamp seen is in the cache, so removals
                # are read from there on (a division's rowversion is shared by its tables).
                await asyncio.to_thread(self._start_deleted_cursor, division)
            else:
                result.runs.append(await self._import_deleted(division))
        now = self.clock.now()
        await asyncio.to_thread(self._record, result.runs, now)
        denied = next((r for r in result.runs if r.error and r.entity == "stop"), None)
        if denied is not None:
            result.runs.remove(denied)
            result.error = denied.error
        else:
            await asyncio.to_thread(self._mark_accessible, division)
        return result

    def _needs_full(self, division: int) -> bool:
        """A first import, or the division moved since the cursors were taken."""
        with self.store.read() as session:
            info = session.get(Division, tenant_key(session, division))
            states = {
                s.entity: s
                for s in session.exec(select(SyncState).where(col(SyncState.division) == division))
            }
        needed = [e.name for e in ENTITIES if e.incremental] + [DELETED]
        if any(states.get(name) is None or states[name].last_timestamp is None for name in needed):
            return True
        move = info.move_date if info else None
        return any(states[name].move_date != move for name in needed)

    async def _import_entity(self, division: int, entity: Entity, *, full: bool) -> EntityRun:
        started = time.perf_counter()
        run = EntityRun(division, entity.name, full=full or not entity.incremental)
        before = self.client.calls[division]
        cursor = (
            FIRST_TIMESTAMP
            if full
            else await asyncio.to_thread(self._cursor, division, entity.name)
        )
        query = Query(select=entity.select)
        if entity.incremental:
            query = Query(
                select=entity.select,
                filter=odata.compare("Timestamp", "gt", odata.int64(cursor or FIRST_TIMESTAMP)),
            )
        try:
            rows = await self.client.get_all(division, entity.path, query)
        except (ReconnectNeeded, Fenced):
            # Fenced: the division moved to another worker; the worker queues the import again.
            raise
        except AccessDenied as exc:
            run.error = exc.message
            run.entity = "stop"
            await asyncio.to_thread(self._deny, division, exc.message)
        except ExactError as exc:
            run.error = exc.message
        else:
            run.read = len(rows)
            converted = [entity.convert(division, row) for row in rows]
            highest = max(
                (int(row["Timestamp"]) for row in rows if row.get("Timestamp")), default=None
            )
            replace = run.full
            run.added, run.changed, run.removed = await asyncio.to_thread(
                self._apply, division, entity, converted, replace
            )
            if entity.incremental:
                await asyncio.to_thread(self._save_cursor, division, entity.name, highest, full)
        run.calls = self.client.calls[division] - before
        run.duration_ms = int((time.perf_counter() - started) * 1000)
        return run

    async def _import_deleted(self, division: int) -> EntityRun:
        """Removals since the cursor, for the incremental entities (one call when none)."""
        started = time.perf_counter()
        run = EntityRun(division, DELETED)
        before = self.client.calls[division]
        cursor = await asyncio.to_thread(self._cursor, division, DELETED)
        try:
            rows = await self.client.get_all(
                division,
                "sync/Deleted",
                Query(
                    select=("EntityKey", "EntityType", "Timestamp"),
                    filter=odata.compare("Timestamp", "gt", odata.int64(cursor or FIRST_TIMESTAMP)),
                ),
            )
        except (ReconnectNeeded, Fenced):
            # Fenced: the division moved to another worker; the worker queues the import again.
            raise
        except ExactError as exc:
            run.error = exc.message
        else:
            highest = max(
                (int(row["Timestamp"]) for row in rows if row.get("Timestamp")), default=None
            )
            run.read = len(rows)
            run.removed = await asyncio.to_thread(self._remove, division, rows)
            await asyncio.to_thread(self._save_cursor, division, DELETED, highest, False)
        run.calls = self.client.calls[division] - before
        run.duration_ms = int((time.perf_counter() - started) * 1000)
        return run

    # ---------------------------------------------------------------- the store side

    def _cursor(self, division: int, entity: str) -> int | None:
        with self.store.read() as session:
            state = session.get(SyncState, tenant_key(session, division, entity))
            return state.last_timestamp if state else None

    def _save_cursor(self, division: int, entity: str, highest: int | None, full: bool) -> None:
        """Move the cursor to the highest timestamp seen; a full import sets it outright (after
        a division move Exact's timestamps restart lower)."""
        now = self.clock.now()
        with self.store.write() as session:
            info = session.get(Division, tenant_key(session, division))
            state = session.get(SyncState, tenant_key(session, division, entity)) or SyncState(
                division=division, entity=entity
            )
            if full:
                state.last_timestamp = highest or FIRST_TIMESTAMP
                state.last_full_at = now
            elif highest is not None:
                state.last_timestamp = max(state.last_timestamp or FIRST_TIMESTAMP, highest)
            elif state.last_timestamp is None:
                state.last_timestamp = FIRST_TIMESTAMP
            state.move_date = info.move_date if info else None
            state.last_run_at = now
            session.add(state)

    def _start_deleted_cursor(self, division: int) -> None:
        incremental = [e.name for e in ENTITIES if e.incremental]
        with self.store.read() as session:
            marks = [
                state.last_timestamp
                for state in session.exec(
                    select(SyncState)
                    .where(col(SyncState.division) == division)
                    .where(col(SyncState.entity).in_(incremental))
                )
                if state.last_timestamp is not None
            ]
        self._save_cursor(division, DELETED, max(marks, default=FIRST_TIMESTAMP), True)

    def _apply(
        self, division: int, entity: Entity, rows: list[dict[str, Any]], replace: bool
    ) -> tuple[int, int, int]:
        """Upsert `rows`; with `replace`, also remove what Exact no longer has. Core statements,
        so each names the tenant (store/scoping.py)."""
        table = entity.table
        columns = [c.name for c in table.columns]
        with self.store.write() as session:
            tenant = tenant_of(session)
            rows = [{**r, "tenant_id": tenant} for r in rows]
            mine = (table.c.tenant_id == tenant, table.c.division == division)
            existing = {
                row.id: tuple(getattr(row, c) for c in columns)
                for row in session.execute(sa_select(*table.columns).where(*mine))
            }
            new = [r for r in rows if r["id"] not in existing]
            changed = [
                r for r in rows
                if r["id"] in existing and tuple(r[c] for c in columns) != existing[r["id"]]
            ]  # fmt: skip
            removed: list[str] = []
            if replace:
                seen = {r["id"] for r in rows}
                removed = [key for key in existing if key not in seen]
            if new:
                session.execute(insert(table), new)
            for row in changed:
                session.execute(
                    update(table)
                    .where(*mine, table.c.id == row["id"])
                    .values(
                        **{k: v for k, v in row.items() if k not in ("tenant_id", "division", "id")}
                    )
                )
            for start in range(0, len(removed), _CHUNK):
                chunk = removed[start : start + _CHUNK]
                session.execute(delete(table).where(*mine, table.c.id.in_(chunk)))
        return len(new), len(changed), len(removed)

    def _remove(self, division: int, rows: Iterable[Mapping[str, Any]]) -> int:
        removed = 0
        by_type: dict[int, list[str]] = {}
        for row in rows:
            entity_type = _int(row.get("EntityType"))
            if entity_type in _BY_DELETED_TYPE and row.get("EntityKey"):
                by_type.setdefault(entity_type, []).append(_guid(row["EntityKey"]))
        with self.store.write() as session:
            tenant = tenant_of(session)
            for entity_type, keys in by_type.items():
                table = _BY_DELETED_TYPE[entity_type].table
                for start in range(0, len(keys), _CHUNK):
                    chunk = keys[start : start + _CHUNK]
                    result = session.execute(
                        delete(table).where(
                            table.c.tenant_id == tenant,
                            table.c.division == division,
                            table.c.id.in_(chunk),
                        )
                    )
                    removed += result.rowcount or 0  # type: ignore[attr-defined]
        return removed

    def _deny(self, division: int, reason: str) -> None:
        with self.store.write() as session:
            row = session.get(Division, tenant_key(session, division))
            if row is not None:
                row.accessible = False
                row.access_reason = cut(reason, width(Division.access_reason))
                session.add(row)

    def _mark_accessible(self, division: int) -> None:
        with self.store.write() as session:
            row = session.get(Division, tenant_key(session, division))
            if row is not None and not row.accessible:
                row.accessible = True
                row.access_reason = None
                session.add(row)

    def _record(self, runs: Sequence[EntityRun], now: dt.datetime) -> None:
        with self.store.write() as session:
            for run in runs:
                session.add(
                    SyncRun(
                        division=run.division,
                        entity=run.entity if run.entity != "stop" else "access",
                        trigger="sync",
                        full=run.full,
                        read=run.read,
                        started_at=now - dt.timedelta(milliseconds=run.duration_ms),
                        finished_at=now,
                        added=run.added,
                        changed=run.changed,
                        removed=run.removed,
                        calls=run.calls,
                        duration_ms=run.duration_ms,
                        error=cut(run.error, width(SyncRun.error)) or None,
                    )
                )


def stale_mappings(
    store: Store, division: int | None = None, *, today: dt.date
) -> list[StaleMapping]:
    """Mappings whose Exact target no longer fits (domain/targets.py): gone from the cache,
    blocked, of the wrong kind, or past its end date (`today`: the business time zone's date)."""
    stale: list[StaleMapping] = []
    with store.read() as session:
        query = select(MappingRow)
        if division is not None:
            query = query.where(col(MappingRow.division) == division)
        for mapping in session.exec(query).all():
            kind = MappingKind(mapping.kind)
            target = row_by_code(
                session, MAPPING_TABLES[kind], mapping.division, mapping.exact_code
            )
            problem = target_problem(kind, target, today)
            if problem:
                stale.append(
                    StaleMapping(
                        mapping.division,
                        kind.value,
                        mapping.platform_code,
                        mapping.exact_code,
                        problem,
                    )
                )
    return stale
