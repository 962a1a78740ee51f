"""Linking a platform customer to an Exact account by hand, and taking the link away."""

from __future__ import annotations

from sqlmodel import Session, col, select

from exact_tui.domain.states import Category, LinkMethod
from exact_tui.domain.text import counted
from exact_tui.services import audit
from exact_tui.services.intents.base import IntentBase, IntentRefused, IntentResult
from exact_tui.store.models import Customer, CustomerLink, ExactAccount


class LinkIntents(IntentBase):
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
            moved = self._unblock(
                session,
                f"customer {customer.number} linked to account {found.code} by {self.actor.name}",
                division=division,
                categories=(Category.CUSTOMER,),
                kinds=("customer",),
                code=customer.number,
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
            f"division {division}; {counted(moved, 'job')} back to pending",
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


def _guid_like(value: str) -> bool:
    return len(value) == 36 and value.count("-") == 4


def _customer(session: Session, number: str) -> Customer | None:
    return session.exec(select(Customer).where(col(Customer.number) == number.strip())).first()
