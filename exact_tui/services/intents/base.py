"""What every operator intent shares; the intents themselves live by feature beside it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from exact_tui.domain.states import Category, JobState
from exact_tui.domain.transitions import requeued
from exact_tui.services import audit, job_state
from exact_tui.services.audit import Actor
from exact_tui.services.clock import Clock, SystemClock
from exact_tui.store.engine import Store
from exact_tui.store.models import Division, ExportJob
from exact_tui.store.scoping import tenant_key


class IntentRefused(Exception):
    """The intent was refused; nothing changed. The message says why, for the operator."""


@dataclass(frozen=True)
class IntentResult:
    """What an intent did, in words, and the jobs it moved."""

    message: str
    #: Jobs moved back to pending.
    requeued: int = 0
    #: Unknown (or duplicate) jobs that will be looked up in Exact first.
    lookups: int = 0
    #: Jobs a retry left as they were (posted, in flight, already pending, history).
    unchanged: int = 0


class IntentBase:
    """What every intent shares: the store, who acts and the clock; one write transaction
    per intent; finding the jobs a change unblocks and moving them back to pending."""

    def __init__(
        self,
        store: Store,
        actor: Actor,
        *,
        clock: Clock | None = None,
        timezone: str = "Europe/Amsterdam",
    ) -> None:
        self.store = store
        self.actor = actor
        self.clock: Clock = clock or SystemClock()
        #: The business time zone (`sync.timezone`): its date decides what has ended.
        self.timezone = ZoneInfo(timezone)

    def today(self) -> dt.date:
        return self.clock.now().astimezone(self.timezone).date()

    @contextmanager
    def _writing(self, action: str, target: str) -> Iterator[Session]:
        """One write transaction for an intent; a refusal raised inside rolls it back whole
        and is audited on its own afterwards."""
        try:
            with self.store.write() as session:
                yield session
        except IntentRefused as refused:
            with self.store.write() as session:
                audit.record(
                    session, self.actor, action, target=target, result=f"refused: {refused}"
                )
            raise

    def _requeue(self, session: Session, jobs: Iterable[ExportJob], why: str) -> int:
        """Back to pending, to be routed and checked again by the worker (the binding or
        mapping that blocked them may have changed, or another may be missing now)."""
        now = self.clock.now()
        moved = 0
        for job in jobs:
            job_state.apply(session, job, requeued(why), now=now)
            moved += 1
        return moved

    def _unblock(
        self,
        session: Session,
        why: str,
        *,
        division: int | None,
        categories: Sequence[Category],
        kinds: Sequence[str],
        code: str | None = None,
    ) -> int:
        """The jobs waiting on what was just saved, back to pending; how many."""
        blocked = self._blocked(
            session, division=division, categories=categories, kinds=kinds, code=code
        )
        return self._requeue(session, blocked, why)

    def _blocked(
        self,
        session: Session,
        *,
        division: int | None,
        categories: Sequence[Category],
        kinds: Sequence[str],
        code: str | None = None,
    ) -> list[ExportJob]:
        """needs_mapping jobs waiting on one of `kinds` of missing key (with `code`, that key)."""
        query = select(ExportJob).where(
            col(ExportJob.state) == JobState.NEEDS_MAPPING,
            col(ExportJob.category).in_(categories),
        )
        if division is not None:
            query = query.where(col(ExportJob.division) == division)
        return [
            job
            for job in session.exec(query)
            if any(
                item.get("kind") in kinds and (code is None or item.get("code") == code)
                for item in (job.missing or [])
            )
        ]

    def _division(self, session: Session, division: int) -> Division:
        row = session.get(Division, tenant_key(session, division))
        if row is None:
            raise IntentRefused(
                f"division {division} is not among the imported divisions (run `exact-tui sync`)"
            )
        return row
