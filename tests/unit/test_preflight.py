import datetime as dt
from decimal import Decimal

import pytest

from exact_tui.domain.preflight import (
    DivisionFacts,
    DocumentFacts,
    GLFacts,
    JournalFacts,
    LineFacts,
    SettingsFacts,
    VATFacts,
    preflight,
)
from exact_tui.domain.states import Category, DocumentKind, MappingKind, WriteOffKind

D = Decimal
TODAY = dt.date(2026, 3, 2)


def facts(**overrides: object) -> DivisionFacts:
    base: dict[str, object] = {
        "division": 100001,
        "mappings": {
            (MappingKind.GL, "REV"): "8000",
            (MappingKind.GL, "REV-CC"): "8100",
            (MappingKind.GL, "DEBT"): "1300",
            (MappingKind.VAT, "21"): "2",
            (MappingKind.COST_CENTER, "HQ"): "100",
        },
        "settings": SettingsFacts(
            sales_journal="70",
            general_journal="90",
            receivables_gl="1300",
            write_off_gl="4900",
            collection_costs_gl="8900",
        ),
        "gl_accounts": {
            "8000": GLFacts("gl-8000", "8000", 110),
            "8100": GLFacts("gl-8100", "8100", 110, use_costcenter=1),
            "1300": GLFacts("gl-1300", "1300", 20),
            "4900": GLFacts("gl-4900", "4900", 121),
            "8900": GLFacts("gl-8900", "8900", 140),
        },
        "vat_codes": {"2": VATFacts("2", D("0.21"))},
        "journals": {
            "70": JournalFacts("70", 20),
            "90": JournalFacts("90", 90),
            "20": JournalFacts("20", 12),
        },
        "cost_centers": {"100": None},
        "today": TODAY,
    }
    base.update(overrides)
    return DivisionFacts(**base)  # type: ignore[arg-type]


def invoice(*lines: LineFacts) -> DocumentFacts:
    return DocumentFacts(DocumentKind.INVOICE, "INV-1", lines=lines)


def test_invoice_resolves_codes_and_computes_missing_vat() -> None:
    result = preflight(
        invoice(
            LineFacts(D("100.00"), "REV", "21", vat_amount=D("21.00")),
            LineFacts(D("10.05"), "REV-CC", "21", cost_center="HQ"),
        ),
        facts(),
    )
    assert result.ok and result.category is None
    assert result.journal_code == "70"
    assert [line.gl_account_id for line in result.lines] == ["gl-8000", "gl-8100"]
    assert result.lines[1].vat_amount == D("2.11")  # 10.05 x 21 % rounded half up
    assert result.lines[1].cost_center == "100"


@pytest.mark.parametrize(
    ("line", "kind", "detail"),
    [
        (LineFacts(D(1), "NEW", "21"), "gl", "GL NEW missing"),
        (LineFacts(D(1), "REV", "21-EU"), "vat", "VAT code 21-EU missing"),
        (LineFacts(D(1), "DEBT", "21"), "gl", "GL DEBT → 1300 is not a revenue account"),
        (LineFacts(D(1), "REV-CC", "21"), "cost_center", "GL 8100 requires a cost center"),
        (LineFacts(D(1), "REV", "21", cost_center="LAB"), "cost_center", "cost center LAB missing"),
        (LineFacts(D(1), "REV", "21", cost_unit="U1"), "cost_unit", "cost unit U1 missing"),
    ],
)
def test_each_missing_mapping_is_named(line: LineFacts, kind: str, detail: str) -> None:
    result = preflight(invoice(line), facts())
    assert not result.ok
    assert result.category is Category.MAPPING
    assert [(m.kind, m.detail) for m in result.missing] == [(kind, detail)]
    assert result.cause(100001) == f"{detail} in division 100001"


