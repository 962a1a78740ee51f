"""Exact accounts with the platform customers linked to them (the Exact Accounts Overview),
and the suggestions an operator links by: the matching rules' hits (docs/export.md §Customers) and
similar names as a hint."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from exact_tui.domain.matching import normalise_code
from exact_tui.domain.names import SIMILAR, name_similarity, name_words
from exact_tui.domain.states import LinkMethod
from exact_tui.domain.vat import normalise_vat
from exact_tui.services.admin.blocked import BlockKey, blocked_counts
from exact_tui.store.engine import Store
from exact_tui.store.models import Customer, CustomerLink, ExactAccount
from exact_tui.store.scoping import tenant_key
from exact_tui.store.search import ci_like, contains, starts_with


@dataclass(frozen=True)
class LinkInfo:
    customer_id: int
    customer_number: str
    customer_name: str
    method: LinkMethod
    linked_by: str
    linked_at: dt.datetime

    @property
    def how(self) -> str:
        """How the link was made, in words ("VAT number", "linked by hand")."""
        return self.method.label


@dataclass(frozen=True)
class AccountInfo:
    id: str
    division: int
    code: str | None
    search_code: str | None
    name: str
    vat_number: str | None
    city: str | None
    status: str | None
    is_blocked: bool
    links: tuple[LinkInfo, ...] = ()

    @property
    def usable(self) -> bool:
        """Exact takes sales entries only for an unblocked account with status Customer."""
        return self.status == "C" and not self.is_blocked

    @property
    def unusable_reason(self) -> str | None:
        if self.is_blocked:
            return "blocked in Exact"
        if self.status != "C":
            words = {"A": "none", "S": "suspect", "P": "prospect"}
            status = words.get(self.status or "A", self.status or "none")
            return f"not a customer in Exact (status {status})"
        return None


@dataclass(frozen=True)
class AccountCursor:
    """Where the next page of accounts starts: after this name and id."""

    name: str
    id: str


@dataclass(frozen=True)
class AccountPage:
    accounts: list[AccountInfo]
    next_after: AccountCursor | None


@dataclass(frozen=True)
class AccountCounts:
    accounts: int
    #: Accounts with at least one platform customer linked.
    linked: int


def _links(
    session: Session, division: int, account_ids: Sequence[str]
) -> dict[str, list[LinkInfo]]:
    if not account_ids:
        return {}
    rows = session.exec(
        select(CustomerLink, Customer)
        .join(Customer, col(Customer.id) == col(CustomerLink.customer_id))
        .where(
            col(CustomerLink.division) == division,
            col(CustomerLink.exact_account_id).in_(list(account_ids)),
        )
        .order_by(col(Customer.number))
    )
    found: dict[str, list[LinkInfo]] = {}
    for link, customer in rows:
        assert customer.id is not None
        found.setdefault(link.exact_account_id, []).append(
            LinkInfo(
                customer.id,
                customer.number,
                customer.name,
                link.method,
                link.linked_by,
                link.linked_at,
            )
        )
    return found


def _accounts(session: Session, rows: Sequence[ExactAccount], division: int) -> list[AccountInfo]:
    links = _links(session, division, [row.id for row in rows])
    return [
        AccountInfo(
            id=row.id,
            division=row.division,
            code=row.code,
            search_code=row.search_code,
            name=row.name,
            vat_number=row.vat_number,
            city=row.city,
            status=row.status,
            is_blocked=row.is_blocked,
            links=tuple(links.get(row.id, ())),
        )
        for row in rows
    ]


def account_page(
    store: Store,
    division: int,
    *,
    text: str | None = None,
    after: AccountCursor | None = None,
    limit: int = 100,
) -> AccountPage:
    """The division's Exact accounts by name, `limit` at a time (keyset on name and id).
    `text` matches the name, the start of the code or search code, the VAT number, and the
    number or name of a linked platform customer."""
    query = select(ExactAccount).where(col(ExactAccount.division) == division)
    text = (text or "").strip()
    if text:
        linked = (
            select(CustomerLink.exact_account_id)
            .join(Customer, col(Customer.id) == col(CustomerLink.customer_id))
            .where(
                col(CustomerLink.division) == division,
                or_(
                    ci_like(col(Customer.number), starts_with(text)),
                    ci_like(col(Customer.name), contains(text)),
                ),
            )
        )
        conditions: list[Any] = [
            ci_like(col(ExactAccount.name), contains(text)),
            ci_like(col(ExactAccount.code), starts_with(text)),
            ci_like(col(ExactAccount.search_code), starts_with(text)),
            ci_like(col(ExactAccount.vat_number), contains(text)),
            col(ExactAccount.id).in_(linked),
        ]
        vat = normalise_vat(text)
        if vat and any(ch.isdigit() for ch in vat):
            conditions.append(col(ExactAccount.vat_normalised) == vat)
        query = query.where(or_(*conditions))
    if after is not None:
        query = query.where(
            or_(
                col(ExactAccount.name) > after.name,
                and_(col(ExactAccount.name) == after.name, col(ExactAccount.id) > after.id),
            )
        )
    query = query.order_by(col(ExactAccount.name), col(ExactAccount.id)).limit(limit)
    with store.read() as session:
        rows = session.exec(query).all()
        accounts = _accounts(session, rows, division)
    cursor = AccountCursor(rows[-1].name, rows[-1].id) if len(rows) == limit else None
    return AccountPage(accounts, cursor)


def account_counts(store: Store, division: int) -> AccountCounts:
    with store.read() as session:
        total = session.exec(
            select(func.count())
            .select_from(ExactAccount)
            .where(col(ExactAccount.division) == division)
        ).one()
        linked = session.exec(
            select(func.count(func.distinct(CustomerLink.exact_account_id))).where(
                col(CustomerLink.division) == division
            )
        ).one()
    return AccountCounts(int(total), int(linked))


@dataclass(frozen=True)
class CustomerInfo:
    id: int
    number: str
    name: str
    vat_number: str | None
    city: str | None


@dataclass(frozen=True)
class Suggestion:
    """A platform customer that may belong to an account, and why."""

    customer: CustomerInfo
    #: The matching rules it meets, in words (docs/export.md §Customers), strongest first.
    reasons: tuple[str, ...]
    #: Only the names are alike: a hint, not a rule.
    hint_only: bool
    #: The account it is linked to in this division now (code and name), if any.
    linked_to: str | None


def _customer_info(row: Customer) -> CustomerInfo:
    assert row.id is not None
    return CustomerInfo(row.id, row.number, row.name, row.vat_number, row.city)


#: Reasons rank as the rules do (docs/export.md §Customers); a similar name is only a hint, ranked
#: last.
_VAT, _CODE, _SEARCH_CODE, _NAME, _TEXT = range(5)
_RULES = ((_CODE, LinkMethod.CODE), (_SEARCH_CODE, LinkMethod.SEARCH_CODE))


class _Reasons:
    """Rows found by the rules and hints, each with its reasons, strongest first."""

    def __init__(self) -> None:
        self.rows: dict[Any, Any] = {}
        self.reasons: dict[Any, list[tuple[int, str]]] = {}
        self.scores: dict[Any, float] = {}

    def add(self, key: Any, row: Any, rank: int, why: str | None = None) -> None:
        self.rows.setdefault(key, row)
        reasons = self.reasons.setdefault(key, [])
        if why is not None and all(w != why for _, w in reasons):
            reasons.append((rank, why))

    def add_similar(self, key: Any, row: Any, name: str, other: str) -> None:
        score = name_similarity(name, other)
        if score >= SIMILAR:
            self.scores[key] = max(score, self.scores.get(key, 0.0))
            self.add(key, row, _NAME, f"name similar ({round(score * 100)} %)")

    def ranked(self, tie: Any) -> list[tuple[Any, Any, tuple[str, ...], bool]]:
        """(key, row, reasons in words, only a name hint), strongest first; `tie(row)` orders
        rows with equal reasons."""
        ranked = []
        for key, row in self.rows.items():
            reasons = sorted(self.reasons[key])
            best = reasons[0][0] if reasons else _TEXT
            words = tuple(why for _, why in reasons)
            hint = bool(reasons) and all(rank == _NAME for rank, _ in reasons)
            ranked.append(((best, -self.scores.get(key, 0.0), tie(row)), (key, row, words, hint)))
        ranked.sort(key=lambda item: item[0])
        return [entry for _, entry in ranked]


def _similar_words(name: str) -> list[str]:
    """The one or two words a similar name is looked up by."""
    return [word for word in name_words(name) if len(word) >= 3][:2]


def customer_suggestions(
    store: Store, division: int, account_id: str, *, text: str | None = None, limit: int = 30
) -> list[Suggestion]:
    """Platform customers to link to an account: those the matching rules would pick (VAT
    number, customer number = code, customer number = search code), those with a similar name
    (a hint), and — with `text` — those whose number or name contains it."""
    found = _Reasons()
    with store.read() as session:
        account = session.get(ExactAccount, tenant_key(session, division, account_id))
        if account is None:
            return []
        if account.vat_normalised:
            for row in session.exec(
                select(Customer)
                .where(col(Customer.vat_normalised) == account.vat_normalised)
                .limit(limit)
            ):
                found.add(row.id, row, _VAT, LinkMethod.VAT.label)
        for rank, method in _RULES:
            value = normalise_code(
                account.code if method is LinkMethod.CODE else account.search_code
            )
            if value:
                for row in session.exec(select(Customer).where(col(Customer.number) == value)):
                    found.add(row.id, row, rank, method.label)
        for word in _similar_words(account.name):
            for row in session.exec(
                select(Customer).where(ci_like(col(Customer.name), contains(word))).limit(200)
            ):
                found.add_similar(row.id, row, account.name, row.name)
        text = (text or "").strip()
        if text:
            for row in session.exec(
                select(Customer)
                .where(
                    or_(
                        ci_like(col(Customer.number), starts_with(text)),
                        ci_like(col(Customer.name), contains(text)),
                    )
                )
                .order_by(col(Customer.number))
                .limit(limit)
            ):
                found.add(row.id, row, _TEXT)
        linked: dict[int, str] = {}
        if found.rows:
            for customer_id, code, name in session.exec(
                select(CustomerLink.customer_id, ExactAccount.code, ExactAccount.name)
                .join(
                    ExactAccount,
                    and_(
                        col(ExactAccount.division) == col(CustomerLink.division),
                        col(ExactAccount.id) == col(CustomerLink.exact_account_id),
                    ),
                )
                .where(
                    col(CustomerLink.division) == division,
                    col(CustomerLink.customer_id).in_(list(found.rows)),
                )
            ):
                linked[customer_id] = f"{code or '—'} {name}"
    return [
        Suggestion(_customer_info(row), words, hint, linked.get(key))
        for key, row, words, hint in found.ranked(lambda row: row.number)[:limit]
    ]


@dataclass(frozen=True)
class Candidate:
    """An Exact account that may be a customer's, and why."""

    account: AccountInfo
    reasons: tuple[str, ...]
    hint_only: bool


