"""What the admin screens need on top of the console seed (`tests.console_seed.seed`): master
data for division 100001, a second organization, bindings, mappings (one stale), settings
(one missing), Exact accounts with links, and a job held for an ambiguous customer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from exact_tui.domain.states import Category, DocumentKind, JobState, LinkMethod, MappingKind
from exact_tui.domain.vat import normalise_vat
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    BankAccount,
    BankAccountBinding,
    CostCenter,
    CostUnit,
    Customer,
    CustomerLink,
    DivisionBinding,
    DivisionSettings,
    ExactAccount,
    ExportEvent,
    ExportJob,
    GLAccount,
    Invoice,
    InvoiceLine,
    Journal,
    Mapping,
    Organization,
    SyncRun,
    VATCode,
)
from tests.console_seed import NOW

DIVISION = 100001
UNBOUND_IBAN = "NL91ABNA0417164300"
BOUND_IBAN = "NL67INGB0006543210"
#: Exact accounts 3 and 201 share this VAT number: customer C0003 is ambiguous.
SHARED_VAT = "NL 8544.78.372 B01"
AMBIGUOUS_CUSTOMER = "C0003"
AMBIGUOUS_CAUSE = (
    f"customer {AMBIGUOUS_CUSTOMER} is ambiguous: 2 Exact accounts match by VAT number in "
    f"division {DIVISION}"
)
BINDING_CAUSE = f"bank account {UNBOUND_IBAN} is not bound to a division"


def _guid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def seed_admin(store: Store, *, text: str = "") -> None:
    """`text`, when given, is planted in names and descriptions (the hostile-text test)."""
    odd = text
    today = NOW.date()
    with store.write() as s:
        s.add(Organization(id=2, code="ORG-BE", name=f"Coworking Gent{odd}", content_hash="x"))
        s.add(
            BankAccount(
                id=2, iban=BOUND_IBAN, organization_id=1, name=f"ING{odd}", content_hash="x"
            )
        )
        s.flush()
        s.add(DivisionBinding(division=DIVISION, organization_id=1, bound_by="anna", bound_at=NOW))
        s.add(
            BankAccountBinding(
                bank_account_id=2, division=DIVISION, journal_code="20", bound_by="anna"
            )
        )
        journals = [
            ("20", f"ING Bank{odd}", 12, BOUND_IBAN, False),
            ("21", "Rabobank", 12, UNBOUND_IBAN, False),
            ("22", "Oude bank", 12, None, True),
            ("70", "Verkoopboek", 20, None, False),
            ("90", "Memoriaal", 90, None, False),
        ]
        for n, (code, description, kind, iban, blocked) in enumerate(journals):
            s.add(
                Journal(
                    division=DIVISION,
                    id=_guid(100 + n),
                    code=code,
                    description=description,
                    type=kind,
                    bank_account_iban=iban,
                    is_blocked=blocked,
                )
            )
        gls = [
            ("1100", "Bank", 12, 0, False),
            ("1300", "Debiteuren", 20, 0, False),
            ("4700", "Afschrijving debiteuren", 120, 0, False),
            ("8000", f"Omzet vergaderruimtes{odd}", 110, 1, False),
            ("8010", "Omzet flexplekken", 110, 0, False),
            ("8090", "Omzet oud", 110, 0, True),
            ("8900", "Incassokosten", 140, 0, False),
        ]
        for n, (code, description, kind, center, blocked) in enumerate(gls):
            s.add(
                GLAccount(
                    division=DIVISION,
                    id=_guid(200 + n),
                    code=code,
                    description=description,
                    type=kind,
                    use_costcenter=center,
                    is_blocked=blocked,
                )
            )
        vats = [
            ("1", "BTW laag", "0.09", "S", False),
            ("2", f"BTW hoog{odd}", "0.21", "S", False),
            ("7", "Diensten EU", "0", "S", False),
            ("8", "Inkoop hoog", "0.21", "P", False),
            ("9", "Oud tarief", "0.19", "S", True),
        ]
        for n, (code, description, rate, kind, blocked) in enumerate(vats):
            s.add(
                VATCode(
                    division=DIVISION,
                    id=_guid(300 + n),
                    code=code,
                    description=description,
                    percentage=Decimal(rate),
                    transaction_type=kind,
                    is_blocked=blocked,
                )
            )
        for n, (code, end) in enumerate(
            [("AMS-C", None), ("OUD", dt.date(2023, 6, 30)), ("UTR", today.replace(year=2030))]
        ):
            s.add(
                CostCenter(
                    division=DIVISION,
                    id=_guid(400 + n),
                    code=code,
                    description=f"Kostenplaats {code}",
                    end_date=end,
                )
            )
        s.add(CostUnit(division=DIVISION, id=_guid(500), code="FLEX", description="Flexwerk"))
        s.add(
            Mapping(
                division=DIVISION,
                kind=MappingKind.VAT,
                platform_code="21",
                exact_code="2",
                updated_by="anna",
                updated_at=NOW - dt.timedelta(days=2),
            )
        )
        s.add(
            Mapping(
                division=DIVISION,
                kind=MappingKind.GL,
                platform_code="8000",
                exact_code="8090",
                updated_by="anna",
                updated_at=NOW - dt.timedelta(days=2),
            )
        )
        s.add(
            DivisionSettings(
                division=DIVISION,
                sales_journal="70",
                general_journal="90",
                receivables_gl="1300",
                write_off_gl="4700",
                updated_by="anna",
            )
        )
        accounts = [
            (1, "1", "C0001", f"Jansen BV{odd}", "NL000099998B57", "Amsterdam", "C", False),
            (2, "2", None, "De Vries & Zn", None, "Utrecht", "C", False),
            (3, "3", None, "Drukkerij Hendriks B.V.", SHARED_VAT, "Eindhoven", "C", False),
            (4, "201", None, "Drukkerij Hendriks", "nl 8544.7837.2b01", "Eindhoven", "C", False),
            (5, "205", None, "Bakkerij Prospect", None, "Delft", "P", False),
            (6, "206", "C0009", "Geblokkeerd BV", None, "Gouda", "C", True),
        ]
        for n, code, search, name, vat, city, status, blocked in accounts:
            s.add(
                ExactAccount(
                    division=DIVISION,
                    id=_guid(n),
                    code=code,
                    search_code=search,
                    name=name,
                    vat_number=vat,
                    vat_normalised=normalise_vat(vat, "NL"),
                    city=city,
                    status=status,
                    is_blocked=blocked,
                )
            )
        s.add(
            Customer(
                id=3,
                number=AMBIGUOUS_CUSTOMER,
                name=f"Drukkerij Hendriks Holding{odd}",
                vat_number=SHARED_VAT,
                vat_normalised=normalise_vat(SHARED_VAT, "NL"),
                city="Eindhoven",
                content_hash="x",
            )
        )
        s.flush()
        s.add(
            CustomerLink(
                customer_id=1,
                division=DIVISION,
                exact_account_id=_guid(1),
                method=LinkMethod.VAT,
                linked_by="worker",
                linked_at=NOW - dt.timedelta(days=1),
            )
        )
        s.add(
            CustomerLink(
                customer_id=2,
                division=DIVISION,
                exact_account_id=_guid(2),
                method=LinkMethod.MANUAL,
                linked_by="anna",
                linked_at=NOW - dt.timedelta(hours=5),
            )
        )
        s.add(
            Invoice(
                id=7,
                number="INV-2026-0007",
                date=dt.date(2026, 2, 7),
                customer_id=3,
                bank_account_id=2,
                description=f"Print room{odd}",
                content_hash="x",
            )
        )
        s.flush()
        s.add(
            InvoiceLine(
                invoice_id=7,
                position=1,
                amount=Decimal("500.00"),
                gl_code="8010",
                vat_code="21",
                vat_amount=Decimal("105.00"),
                cost_center="AMS",
            )
        )
        s.add(
            ExportJob(
                id=9,
                document_kind=DocumentKind.INVOICE,
                document_id=7,
                document_number="INV-2026-0007",
                document_date=dt.date(2026, 2, 7),
                division=DIVISION,
                state=JobState.NEEDS_MAPPING,
                category=Category.CUSTOMER,
                cause=AMBIGUOUS_CAUSE,
                missing=[
                    {"kind": "customer", "code": AMBIGUOUS_CUSTOMER, "detail": AMBIGUOUS_CAUSE}
                ],
                created_at=NOW,
                updated_at=NOW,
            )
        )
        s.flush()
        s.add(
            ExportEvent(
                job_id=9,
                at=NOW - dt.timedelta(minutes=2),
                level="warning",
                outcome="needs_mapping",
                message=AMBIGUOUS_CAUSE,
            )
        )
        binding = s.get(ExportJob, 8)
        assert binding is not None
        binding.missing = [{"kind": "binding", "code": UNBOUND_IBAN, "detail": BINDING_CAUSE}]
        s.add(binding)
        for job_id in (2, 3):
            job = s.get(ExportJob, job_id)
            assert job is not None
            job.missing = [
                {"kind": "vat", "code": "21-EU", "detail": "VAT code 21-EU missing"},
                {"kind": "gl", "code": "8000", "detail": "GL 8000 → 8090 is blocked"},
            ]
            s.add(job)
        for entity in ("journals", "gl_accounts", "vat_codes", "cost_centers", "cost_units"):
            s.add(
                SyncRun(
                    division=DIVISION,
                    entity=entity,
                    trigger="daily",
                    started_at=NOW - dt.timedelta(minutes=4),
                    finished_at=NOW - dt.timedelta(minutes=3),
                )
            )