def test_blocked_and_vanished_targets() -> None:
    blocked = facts(gl_accounts={"8000": GLFacts("gl", "8000", 110, is_blocked=True)})
    result = preflight(invoice(LineFacts(D(1), "REV", "21")), blocked)
    assert [m.detail for m in result.missing] == ["GL REV → 8000 is blocked"]
    result = preflight(invoice(LineFacts(D(1), "REV", "21")), facts(vat_codes={}))
    assert [m.detail for m in result.missing] == ["VAT code 21 → 2 not in Exact"]


def test_the_same_gap_on_many_lines_is_reported_once() -> None:
    result = preflight(invoice(*[LineFacts(D(i), "REV", "21-EU") for i in range(3)]), facts())
    assert len(result.missing) == 1


def test_missing_settings_for_each_kind() -> None:
    empty = facts(settings=SettingsFacts())
    assert [m.code for m in preflight(invoice(LineFacts(D(1), "REV", "21")), empty).missing] == [
        "sales_journal"
    ]
    payment = DocumentFacts(DocumentKind.PAYMENT, "PAY-1", amount=D(5))
    assert [m.code for m in preflight(payment, empty, bank_journal="20").missing] == [
        "receivables_gl"
    ]
    write_off = DocumentFacts(
        DocumentKind.WRITE_OFF, "WO-1", amount=D(5), write_off_kind=WriteOffKind.COLLECTION_COSTS
    )
    assert [m.code for m in preflight(write_off, empty).missing] == [
        "general_journal",
        "receivables_gl",
        "collection_costs_gl",
    ]


def test_wrong_journal_type_is_refused() -> None:
    wrong = facts(settings=SettingsFacts(sales_journal="90"))
    result = preflight(invoice(LineFacts(D(1), "REV", "21")), wrong)
    assert [m.detail for m in result.missing] == ["sales journal 90 is not of type 20"]


def test_payment_needs_a_bound_bank_journal() -> None:
    payment = DocumentFacts(DocumentKind.PAYMENT, "PAY-1", amount=D(5))
    result = preflight(payment, facts())
    assert result.category is Category.BINDING
    ok = preflight(payment, facts(), bank_journal="20")
    assert ok.ok and ok.journal_code == "20" and ok.receivables_gl_id == "gl-1300"
    wrong = preflight(payment, facts(), bank_journal="70")
    assert wrong.category is Category.BINDING


def test_write_off_resolves_both_gl_accounts() -> None:
    write_off = DocumentFacts(
        DocumentKind.WRITE_OFF, "WO-1", amount=D(5), write_off_kind=WriteOffKind.WRITE_OFF
    )
    result = preflight(write_off, facts())
    assert result.ok
    assert (result.journal_code, result.receivables_gl_id, result.counter_gl_id) == (
        "90",
        "gl-1300",
        "gl-4900",
    )


def test_invoice_without_lines_is_refused() -> None:
    assert not preflight(invoice(), facts()).ok


def test_a_purchase_vat_code_is_refused_on_sales_lines() -> None:
    # The same rule as the mapping intent and the admin view: Exact refuses it on sales lines.
    purchase = facts(vat_codes={"2": VATFacts("2", D("0.21"), transaction_type="P")})
    result = preflight(invoice(LineFacts(D(1), "REV", "21")), purchase)
    assert [m.detail for m in result.missing] == ["VAT code 21 → 2 is a purchase VAT code"]
    both = facts(vat_codes={"2": VATFacts("2", D("0.21"), transaction_type="B")})
    assert preflight(invoice(LineFacts(D(1), "REV", "21")), both).ok


@pytest.mark.parametrize(
    ("end_date", "usable"),
    [(None, True), (TODAY + dt.timedelta(days=1), True), (TODAY, False)],
)
def test_a_cost_center_is_usable_until_its_end_date(end_date: dt.date | None, usable: bool) -> None:
    ending = facts(cost_centers={"100": end_date})
    result = preflight(invoice(LineFacts(D(1), "REV", "21", cost_center="HQ")), ending)
    assert result.ok is usable
    if not usable:
        assert [m.detail for m in result.missing] == ["cost center HQ → 100 is past its end date"]
