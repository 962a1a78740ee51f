"""Validation messages in the user's language, in the patterns Exact uses.

Exact answers "Verplicht: Factuur voor" (PQ#10), "Ongeldig: Dagboek" (PQ#121), "Ongeldige
referentie: Journals" (PQ#31), "Ongeldig: Factuur voor (Type)" (PQ#172). The sandbox speaks Dutch
in divisions under NL legislation and English elsewhere (see assumptions.DUTCH_LEGISLATIONS).
"""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    "Journal": ("Dagboek", "Journal"),
    "Customer": ("Klant", "Customer"),
    "Lines": ("Regels", "Lines"),
    "GLAccount": ("Grootboekrekening", "G/L account"),
    "GLAccountType": ("Grootboekrekeningtype", "G/L account type"),
    "AmountFC": ("Bedrag", "Amount"),
    "CostCenter": ("Kostenplaats", "Cost center"),
    "CostUnit": ("Kostendrager", "Cost unit"),
    "VATCode": ("Btw-code", "VAT code"),
    "Account": ("Relatie", "Account"),
    "Name": ("Naam", "Name"),
    "Code": ("Code", "Code"),
    "Status": ("Status", "Status"),
    "VATNumber": ("Btw-nummer", "VAT number"),
    "Currency": ("Valuta", "Currency"),
    "ClosingBalanceFC": ("Eindsaldo", "Closing balance"),
}

DETAILS: dict[str, tuple[str, str]] = {
    "type": ("Type", "Type"),
    "blocked": ("Geblokkeerd", "Blocked"),
    "exists": ("Bestaat al", "Already exists"),
    "inactive": ("Niet actief", "Inactive"),
    "not_allowed": ("Niet toegestaan", "Not allowed"),
    "purchase": ("Inkoop", "Purchase"),
}


def _pick(pair: tuple[str, str], dutch: bool) -> str:
    return pair[0] if dutch else pair[1]


def mandatory(field: str, dutch: bool) -> str:
    prefix = "Verplicht" if dutch else "Mandatory"
    return f"{prefix}: {_pick(LABELS[field], dutch)}"


def invalid(field: str, dutch: bool, detail: str | None = None) -> str:
    prefix = "Ongeldig" if dutch else "Invalid"
    text = f"{prefix}: {_pick(LABELS[field], dutch)}"
    return f"{text} ({_pick(DETAILS[detail], dutch)})" if detail else text


def invalid_reference(field: str, dutch: bool) -> str:
    prefix = "Ongeldige referentie" if dutch else "Invalid reference"
    return f"{prefix}: {_pick(LABELS[field], dutch)}"


def not_a_bank_journal(dutch: bool) -> str:
    # English wording after PQ#452's "Invalid journal. The journal must be a cash journal."
    if dutch:
        return "Ongeldig: Dagboek (het dagboek moet een bankboek zijn)"
    return "Invalid journal. The journal must be a bank journal."


def not_balanced(difference: str, dutch: bool) -> str:
    if dutch:
        return f"Ongeldig: Boeking is niet in balans (verschil {difference})"
    return f"Invalid: Entry is not balanced (difference {difference})"
