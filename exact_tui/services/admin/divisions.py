"""Divisions with their organization, and bank accounts with the division and bank journal
their documents go to (docs/export.md §What happens to a job)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, or_
from sqlmodel import col, select

from exact_tui.domain.states import JobState
from exact_tui.domain.targets import JOURNAL_BANK, Unfit, bank_journal_problem
from exact_tui.services.admin.blocked import blocked_counts
from exact_tui.services.admin.words import JOURNAL_TYPES, type_words
from exact_tui.services.target_rows import target_of
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    BankAccount,
    BankAccountBinding,
    Division,
    DivisionBinding,
    ExportJob,
    Journal,
    Organization,
)
from exact_tui.store.search import ci_like, contains


@dataclass(frozen=True)
class OrganizationInfo:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class DivisionInfo:
    code: int
    description: str
    country: str | None
    accessible: bool
    access_reason: str | None
    organization: OrganizationInfo | None
    bound_by: str | None
    bound_at: dt.datetime | None
    #: Bank accounts routed to this division.
    bank_accounts: int
    #: Jobs of this division waiting on an admin.
    blocked: int


@dataclass(frozen=True)
class BankAccountInfo:
    id: int
    iban: str
    name: str | None
    organization: OrganizationInfo
    division: int | None
    journal_code: str | None
    journal_description: str | None
    #: Why the bound journal cannot take bank entries (gone, another type, blocked), or None.
    journal_problem: str | None
    bound_by: str | None
    bound_at: dt.datetime | None
    #: Documents waiting for this bank account's binding.
    blocked: int

    @property
    def bound(self) -> bool:
        return self.division is not None


@dataclass(frozen=True)
class DivisionsOverview:
    divisions: list[DivisionInfo]
    bank_accounts: list[BankAccountInfo]
    #: More bank accounts matched than were read.
    truncated: bool


def _organization(row: Organization | None) -> OrganizationInfo | None:
    if row is None or row.id is None:
        return None
    return OrganizationInfo(row.id, row.code, row.name)


def _journal_problem(journal: Journal | None, code: str) -> str | None:
    problem = bank_journal_problem(target_of(journal))
    if problem is None:
        return None
    match problem.unfit:
        case Unfit.MISSING:
            return f"journal {code} is not in Exact"
        case Unfit.WRONG_TYPE:
            return f"journal {code} is a {type_words(JOURNAL_TYPES, problem.type)} journal"
        case _:
            return f"journal {code} is blocked in Exact"


def divisions_overview(
    store: Store, *, text: str | None = None, limit: int = 500
) -> DivisionsOverview:
    """Every imported division with its organization, and the bank accounts (unbound first)
    with their division, bank journal and the documents their binding holds up."""
    with store.read() as session:
        blocked = blocked_counts(session)
        per_division = dict(
            session.exec(
                select(BankAccountBinding.division, func.count()).group_by(
                    col(BankAccountBinding.division)
                )
            ).all()
        )
        waiting = {
            code: count
            for code, count in session.exec(
                select(ExportJob.division, func.count())
                .where(col(ExportJob.state) == JobState.NEEDS_MAPPING)
                .group_by(col(ExportJob.division))
            )
            if code is not None
        }
        divisions: list[DivisionInfo] = []
        rows = session.exec(
            select(Division, DivisionBinding, Organization)
            .outerjoin(DivisionBinding, col(DivisionBinding.division) == col(Division.code))
            .outerjoin(Organization, col(Organization.id) == col(DivisionBinding.organization_id))
            .order_by(col(Division.code))
        )
        for division, owner, organization in rows:
            divisions.append(
                DivisionInfo(
                    code=division.code,
                    description=division.description,
                    country=division.country,
                    accessible=division.accessible,
                    access_reason=division.access_reason,
                    organization=_organization(organization),
                    bound_by=owner.bound_by if owner else None,
                    bound_at=owner.bound_at if owner else None,
                    bank_accounts=per_division.get(division.code, 0),
                    blocked=waiting.get(division.code, 0),
                )
            )
        query = (
            select(BankAccount, Organization, BankAccountBinding, Journal)
            .join(Organization, col(Organization.id) == col(BankAccount.organization_id))
            .outerjoin(
                BankAccountBinding, col(BankAccountBinding.bank_account_id) == col(BankAccount.id)
            )
            .outerjoin(
                Journal,
                and_(
                    col(Journal.division) == col(BankAccountBinding.division),
                    col(Journal.code) == col(BankAccountBinding.journal_code),
                ),
            )
        )
        if text:
            pattern = contains(text)
            query = query.where(
                or_(
                    ci_like(col(BankAccount.iban), pattern),
                    ci_like(col(BankAccount.name), pattern),
                    ci_like(col(Organization.code), pattern),
                    ci_like(col(Organization.name), pattern),
                )
            )
        query = query.order_by(
            col(BankAccountBinding.division).is_not(None), col(BankAccount.iban)
        ).limit(limit + 1)
        accounts: list[BankAccountInfo] = []
        for bank, organization, binding, journal in session.exec(query):
            assert bank.id is not None
            org = _organization(organization)
            assert org is not None
            count = blocked.of(None, "binding", bank.iban)
            problem = None
            if binding is not None:
                count += blocked.of(binding.division, "binding", binding.journal_code)
                problem = _journal_problem(journal, binding.journal_code)
            accounts.append(
                BankAccountInfo(
                    id=bank.id,
                    iban=bank.iban,
                    name=bank.name,
                    organization=org,
                    division=binding.division if binding else None,
                    journal_code=binding.journal_code if binding else None,
                    journal_description=journal.description if journal else None,
                    journal_problem=problem,
                    bound_by=binding.bound_by if binding else None,
                    bound_at=binding.bound_at if binding else None,
                    blocked=count,
                )
            )
    return DivisionsOverview(divisions, accounts[:limit], len(accounts) > limit)


@dataclass(frozen=True)
class JournalChoice:
    code: str
    description: str
    iban: str | None
    #: The journal's own bank account is the one being bound (the natural choice).
    same_iban: bool


def bank_journals(store: Store, division: int, *, iban: str | None = None) -> list[JournalChoice]:
    """The division's usable bank journals (type 12, not blocked); the one whose bank account
    is `iban` first."""
    with store.read() as session:
        rows = session.exec(
            select(Journal)
            .where(
                col(Journal.division) == division,
                col(Journal.type) == JOURNAL_BANK,
                col(Journal.is_blocked).is_(False),
            )
            .order_by(col(Journal.code))
        ).all()
    wanted = (iban or "").replace(" ", "").upper()
    choices = [
        JournalChoice(
            j.code,
            j.description,
            j.bank_account_iban,
            bool(wanted) and (j.bank_account_iban or "").replace(" ", "").upper() == wanted,
        )
        for j in rows
    ]
    return sorted(choices, key=lambda c: not c.same_iban)


def organizations(
    store: Store, *, text: str | None = None, limit: int = 50
) -> list[OrganizationInfo]:
    query = select(Organization)
    if text:
        pattern = contains(text)
        query = query.where(
            or_(
                ci_like(col(Organization.code), pattern),
                ci_like(col(Organization.name), pattern),
            )
        )
    with store.read() as session:
        rows = session.exec(query.order_by(col(Organization.code)).limit(limit))
        return [info for row in rows if (info := _organization(row)) is not None]
