"""Operator intents, shared by the CLI and the console (design §2: the database is the bus).

Each intent checks its input against the store (only valid targets from the imported master
data), refuses with a reason that changes nothing, or writes its change in one transaction with
an audit row and moves the jobs it unblocks back to pending, saying how many. None calls Exact:
the worker acts on what they write.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import func, null, update
from sqlmodel import Session, col, select

from exact_tui.domain.preflight import (
    GL_RECEIVABLE,
    GL_REVENUE,
    JOURNAL_BANK,
    JOURNAL_GENERAL,
    JOURNAL_SALES,
    SETTING_LABELS,
)
from exact_tui.domain.states import Category, DocumentKind, JobState, LinkMethod, MappingKind
from exact_tui.domain.transitions import EventOutcome, RetryAction, retry_decision
from exact_tui.services import audit
from exact_tui.services.audit import Actor
from exact_tui.services.clock import Clock, SystemClock
from exact_tui.services.jobs import JobFilter, job_conditions
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    CONNECTION_ID,
    BankAccount,
    BankAccountBinding,
    CostCenter,
    CostUnit,
    Customer,
    CustomerLink,
    Division,
    DivisionBinding,
    DivisionSettings,
    ExactAccount,
    ExactConnection,
    ExportEvent,
    ExportJob,
    GLAccount,
    Invoice,
    Journal,
    Organization,
    Payment,
    VATCode,
    WriteOff,
)
from exact_tui.store.models import Mapping as MappingRow

#: Jobs read per step of a bulk retry (keyset on the id).
_BATCH: Final = 500
SETTING_FIELDS: Final = tuple(SETTING_LABELS)
_KIND_WORDS: Final = {
    MappingKind.GL: "GL",
    MappingKind.VAT: "VAT code",
    MappingKind.COST_CENTER: "cost center",
    MappingKind.COST_UNIT: "cost unit",
}


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


def _guid_like(value: str) -> bool:
    return len(value) == 36 and value.count("-") == 4


class Intents:
    def __init__(self, store: Store, actor: Actor, *, clock: Clock | None = None) -> None:
        self.store = store
        self.actor = actor
        self.clock: Clock = clock or SystemClock()

    # ---------------------------------------------------------------- plumbing

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
            assert job.id is not None
            session.execute(
                update(ExportJob)
                .where(col(ExportJob.id) == job.id)
                .values(
                    state=JobState.PENDING,
                    division=None,
                    category=None,
                    cause=None,
                    missing=null(),
                    next_attempt_at=None,
                    last_error=None,
                    last_http_status=None,
                    lease_owner=None,
                    lease_expires_at=None,
                    updated_at=now,
                )
            )
            session.add(
                ExportEvent(
                    job_id=job.id,
                    at=now,
                    outcome=EventOutcome.REQUEUED,
                    message=f"{why}: back to pending"[:2000],
                )
            )
            moved += 1
        return moved

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
        row = session.get(Division, division)
        if row is None:
            raise IntentRefused(
                f"division {division} is not among the imported divisions (run `exact-tui sync`)"
            )
        return row

    # ---------------------------------------------------------------- retry

    def count_matching(self, flt: JobFilter, cause: str | None = None) -> int:
        """How many jobs a bulk retry would look at (for its confirmation)."""
        query = select(func.count()).select_from(ExportJob).where(*self._where(flt, cause))
        with self.store.read() as session:
            return int(session.exec(query).one())

    @staticmethod
    def _where(flt: JobFilter, cause: str | None) -> list[Any]:
        conditions: list[Any] = list(job_conditions(flt))
        if cause is not None:
            conditions.append(col(ExportJob.cause) == cause)
        return conditions

    def retry(self, job_id: int) -> IntentResult:
        """One job: failed / needs_mapping / retry_wait back to pending; unknown (or a
        duplicate) looked up in Exact again — never re-sent blind."""
        target = f"job {job_id}"
        with self._writing("retry", target) as session:
            job = session.get(ExportJob, job_id)
            if job is None:
                raise IntentRefused(f"there is no job {job_id}")
            label = f"{job.document_kind.value.replace('_', '-')} {job.document_number}"
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

    def retry_matching(self, flt: JobFilter, cause: str | None = None) -> IntentResult:
        """Every job the filter matches; the worker sends them paced by the rate limit and
        the error budget. Posted, in-flight, pending and history jobs are left alone."""
        total = IntentResult("", 0, 0, 0)
        after = 0
        while True:
            with self.store.write() as session:
                jobs = list(
                    session.exec(
                        select(ExportJob)
                        .where(*self._where(flt, cause), col(ExportJob.id) > after)
                        .order_by(col(ExportJob.id))
                        .limit(_BATCH)
                    )
                )
                if not jobs:
                    audit.record(
                        session,
                        self.actor,
                        "retry",
                        target="filter",
                        detail={
                            "filter": _filter_words(flt, cause),
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
        message = (
            f"{total.requeued} job(s) back to pending, {total.lookups} to be looked up in "
            f"Exact first, {total.unchanged} left as they were"
        )
        return IntentResult(message, total.requeued, total.lookups, total.unchanged)

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
                assert job.id is not None
                if job.category is Category.DUPLICATE:
                    # A person reversed the extra entries: count the lookups afresh.
                    job.lookups_empty, job.last_lookup_at = 0, None
                job.state = JobState.UNKNOWN
                job.category = Category.AMBIGUOUS
                job.next_attempt_at = now
                job.lease_owner = job.lease_expires_at = None
                job.updated_at = now
                session.add(job)
                session.add(
                    ExportEvent(
                        job_id=job.id,
                        at=now,
                        outcome=EventOutcome.REQUEUED,
                        message=f"retry by {self.actor.name}: looked up in Exact before "
                        "anything is sent",
                    )
                )
                lookups += 1
            else:
                unchanged += 1
        # Retrying a job Exact refused access to says the access was fixed: the division's
        # other jobs may go again too.
        for division in refused_divisions:
            row = session.get(Division, division)
            if row is not None and not row.accessible:
                row.accessible, row.access_reason = True, None
                session.add(row)
        requeued = self._requeue(session, requeue, f"retry by {self.actor.name}")
        return IntentResult("", requeued, lookups, unchanged)

    # ---------------------------------------------------------------- mappings

    def map(
        self, division: int, kind: MappingKind, platform_code: str, exact_code: str
    ) -> IntentResult:
        """Map a platform code to an Exact code in a division; only a usable target of the
        right kind is accepted (a revenue GL account: mapped GL codes go on sales lines)."""
        platform_code, exact_code = platform_code.strip(), exact_code.strip()
        words = _KIND_WORDS[kind]
        target = f"{division} {kind.value} {platform_code}"
        with self._writing("map", target) as session:
            if not platform_code or not exact_code:
                raise IntentRefused("give both the platform code and the Exact code")
            self._division(session, division)
            problem = _mapping_problem(session, division, kind, exact_code, self.clock.now())
            if problem is not None:
                raise IntentRefused(f"{words} {exact_code}: {problem}")
            row = session.exec(
                select(MappingRow).where(
                    col(MappingRow.division) == division,
                    col(MappingRow.kind) == kind,
                    col(MappingRow.platform_code) == platform_code,
                )
            ).first()
            previous = row.exact_code if row else None
            if row is None:
                row = MappingRow(
                    division=division,
                    kind=kind,
                    platform_code=platform_code,
                    exact_code=exact_code,
                    updated_by=self.actor.name,
                )
            row.exact_code = exact_code
            row.updated_by = self.actor.name
            row.updated_at = self.clock.now()
            session.add(row)
            blocked = self._blocked(
                session,
                division=division,
                categories=(Category.MAPPING,),
                kinds=(kind.value,),
                code=platform_code,
            )
            moved = self._requeue(
                session,
                blocked,
                f"{words} {platform_code} → {exact_code} mapped by {self.actor.name}",
            )
            audit.record(
                session,
                self.actor,
                "map",
                target=target,
                detail={"exact_code": exact_code, "previous": previous, "requeued": moved},
            )
        return IntentResult(
            f"{words} {platform_code} → {exact_code} in division {division} saved; "
            f"{moved} job(s) back to pending",
            moved,
        )

    # ---------------------------------------------------------------- bindings

    def bind_bank_account(self, iban: str, division: int, journal_code: str) -> IntentResult:
        """Route a bank account's documents to a division and one of its bank journals. The
        division is bound to the bank account's organization if it is not bound yet; a
        division bound to another organization is refused."""
        iban = iban.replace(" ", "").upper()
        journal_code = journal_code.strip()
        target = f"{iban} → {division}/{journal_code}"
        with self._writing("bind", target) as session:
            bank = session.exec(select(BankAccount).where(col(BankAccount.iban) == iban)).first()
            if bank is None or bank.id is None:
                raise IntentRefused(f"there is no bank account {iban}")
            self._division(session, division)
            journal = _journal(session, division, journal_code)
            if journal is None:
                raise IntentRefused(f"division {division} has no journal {journal_code}")
            if journal.type != JOURNAL_BANK or journal.is_blocked:
                raise IntentRefused(
                    f"journal {journal_code} of division {division} is not a usable bank "
                    f"journal (type {journal.type}{', blocked' if journal.is_blocked else ''})",
                )
            organization = session.get(Organization, bank.organization_id)
            binding = session.get(DivisionBinding, division)
            if binding is not None and binding.organization_id != bank.organization_id:
                owner = session.get(Organization, binding.organization_id)
                raise IntentRefused(
                    f"division {division} is bound to organization {_org(owner)}, and "
                    f"{iban} belongs to {_org(organization)}",
                )
            if binding is None:
                session.add(
                    DivisionBinding(
                        division=division,
                        organization_id=bank.organization_id,
                        bound_by=self.actor.name,
                        bound_at=self.clock.now(),
                    )
                )
            row = session.get(BankAccountBinding, bank.id)
            previous = f"{row.division}/{row.journal_code}" if row else None
            if row is None:
                row = BankAccountBinding(
                    bank_account_id=bank.id,
                    division=division,
                    journal_code=journal_code,
                    bound_by=self.actor.name,
                )
            row.division = division
            row.journal_code = journal_code
            row.bound_by = self.actor.name
            row.bound_at = self.clock.now()
            session.add(row)
            routed_here = _jobs_of_bank_account(session, bank.id)
            blocked = [
                job
                for job in self._blocked(
                    session, division=None, categories=(Category.BINDING,), kinds=("binding",)
                )
                if job.id in routed_here
            ]
            if previous is not None and previous != f"{division}/{journal_code}":
                # A new route: what waits on the old one goes the new way (nothing of it is in
                # Exact yet; in flight and unknown jobs keep the division they were sent to).
                waiting = _jobs_of_bank_account(session, bank.id, REROUTABLE)
                known = {job.id for job in blocked}
                blocked += [
                    job
                    for job in session.exec(
                        select(ExportJob).where(col(ExportJob.id).in_(sorted(waiting - known)))
                    )
                ]
            moved = self._requeue(
                session, blocked, f"{iban} bound to {division}/{journal_code} by {self.actor.name}"
            )
            audit.record(
                session,
                self.actor,
                "bind",
                target=target,
                detail={"previous": previous, "requeued": moved},
            )
        return IntentResult(
            f"bank account {iban} → division {division}, bank journal {journal_code}; "
            f"{moved} job(s) back to pending",
            moved,
        )

    def unbind_bank_account(self, iban: str) -> IntentResult:
        """Take a bank account's route away: its documents not yet in Exact wait for a new
        binding (jobs in flight or unknown keep the division they were sent to)."""
        iban = iban.replace(" ", "").upper()
        with self._writing("unbind", iban) as session:
            bank = session.exec(select(BankAccount).where(col(BankAccount.iban) == iban)).first()
            if bank is None or bank.id is None:
                raise IntentRefused(f"there is no bank account {iban}")
            row = session.get(BankAccountBinding, bank.id)
            if row is None:
                raise IntentRefused(f"bank account {iban} is not bound")
            previous = f"{row.division}/{row.journal_code}"
            session.delete(row)
            waiting = _jobs_of_bank_account(session, bank.id, REROUTABLE)
            jobs = list(
                session.exec(select(ExportJob).where(col(ExportJob.id).in_(sorted(waiting))))
            )
            moved = self._requeue(session, jobs, f"{iban} unbound by {self.actor.name}")
            audit.record(
                session,
                self.actor,
                "unbind",
                target=iban,
                detail={"previous": previous, "requeued": moved},
            )
        return IntentResult(
            f"bank account {iban} unbound (was {previous}); {moved} job(s) wait for a binding",
            moved,
        )

    def bind_division(self, division: int, organization_code: str) -> IntentResult:
        """A division belongs to one organization at most."""
        target = f"{division} → {organization_code}"
        with self._writing("bind", target) as session:
            organization = session.exec(
                select(Organization).where(col(Organization.code) == organization_code)
            ).first()
            if organization is None or organization.id is None:
                raise IntentRefused(f"there is no organization {organization_code}")
            self._division(session, division)
            binding = session.get(DivisionBinding, division)
            if binding is not None and binding.organization_id != organization.id:
                owner = session.get(Organization, binding.organization_id)
                raise IntentRefused(f"division {division} is already bound to {_org(owner)}")
            if binding is not None:
                return IntentResult(f"division {division} is already bound to {_org(organization)}")
            others = session.exec(
                select(BankAccount.iban, Organization.code)
                .join(BankAccountBinding, col(BankAccountBinding.bank_account_id) == BankAccount.id)
                .join(Organization, col(Organization.id) == BankAccount.organization_id)
                .where(col(BankAccountBinding.division) == division)
                .where(col(BankAccount.organization_id) != organization.id)
            ).first()
            if others is not None:
                raise IntentRefused(
                    f"bank account {others[0]} of organization {others[1]} is bound to "
                    f"division {division}",
                )
            session.add(
                DivisionBinding(
                    division=division,
                    organization_id=organization.id,
                    bound_by=self.actor.name,
                    bound_at=self.clock.now(),
                )
            )
            audit.record(session, self.actor, "bind", target=target)
        return IntentResult(f"division {division} bound to {_org(organization)}")

    # ---------------------------------------------------------------- customer links

    def link(self, customer_number: str, division: int, account: str) -> IntentResult:
        """Link a platform customer to an Exact account (its code or ID) by hand. Documents
        not yet posted go to the new account; posted ones stay where they are."""
        account = account.strip()
        target = f"{customer_number} → {division}/{account}"
        with self._writing("link", target) as session:
            customer = _customer(session, customer_number)
            if customer is None or customer.id is None:
                raise IntentRefused(f"there is no customer {customer_number}")
            self._division(session, division)
            key = (
                col(ExactAccount.id) == account.lower()
                if _guid_like(account)
                else col(ExactAccount.code) == account.lstrip()
            )
            found = session.exec(
                select(ExactAccount).where(col(ExactAccount.division) == division, key)
            ).first()
            if found is None:
                raise IntentRefused(f"division {division} has no Exact account {account}")
            if found.status != "C" or found.is_blocked:
                state = "blocked" if found.is_blocked else f"status {found.status or 'none'}"
                raise IntentRefused(
                    f"Exact account {found.code} ({found.name}) is not a usable customer "
                    f"({state}): Exact refuses sales entries for it",
                )
            link = session.get(CustomerLink, (customer.id, division))
            previous = link.exact_account_id if link else None
            if link is None:
                link = CustomerLink(
                    customer_id=customer.id,
                    division=division,
                    exact_account_id=found.id,
                    method=LinkMethod.MANUAL,
                    linked_by=self.actor.name,
                )
            link.exact_account_id = found.id
            link.method = LinkMethod.MANUAL
            link.linked_by = self.actor.name
            link.linked_at = self.clock.now()
            session.add(link)
            blocked = self._blocked(
                session,
                division=division,
                categories=(Category.CUSTOMER,),
                kinds=("customer",),
                code=customer.number,
            )
            moved = self._requeue(
                session,
                blocked,
                f"customer {customer.number} linked to account {found.code} by {self.actor.name}",
            )
            audit.record(
                session,
                self.actor,
                "link",
                target=target,
                detail={"account_id": found.id, "previous": previous, "requeued": moved},
            )
        return IntentResult(
            f"customer {customer_number} → Exact account {found.code} ({found.name}) in "
            f"division {division}; {moved} job(s) back to pending",
            moved,
        )

    def unlink(self, customer_number: str, division: int) -> IntentResult:
        """Remove a link: documents not yet posted are matched again by the rules."""
        target = f"{customer_number} in {division}"
        with self._writing("unlink", target) as session:
            customer = _customer(session, customer_number)
            link = session.get(CustomerLink, (customer.id, division)) if customer else None
            if link is None:
                raise IntentRefused(
                    f"customer {customer_number} is not linked in division {division}",
                )
            session.delete(link)
            audit.record(
                session,
                self.actor,
                "unlink",
                target=target,
                detail={"account_id": link.exact_account_id, "method": link.method.value},
            )
        return IntentResult(
            f"customer {customer_number} unlinked in division {division}; documents not yet "
            "posted are matched again"
        )

    # ---------------------------------------------------------------- division settings

    def set_settings(self, division: int, **changes: str | None) -> IntentResult:
        """Change a division's journals and GL accounts (Exact codes); None leaves a value as
        it is, "" clears it."""
        unknown = set(changes) - set(SETTING_FIELDS)
        if unknown:
            raise IntentRefused(f"unknown setting(s): {', '.join(sorted(unknown))}")
        given = {k: (v.strip() if v else "") for k, v in changes.items() if v is not None}
        target = str(division)
        if not given:
            raise IntentRefused("no setting given")
        with self._writing("settings", target) as session:
            self._division(session, division)
            for name, code in given.items():
                problem = _setting_problem(session, division, name, code) if code else None
                if problem is not None:
                    raise IntentRefused(f"{SETTING_LABELS[name]} {code}: {problem}")
            row = session.get(DivisionSettings, division) or DivisionSettings(
                division=division, updated_by=self.actor.name
            )
            previous = {name: getattr(row, name) for name in given}
            for name, code in given.items():
                setattr(row, name, code or None)
            row.updated_by = self.actor.name
            row.updated_at = self.clock.now()
            session.add(row)
            blocked = self._blocked(
                session, division=division, categories=(Category.MAPPING,), kinds=("setting",)
            )
            moved = self._requeue(
                session, blocked, f"settings of division {division} changed by {self.actor.name}"
            )
            audit.record(
                session,
                self.actor,
                "settings",
                target=target,
                detail={"changes": given, "previous": previous, "requeued": moved},
            )
        words = ", ".join(f"{SETTING_LABELS[k]} {v or '(none)'}" for k, v in given.items())
        return IntentResult(f"division {division}: {words}; {moved} job(s) back to pending", moved)

    # ---------------------------------------------------------------- pause

    def pause(self, reason: str | None = None) -> IntentResult:
        """Stop exports: nothing new is sent until resumed (what is in flight finishes)."""
        words = (reason or "").strip() or f"paused by {self.actor.name}"
        with self.store.write() as session:
            conn = session.get(ExactConnection, CONNECTION_ID)
            if conn is None:
                raise IntentRefused("not connected to Exact: there is nothing to pause")
            if conn.exports_paused:
                return IntentResult(f"exports were already paused ({conn.paused_reason})")
            conn.exports_paused = True
            conn.paused_reason = words[:500]
            conn.updated_at = self.clock.now()
            session.add(conn)
            audit.record(session, self.actor, "pause", target="exports", detail={"reason": words})
        return IntentResult(f"exports paused: {words}")

    def resume(self) -> IntentResult:
        with self.store.write() as session:
            conn = session.get(ExactConnection, CONNECTION_ID)
            if conn is None:
                raise IntentRefused("not connected to Exact: there is nothing to resume")
            if not conn.exports_paused:
                return IntentResult("exports were not paused")
            conn.exports_paused = False
            conn.paused_reason = None
            conn.updated_at = self.clock.now()
            session.add(conn)
            audit.record(session, self.actor, "resume", target="exports")
        return IntentResult("exports resumed")


def current_settings(store: Store, division: int) -> dict[str, str | None]:
    """A division's settings as saved (None where not set)."""
    with store.read() as session:
        row = session.get(DivisionSettings, division)
    return {name: getattr(row, name) if row else None for name in SETTING_FIELDS}


