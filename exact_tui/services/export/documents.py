"""The local half of the pipeline (docs/export.md §What happens to a job, step 1): a job's document
read from the store, routed through its bank account's binding, checked against history and
preflighted against the cached master data. No call to Exact is made here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from sqlmodel import Session, col, select

from exact_tui.domain.preflight import (
    DivisionFacts,
    DocumentFacts,
    GLFacts,
    JournalFacts,
    LineFacts,
    Missing,
    Preflight,
    SettingsFacts,
    VATFacts,
    preflight,
)
from exact_tui.domain.states import Category, DocumentKind, MappingKind, WriteOffKind
from exact_tui.domain.transitions import Transition, blocked, is_history, skipped_as_history
from exact_tui.store.models import (
    BankAccount,
    BankAccountBinding,
    CostCenter,
    CostUnit,
    Customer,
    DivisionSettings,
    GLAccount,
    Invoice,
    InvoiceLine,
    Journal,
    Payment,
    VATCode,
    WriteOff,
)
from exact_tui.store.models import Mapping as MappingRow
from exact_tui.store.scoping import tenant_key

#: Keys per IN (...) query, well under SQLite's bound-parameter limit.
_CHUNK = 500
_Coded = TypeVar("_Coded", GLAccount, VATCode, CostCenter, CostUnit)


@dataclass(frozen=True)
class CustomerInfo:
    id: int
    number: str
    name: str
    vat_number: str | None
    vat_normalised: str | None
    address_line: str | None
    postcode: str | None
    city: str | None
    country: str | None
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class Document:
    """A platform document with what its entry needs, as plain values."""

    kind: DocumentKind
    id: int
    number: str
    date: dt.date
    bank_account_id: int | None
    iban: str | None
    customer: CustomerInfo | None
    lines: tuple[LineFacts, ...] = ()
    #: Payments and write-offs.
    amount: Decimal | None = None
    write_off_kind: WriteOffKind | None = None
    #: The invoice a payment or write-off settles.
    invoice_id: int | None = None
    invoice_number: str | None = None
    description: str | None = None
    due_date: dt.date | None = None
    payment_reference: str | None = None
    currency: str | None = None

    def facts(self) -> DocumentFacts:
        return DocumentFacts(
            self.kind, self.number, self.lines, self.amount, write_off_kind=self.write_off_kind
        )


def _chunks(keys: Iterable[int]) -> Iterable[list[int]]:
    items = sorted(set(keys))
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _customer(row: Customer) -> CustomerInfo:
    assert row.id is not None
    return CustomerInfo(
        id=row.id,
        number=row.number,
        name=row.name,
        vat_number=row.vat_number,
        vat_normalised=row.vat_normalised,
        address_line=row.address_line,
        postcode=row.postcode,
        city=row.city,
        country=row.country,
        email=row.email,
        phone=row.phone,
    )


def load_documents(
    session: Session, refs: Iterable[tuple[DocumentKind, int]]
) -> dict[tuple[DocumentKind, int], Document]:
    """The documents behind a batch of jobs, with their lines, customers and bank accounts,
    in a handful of queries whatever the batch size."""
    wanted: dict[DocumentKind, set[int]] = {kind: set() for kind in DocumentKind}
    for kind, document_id in refs:
        wanted[kind].add(document_id)
    payments: list[Payment] = []
    write_offs: list[WriteOff] = []
    for chunk in _chunks(wanted[DocumentKind.PAYMENT]):
        payments.extend(session.exec(select(Payment).where(col(Payment.id).in_(chunk))))
    for chunk in _chunks(wanted[DocumentKind.WRITE_OFF]):
        write_offs.extend(session.exec(select(WriteOff).where(col(WriteOff.id).in_(chunk))))
    invoice_ids = set(wanted[DocumentKind.INVOICE])
    invoice_ids.update(p.invoice_id for p in payments if p.invoice_id is not None)
    invoice_ids.update(w.invoice_id for w in write_offs)
    invoices: dict[int, Invoice] = {}
    lines: dict[int, list[LineFacts]] = {}
    for chunk in _chunks(invoice_ids):
        for invoice in session.exec(select(Invoice).where(col(Invoice.id).in_(chunk))):
            assert invoice.id is not None
            invoices[invoice.id] = invoice
    for chunk in _chunks(wanted[DocumentKind.INVOICE]):
        query = (
            select(InvoiceLine)
            .where(col(InvoiceLine.invoice_id).in_(chunk))
            .order_by(col(InvoiceLine.invoice_id), col(InvoiceLine.position))
        )
        for line in session.exec(query):
            lines.setdefault(line.invoice_id, []).append(
                LineFacts(
                    amount=line.amount,
                    gl_code=line.gl_code,
                    vat_code=line.vat_code,
                    vat_amount=line.vat_amount,
                    description=line.description,
                    cost_center=line.cost_center,
                    cost_unit=line.cost_unit,
                )
            )
    customer_ids = {i.customer_id for i in invoices.values()}
    customer_ids.update(p.customer_id for p in payments)
    customers: dict[int, CustomerInfo] = {}
    for chunk in _chunks(customer_ids):
        for row in session.exec(select(Customer).where(col(Customer.id).in_(chunk))):
            customers[row.id or 0] = _customer(row)
    bank_ids = {i.bank_account_id for i in invoices.values()}
    bank_ids.update(p.bank_account_id for p in payments)
    ibans: dict[int, str] = {}
    for chunk in _chunks(bank_ids):
        for bank_id, iban in session.exec(
            select(BankAccount.id, BankAccount.iban).where(col(BankAccount.id).in_(chunk))
        ):
            ibans[bank_id or 0] = iban

    found: dict[tuple[DocumentKind, int], Document] = {}
    for invoice_id in wanted[DocumentKind.INVOICE]:
        sold = invoices.get(invoice_id)
        if sold is None:
            continue
        found[(DocumentKind.INVOICE, invoice_id)] = Document(
            kind=DocumentKind.INVOICE,
            id=invoice_id,
            number=sold.number,
            date=sold.date,
            bank_account_id=sold.bank_account_id,
            iban=ibans.get(sold.bank_account_id),
            customer=customers.get(sold.customer_id),
            lines=tuple(lines.get(invoice_id, ())),
            description=sold.description,
            due_date=sold.due_date,
            payment_reference=sold.payment_reference,
            currency=sold.currency,
        )
    for payment in payments:
        assert payment.id is not None
        paid = invoices.get(payment.invoice_id) if payment.invoice_id is not None else None
        found[(DocumentKind.PAYMENT, payment.id)] = Document(
            kind=DocumentKind.PAYMENT,
            id=payment.id,
            number=payment.number,
            date=payment.date,
            bank_account_id=payment.bank_account_id,
            iban=ibans.get(payment.bank_account_id),
            customer=customers.get(payment.customer_id),
            amount=payment.amount,
            invoice_id=payment.invoice_id,
            invoice_number=paid.number if paid else None,
            description=payment.description,
            currency=paid.currency if paid else None,
        )
    for write_off in write_offs:
        assert write_off.id is not None
        of = invoices.get(write_off.invoice_id)
        found[(DocumentKind.WRITE_OFF, write_off.id)] = Document(
            kind=DocumentKind.WRITE_OFF,
            id=write_off.id,
            number=write_off.number,
            date=write_off.date,
            bank_account_id=of.bank_account_id if of else None,
            iban=ibans.get(of.bank_account_id) if of else None,
            customer=customers.get(of.customer_id) if of else None,
            amount=write_off.amount,
            write_off_kind=write_off.kind,
            invoice_id=write_off.invoice_id,
            invoice_number=of.number if of else None,
            description=write_off.description,
            currency=of.currency if of else None,
        )
    return found


# ---------------------------------------------------------------- routing


@dataclass(frozen=True)
class Route:
    """Where a document goes: its bank account's division and bank journal."""

    division: int
    bank_journal: str


