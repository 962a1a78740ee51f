"""Customer matching and creation (docs/export.md §Customers): which Exact account a document goes
to.

From the cache first (an existing link, then VAT number, account code, search code; no call).
When nothing matches, or several do and `customers.on_ambiguous = "create"`: one live check in
Exact (the cache may be stale, and an account created by an attempt whose answer was lost
carries our customer number as SearchCode), then the account is created and linked. Every link
records how it was made.

Only the worker holding a division creates its customers (docs/worker.md §Several workers);
the link's key (customer, division) is the backstop: a link written meanwhile by another
worker is read back and its account used, never overwritten and never a failed export.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from exact_tui.domain.matching import (
    AccountFacts,
    CustomerFacts,
    Decision,
    MatchResult,
    match_customer,
    normalise_code,
)
from exact_tui.domain.states import Category, DocumentKind, JobState, LinkMethod
from exact_tui.domain.transitions import EventOutcome
from exact_tui.domain.vat import normalise_vat
from exact_tui.exact import entries
from exact_tui.exact.errors import ExactError
from exact_tui.exact.http import BeforeSend
from exact_tui.services import job_state
from exact_tui.services.clock import Clock
from exact_tui.services.export.api import ExactApi
from exact_tui.services.export.documents import CustomerInfo
from exact_tui.services.masterdata import ENTITIES
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    CustomerLink,
    ExactAccount,
    ExportJob,
    Invoice,
    Payment,
    SyncState,
)
from exact_tui.store.scoping import tenant_key

#: Who links automatically, in the link's `linked_by`.
WORKER = "exact-tui worker"
_ACCOUNTS_ENTITY = next(e.name for e in ENTITIES if e.model is ExactAccount)

OnAmbiguous = Literal["create", "hold"]


class CreationInDoubt(ExactError):
    """Not sent: another document's creation of the customer's account is in doubt. A plain
    wait (backoff), not itself a doubt: two documents waiting on each other's doubt would
    wait for ever."""


@dataclass(frozen=True)
class CustomerPlan:
    """What the cache says about a customer in one division, before any call."""

    customer: CustomerInfo
    result: MatchResult
    #: Codes of the accounts involved, to say in words which account a link points at.
    codes: Mapping[str, str | None]
    #: The account the customer's link named when the plan was made (None: no link).
    linked: str | None = None


def _facts(account: ExactAccount) -> AccountFacts:
    return AccountFacts(
        id=account.id,
        code=account.code,
        search_code=account.search_code,
        vat_normalised=account.vat_normalised,
        status=account.status,
        name=account.name,
        is_blocked=account.is_blocked,
    )


def _link_is_current(session: Session, division: int, link: CustomerLink) -> bool:
    """A link whose account is not in the cache still holds when the accounts were last
    imported before the link was made (an account we created since); otherwise the account
    is gone from Exact and the rules run again."""
    state = session.get(SyncState, tenant_key(session, division, _ACCOUNTS_ENTITY))
    return state is None or state.last_run_at is None or state.last_run_at < link.linked_at


def plan_customer(session: Session, division: int, customer: CustomerInfo) -> CustomerPlan:
    """The matching rules (docs/export.md §Customers) over the cached accounts: only the candidates
    are read (same VAT number, code or search code, or the linked account), through the cache's
    indexes."""
    number = normalise_code(customer.number) or customer.number
    link = session.get(CustomerLink, (customer.id, division))
    conditions = [col(ExactAccount.code) == number, col(ExactAccount.search_code) == number]
    if customer.vat_normalised:
        conditions.append(col(ExactAccount.vat_normalised) == customer.vat_normalised)
    if link is not None:
        conditions.append(col(ExactAccount.id) == link.exact_account_id)
    rows = session.exec(
        select(ExactAccount).where(col(ExactAccount.division) == division, or_(*conditions))
    ).all()
    accounts = [_facts(row) for row in rows]
    linked = link.exact_account_id if link is not None else None
    if (
        link is not None
        and not any(a.id == link.exact_account_id for a in accounts)
        and _link_is_current(session, division, link)
    ):
        accounts.append(AccountFacts(link.exact_account_id, None, None, None, "C"))
    result = match_customer(
        CustomerFacts(customer.number, customer.vat_normalised),
        accounts,
        linked_account_id=linked,
    )
    return CustomerPlan(customer, result, {a.id: a.code for a in accounts}, linked)


def live_accounts(rows: Iterable[Mapping[str, Any]]) -> list[AccountFacts]:
    """Accounts as the live check returned them, in the matching rules' terms."""
    found = []
    for row in rows:
        if row.get("ID") is None:
            continue
        country = str(row.get("Country") or "").strip() or None
        vat = str(row.get("VATNumber") or "").strip() or None
        found.append(
            AccountFacts(
                id=str(row["ID"]),
                code=normalise_code(str(row.get("Code") or "")),
                search_code=normalise_code(str(row.get("SearchCode") or "")),
                vat_normalised=normalise_vat(vat, country),
                status=str(row.get("Status") or "").strip() or None,
                name=str(row.get("Name") or ""),
                is_blocked=bool(row.get("Blocked")),
            )
        )
    return found