# ---------------------------------------------------------------- checks against the cache


def _org(organization: Organization | None) -> str:
    if organization is None:
        return "an unknown organization"
    return f"{organization.code} ({organization.name})"


def _customer(session: Session, number: str) -> Customer | None:
    return session.exec(select(Customer).where(col(Customer.number) == number.strip())).first()


def _journal(session: Session, division: int, code: str) -> Journal | None:
    return session.exec(
        select(Journal).where(col(Journal.division) == division, col(Journal.code) == code)
    ).first()


def _gl(session: Session, division: int, code: str) -> GLAccount | None:
    return session.exec(
        select(GLAccount).where(col(GLAccount.division) == division, col(GLAccount.code) == code)
    ).first()


def _mapping_problem(
    session: Session, division: int, kind: MappingKind, code: str, now: dt.datetime
) -> str | None:
    """Why `code` cannot be the target of a `kind` mapping in `division`, or None."""
    if kind is MappingKind.GL:
        gl = _gl(session, division, code)
        if gl is None:
            return "not in Exact"
        if gl.is_blocked:
            return "blocked in Exact"
        if gl.type != GL_REVENUE:
            return f"not a revenue account (type {gl.type}): Exact refuses it on sales lines"
        return None
    if kind is MappingKind.VAT:
        vat = next(
            (
                v
                for v in session.exec(select(VATCode).where(col(VATCode.division) == division))
                if v.code.strip() == code
            ),
            None,
        )
        if vat is None:
            return "not in Exact"
        if vat.is_blocked:
            return "blocked in Exact"
        if vat.transaction_type == "P":
            return "a purchase VAT code: Exact refuses it on sales lines"
        return None
    cost: CostCenter | CostUnit | None
    if kind is MappingKind.COST_CENTER:
        cost = session.exec(
            select(CostCenter).where(
                col(CostCenter.division) == division, col(CostCenter.code) == code
            )
        ).first()
    else:
        cost = session.exec(
            select(CostUnit).where(col(CostUnit.division) == division, col(CostUnit.code) == code)
        ).first()
    if cost is None:
        return "not in Exact"
    if cost.end_date is not None and cost.end_date <= now.date():
        return "inactive in Exact"
    return None


