"""Seed data: deterministic, consistent with the published facts, realistic where it matters."""

from __future__ import annotations

import pytest
from stdnum import iban
from stdnum.eu import vat

from exact_tui.sandbox import FACTS, LARGE, SMALL
from exact_tui.sandbox.odata.types import Record
from exact_tui.sandbox.seed import DivisionFacts, generate
from exact_tui.sandbox.state import DivisionState, World


@pytest.fixture(scope="module")
def small() -> World:
    return generate(7, "small")


def by_code(division: DivisionState, code: str) -> Record:
    account = division.account_by_code(code)
    assert account is not None, code
    return account


def test_same_seed_same_world_other_seed_other_customers(small: World) -> None:
    again = generate(7, "small")
    other = generate(8, "small")
    nl = SMALL.divisions[0].number
    assert list(again.divisions[nl].accounts) == list(small.divisions[nl].accounts)
    assert [a["Name"] for a in again.divisions[nl].accounts.values()] == [
        a["Name"] for a in small.divisions[nl].accounts.values()
    ]
    assert list(other.divisions[nl].accounts) != list(small.divisions[nl].accounts)
    # The facts do not depend on the seed.
    assert {g["Code"] for g in other.divisions[nl].gl_accounts.values()} == {
        g["Code"] for g in small.divisions[nl].gl_accounts.values()
    }


def test_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown seed size"):
        generate(1, "medium")  # type: ignore[arg-type]


def test_small_has_three_divisions_one_outside_the_default_consent(small: World) -> None:
    assert [d.number for d in SMALL.divisions] == sorted(small.divisions)
    assert [d.country for d in SMALL.divisions] == ["NL", "BE", "NL"]
    assert small.default_consent == {SMALL.divisions[0].number, SMALL.divisions[1].number}
    assert [d.consented_by_default for d in SMALL.divisions] == [True, True, False]


@pytest.mark.parametrize("facts", SMALL.divisions, ids=lambda d: str(d.number))
def test_facts_match_the_books(small: World, facts: DivisionFacts) -> None:
    division = small.divisions[facts.number]
    journals = {j["Code"]: j["Type"] for j in division.journals.values()}
    assert journals == dict(facts.journals)
    assert set(journals.values()) >= {10, 12, 20, 22, 90}
    gls = {g["Code"]: g for g in division.gl_accounts.values()}
    assert {code: g["Type"] for code, g in gls.items()} == dict(facts.gl_types)
    for role, code in facts.gl.items():
        assert code in gls, role
    assert gls[facts.gl["receivables"]]["Type"] == 20
    assert gls[facts.gl["revenue"]]["Type"] == 110
    assert gls[facts.gl["revenue_cost_center_required"]]["UseCostcenter"] == 1
    assert gls[facts.gl["revenue_cost_unit_required"]]["UseCostunit"] == 1
    assert gls[facts.gl["revenue_cost_center_refused"]]["UseCostcenter"] == 2
    assert gls[facts.gl["revenue_blocked"]]["IsBlocked"] is True
    assert {str(v["Code"]).strip() for v in division.vat_codes.values()} == set(facts.vat_rates)
    for journal in facts.bank_journals:
        assert iban.is_valid(journal.iban)
        assert facts.journals[journal.code] == 12
    assert len(division.accounts) == facts.relations


def test_vat_rates_per_country() -> None:
    nl, be = SMALL.divisions[0], SMALL.divisions[1]
    assert {nl.vat_rates[nl.vat[r]] for r in ("high", "low", "zero")} == {21, 9, 0}
    assert sorted({be.vat_rates[c] for c in ("0", "6", "12", "21")}) == [0, 6, 12, 21]


def test_customers_have_valid_vat_numbers(small: World) -> None:
    for facts in SMALL.divisions:
        accounts = small.divisions[facts.number].accounts.values()
        customers = [a for a in accounts if a["Status"] == "C"]
        assert len(customers) == facts.customers
        numbers = [str(a["VATNumber"]) for a in customers if a["VATNumber"]]
        assert len(numbers) > 0.75 * len(customers)
        assert all(vat.is_valid(number) for number in numbers)
        assert {str(a["Country"]) for a in accounts} <= {"NL ", "BE ", "DE "}


def test_near_duplicates_and_non_customers(small: World) -> None:
    facts = SMALL.divisions[0]
    division = small.divisions[facts.number]
    for original, duplicate in facts.same_vat_number:
        a, b = by_code(division, original), by_code(division, duplicate)
        assert vat.compact(str(a["VATNumber"])) == vat.compact(str(b["VATNumber"]))
        assert a["Status"] == b["Status"] == "C"
    for original, duplicate in facts.same_name:
        assert by_code(division, original)["Name"] == by_code(division, duplicate)["Name"]
    for customer, other in facts.non_customer_with_customer_vat:
        assert by_code(division, other)["Status"] != "C"
        assert by_code(division, other)["VATNumber"] == by_code(division, customer)["VATNumber"]
    statuses = [a["Status"] for a in division.accounts.values()]
    assert {"S", "P", "A"} <= set(statuses)
    names = [a["Name"] for a in division.accounts.values() if a["Status"] == "C"]
    assert len(names) - len(set(names)) == len(facts.same_name) + 1  # + the same-VAT twin


def test_large_has_20000_accounts_and_2000_gl_accounts_per_division() -> None:
    world = generate(3, "large")
    assert [d.number for d in LARGE.divisions] == sorted(world.divisions)
    for division in world.divisions.values():
        assert len(division.accounts) == 20_000
        assert len(division.gl_accounts) == 2_000
    assert FACTS["large"].divisions[0].relations == 20_000