def load_routes(session: Session) -> dict[int, Route]:
    """Every bank account binding (a short table: one row per bank account)."""
    return {
        row.bank_account_id: Route(row.division, row.journal_code)
        for row in session.exec(select(BankAccountBinding))
    }


def unbound(document: Document) -> Missing:
    iban = document.iban or f"#{document.bank_account_id}"
    return Missing("binding", iban, f"bank account {iban} is not bound to a division")


# ---------------------------------------------------------------- master data


def _needed_codes(
    documents: Sequence[Document], mappings: Mapping[tuple[MappingKind, str], str]
) -> dict[MappingKind, set[str]]:
    needed: dict[MappingKind, set[str]] = {kind: set() for kind in MappingKind}
    for document in documents:
        for line in document.lines:
            for kind, code in (
                (MappingKind.GL, line.gl_code),
                (MappingKind.VAT, line.vat_code),
                (MappingKind.COST_CENTER, line.cost_center),
                (MappingKind.COST_UNIT, line.cost_unit),
            ):
                target = mappings.get((kind, code)) if code else None
                if target is not None:
                    needed[kind].add(target)
    return needed


def load_facts(
    session: Session, division: int, documents: Sequence[Document], *, today: dt.date
) -> DivisionFacts:
    """What preflight needs of one division for these documents: the mappings, settings and
    journals whole (short lists), the GL accounts, VAT codes and cost codes they point at."""
    mappings = {
        (MappingKind(row.kind), row.platform_code): row.exact_code
        for row in session.exec(select(MappingRow).where(col(MappingRow.division) == division))
    }
    row = session.get(DivisionSettings, tenant_key(session, division))
    settings = SettingsFacts(
        sales_journal=row.sales_journal if row else None,
        general_journal=row.general_journal if row else None,
        receivables_gl=row.receivables_gl if row else None,
        write_off_gl=row.write_off_gl if row else None,
        collection_costs_gl=row.collection_costs_gl if row else None,
    )
    needed = _needed_codes(documents, mappings)
    gl_codes = needed[MappingKind.GL] | {
        code
        for code in (settings.receivables_gl, settings.write_off_gl, settings.collection_costs_gl)
        if code
    }
    gl_accounts = {
        gl.code: GLFacts(gl.id, gl.code, gl.type, gl.use_costcenter, gl.use_costunit, gl.is_blocked)
        for gl in _by_codes(session, GLAccount, division, gl_codes)
    }
    vat_codes = {
        vat.code.strip(): VATFacts(
            vat.code.strip(), vat.percentage, vat.is_blocked, vat.transaction_type
        )
        for vat in _by_codes(session, VATCode, division, needed[MappingKind.VAT])
    }
    journals = {
        journal.code: JournalFacts(journal.code, journal.type, journal.is_blocked)
        for journal in session.exec(select(Journal).where(col(Journal.division) == division))
    }
    centers = {
        c.code: c.end_date
        for c in _by_codes(session, CostCenter, division, needed[MappingKind.COST_CENTER])
    }
    units = {
        u.code: u.end_date
        for u in _by_codes(session, CostUnit, division, needed[MappingKind.COST_UNIT])
    }
    return DivisionFacts(
        division=division,
        mappings=mappings,
        settings=settings,
        gl_accounts=gl_accounts,
        vat_codes=vat_codes,
        journals=journals,
        cost_centers=centers,
        cost_units=units,
        today=today,
    )


