"""The demo's platform data, in the ingest format (docs/ingest-format.md), built to give every
screen something to act on against the sandbox's small seed:

- customers that match Exact accounts by VAT number, by code and by search code, new ones that
  get an account created, and one whose VAT number two Exact customers share (ambiguous);
- invoices whose lines are mapped, and some using a platform GL code and a VAT code that have
  no mapping yet (blocked until an admin maps them);
- documents on a bank account that is not bound to a division (blocked until it is bound);
- payments and a write-off and collection costs on exported invoices;
- documents dated before the activation date (skipped, never exported).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

# Organizations and bank accounts. The IBANs are the sandbox's bank journals' own.
ORG_NL, ORG_BE = "FLEX-NL", "FLEX-BE"
IBAN_NL_ING = "NL67INGB0006543210"  # bound: division 101001, bank journal 20
IBAN_NL_RABO = "NL44RABO0123456789"  # left unbound: its documents wait for a binding
IBAN_BE_KBC = "BE57734001234535"  # bound: division 101002, bank journal 200

# Platform codes in use, and the Exact codes the demo maps them to per division. The ones mapped
# to None are left for an admin to map on the Mappings screen.
GL_MAPPINGS: dict[int, dict[str, str | None]] = {
    101001: {"REV-FLEX": "8010", "REV-MEET": "8000", "REV-EVENT": None},
    101002: {"REV-FLEX": "700100", "REV-MEET": "700000", "REV-EVENT": "700100"},
}
VAT_MAPPINGS: dict[int, dict[str, str | None]] = {
    101001: {"HIGH": "2", "LOW": "1", "EU-SERV": None},
    101002: {"HIGH": "21", "LOW": "6", "EU-SERV": "ICL"},
}
COST_CENTER_MAPPINGS: dict[int, dict[str, str | None]] = {
    101001: {"AMS": "AMS-C", "UTR": "UTR"},
    101002: {"GENT": "GENT"},
}
SETTINGS: dict[int, dict[str, str]] = {
    101001: {
        "sales_journal": "70",
        "general_journal": "90",
        "receivables_gl": "1300",
        "write_off_gl": "4700",
        "collection_costs_gl": "8900",
    },
    101002: {
        "sales_journal": "700",
        "general_journal": "900",
        "receivables_gl": "400000",
        "write_off_gl": "634000",
        "collection_costs_gl": "746000",
    },
}
BANK_BINDINGS = {IBAN_NL_ING: (101001, "20"), IBAN_BE_KBC: (101002, "200")}
DIVISION_ORGANIZATIONS = {101001: ORG_NL, 101002: ORG_BE}

#: The customer whose Exact account the demo blocks in Exact after the import, so the cache is
#: stale and Exact refuses the sales entry (a validation failure no preflight can foresee).
STALE_BLOCKED_CUSTOMER = "C00004"
#: The customer whose VAT number two Exact customers share (accounts 3 and 201 in 101001).
AMBIGUOUS_CUSTOMER = "P-1003"
#: The invoice whose first POST the demo makes hang after Exact committed it: it becomes
#: unknown and is settled by a lookup, never sent twice.
HANGING_INVOICE = "2026-0005"


@dataclass(frozen=True)
class Customer:
    number: str
    name: str
    vat_number: str | None
    country: str
    city: str
    note: str


CUSTOMERS = [
    # Matched by VAT number (the sandbox's account 1 in 101001).
    Customer("P-1001", "Drukkerij Hendriks Holding B.V.", "NL424756924B03", "NL", "Eindhoven",
             "matches Exact account 1 by VAT number"),
    # Matched by search code: the platform number is the account's SearchCode.
    Customer("C00002", "Administratiekantoor Goossens B.V.", None, "NL", "Haarlem",
             "matches by search code"),
    # Matched by code: the platform number equals the account's Code.
    Customer("10", "Coaching Smit V.O.F.", None, "NL", "Utrecht", "matches by code"),
    # Two Exact customers share this VAT number: ambiguous, held for a person to link.
    Customer(AMBIGUOUS_CUSTOMER, "Fotografie Wouters B.V.", "NL607354318B01", "NL", "Groningen",
             "ambiguous: accounts 3 and 201 share the VAT number"),
    # Linked, but its Exact account gets blocked after the import (stale cache).
    Customer(STALE_BLOCKED_CUSTOMER, "Bakkerij De Vries", None, "NL", "Haarlem",
             "its account is blocked in Exact after the import"),
    # New to Exact: an account is created for them.
    Customer("P-2001", "Studio Noord B.V.", "NL945807302B01", "NL", "Amsterdam", "new"),
    Customer("P-2002", "Kantoorhuis Zuidas B.V.", "NL215736813B01", "NL", "Amsterdam", "new"),
    Customer("P-2003", "Vergaderzalen Utrecht B.V.", "NL930364260B01", "NL", "Utrecht", "new"),
    # Belgian customers of the Gent organisation.
    Customer("C00001", "Softwarehuis Smits CommV", "BE0814326084", "BE", "Hasselt",
             "matches by VAT number"),
    Customer("P-3001", "Coworking Gent BV", "BE0990951406", "BE", "Gent", "new"),
    Customer("P-3002", "Atelier Leie CommV", "BE0547527782", "BE", "Gent", "new"),
]  # fmt: skip


def _line(amount: str, gl: str, vat: str, description: str, **extra: str) -> dict[str, Any]:
    return {"amount": amount, "gl_code": gl, "vat_code": vat, "description": description, **extra}


def platform_data(today: dt.date) -> dict[str, Any]:
    """Everything the demo ingests, dated around `today` (the activation date)."""
    day = today.isoformat()
    old = (today - dt.timedelta(days=45)).isoformat()
    due = (today + dt.timedelta(days=14)).isoformat()
    invoices: list[dict[str, Any]] = []

    def invoice(
        number: str, customer: str, bank: str, lines: list[dict[str, Any]], **kw: Any
    ) -> None:
        invoices.append(
            {
                "number": number,
                "date": kw.pop("date", day),
                "due_date": due,
                "customer": customer,
                "bank_account": bank,
                "payment_reference": f"RF{len(invoices) + 11:02d}{number.replace('-', '')}",
                "description": kw.pop("description", "Flexplekken en vergaderruimte"),
                "lines": lines,
                **kw,
            }
        )

    desk = _line("450.00", "REV-FLEX", "HIGH", "Flexplek maandabonnement")
    meeting = _line("180.00", "REV-MEET", "HIGH", "Vergaderruimte 6 uur", cost_center="AMS")
    coffee = _line("35.50", "REV-FLEX", "LOW", "Koffie en lunch")
    invoice("2026-0001", "P-1001", IBAN_NL_ING, [desk, meeting, coffee])
    invoice("2026-0002", "C00002", IBAN_NL_ING, [desk, coffee])
    invoice("2026-0003", "10", IBAN_NL_ING, [_line("1200.00", "REV-FLEX", "HIGH", "Kantoor 12 m²")])
    invoice("2026-0004", "P-2001", IBAN_NL_ING, [desk, meeting])
    invoice(HANGING_INVOICE, "P-2002", IBAN_NL_ING, [_line("2400.00", "REV-FLEX", "HIGH", "Suite")])
    invoice("2026-0006", "P-2003", IBAN_NL_ING, [meeting, coffee])
    # A credit note (negative amounts) on the first invoice's customer.
    invoice("2026-0007", "P-1001", IBAN_NL_ING,
            [_line("-35.50", "REV-FLEX", "LOW", "Creditering lunch")],
            description="Creditnota 2026-0001")  # fmt: skip
    # Blocked by missing mappings: a platform GL code and a VAT code nobody mapped yet.
    for n, customer in enumerate(["P-1001", "C00002", "P-2001", "10"], start=8):
        invoice(f"2026-{n:04d}", customer, IBAN_NL_ING,
                [_line("950.00", "REV-EVENT", "HIGH", "Evenementenzaal"), coffee])  # fmt: skip
    for n, customer in enumerate(["P-2003", "P-2002"], start=12):
        invoice(f"2026-{n:04d}", customer, IBAN_NL_ING,
                [_line("300.00", "REV-FLEX", "EU-SERV", "Virtual office (EU)")])  # fmt: skip
    # The ambiguous customer, and the one whose account is blocked in Exact by now.
    invoice("2026-0014", AMBIGUOUS_CUSTOMER, IBAN_NL_ING, [desk])
    invoice("2026-0015", STALE_BLOCKED_CUSTOMER, IBAN_NL_ING, [desk, coffee])
    # On the unbound Rabobank account: wait for a binding.
    for n, customer in enumerate(["P-2001", "P-1001", "10"], start=16):
        invoice(f"2026-{n:04d}", customer, IBAN_NL_RABO, [desk])
    # Historical: dated before the activation date, skipped.
    invoice("2025-0901", "P-1001", IBAN_NL_ING, [desk], date=old)
    invoice("2025-0902", "C00002", IBAN_NL_ING, [coffee], date=old)
    # The Gent organisation's invoices (division 101002).
    be_desk = _line("395.00", "REV-FLEX", "HIGH", "Flexplek Gent")
    be_room = _line("220.00", "REV-MEET", "HIGH", "Vergaderzaal Leie", cost_center="GENT")
    invoice("BE-2026-001", "C00001", IBAN_BE_KBC, [be_desk, be_room])
    invoice("BE-2026-002", "P-3001", IBAN_BE_KBC, [be_desk])
    invoice(
        "BE-2026-003", "P-3002", IBAN_BE_KBC, [be_room, _line("60.00", "REV-FLEX", "LOW", "Drank")]
    )

    payments = [
        {"number": "PAY-0001", "date": day, "amount": "801.00", "customer": "P-1001",
         "bank_account": IBAN_NL_ING, "invoice": "2026-0001", "description": "Betaling 2026-0001"},
        {"number": "PAY-0002", "date": day, "amount": "1452.00", "customer": "10",
         "bank_account": IBAN_NL_ING, "invoice": "2026-0003", "description": "Betaling 2026-0003"},
        {"number": "PAY-0003", "date": day, "amount": "744.15", "customer": "C00001",
         "bank_account": IBAN_BE_KBC, "invoice": "BE-2026-001", "description": "Betaling BE-001"},
        {"number": "PAY-0004", "date": day, "amount": "100.00", "customer": "P-2001",
         "bank_account": IBAN_NL_RABO, "description": "Aanbetaling (Rabobank)"},
    ]  # fmt: skip
    write_offs = [
        {"number": "WO-0001", "date": day, "amount": "42.96", "invoice": "2026-0006",
         "kind": "write_off", "description": "Oninbaar restant"},
        {"number": "CC-0001", "date": day, "amount": "40.00", "invoice": "2026-0004",
         "kind": "collection_costs", "description": "Incassokosten"},
    ]  # fmt: skip
    return {
        "organizations": [
            {"code": ORG_NL, "name": "Flexwerk Amsterdam"},
            {"code": ORG_BE, "name": "Flexwerk Gent"},
        ],
        "bank_accounts": [
            {"iban": IBAN_NL_ING, "organization": ORG_NL, "name": "ING zakelijk"},
            {"iban": IBAN_NL_RABO, "organization": ORG_NL, "name": "Rabobank spaar"},
            {"iban": IBAN_BE_KBC, "organization": ORG_BE, "name": "KBC zichtrekening"},
        ],
        "customers": [
            {
                "number": c.number,
                "name": c.name,
                **({"vat_number": c.vat_number} if c.vat_number else {}),
                "country": c.country,
                "city": c.city,
                "email": f"finance@{c.number.lower().replace('-', '')}.example.test",
            }
            for c in CUSTOMERS
        ],
        "invoices": invoices,
        "payments": payments,
        "write_offs": write_offs,
    }


# -- The fleet ----------------------------------------------------------------------------------
#
# `exact-tui demo` shows a small fleet: four platform customers (tenants), each connected to its
# own Exact user of the sandbox. Flexwerk keeps everything above (mapping gaps, an unbound bank
# account, an ambiguous customer, a refused invoice, a lost answer); the three others share one
# small book of their own, each left in a state the Fleet screen shows:
# northwind clean, brightdesk needing Reconnect, kestrel with invoices Exact refuses.


@dataclass(frozen=True)
class TenantPlan:
    """One tenant of the demo fleet: who it is, which sandbox user it connects as, and what
    trouble the demo leaves it in."""

    code: str
    name: str
    #: The sandbox user (by position, 1 the default user) this tenant's Exact user is.
    sandbox_user: int
    #: "gaps" (Flexwerk's world), "clean", "reconnect" or "refusals".
    trouble: str
    #: Prefix of its platform numbers (organizations, customers, invoices).
    prefix: str = ""


FLEET = (
    TenantPlan("flexwerk", "Flexwerk", 1, "gaps"),
    TenantPlan("northwind", "Northwind Offices", 2, "clean", "NW"),
    TenantPlan("brightdesk", "Brightdesk", 3, "reconnect", "BD"),
    TenantPlan("kestrel", "Kestrel Workspaces", 4, "refusals", "KS"),
)
#: Sandbox users the fleet needs.
FLEET_USERS = max(plan.sandbox_user for plan in FLEET)
#: The GL account the demo blocks in kestrel's Exact after the import: Exact then refuses the
#: invoices booked on it (the cache said it was fine).
KESTREL_BLOCKED_GL = "8010"


def fleet_mappings(nl: int, be: int) -> dict[str, dict[int, dict[str, str]]]:
    """Complete mappings for a fleet tenant's two divisions (the sandbox's Dutch and Belgian
    charts)."""
    return {
        "gl": {nl: {"REV-FLEX": "8010", "REV-MEET": "8000"},
               be: {"REV-FLEX": "700100", "REV-MEET": "700000"}},
        "vat": {nl: {"HIGH": "2", "LOW": "1"}, be: {"HIGH": "21", "LOW": "6"}},
        "cost_center": {nl: {"AMS": "AMS-C"}, be: {"GENT": "GENT"}},
    }  # fmt: skip


def fleet_settings(nl: int, be: int) -> dict[int, dict[str, str]]:
    return {nl: SETTINGS[101001], be: SETTINGS[101002]}


def fleet_data(plan: TenantPlan, today: dt.date) -> dict[str, Any]:
    """A fleet tenant's platform data: two organizations (its Dutch and Belgian company), their
    bank accounts, four new customers, eight invoices and two payments."""
    p = plan.prefix
    day = today.isoformat()
    due = (today + dt.timedelta(days=14)).isoformat()
    org_nl, org_be = f"{p}-NL", f"{p}-BE"
    customers = [
        {"number": f"{p}-C1", "name": f"{plan.name} klant Amstel B.V.", "country": "NL",
         "city": "Amsterdam"},
        {"number": f"{p}-C2", "name": f"{plan.name} klant Vecht B.V.", "country": "NL",
         "city": "Utrecht"},
        {"number": f"{p}-C3", "name": f"{plan.name} klant Maas B.V.", "country": "NL",
         "city": "Rotterdam"},
        {"number": f"{p}-C4", "name": f"{plan.name} klant Leie BV", "country": "BE",
         "city": "Gent"},
    ]  # fmt: skip
    desk = _line("450.00", "REV-FLEX", "HIGH", "Flexplek maandabonnement")
    room = _line("180.00", "REV-MEET", "HIGH", "Vergaderruimte", cost_center="AMS")
    lunch = _line("35.50", "REV-MEET", "LOW", "Lunch", cost_center="AMS")
    be_desk = _line("395.00", "REV-FLEX", "HIGH", "Flexplek Gent")
    be_room = _line("220.00", "REV-MEET", "HIGH", "Vergaderzaal", cost_center="GENT")
    plans = [
        ("C1", IBAN_NL_ING, [desk, room]),
        ("C2", IBAN_NL_ING, [desk]),
        ("C3", IBAN_NL_ING, [room, lunch]),
        ("C1", IBAN_NL_ING, [room]),
        ("C2", IBAN_NL_ING, [lunch]),
        ("C3", IBAN_NL_ING, [desk, lunch]),
        ("C4", IBAN_BE_KBC, [be_desk, be_room]),
        ("C4", IBAN_BE_KBC, [be_room]),
    ]
    invoices = [
        {
            "number": f"{p}-2026-{n:03d}",
            "date": day,
            "due_date": due,
            "customer": f"{p}-{customer}",
            "bank_account": bank,
            "payment_reference": f"{p}{n:04d}",
            "description": "Flexplekken en vergaderruimte",
            "lines": lines,
        }
        for n, (customer, bank, lines) in enumerate(plans, start=1)
    ]
    payments = [
        {"number": f"{p}-PAY-1", "date": day, "amount": "217.80", "customer": f"{p}-C1",
         "bank_account": IBAN_NL_ING, "invoice": f"{p}-2026-004", "description": "Betaling"},
        {"number": f"{p}-PAY-2", "date": day, "amount": "266.20", "customer": f"{p}-C4",
         "bank_account": IBAN_BE_KBC, "invoice": f"{p}-2026-008", "description": "Betaling"},
    ]  # fmt: skip
    return {
        "organizations": [
            {"code": org_nl, "name": f"{plan.name} Nederland"},
            {"code": org_be, "name": f"{plan.name} België"},
        ],
        "bank_accounts": [
            {"iban": IBAN_NL_ING, "organization": org_nl, "name": "ING zakelijk"},
            {"iban": IBAN_BE_KBC, "organization": org_be, "name": "KBC zichtrekening"},
        ],
        "customers": [
            {**c, "email": f"finance@{c['number'].lower()}.example.test"} for c in customers
        ],
        "invoices": invoices,
        "payments": payments,
        "write_offs": [],
    }
