"""What the console reads and does across tenants (docs/tenants.md §Fleet), behind one object:
the Fleet's rows, the failures grouped by cause across tenants, and the retry by cause across
tenants. The console's Fleet and a tenant's console opened from it share it; a console pinned
to one tenant (--tenant) has none."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from exact_tui.services.audit import Actor
from exact_tui.services.clock import Clock, SystemClock
from exact_tui.services.console import ActionRefused
from exact_tui.services.export_log import (
    CauseAcrossTenants,
    RetryAcrossTenants,
    failures_by_cause_all_tenants,
    retry_preview_all_tenants,
)
from exact_tui.services.intents import IntentRefused
from exact_tui.services.intents.retry import retry_across_tenants
from exact_tui.services.jobs import JobFilter
from exact_tui.services.tenants import FleetRow, fleet_rows
from exact_tui.store.engine import Store


class FleetServices:
    """Reads across tenants, and the one write across them: `retry_cause` (None when the
    console may not write: read-only)."""

    #: The writes the fleet's screens may offer (an `Action.writes` names one).
    WRITES = ("retry_cause",)

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        timezone: str = "UTC",
        retry: Callable[[JobFilter, RetryAcrossTenants], str] | None = None,
    ) -> None:
        self._store = store.root
        self.clock: Clock = clock or SystemClock()
        self.timezone = ZoneInfo(timezone)
        #: Retry the jobs of one cause in every tenant the confirmed question counted; what it
        #: did, in words.
        self.retry_cause = retry

    def now(self) -> dt.datetime:
        return self.clock.now()

    def rows(self) -> list[FleetRow]:
        return fleet_rows(self._store, now=self.clock.now())

    def failures(self) -> list[CauseAcrossTenants]:
        return failures_by_cause_all_tenants(self._store)

    def retry_preview(self, flt: JobFilter) -> RetryAcrossTenants:
        return retry_preview_all_tenants(self._store, flt)


def fleet_services(
    store: Store,
    actor: Actor,
    *,
    read_only: bool = False,
    clock: Clock | None = None,
    timezone: str = "Europe/Amsterdam",
) -> FleetServices:
    """The fleet's services for `actor`; in read-only mode without the retry."""
    clock = clock or SystemClock()

    def retry(flt: JobFilter, asked: RetryAcrossTenants) -> str:
        try:
            done = retry_across_tenants(
                store, actor, flt, clock=clock, timezone=timezone, asked=asked
            )
        except IntentRefused as exc:
            raise ActionRefused(str(exc)) from None
        return done.total.message

    return FleetServices(store, clock=clock, timezone=timezone, retry=None if read_only else retry)
