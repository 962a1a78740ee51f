"""What a refusal from Exact means, and what fixes it: the one place that reads Exact's
validation messages, in Dutch and in English (Exact answers in the user's language), and says
the cause and the fix in plain words. The console and the CLI both show these.

Exact's messages follow a few patterns (docs/sandbox.md lists the ones the sandbox speaks):
"Verplicht: Factuur voor" / "Mandatory: …", "Ongeldig: Klant (Geblokkeerd)" /
"Invalid: Customer (Blocked)", "Ongeldige referentie: Journals" / "Invalid reference: …",
"Invalid journal. The journal must be a cash journal.", and an entry that does not balance.
Several messages come joined by line breaks; each known one gets its own guidance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: What Exact calls a field, in Dutch and in English → the field it is.
FIELDS: dict[str, str] = {
    "klant": "customer",
    "customer": "customer",
    "factuur voor": "customer",
    "invoice to": "customer",
    "relatie": "account",
    "account": "account",
    "dagboek": "journal",
    "journal": "journal",
    "journals": "journal",
    "grootboekrekening": "gl",
    "g/l account": "gl",
    "gl account": "gl",
    "glaccounts": "gl",
    "grootboekrekeningtype": "gl_type",
    "g/l account type": "gl_type",
    "kostenplaats": "cost_center",
    "cost center": "cost_center",
    "kostendrager": "cost_unit",
    "cost unit": "cost_unit",
    "btw-code": "vat",
    "vat code": "vat",
    "vatcodes": "vat",
    "valuta": "currency",
    "currency": "currency",
    "regels": "lines",
    "lines": "lines",
    "bedrag": "amount",
    "amount": "amount",
    "btw-nummer": "vat_number",
    "vat number": "vat_number",
    "code": "code",
    "status": "status",
    "naam": "name",
    "name": "name",
    "eindsaldo": "closing_balance",
    "closing balance": "closing_balance",
}
#: The detail in brackets, in Dutch and in English → the problem it names.
DETAILS: dict[str, str] = {
    "geblokkeerd": "blocked",
    "blocked": "blocked",
    "type": "type",
    "bestaat al": "exists",
    "already exists": "exists",
    "niet actief": "inactive",
    "inactive": "inactive",
    "niet toegestaan": "not_allowed",
    "not allowed": "not_allowed",
    "inkoop": "purchase",
    "purchase": "purchase",
}

_MANDATORY = re.compile(r"^(?:verplicht|mandatory)\s*:\s*(?P<field>.+?)\s*$", re.I)
_REFERENCE = re.compile(
    r"^(?:ongeldige referentie|invalid reference)\s*:\s*(?P<field>.+?)\s*$", re.I
)
_INVALID = re.compile(
    r"^(?:ongeldig|invalid)\s*:\s*(?P<field>[^()]+?)\s*(?:\((?P<detail>[^)]*)\))?\s*$", re.I
)
_WRONG_JOURNAL = re.compile(
    r"^invalid journal\. the journal must be an? (?P<kind>\w+) journal\.?$"
    r"|^ongeldig\s*:\s*dagboek \(het dagboek moet een (?P<soort>\w+) zijn\)$",
    re.I,
)
_UNBALANCED = re.compile(
    r"^(?:ongeldig|invalid)\s*:\s*(?:boeking is niet in balans|entry is not balanced)", re.I
)


@dataclass(frozen=True)
class Guidance:
    """One refusal in plain words: why Exact said no, and what makes it say yes."""

    #: The line of Exact's message this explains.
    message: str
    cause: str
    fix: str

    def line(self) -> str:
        return f"{self.cause}: {self.fix}"


@dataclass(frozen=True)
class Facts:
    """What the caller knows about the refused entry, to name things in the guidance."""

    #: The Exact account the entry was for ("4 Fotografie Wouters B.V.").
    account: str | None = None
    #: The platform customer behind it ("P-1003").
    customer: str | None = None


@dataclass(frozen=True)
class _Refusal:
    field: str
    problem: str


def _parse(line: str) -> _Refusal | None:
    """The refusal a line names; a line our own words lead in ("customer account refused: …")
    is read from where Exact's message starts."""
    text = line.strip()
    while text:
        refusal = _parse_exact(text)
        if refusal is not None:
            return refusal
        _, colon, text = text.partition(": ")
        if not colon:
            return None
    return None


def _parse_exact(text: str) -> _Refusal | None:
    if _UNBALANCED.match(text):
        return _Refusal("entry", "unbalanced")
    wrong = _WRONG_JOURNAL.match(text)
    if wrong:
        return _Refusal("journal", "type")
    for pattern, problem in ((_MANDATORY, "mandatory"), (_REFERENCE, "reference")):
        found = pattern.match(text)
        if found:
            field = FIELDS.get(found["field"].casefold())
            return _Refusal(field, problem) if field else None
    found = _INVALID.match(text)
    if found:
        field = FIELDS.get(found["field"].casefold())
        if field is None:
            return None
        detail = (found["detail"] or "").strip().casefold()
        return _Refusal(field, DETAILS.get(detail, "invalid") if detail else "invalid")
    return None


