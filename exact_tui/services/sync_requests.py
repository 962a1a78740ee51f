"""Asking for a master-data import ("Retrieve data"): the console and the CLI write a request;
the worker picks it up. Also what a waiting caller reads back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import col, select

from exact_tui.services import audit
from exact_tui.services.audit import Actor
from exact_tui.store.engine import Store
from exact_tui.store.models import Division, SyncRequest, SyncRun
from exact_tui.store.scoping import tenant_key


class SyncRefused(Exception):
    """The request was not written; the message says why."""


@dataclass(frozen=True)
class RunLine:
    division: int | None
    entity: str
    read: int
    added: int
    changed: int
    removed: int
    calls: int
    error: str | None


@dataclass(frozen=True)
class SyncRequestView:
    id: int
    division: int | None
    state: str
    requested_at: dt.datetime
    picked_at: dt.datetime | None
    finished_at: dt.datetime | None
    result: str | None
    runs: list[RunLine]

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")


def request_sync(store: Store, actor: Actor, division: int | None = None) -> int:
    """Queue an import of every division, or of one known division; returns the request id.
    A request already waiting for the same scope is reused rather than queued twice."""
    with store.write() as session:
        if division is not None and session.get(Division, tenant_key(session, division)) is None:
            known = ", ".join(str(c) for c in session.exec(select(Division.code))) or "none yet"
            raise SyncRefused(
                f"division {division} is not known (known: {known}); "
                "import all divisions first with `exact-tui sync`"
            )
        waiting = session.exec(
            select(SyncRequest)
            .where(SyncRequest.state == "pending")
            .where(SyncRequest.division == division)
            .order_by(col(SyncRequest.id))
        ).first()
        if waiting is not None:
            assert waiting.id is not None
            request_id = waiting.id
        else:
            request = SyncRequest(division=division, trigger="manual", requested_by=actor.name)
            session.add(request)
            session.flush()
            assert request.id is not None
            request_id = request.id
        audit.record(
            session,
            actor,
            "sync",
            target=f"division {division}" if division is not None else "all divisions",
            detail={"request": request_id},
        )
    return request_id


def sync_request(store: Store, request_id: int) -> SyncRequestView:
    with store.read() as session:
        request = session.get(SyncRequest, request_id)
        if request is None:
            raise SyncRefused(f"no sync request {request_id}")
        runs: list[RunLine] = []
        if request.picked_at is not None:
            query = select(SyncRun).where(col(SyncRun.finished_at) >= request.picked_at)
            if request.finished_at is not None:
                query = query.where(col(SyncRun.finished_at) <= request.finished_at)
            if request.division is not None:
                query = query.where(col(SyncRun.division) == request.division)
            runs = [
                RunLine(
                    run.division,
                    run.entity,
                    run.read,
                    run.added,
                    run.changed,
                    run.removed,
                    run.calls,
                    run.error,
                )
                for run in session.exec(query.order_by(col(SyncRun.id)))
            ]
        assert request.id is not None
        return SyncRequestView(
            id=request.id,
            division=request.division,
            state=request.state,
            requested_at=request.requested_at,
            picked_at=request.picked_at,
            finished_at=request.finished_at,
            result=request.result,
            runs=runs,
        )