@dataclass(frozen=True)
class CustomerFocus:
    """A platform customer seen from one division: its link, the accounts it could be linked
    to, and the documents waiting for it."""

    customer: CustomerInfo
    division: int
    linked: AccountInfo | None
    candidates: list[Candidate]
    blocked: int
    #: What the worker said when it held the documents ("2 Exact accounts match by VAT number").
    cause: str | None


def customer_focus(
    store: Store, division: int, customer_number: str, *, limit: int = 30
) -> CustomerFocus | None:
    """The accounts a customer could be linked to in `division`: those the rules pick and
    those with a similar name (a hint), strongest first."""
    with store.read() as session:
        customer = session.exec(
            select(Customer).where(col(Customer.number) == customer_number.strip())
        ).first()
        if customer is None or customer.id is None:
            return None
        in_division = col(ExactAccount.division) == division
        found = _Reasons()
        if customer.vat_normalised:
            for row in session.exec(
                select(ExactAccount)
                .where(in_division, col(ExactAccount.vat_normalised) == customer.vat_normalised)
                .limit(limit)
            ):
                found.add(row.id, row, _VAT, LinkMethod.VAT.label)
        number = normalise_code(customer.number)
        for rank, method in _RULES if number else ():
            column = ExactAccount.code if method is LinkMethod.CODE else ExactAccount.search_code
            for row in session.exec(select(ExactAccount).where(in_division, col(column) == number)):
                found.add(row.id, row, rank, method.label)
        for word in _similar_words(customer.name):
            for row in session.exec(
                select(ExactAccount)
                .where(in_division, ci_like(col(ExactAccount.name), contains(word)))
                .limit(200)
            ):
                found.add_similar(row.id, row, customer.name, row.name)
        link = session.get(CustomerLink, (customer.id, division))
        linked_row = (
            session.get(ExactAccount, tenant_key(session, division, link.exact_account_id))
            if link
            else None
        )
        rows = list(found.rows.values()) + ([linked_row] if linked_row is not None else [])
        infos = {info.id: info for info in _accounts(session, rows, division)}
        blocked = blocked_counts(session, division)
        key = BlockKey(division, "customer", customer.number)
    candidates = [
        Candidate(infos[account_id], words, hint)
        for account_id, _, words, hint in found.ranked(lambda row: row.name)[:limit]
    ]
    return CustomerFocus(
        customer=_customer_info(customer),
        division=division,
        linked=infos.get(linked_row.id) if linked_row else None,
        candidates=candidates,
        blocked=blocked.counts.get(key, 0),
        cause=blocked.details.get(key) or None,
    )


@dataclass(frozen=True)
class HeldCustomer:
    """A platform customer whose documents wait for a person to link it in a division."""

    number: str
    name: str
    division: int
    waiting: int


def held_customers(store: Store, *, limit: int = 50) -> list[HeldCustomer]:
    """Customers held for a link (several Exact accounts match, or the account was refused),
    most documents waiting first."""
    with store.read() as session:
        blocked = blocked_counts(session)
        held = [
            (key, count)
            for key, count in blocked.counts.items()
            if key.kind == "customer" and key.division is not None
        ]
        held.sort(key=lambda item: (-item[1], item[0].code))
        held = held[:limit]
        names = dict(
            session.exec(
                select(Customer.number, Customer.name).where(
                    col(Customer.number).in_([key.code for key, _ in held])
                )
            ).all()
        )
    return [
        HeldCustomer(key.code, names.get(key.code, ""), key.division, count)
        for key, count in held
        if key.division is not None
    ]