def _account(facts: Facts) -> str:
    return f"Exact account {facts.account}" if facts.account else "the customer's Exact account"


def _other_account(facts: Facts) -> str:
    who = f"customer {facts.customer}" if facts.customer else "the customer"
    return f"link {who} to another account (Exact accounts, a)"


def _words(refusal: _Refusal, facts: Facts) -> tuple[str, str] | None:
    field, problem = refusal.field, refusal.problem
    retrieve = "then Retrieve data (r on Status) and retry"
    if field in ("customer", "account"):
        if problem == "blocked":
            return (
                f"{_account(facts)} is blocked in Exact",
                f"unblock it in Exact, {retrieve}; or {_other_account(facts)}",
            )
        if problem == "type":
            return (
                f"{_account(facts)} is not a customer in Exact (sales entries need status C)",
                f"give it customer status in Exact, {retrieve}; or {_other_account(facts)}",
            )
        if problem == "mandatory":
            return (
                "the entry names no Exact account for the customer",
                f"{_other_account(facts).replace('another', 'an')}, then retry",
            )
        return (
            f"{_account(facts)} is unknown to Exact (deleted or merged since the import)",
            f"Retrieve data (r on Status), then {_other_account(facts)}",
        )
    if field == "journal":
        if problem == "blocked":
            return (
                "the journal is blocked in Exact",
                "unblock it in Exact, or choose another journal (division settings on "
                "Mappings, m; a bank account's journal on Divisions, d)",
            )
        if problem == "reference":
            return (
                "the journal does not exist in the division",
                "Retrieve data, then choose an existing journal (Mappings, m; Divisions, d)",
            )
        return (
            "the journal is of the wrong type for this entry (invoices need a sales journal, "
            "write-offs a general journal, payments a bank journal)",
            "choose a journal of the right type (division settings on Mappings, m; a bank "
            "account's journal on Divisions, d)",
        )
    if field == "gl_type":
        return (
            "a GL code is mapped to an account of the wrong type (sales lines need a revenue "
            "account)",
            "map it to a revenue account (Mappings, m), then retry",
        )
    if field == "gl":
        if problem == "blocked":
            return (
                "a GL account on the entry is blocked in Exact",
                "unblock it in Exact, or map the code to another account (Mappings, m)",
            )
        return (
            "a GL account on the entry is unknown to Exact (deleted since the import?)",
            "Retrieve data, then map the code to an existing account (Mappings, m)",
        )
    if field in ("cost_center", "cost_unit"):
        what = "cost center" if field == "cost_center" else "cost unit"
        if problem == "mandatory":
            return (
                f"the GL account requires a {what} and the line has none",
                f"map the line's {what} code (Mappings, m), or give the line one on the "
                "platform and ingest it again",
            )
        if problem == "not_allowed":
            return (
                f"the GL account takes no {what}",
                f"leave the {what} off that line on the platform, or map the GL code to an "
                "account that takes one (Mappings, m)",
            )
        return (
            f"the {what} is inactive or unknown in Exact",
            f"map the code to an active {what} (Mappings, m), or reactivate it in Exact",
        )
    if field == "vat":
        reasons = {
            "blocked": "the VAT code is blocked in Exact",
            "purchase": "the VAT code is one for purchases, not sales",
            "not_allowed": "the VAT code is not allowed on that GL account",
        }
        return (
            reasons.get(problem, "the VAT code is unknown to Exact"),
            "map the platform's VAT code to a usable sales VAT code (Mappings, m)",
        )
    if field == "currency":
        return (
            "the document's currency is not enabled in the division",
            "enable the currency in Exact, or correct the document on the platform",
        )
    if field == "entry" or field in ("amount", "closing_balance"):
        return (
            "the entry's amounts do not add up",
            "correct the document on the platform and ingest it again",
        )
    if field == "lines":
        return ("the entry has no lines", "correct the document on the platform")
    if field == "vat_number":
        return (
            "Exact refuses the customer's VAT number for a new account",
            "correct the VAT number on the platform and ingest it again, or link an existing "
            "account (Exact accounts, a)",
        )
    if field == "code" and problem == "exists":
        return (
            "an Exact account with the customer's code exists already",
            "link the customer to it (Exact accounts, a)",
        )
    return None


def explain(message: str | None, facts: Facts | None = None) -> list[Guidance]:
    """Guidance for each line of Exact's `message` that is a known refusal (none: unknown)."""
    if not message:
        return []
    facts = facts or Facts()
    found: list[Guidance] = []
    for line in re.split(r"\r?\n", message):
        refusal = _parse(line)
        words = _words(refusal, facts) if refusal else None
        if words is not None:
            guidance = Guidance(line.strip(), *words)
            if guidance not in found:
                found.append(guidance)
    return found
