"""Where an admin fixes what holds a job: the Export log's jump to the binding, mapping,
setting or customer link that blocks it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session

from exact_tui.domain.states import Category, DocumentKind, JobState, MappingKind
from exact_tui.domain.targets import SETTING_LABELS
from exact_tui.services.admin.blocked import BLOCKING
from exact_tui.store.engine import Store
from exact_tui.store.models import BankAccount, Customer, ExportJob, Invoice, Payment, WriteOff


class BlockerKind(StrEnum):
    BANK_ACCOUNT = "bank_account"
    MAPPING = "mapping"
    SETTING = "setting"
    CUSTOMER = "customer"


@dataclass(frozen=True)
class Blocker:
    """Where an admin fixes what holds a job: a bank account's binding, a mapping (code None:
    the kind's list, e.g. a GL account that requires a cost center), a division setting or
    a customer's link."""

    kind: BlockerKind
    detail: str
    division: int | None = None
    iban: str | None = None
    mapping_kind: MappingKind | None = None
    code: str | None = None
    customer_number: str | None = None


def fixable(state: JobState, category: Category | None) -> bool:
    """Whether a job waits for an admin on the admin screens (a binding, mapping, setting or
    customer link), so that the Export log can jump to what blocks it."""
    return state is JobState.NEEDS_MAPPING and category in BLOCKING


def _document_refs(session: Session, job: ExportJob) -> tuple[int | None, int | None]:
    """The bank account and customer behind a job's document."""
    if job.document_kind is DocumentKind.PAYMENT:
        payment = session.get(Payment, job.document_id)
        return (payment.bank_account_id, payment.customer_id) if payment else (None, None)
    invoice_id: int | None = job.document_id
    if job.document_kind is DocumentKind.WRITE_OFF:
        write_off = session.get(WriteOff, job.document_id)
        invoice_id = write_off.invoice_id if write_off else None
    invoice = session.get(Invoice, invoice_id) if invoice_id is not None else None
    return (invoice.bank_account_id, invoice.customer_id) if invoice else (None, None)


def blocker(store: Store, job_id: int) -> Blocker | None:
    """What an admin must fix for a job held for a binding, mapping or customer; None for
    any other job."""
    with store.read() as session:
        job = session.get(ExportJob, job_id)
        if job is None or not fixable(job.state, job.category):
            return None
        items = [item for item in job.missing or [] if isinstance(item, dict)]
        first = items[0] if items else {}
        kind, code = str(first.get("kind", "")), str(first.get("code") or "")
        detail = str(first.get("detail") or job.cause or "")
        bank_id, customer_id = _document_refs(session, job)
        if job.category is Category.BINDING or kind == "binding":
            bank = session.get(BankAccount, bank_id) if bank_id is not None else None
            iban = bank.iban if bank else code or None
            return Blocker(BlockerKind.BANK_ACCOUNT, detail, job.division, iban=iban)
        if job.category is Category.CUSTOMER or kind == "customer":
            number = code
            if not number and customer_id is not None:
                customer = session.get(Customer, customer_id)
                number = customer.number if customer else ""
            return Blocker(
                BlockerKind.CUSTOMER, detail, job.division, customer_number=number or None
            )
        if kind == "setting" and code in SETTING_LABELS:
            return Blocker(BlockerKind.SETTING, detail, job.division, code=code)
        mapping_kind = MappingKind(kind) if kind in {k.value for k in MappingKind} else None
        return Blocker(
            BlockerKind.MAPPING,
            detail,
            job.division,
            mapping_kind=mapping_kind,
            code=code or None,
        )