def _by_codes(
    session: Session, model: type[_Coded], division: int, codes: set[str]
) -> list[_Coded]:
    if not codes:
        return []
    return list(
        session.exec(
            select(model).where(
                col(model.division) == division,
                col(model.code).in_(sorted(codes)),
            )
        )
    )


# ---------------------------------------------------------------- the local decision


@dataclass(frozen=True)
class Checked:
    """What the local checks decided: a transition that needs no call to Exact (history,
    something missing), or the route and resolved codes to send with."""

    transition: Transition | None
    division: int | None
    missing: tuple[Missing, ...] = ()
    route: Route | None = None
    preflight: Preflight | None = None


def check_document(
    document: Document,
    route: Route | None,
    facts: DivisionFacts | None,
    *,
    activated_on: dt.date,
) -> Checked:
    """Step 1 of docs/export.md §What happens to a job, for one document: history first (never
    exported, bound or not), then the binding, then preflight against the division's cached master
    data."""
    division = route.division if route else None
    if is_history(document.date, activated_on):
        return Checked(skipped_as_history(document.date, activated_on), division)
    if route is None or facts is None:
        missing = unbound(document)
        return Checked(blocked(Category.BINDING, missing.detail), None, (missing,))
    result = preflight(document.facts(), facts, bank_journal=route.bank_journal)
    if not result.ok:
        category = result.category or Category.MAPPING
        cause = result.cause(route.division) or "something is missing"
        return Checked(blocked(category, cause), route.division, result.missing, route, result)
    return Checked(None, route.division, (), route, result)
