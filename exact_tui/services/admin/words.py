"""Exact's type numbers in words (docs/exact-api.md §Journals, §GL accounts, §VAT codes), as the
admin lists show them."""

from __future__ import annotations

from exact_tui.store.models import GLAccount, VATCode

JOURNAL_TYPES = {
    10: "cash",
    12: "bank",
    16: "payment service",
    20: "sales",
    21: "return invoice",
    22: "purchase",
    23: "received return invoice",
    90: "general",
}
GL_TYPES = {
    10: "cash",
    12: "bank",
    20: "receivable",
    22: "payable",
    24: "VAT",
    90: "general",
    110: "revenue",
    111: "cost of goods",
    120: "other costs",
    140: "exceptional income",
}
COST_RULES = {1: "required", 2: "not allowed"}


def type_words(types: dict[int, str], value: int | None) -> str:
    """`12 bank`; a type without words stays a number."""
    if value is None:
        return "no type"
    return f"{value} {types[value]}" if value in types else str(value)


def gl_detail(gl: GLAccount) -> str:
    parts = [type_words(GL_TYPES, gl.type)]
    if gl.use_costcenter in COST_RULES:
        parts.append(f"cost center {COST_RULES[gl.use_costcenter]}")
    if gl.use_costunit in COST_RULES:
        parts.append(f"cost unit {COST_RULES[gl.use_costunit]}")
    return " · ".join(parts)


def vat_detail(vat: VATCode) -> str:
    rate = (vat.percentage * 100).normalize()
    words = {"S": "sales", "B": "sales and purchase", "P": "purchase"}
    parts = [f"{rate:f} %"]
    if vat.transaction_type in words:
        parts.append(words[vat.transaction_type])
    return " · ".join(parts)
