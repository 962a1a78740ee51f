from exact_tui.domain.matching import (
    AccountFacts,
    CustomerFacts,
    Decision,
    match_customer,
)
from exact_tui.domain.states import LinkMethod

CUSTOMER = CustomerFacts(number="10042", vat_normalised="NL003072558B01")


def account(id_: str, **kw: object) -> AccountFacts:
    base: dict[str, object] = {
        "code": None,
        "search_code": None,
        "vat_normalised": None,
        "status": "C",
    }
    base.update(kw)
    return AccountFacts(id=id_, **base)  # type: ignore[arg-type]


def test_existing_link_wins_over_every_rule() -> None:
    accounts = [account("a", vat_normalised=CUSTOMER.vat_normalised), account("b")]
    result = match_customer(CUSTOMER, accounts, linked_account_id="b")
    assert (result.decision, result.account_id) == (Decision.LINKED, "b")


def test_link_to_a_vanished_account_is_ignored() -> None:
    accounts = [account("a", vat_normalised=CUSTOMER.vat_normalised)]
    result = match_customer(CUSTOMER, accounts, linked_account_id="gone")
    assert (result.decision, result.account_id, result.method) == (
        Decision.MATCHED,
        "a",
        LinkMethod.VAT,
    )


def test_vat_before_code_before_search_code() -> None:
    by_code = account("code", code="             10042")
    by_search = account("search", search_code="10042")
    by_vat = account("vat", vat_normalised=CUSTOMER.vat_normalised)
    assert match_customer(CUSTOMER, [by_search, by_code, by_vat]).account_id == "vat"
    assert match_customer(CUSTOMER, [by_search, by_code]).method is LinkMethod.CODE
    assert match_customer(CUSTOMER, [by_search]).method is LinkMethod.SEARCH_CODE


def test_padded_code_matches_trimmed_number() -> None:
    result = match_customer(CUSTOMER, [account("x", code="10042".rjust(18))])
    assert (result.account_id, result.method) == ("x", LinkMethod.CODE)


def test_only_customers_that_are_not_blocked_match() -> None:
    prospect = account("p", vat_normalised=CUSTOMER.vat_normalised, status="P")
    blocked = account("b", code="10042", is_blocked=True)
    assert match_customer(CUSTOMER, [prospect, blocked]).decision is Decision.NONE


def test_several_hits_for_a_rule_are_ambiguous() -> None:
    twins = [
        account("a", vat_normalised=CUSTOMER.vat_normalised),
        account("b", vat_normalised=CUSTOMER.vat_normalised),
        account("c", code="10042"),
    ]
    result = match_customer(CUSTOMER, twins)
    assert result.decision is Decision.AMBIGUOUS
    assert result.candidates == ("a", "b")
    assert result.method is LinkMethod.VAT
    assert result.why == "2 Exact accounts match by VAT number"


def test_no_vat_number_skips_the_vat_rule() -> None:
    customer = CustomerFacts(number="7", vat_normalised=None)
    result = match_customer(customer, [account("a", vat_normalised=None, code="8")])
    assert result.decision is Decision.NONE
    assert result.why == "no Exact account matches"
