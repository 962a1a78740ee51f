"""What the console may read and do, behind one plain-Python object.

The Textual app receives a `ConsoleServices` and nothing else: it never sees the store, the
Exact client or the secret store. Reads return the services' plain dataclasses. Write actions
are callables the CLI (or the demo) wires in; one left as None is not offered on screen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from zoneinfo import ZoneInfo

from exact_tui.services import export_log
from exact_tui.services.clock import Clock, SystemClock
from exact_tui.services.export_log import (
    EventPage,
    EventTail,
    FailureGroup,
    JobBrief,
    JobDetail,
    LogFilter,
)
from exact_tui.services.status import StatusReport, status_report
from exact_tui.store.engine import Store


class ActionRefused(Exception):
    """A write action that did not happen; the message says why, for the operator."""


@dataclass(frozen=True)
class ConsoleActions:
    """The console's write actions. Each returns what it did, in words for the operator, or
    raises `ActionRefused`. They write intents (the worker acts on them) and audit rows."""

    #: Ask the worker for a master-data import of every division ("Retrieve data").
    sync_now: Callable[[], str] | None = None
    pause_exports: Callable[[], str] | None = None
    resume_exports: Callable[[], str] | None = None
    #: "Unlink": delete the tokens, stop exports, status Inactive.
    disconnect: Callable[[], str] | None = None
    #: Move one failed / needs_mapping / retry_wait job back to pending.
    retry_job: Callable[[int], str] | None = None
    #: Retry every retryable job the filter matches (the worker paces them).
    retry_filtered: Callable[[LogFilter], str] | None = None
    #: Ask the worker to settle an unknown job by a lookup in Exact (never a blind re-post).
    settle_unknown: Callable[[int], str] | None = None

    def wired(self) -> frozenset[str]:
        """The names of the actions that are wired."""
        return frozenset(f.name for f in fields(self) if getattr(self, f.name) is not None)


@dataclass(frozen=True)
class DivisionChoice:
    code: int
    description: str


class ConsoleServices:
    """The console's one way to the data. Every method blocks (it reads the store): the UI
    calls them from thread workers."""

    def __init__(
        self,
        store: Store,
        *,
        error_budget: int = 8,
        timezone: str = "UTC",
        clock: Clock | None = None,
        actions: ConsoleActions | None = None,
    ) -> None:
        self._store = store
        #: The 4xx-per-hour threshold at which the worker stops calling an endpoint.
        self.error_budget = error_budget
        #: Times are shown in the business's time zone (the sync settings' one).
        self.timezone = ZoneInfo(timezone)
        self.clock: Clock = clock or SystemClock()
        self.actions = actions or ConsoleActions()

    def now(self) -> dt.datetime:
        return self.clock.now()

    def status(self) -> StatusReport:
        return status_report(self._store, now=self.clock.now())

    def divisions(self) -> list[DivisionChoice]:
        return [
            DivisionChoice(code, text) for code, text in export_log.division_choices(self._store)
        ]

    def log_page(
        self, flt: LogFilter, *, before_id: int | None = None, limit: int = 100
    ) -> EventPage:
        return export_log.log_page(self._store, flt, before_id=before_id, limit=limit)

    def log_tail(self, flt: LogFilter, after_id: int) -> EventTail:
        return export_log.log_tail(self._store, flt, after_id)

    def job_briefs(self, job_ids: Iterable[int]) -> dict[int, JobBrief]:
        return export_log.job_briefs(self._store, job_ids)

    def failure_groups(self, flt: LogFilter) -> list[FailureGroup]:
        return export_log.failure_groups(self._store, flt)

    def job_detail(self, job_id: int) -> JobDetail | None:
        return export_log.job_detail(self._store, job_id)
