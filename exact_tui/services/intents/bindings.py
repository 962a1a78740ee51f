"""Routing a bank account's documents to a division and bank journal, and binding a division
to an organization."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlmodel import Session, col, select

from exact_tui.domain.states import Category, DocumentKind, JobState
from exact_tui.domain.targets import bank_journal_problem
from exact_tui.domain.text import counted
from exact_tui.services import audit
from exact_tui.services.intents.base import IntentBase, IntentRefused, IntentResult
from exact_tui.services.target_rows import row_by_code, target_of
from exact_tui.store.models import (
    BankAccount,
    BankAccountBinding,
    DivisionBinding,
    ExportJob,
    Invoice,
    Journal,
    Organization,
    Payment,
    Tenant,
    WriteOff,
)
from exact_tui.store.scoping import CROSS_TENANT


class BindingIntents(IntentBase):
    def bind_bank_account(self, iban: str, division: int, journal_code: str) -> IntentResult:
        """Route a bank account's documents to a division and one of its bank journals. The
        division is bound to the bank account's organization if it is not bound yet; a
        division bound to another organization is refused."""
        iban = _compact_iban(iban)
        journal_code = journal_code.strip()
        target = f"{iban} → {division}/{journal_code}"
        with self._writing("bind", target) as session:
            bank, bank_id = _bank_account(session, iban)
            self._division(session, division)
            journal = target_of(row_by_code(session, Journal, division, journal_code))
            if journal is None:
                raise IntentRefused(f"division {division} has no journal {journal_code}")
            if bank_journal_problem(journal) is not None:
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
            row = session.get(BankAccountBinding, bank_id)
            previous = f"{row.division}/{row.journal_code}" if row else None
            if row is None:
                row = BankAccountBinding(
                    bank_account_id=bank_id,
                    division=division,
                    journal_code=journal_code,
                    bound_by=self.actor.name,
                )
            row.division = division
            row.journal_code = journal_code
            row.bound_by = self.actor.name
            row.bound_at = self.clock.now()
            session.add(row)
            routed_here = _jobs_of_bank_account(session, bank_id)
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
                waiting = _jobs_of_bank_account(session, bank_id, REROUTABLE)
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
            f"{counted(moved, 'job')} back to pending",
            moved,
        )

    def unbind_bank_account(self, iban: str) -> IntentResult:
        """Take a bank account's route away: its documents not yet in Exact wait for a new
        binding (jobs in flight or unknown keep the division they were sent to)."""
        iban = _compact_iban(iban)
        with self._writing("unbind", iban) as session:
            _, bank_id = _bank_account(session, iban)
            row = session.get(BankAccountBinding, bank_id)
            if row is None:
                raise IntentRefused(f"bank account {iban} is not bound")
            previous = f"{row.division}/{row.journal_code}"
            session.delete(row)
            waiting = _jobs_of_bank_account(session, bank_id, REROUTABLE)
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
            f"bank account {iban} unbound (was {previous}); {counted(moved, 'job')} "
            f"{'waits' if moved == 1 else 'wait'} for a binding",
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
            # A division belongs to one tenant's organization only: the one rule read across
            # tenants (store/scoping.py, CROSS_TENANT).
            holder = session.exec(
                select(Tenant.code)
                .join(DivisionBinding, col(DivisionBinding.tenant_id) == Tenant.id)
                .where(col(DivisionBinding.division) == division)
                .execution_options(**{CROSS_TENANT: True})
            ).first()
            if holder is not None:
                raise IntentRefused(
                    f"division {division} is bound to an organization of tenant {holder}: a "
                    "division belongs to one tenant only"
                )
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


def _compact_iban(iban: str) -> str:
    return iban.replace(" ", "").upper()


def _bank_account(session: Session, iban: str) -> tuple[BankAccount, int]:
    """The bank account with this (compact) IBAN, and its id; refused when there is none."""
    bank = session.exec(select(BankAccount).where(col(BankAccount.iban) == iban)).first()
    if bank is None or bank.id is None:
        raise IntentRefused(f"there is no bank account {iban}")
    return bank, bank.id


def _org(organization: Organization | None) -> str:
    if organization is None:
        return "an unknown organization"
    return f"{organization.code} ({organization.name})"


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
