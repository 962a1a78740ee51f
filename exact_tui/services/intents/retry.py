"""Retrying jobs once their cause is fixed, one by one or all a filter matches, and settling
an unknown job by a lookup."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import func
from sqlmodel import Session, col, select

from exact_tui.domain.states import Category, JobState
from exact_tui.domain.text import counted
from exact_tui.domain.transitions import RetryAction, lookup_requested, retry_decision
from exact_tui.services import audit, job_state
from exact_tui.services.audit import Actor
from exact_tui.services.clock import Clock
from exact_tui.services.export_log import RETRIED_STATES, RetryAcrossTenants
from exact_tui.services.intents.base import IntentBase, IntentRefused, IntentResult
from exact_tui.services.jobs import JobFilter, job_conditions
from exact_tui.store.engine import Store, UnknownTenant
from exact_tui.store.models import Division, ExportJob
from exact_tui.store.scoping import tenant_key

#: Jobs read per step of a bulk retry (keyset on the id).
_BATCH: Final = 500


class RetryIntents(IntentBase):
    def count_matching(self, flt: JobFilter) -> int:
        """How many jobs a bulk retry would look at (for its confirmation)."""
        query = select(func.count()).select_from(ExportJob).where(*job_conditions(flt))
        with self.store.read() as session:
            return int(session.exec(query).one())

    def retry(self, job_id: int) -> IntentResult:
        """One job: failed / needs_mapping / retry_wait back to pending; unknown (or a
        duplicate) looked up in Exact again — never re-sent blind."""
        target = f"job {job_id}"
        with self._writing("retry", target) as session:
            job = session.get(ExportJob, job_id)
            if job is None:
                raise IntentRefused(f"there is no job {job_id}")
            label = f"{job.document_kind.label} {job.document_number}"
            decision = retry_decision(job.state, job.category)
            if decision.action is RetryAction.NONE:
                raise IntentRefused(f"{label}: nothing to retry ({decision.why})")
            counts = self._retry_jobs(session, [job])
            audit.record(
                session,
                self.actor,
                "retry",
                target=target,
                detail={"document": label, "action": decision.action.value},
            )
        return IntentResult(f"{label}: {decision.why}", counts.requeued, counts.lookups)

    def retry_matching(self, flt: JobFilter, *, target: str = "filter") -> IntentResult:
        """Every job the filter matches; the worker sends them paced by the rate limit and
        the error budget. Posted, in-flight, pending and history jobs are left alone.
        `target` names, in the audit row, what was retried ("filter"; "cause across
        tenants" for a retry by cause across tenants)."""
        total = IntentResult("", 0, 0, 0)
        after = 0
        while True:
            with self.store.write() as session:
                jobs = list(
                    session.exec(
                        select(ExportJob)
                        .where(*job_conditions(flt), col(ExportJob.id) > after)
                        .order_by(col(ExportJob.id))
                        .limit(_BATCH)
                    )
                )
                if not jobs:
                    audit.record(
                        session,
                        self.actor,
                        "retry",
                        target=target,
                        detail={
                            "filter": _filter_words(flt),
                            "requeued": total.requeued,
                            "lookups": total.lookups,
                            "unchanged": total.unchanged,
                        },
                    )
                    break
                after = jobs[-1].id or after
                counts = self._retry_jobs(session, jobs)
                total = IntentResult(
                    "",
                    total.requeued + counts.requeued,
                    total.lookups + counts.lookups,
                    total.unchanged + counts.unchanged,
                )
        return IntentResult(_in_words(total), total.requeued, total.lookups, total.unchanged)

    def settle(self, job_id: int) -> IntentResult:
        """Ask the worker to look an unknown job up in Exact now (the console's "settle")."""
        with self.store.read() as session:
            job = session.get(ExportJob, job_id)
        if job is None:
            raise IntentRefused(f"there is no job {job_id}")
        if job.state is not JobState.UNKNOWN:
            raise IntentRefused(
                f"job {job_id} is {job.state.value}: only an unknown job is settled by a lookup"
            )
        return self.retry(job_id)

    def _retry_jobs(self, session: Session, jobs: Sequence[ExportJob]) -> IntentResult:
        now = self.clock.now()
        requeue: list[ExportJob] = []
        lookups = unchanged = 0
        refused_divisions: set[int] = set()
        for job in jobs:
            decision = retry_decision(job.state, job.category)
            if decision.action is RetryAction.REQUEUE:
                if job.category is Category.ACCESS and job.division is not None:
                    refused_divisions.add(job.division)
                requeue.append(job)
            elif decision.action is RetryAction.LOOKUP:
                why = f"retry by {self.actor.name}"
                transition = lookup_requested(job_state.facts(job), why=why, now=now)
                job_state.apply(session, job, transition, now=now)
                lookups += 1
            else:
                unchanged += 1
        # Retrying a job Exact refused access to says the access was fixed: the division's
        # other jobs may go again too.
        for division in refused_divisions:
            row = session.get(Division, tenant_key(session, division))
            if row is not None and not row.accessible:
                row.accessible, row.access_reason = True, None
                session.add(row)
        requeued = self._requeue(session, requeue, f"retry by {self.actor.name}")
        return IntentResult("", requeued, lookups, unchanged)


def _in_words(total: IntentResult) -> str:
    parts = [f"{counted(total.requeued, 'job')} back to pending"]
    if total.lookups:
        parts.append(f"{total.lookups:,} to be looked up in Exact first")
    if total.unchanged:
        parts.append(f"{total.unchanged:,} left as they were")
    return ", ".join(parts)


@dataclass(frozen=True)
class TenantRetried:
    code: str
    result: IntentResult


@dataclass(frozen=True)
class RetriedAcrossTenants:
    """What a retry by cause across tenants did, per tenant and in all."""

    tenants: tuple[TenantRetried, ...]
    #: The jobs the confirmed question counted, when there was one.
    asked: int | None = None

    @property
    def total(self) -> IntentResult:
        results = [tenant.result for tenant in self.tenants]
        requeued = sum(result.requeued for result in results)
        lookups = sum(result.lookups for result in results)
        unchanged = sum(result.unchanged for result in results)
        moved = counted(requeued + lookups, "job")
        message = f"{moved} in {counted(len(results), 'tenant')} retried: " + _in_words(
            IntentResult("", requeued, lookups, unchanged)
        )
        if self.asked is not None and self.asked != requeued + lookups:
            message += (
                f" ({counted(self.asked, 'job')} counted when asked: the queue changed meanwhile)"
            )
        return IntentResult(message, requeued, lookups, unchanged)


def retry_across_tenants(
    store: Store,
    actor: Actor,
    flt: JobFilter,
    *,
    clock: Clock | None = None,
    timezone: str = "Europe/Amsterdam",
    asked: RetryAcrossTenants | None = None,
) -> RetriedAcrossTenants:
    """Retry the jobs of one cause (`flt` names it) in every tenant holding any: each tenant
    through its own store, so every read and write is scoped to it, with the rules of
    `retry_matching` (what may be retried, lookups before anything unknown is sent again)
    and an audit row in that tenant. Tenants are done one after another, each in its own
    transactions: an interrupted retry is finished by running it again.

    `asked`: the counted question the operator confirmed. Only its tenants are retried (one
    that came into the cause since was not in the question), and a number of jobs other than
    it counted is said in the result (the queue moved on meanwhile)."""
    if flt.cause is None:
        raise IntentRefused("a retry across tenants is by cause: name the cause")
    root = store.root
    if asked is not None:
        tenant_ids = list(asked.tenant_ids)
    else:
        with root.all_tenants().read() as session:
            tenant_ids = sorted(
                session.exec(
                    select(ExportJob.tenant_id)
                    .where(*job_conditions(flt), col(ExportJob.state).in_(RETRIED_STATES))
                    .distinct()
                ).all()
            )
    done = []
    for tenant_id in tenant_ids:
        try:
            tenant = root.tenant(tenant_id)
        except UnknownTenant:
            continue  # removed since the question (emptied first): nothing of it to retry
        intents = RetryIntents(tenant, actor, clock=clock, timezone=timezone)
        result = intents.retry_matching(flt, target="cause across tenants")
        done.append(TenantRetried(tenant.code, result))
    return RetriedAcrossTenants(tuple(done), asked.jobs if asked is not None else None)


def _filter_words(flt: JobFilter) -> dict[str, Any]:
    words: dict[str, Any] = {
        "state": flt.state.value if flt.state else None,
        "category": flt.category.value if flt.category else None,
        "kind": flt.kind.value if flt.kind else None,
        "division": flt.division,
        "text": flt.text,
        "cause": flt.cause,
    }
    return {key: value for key, value in words.items() if value is not None}
