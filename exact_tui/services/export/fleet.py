"""The export pipeline across tenants: the worker's `ExportRunner` (docs/worker.md §Tenants).

One `ExportService` per tenant does the work of that tenant (its gate, its link to Exact, its
holds and rate state). This runner finds what is due across every tenant served with a few
queries that read indexes only, whatever the number of tenants, and hands each division, a
`DivisionKey` (tenant_id, division), to its tenant's service. A tenant that is disabled is not
looked at; one whose connection needs a Reconnect is closed by its own gate and holds up no
other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import col, select

from exact_tui.domain.states import ConnectionStatus, JobState
from exact_tui.services.clock import Clock
from exact_tui.services.export.runner import OPEN, ExportService
from exact_tui.services.ownership import DivisionKey
from exact_tui.services.worker import WorkLeft
from exact_tui.store.engine import Store, TenantStore
from exact_tui.store.models import Division, ExactConnection, ExportJob, Tenant

#: The states a job is sent or settled from, each read through the (state, next_attempt_at)
#: index.
DUE_STATES = (JobState.UNKNOWN, JobState.RETRY_WAIT, JobState.PENDING)
CLAIMED = (JobState.IN_FLIGHT, JobState.UNKNOWN)

ServiceFor = Callable[[int], ExportService | None]


class FleetExport:
    """The worker's `ExportRunner` over every enabled tenant of `store` (a root store), or
    over one tenant (a tenant's store, or `only`). `service_for(tenant_id)` gives that
    tenant's pipeline, None when it is not served."""

    def __init__(
        self, store: Store, service_for: ServiceFor, *, clock: Clock, only: int | None = None
    ) -> None:
        self.store = store
        self._fleet = store.root.all_tenants()
        self._service_for = service_for
        self.clock = clock
        if only is None and isinstance(store, TenantStore):
            only = store.tenant_id
        self.only = only

    @classmethod
    def serving(cls, service: ExportService) -> FleetExport:
        """The runner of one tenant's pipeline (the store's own, or only, tenant)."""
        store = service.store
        tenant = store.tenant_id if isinstance(store, TenantStore) else store.default_tenant()
        if tenant is None:
            raise ValueError("the pipeline's store serves no single tenant")
        return cls(
            store,
            lambda t: service if t == tenant else None,
            clock=service.clock,
            only=tenant,
        )

    def _service(self, tenant: int) -> ExportService | None:
        if self.only is not None and tenant != self.only:
            return None
        return self._service_for(tenant)

    def _served(self, query: Any, *, enabled: bool = True) -> Any:
        """`query` on export_job, limited to the tenants served."""
        query = query.join(Tenant, col(Tenant.id) == ExportJob.tenant_id)
        if enabled:
            query = query.where(col(Tenant.disabled_at).is_(None))
        if self.only is not None:
            query = query.where(col(ExportJob.tenant_id) == self.only)
        return query

    def _tenants(self, query: Any) -> list[int]:
        with self._fleet.read() as session:
            return sorted({int(t) for t in session.exec(self._served(query))})

    # ---------------------------------------------------------------- recovery

    def recover(self, dead_owners: set[str]) -> int:
        if not dead_owners:
            return 0
        tenants = self._tenants(
            select(ExportJob.tenant_id)
            .where(col(ExportJob.state).in_(CLAIMED))
            .where(col(ExportJob.lease_owner).in_(sorted(dead_owners)))
            .distinct()
        )
        recovered = 0
        for tenant in tenants:
            service = self._service(tenant)
            if service is not None:
                recovered += service.recover(dead_owners)
        return recovered

    # ---------------------------------------------------------------- prepare

    def prepare(self) -> None:
        """Claims run out and new jobs, only of the tenants that have some (two queries
        across tenants on an idle poll)."""
        now = self.clock.now()
        expired = self._tenants(
            select(ExportJob.tenant_id)
            .where(col(ExportJob.state).in_(CLAIMED))
            .where(col(ExportJob.lease_expires_at) < now)
            .distinct()
        )
        for tenant in expired:
            service = self._service(tenant)
            if service is not None:
                service.expire_leases(now)
        new = self._tenants(
            select(ExportJob.tenant_id)
            .join(ExactConnection, col(ExactConnection.tenant_id) == ExportJob.tenant_id)
            .where(col(ExportJob.state) == JobState.PENDING)
            .where(col(ExportJob.division).is_(None))
            .where(col(ExactConnection.activated_at).is_not(None))
            .distinct()
        )
        for tenant in new:
            service = self._service(tenant)
            if service is not None:
                service.route_new(now)

    # ---------------------------------------------------------------- what is due

    def _pairs(self, query: Any) -> dict[int, set[int]]:
        pairs: dict[int, set[int]] = {}
        with self._fleet.read() as session:
            for tenant, division in session.exec(self._served(query)):
                pairs.setdefault(int(tenant), set()).add(int(division))
        return pairs

    def due_divisions(self) -> list[DivisionKey]:
        """One query across tenants for the divisions with a job due now of the tenants whose
        exports may run (connected, not paused), then each of those tenants' own gate (holds):
        the cost follows the work that can be done, not the number of tenants."""
        now = self.clock.now()
        due = self._pairs(
            select(ExportJob.tenant_id, ExportJob.division)
            # Only tenants whose exports may run: a tenant waiting for a Reconnect (or
            # paused) costs a poll nothing, however many of them there are.
            .join(ExactConnection, col(ExactConnection.tenant_id) == ExportJob.tenant_id)
            .where(col(ExactConnection.status) == ConnectionStatus.CONNECTED)
            .where(col(ExactConnection.exports_paused).is_(False))
            .where(col(ExportJob.state).in_(DUE_STATES))
            .where(
                or_(col(ExportJob.next_attempt_at).is_(None), col(ExportJob.next_attempt_at) <= now)
            )
            .where(col(ExportJob.division).is_not(None))
            .distinct()
        )
        keys: list[DivisionKey] = []
        for tenant, divisions in sorted(due.items()):
            service = self._service(tenant)
            if service is not None:
                keys.extend((tenant, d) for d in service.due_divisions(divisions))
        return keys

    def busy_divisions(self) -> list[DivisionKey]:
        """Divisions with open jobs, due now or later, of every tenant served, but those Exact
        refuses (one query each, across tenants)."""
        busy = self._pairs(
            select(ExportJob.tenant_id, ExportJob.division)
            .where(col(ExportJob.state).in_(OPEN))
            .where(col(ExportJob.division).is_not(None))
            .distinct()
        )
        if not busy:
            return []
        with self._fleet.read() as session:
            refused = set(
                session.exec(
                    select(Division.tenant_id, Division.code).where(
                        col(Division.accessible).is_(False)
                    )
                )
            )
        return sorted(
            (tenant, division)
            for tenant, divisions in busy.items()
            for division in divisions
            if (tenant, division) not in refused and self._service(tenant) is not None
        )

    def division_taken(self, key: DivisionKey) -> None:
        service = self._service(key[0])
        if service is not None:
            service.division_taken(key[1])

    async def process_next(self, key: DivisionKey, owner: str) -> bool:
        tenant, division = key
        service = self._service(tenant)
        if service is None:
            return False
        return await service.process_next(division, owner)

    def work_left(self) -> WorkLeft | None:
        """Why jobs are open when nothing is due: each tenant's reason, its code first when
        there are several; blocked when every one of them waits for a person."""
        with self._fleet.read() as session:
            rows = session.exec(
                self._served(
                    select(ExportJob.tenant_id, Tenant.code, func.count())
                    .where(col(ExportJob.state).in_(OPEN))
                    .group_by(col(ExportJob.tenant_id), col(Tenant.code)),
                    enabled=False,
                )
            ).all()
        left: list[tuple[str, WorkLeft]] = []
        for tenant, code, count in sorted(rows):
            # A disabled tenant's pipeline too: it says why (disabled) without calling Exact.
            service = self._service_for(int(tenant))
            if service is None:
                why: WorkLeft | None = WorkLeft(f"{count} job(s) left: tenant {code} is not served")
            else:
                why = service.work_left()
            if why is not None:
                left.append((code, why))
        if not left:
            return None
        if len(left) == 1:
            return left[0][1]
        return WorkLeft(
            "; ".join(f"{code}: {why.message}" for code, why in left),
            blocked=all(why.blocked for _, why in left),
        )