_SETTING_RULES: Final = {
    "sales_journal": ("journal", JOURNAL_SALES),
    "general_journal": ("journal", JOURNAL_GENERAL),
    "receivables_gl": ("gl", GL_RECEIVABLE),
    "write_off_gl": ("gl", None),
    "collection_costs_gl": ("gl", None),
}


def _setting_problem(session: Session, division: int, name: str, code: str) -> str | None:
    what, wanted = _SETTING_RULES[name]
    if what == "journal":
        journal = _journal(session, division, code)
        if journal is None:
            return f"division {division} has no such journal"
        if journal.type != wanted:
            return f"a journal of type {journal.type}, not {wanted}"
        return "blocked in Exact" if journal.is_blocked else None
    gl = _gl(session, division, code)
    if gl is None:
        return f"division {division} has no such GL account"
    if wanted is not None and gl.type != wanted:
        return f"a GL account of type {gl.type}, not {wanted} (receivables)"
    return "blocked in Exact" if gl.is_blocked else None


#: States of jobs whose route may still change: nothing of them is (or may be) in Exact.
REROUTABLE: Final = (
    JobState.PENDING,
    JobState.NEEDS_MAPPING,
    JobState.RETRY_WAIT,
    JobState.FAILED,
)


def _jobs_of_bank_account(
    session: Session,
    bank_account_id: int,
    states: Sequence[JobState] = (JobState.NEEDS_MAPPING,),
) -> set[int]:
    """Jobs in `states` whose documents go through this bank account (write-offs through
    their invoice's)."""
    invoices = select(Invoice.id).where(col(Invoice.bank_account_id) == bank_account_id)
    payments = select(Payment.id).where(col(Payment.bank_account_id) == bank_account_id)
    write_offs = select(WriteOff.id).where(col(WriteOff.invoice_id).in_(invoices))
    ids: set[int] = set()
    for kind, documents in (
        (DocumentKind.INVOICE, invoices),
        (DocumentKind.PAYMENT, payments),
        (DocumentKind.WRITE_OFF, write_offs),
    ):
        ids.update(
            job_id
            for job_id in session.exec(
                select(ExportJob.id).where(
                    col(ExportJob.document_kind) == kind,
                    col(ExportJob.document_id).in_(documents),
                    col(ExportJob.state).in_(states),
                )
            )
            if job_id is not None
        )
    return ids


def _filter_words(flt: JobFilter, cause: str | None) -> dict[str, Any]:
    words: dict[str, Any] = {
        "state": flt.state.value if flt.state else None,
        "category": flt.category.value if flt.category else None,
        "kind": flt.kind.value if flt.kind else None,
        "division": flt.division,
        "text": flt.text,
        "cause": cause,
    }
    return {key: value for key, value in words.items() if value is not None}