def by_search_code(accounts: Sequence[AccountFacts], number: str) -> list[AccountFacts]:
    """Usable customer accounts whose SearchCode is the customer number."""
    wanted = normalise_code(number)
    return [
        a
        for a in accounts
        if a.status == "C" and not a.is_blocked and normalise_code(a.search_code) == wanted
    ]


@dataclass(frozen=True)
class Resolution:
    """The account to post to, or why the job waits for a person (`hold`)."""

    account_id: str | None
    hold: MatchResult | None = None


class CustomerResolver:
    def __init__(self, store: Store, clock: Clock, *, on_ambiguous: OnAmbiguous) -> None:
        self.store = store
        self.clock = clock
        self.on_ambiguous = on_ambiguous

    async def resolve(
        self,
        client: ExactApi,
        division: int,
        plan: CustomerPlan,
        job_id: int,
        *,
        before_send: BeforeSend | None = None,
    ) -> Resolution:
        """The account for `plan`'s customer; may call Exact (the live check, the creation;
        `before_send` runs right before a creation leaves). Failures of those calls are raised
        as the client raised them."""
        result = plan.result
        customer = plan.customer
        if result.decision is Decision.LINKED:
            return Resolution(result.account_id)
        if result.decision is Decision.MATCHED:
            assert result.account_id is not None and result.method is not None
            return Resolution(
                await self._link(job_id, division, plan, result.account_id, result.method, plan)
            )
        variants = entries.vat_variants(customer.vat_number, customer.vat_normalised)
        page = await client.get_page(
            division, entries.ACCOUNTS, entries.customer_check(variants, customer.number)
        )
        live = live_accounts(page.rows)
        codes = {**plan.codes, **{a.id: a.code for a in live}}
        ours = by_search_code(live, customer.number)
        if len(ours) == 1:
            # Carries our customer number: an earlier attempt created it, or someone set it.
            return Resolution(
                await self._link(job_id, division, plan, ours[0].id, LinkMethod.SEARCH_CODE, codes)
            )
        if result.decision is Decision.NONE:
            found = match_customer(CustomerFacts(customer.number, customer.vat_normalised), live)
            if found.decision is Decision.MATCHED:
                assert found.account_id is not None and found.method is not None
                return Resolution(
                    await self._link(job_id, division, plan, found.account_id, found.method, codes)
                )
            if found.decision is Decision.AMBIGUOUS and self.on_ambiguous == "hold":
                return Resolution(None, hold=found)
        doubt = await asyncio.to_thread(self._creation_in_doubt, division, customer.id, job_id)
        if doubt is not None:
            # Another document's creation of this account lost its answer and may yet be
            # committed: creating it here too would make it twice. This job waits as that
            # one does (docs/export.md §The settling horizon).
            raise CreationInDoubt(
                f"the account of customer {customer.number} may have been created by another "
                f"document's attempt (its answer was lost); it is looked up again once that "
                f"one settles (from {doubt:%Y-%m-%d %H:%M:%S} UTC)"
            )
        return Resolution(await self._create(client, division, plan, job_id, before_send))

    def _creation_in_doubt(
        self, division: int, customer_id: int, job_id: int
    ) -> dt.datetime | None:
        """When another job's creation of this customer's account in `division` is in doubt
        (its answer lost, its settling horizon not reached): the end of that horizon."""
        documents = or_(
            and_(
                col(ExportJob.document_kind) == DocumentKind.INVOICE,
                col(ExportJob.document_id).in_(
                    select(Invoice.id).where(col(Invoice.customer_id) == customer_id)
                ),
            ),
            and_(
                col(ExportJob.document_kind) == DocumentKind.PAYMENT,
                col(ExportJob.document_id).in_(
                    select(Payment.id).where(col(Payment.customer_id) == customer_id)
                ),
            ),
        )
        with self.store.read() as session:
            return session.exec(
                select(func.max(ExportJob.next_attempt_at))
                .where(col(ExportJob.division) == division)
                .where(col(ExportJob.id) != job_id)
                .where(col(ExportJob.state) == JobState.RETRY_WAIT)
                .where(col(ExportJob.category) == Category.AMBIGUOUS)
                .where(col(ExportJob.next_attempt_at) > self.clock.now())
                .where(documents)
            ).one()

    async def _create(
        self,
        client: ExactApi,
        division: int,
        plan: CustomerPlan,
        job_id: int,
        before_send: BeforeSend | None,
    ) -> str:
        """Create the account and link it; the account to post to (another worker's link,
        when one was written meanwhile)."""
        customer = plan.customer
        body = entries.new_customer_account(
            name=customer.name,
            customer_number=customer.number,
            vat_number=customer.vat_normalised,
            address_line=customer.address_line,
            postcode=customer.postcode,
            city=customer.city,
            country=customer.country,
            email=customer.email,
            phone=customer.phone,
        )
        created = await client.post(division, entries.ACCOUNTS, body, before_send=before_send)
        account_id = str(created.get("ID") or "")
        code = normalise_code(str(created.get("Code") or ""))
        return await asyncio.to_thread(
            self._save_link,
            job_id,
            division,
            plan,
            account_id,
            LinkMethod.CREATED,
            f"customer {customer.number} created in Exact as account {code or account_id}",
            body,
        )

    async def _link(
        self,
        job_id: int,
        division: int,
        plan: CustomerPlan,
        account_id: str,
        method: LinkMethod,
        codes: CustomerPlan | Mapping[str, str | None],
    ) -> str:
        known = codes.codes if isinstance(codes, CustomerPlan) else codes
        label = known.get(account_id) or account_id
        message = (
            f"customer {plan.customer.number} linked to Exact account {label} ({method.label})"
        )
        return await asyncio.to_thread(
            self._save_link, job_id, division, plan, account_id, method, message, None
        )

    def _save_link(
        self,
        job_id: int,
        division: int,
        plan: CustomerPlan,
        account_id: str,
        method: LinkMethod,
        message: str,
        request: dict[str, Any] | None,
    ) -> str:
        """Link the customer to `account_id` and note it on the job; the account the link
        names afterwards. A link written since the plan was made (by another worker) wins:
        it is kept, and its account returned."""
        now = self.clock.now()
        customer = plan.customer
        key = (customer.id, division)
        outcome = EventOutcome.ACCOUNT_CREATED if request else EventOutcome.LINKED
        status = 201 if request else None
        with self.store.write() as session:
            link = session.get(CustomerLink, key, with_for_update=True)
            if link is None:
                try:
                    with session.begin_nested():
                        session.add(
                            CustomerLink(
                                customer_id=customer.id,
                                division=division,
                                exact_account_id=account_id,
                                method=method,
                                linked_by=WORKER,
                                linked_at=now,
                            )
                        )
                        session.flush()
                except IntegrityError:
                    # Another worker inserted the link between our look and our insert (the
                    # store's write lock keeps this from happening; the key is the backstop).
                    link = session.get(
                        CustomerLink, key, with_for_update=True, populate_existing=True
                    )
                    assert link is not None
                else:
                    job_state.note(
                        session, job_id, outcome, message, now=now, http_status=status,
                        request=request,
                    )  # fmt: skip
                    return account_id
            if link.exact_account_id not in (account_id, plan.linked):
                kept = link.exact_account_id
                extra = (
                    f"; account {account_id} is not linked (a duplicate to merge in Exact)"
                    if request
                    else ""
                )
                job_state.note(
                    session,
                    job_id,
                    outcome,
                    f"{message}, but the customer was linked to account {kept} meanwhile "
                    f"(by another worker): the entry goes to {kept}{extra}",
                    now=now,
                    level="warning",
                    http_status=status,
                    request=request,
                )
                return kept
            link.exact_account_id = account_id
            link.method = method
            link.linked_by = WORKER
            link.linked_at = now
            session.add(link)
            job_state.note(
                session, job_id, outcome, message, now=now, http_status=status, request=request
            )
            return account_id


def hold_cause(customer: CustomerInfo, division: int, match: MatchResult) -> str:
    """Why a customer is held: "customer P-1003 is ambiguous: 2 Exact accounts match …"."""
    return f"customer {customer.number} is ambiguous: {match.why} in division {division}"
