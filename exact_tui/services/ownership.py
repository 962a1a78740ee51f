"""Which worker serves which division, when several share one store
(docs/worker.md §Several workers).

A division is known everywhere in the worker by its `DivisionKey`, (tenant_id, division): two
tenants may both have a division 101, and they share nothing (lease, lane, budget, rate state).
A division is served only by the worker holding its lease, a row of `division_lease`: taken by
one conditional statement (free, or run out), renewed with each heartbeat, released by its owner
when it stops or holds more than its share. A worker is alive while its heartbeat is younger
than the lease; the share is the busy divisions divided among the live workers, rounded up, so
none hoards while others are alive, and a dead or stopped worker's divisions are taken by the
others within the lease and one heartbeat.

`division_lease` is global (not scoped to a tenant): every statement here names the tenant.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, false, insert, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from exact_tui.store.models import (
    DivisionLease,
    ExportJob,
    ReconcileRun,
    SyncRequest,
    WorkerHeartbeat,
)

RUNNING = "running"

#: A division of one tenant: (tenant_id, division).
DivisionKey = tuple[int, int]


@dataclass(frozen=True)
class Lease:
    division: DivisionKey
    owner: str | None
    expires_at: dt.datetime | None

    def free(self, now: dt.datetime) -> bool:
        return self.owner is None or self.expires_at is None or self.expires_at < now


def fair_share(busy: int, live: int) -> int:
    """The most busy divisions one worker holds while `live` workers are alive."""
    return math.ceil(busy / max(live, 1))


def live_workers(session: Session, now: dt.datetime, lease_seconds: float) -> list[str]:
    """Workers whose heartbeat says running and is younger than the lease, from any host."""
    since = now - dt.timedelta(seconds=lease_seconds)
    return list(
        session.exec(
            select(WorkerHeartbeat.worker_id)
            .where(col(WorkerHeartbeat.state) == RUNNING)
            .where(col(WorkerHeartbeat.beat_at) >= since)
            .order_by(col(WorkerHeartbeat.worker_id))
        )
    )


def dead_workers(
    session: Session, now: dt.datetime, lease_seconds: float, *, within: dt.timedelta
) -> set[str]:
    """Workers that stopped or whose heartbeat went stale, among those heard of in `within`
    (older ones' claims have run out long since)."""
    stale = now - dt.timedelta(seconds=lease_seconds)
    return set(
        session.exec(
            select(WorkerHeartbeat.worker_id)
            .where(col(WorkerHeartbeat.beat_at) >= now - within)
            .where(or_(col(WorkerHeartbeat.state) != RUNNING, col(WorkerHeartbeat.beat_at) < stale))
        )
    )


def forget_gone(session: Session, before: dt.datetime) -> int:
    """Delete the heartbeats of workers not heard of since `before` that hold nothing (no
    division, no claimed job, no import or reconciliation run): a worker run by cron each
    minute would otherwise leave ten thousand rows a week. Returns how many went."""
    holders = [
        select(DivisionLease.owner).where(col(DivisionLease.owner).is_not(None)),
        select(ExportJob.lease_owner).where(col(ExportJob.lease_owner).is_not(None)),
        select(SyncRequest.picked_by).where(col(SyncRequest.picked_by).is_not(None)),
        select(ReconcileRun.picked_by).where(col(ReconcileRun.picked_by).is_not(None)),
    ]
    query = delete(WorkerHeartbeat).where(col(WorkerHeartbeat.beat_at) < before)
    for owners in holders:
        query = query.where(col(WorkerHeartbeat.worker_id).not_in(owners))
    result = session.execute(query)
    return int(result.rowcount)  # type: ignore[attr-defined]


def leases(session: Session) -> dict[DivisionKey, Lease]:
    """Every lease row, of every tenant."""
    table = {}
    for row in session.exec(select(DivisionLease)):
        key = (row.tenant_id, row.division)
        table[key] = Lease(key, row.owner, row.expires_at)
    return table


def _keyed(keys: Iterable[DivisionKey]) -> Any:
    """The condition "(tenant_id, division) is one of `keys`"."""
    pairs = sorted(set(keys))
    if not pairs:
        return false()
    return or_(
        *(
            and_(col(DivisionLease.tenant_id) == tenant, col(DivisionLease.division) == division)
            for tenant, division in pairs
        )
    )


def renew(session: Session, owner: str, now: dt.datetime, lease_seconds: float) -> set[DivisionKey]:
    """Extend every lease `owner` still holds; the divisions it holds (one lost while it
    stalled is no longer among them)."""
    session.execute(
        update(DivisionLease)
        .where(col(DivisionLease.owner) == owner)
        .values(renewed_at=now, expires_at=now + dt.timedelta(seconds=lease_seconds))
    )
    return {
        (tenant, division)
        for tenant, division in session.exec(
            select(DivisionLease.tenant_id, DivisionLease.division).where(
                col(DivisionLease.owner) == owner
            )
        )
    }


def holds(session: Session, key: DivisionKey, owner: str, now: dt.datetime) -> bool:
    """`owner` holds the division's lease now (it has not run out)."""
    row = session.get(DivisionLease, key)
    return (
        row is not None
        and row.owner == owner
        and row.expires_at is not None
        and row.expires_at >= now
    )


def take(
    session: Session, key: DivisionKey, owner: str, now: dt.datetime, lease_seconds: float
) -> bool:
    """The division's lease for `owner` if it is free (no owner, or run out) or already
    `owner`'s: one conditional statement, so of two workers taking it at once one wins."""
    tenant, division = key
    row = {"tenant_id": tenant, "division": division, "owner": None}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(postgresql.insert(DivisionLease).values(row).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite.insert(DivisionLease).values(row).on_conflict_do_nothing())
    elif session.get(DivisionLease, key) is None:
        session.execute(insert(DivisionLease).values(row))
    result = session.execute(
        update(DivisionLease)
        .where(col(DivisionLease.tenant_id) == tenant, col(DivisionLease.division) == division)
        .where(
            or_(
                col(DivisionLease.owner).is_(None),
                col(DivisionLease.owner) == owner,
                col(DivisionLease.expires_at).is_(None),
                col(DivisionLease.expires_at) < now,
            )
        )
        .values(
            owner=owner,
            taken_at=now,
            renewed_at=now,
            expires_at=now + dt.timedelta(seconds=lease_seconds),
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release(session: Session, *owners: str, divisions: Iterable[DivisionKey] | None = None) -> None:
    """Free the leases `owners` hold (all of them when `divisions` is None): an owner gives
    its own up; a dead worker's are freed by whoever found it dead."""
    query = update(DivisionLease).where(col(DivisionLease.owner).in_(owners))
    if divisions is not None:
        query = query.where(_keyed(divisions))
    session.execute(query.values(owner=None, expires_at=None))


@dataclass(frozen=True)
class Plan:
    """What a worker does with its leases after a look at the table."""

    take: list[DivisionKey]
    release: list[DivisionKey]


def plan(
    *,
    me: str,
    busy: Collection[DivisionKey],
    held: Collection[DivisionKey],
    table: dict[DivisionKey, Lease],
    live: int,
    now: dt.datetime,
) -> Plan:
    """Take free busy divisions up to the fair share; give back held idle ones and those over
    the share (the highest numbers first, so the choice is stable)."""
    share = fair_share(len(busy), live)
    mine = sorted(d for d in held if d in busy)
    release = sorted(d for d in held if d not in busy) + mine[share:]
    room = share - len(mine)
    take: list[DivisionKey] = []
    if room > 0:
        for division in sorted(busy):
            if len(take) == room:
                break
            if division in held:
                continue
            lease = table.get(division)
            if lease is None or lease.free(now) or lease.owner == me:
                take.append(division)
    return Plan(take, release)
