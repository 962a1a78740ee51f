"""Customer matching (docs/export.md §Customers): which Exact account a platform customer's
documents go to.

Per division, first hit wins: an existing link; the VAT number; the customer number against the
account Code; the customer number against SearchCode — each among accounts with status Customer.
One match links; several are ambiguous (create or hold, by setting); none means create.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from exact_tui.domain.states import LinkMethod


@dataclass(frozen=True)
class CustomerFacts:
    number: str
    vat_normalised: str | None


@dataclass(frozen=True)
class AccountFacts:
    id: str
    code: str | None
    search_code: str | None
    vat_normalised: str | None
    status: str | None
    name: str = ""
    is_blocked: bool = False


class Decision(StrEnum):
    LINKED = "linked"
    MATCHED = "matched"
    AMBIGUOUS = "ambiguous"
    NONE = "none"


@dataclass(frozen=True)
class MatchResult:
    decision: Decision
    account_id: str | None = None
    method: LinkMethod | None = None
    #: For an ambiguous result: the rule that found several, and the candidates' ids.
    candidates: tuple[str, ...] = ()

    @property
    def why(self) -> str:
        if self.decision is Decision.AMBIGUOUS and self.method:
            return f"{len(self.candidates)} Exact accounts match by {self.method.label}"
        if self.method:
            return f"matched by {self.method.label}"
        return "no Exact account matches"


def normalise_code(code: str | None) -> str | None:
    """Exact pads account codes to 18 characters; compare them trimmed."""
    if code is None:
        return None
    stripped = code.strip()
    return stripped or None


def match_customer(
    customer: CustomerFacts,
    accounts: Sequence[AccountFacts],
    *,
    linked_account_id: str | None = None,
) -> MatchResult:
    """Apply the rules in order over the division's cached accounts.

    `accounts` need only hold the candidates (those sharing the VAT number, code or search
    code); blocked accounts never match. A link to an account that no longer exists is ignored
    so the rules run again.
    """
    # Only customers (status C) match, by every rule: a sales entry for a relation without
    # customer status is refused by Exact ("Ongeldig: Factuur voor (Type)").
    usable = [a for a in accounts if not a.is_blocked and a.status == "C"]
    if linked_account_id is not None and any(a.id == linked_account_id for a in accounts):
        return MatchResult(Decision.LINKED, linked_account_id, None)
    number = normalise_code(customer.number)
    rules: list[tuple[LinkMethod, list[AccountFacts]]] = [
        (
            LinkMethod.VAT,
            [
                a
                for a in usable
                if customer.vat_normalised and a.vat_normalised == customer.vat_normalised
            ],
        ),
        (LinkMethod.CODE, [a for a in usable if number and normalise_code(a.code) == number]),
        (
            LinkMethod.SEARCH_CODE,
            [a for a in usable if number and normalise_code(a.search_code) == number],
        ),
    ]
    for method, hits in rules:
        unique = sorted({a.id for a in hits})
        if len(unique) == 1:
            return MatchResult(Decision.MATCHED, unique[0], method)
        if len(unique) > 1:
            return MatchResult(Decision.AMBIGUOUS, None, method, tuple(unique))
    return MatchResult(Decision.NONE)
