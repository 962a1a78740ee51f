"""The request for a document: its entry's body, from the document, what preflight resolved
and the customer's account (no I/O)."""

from __future__ import annotations

from typing import Any

from exact_tui.domain.states import DocumentKind
from exact_tui.exact import entries
from exact_tui.services.export.documents import Checked, Document

#: Where each kind of document goes in Exact.
ENDPOINTS = {
    DocumentKind.INVOICE: entries.SALES_ENTRIES,
    DocumentKind.PAYMENT: entries.BANK_ENTRIES,
    DocumentKind.WRITE_OFF: entries.GENERAL_JOURNAL_ENTRIES,
}


def payload(
    document: Document, checked: Checked, account_id: str, invoice_entry_number: int | None
) -> dict[str, Any]:
    """The entry's body: a sales entry, a bank entry or a general journal entry."""
    pf = checked.preflight
    assert pf is not None and pf.journal_code is not None
    if document.kind is DocumentKind.INVOICE:
        return entries.sales_entry(
            journal=pf.journal_code,
            customer_id=account_id,
            invoice_number=document.number,
            entry_date=document.date,
            due_date=document.due_date,
            payment_reference=document.payment_reference,
            description=document.description,
            currency=document.currency or "EUR",
            lines=[
                entries.SalesLine(
                    gl_account_id=line.gl_account_id,
                    amount=line.amount,
                    vat_code=line.vat_code,
                    vat_amount=line.vat_amount,
                    description=line.description,
                    cost_center=line.cost_center,
                    cost_unit=line.cost_unit,
                )
                for line in pf.lines
            ],
        )
    assert pf.receivables_gl_id is not None and document.amount is not None
    reference = entries.line_reference(document.number, document.invoice_number)
    if document.kind is DocumentKind.PAYMENT:
        return entries.bank_entry(
            journal=pf.journal_code,
            customer_id=account_id,
            receivables_gl_id=pf.receivables_gl_id,
            amount=document.amount,
            date=document.date,
            reference=reference,
            invoice_entry_number=invoice_entry_number,
            currency=document.currency,
            notes=document.description,
        )
    assert pf.counter_gl_id is not None and document.write_off_kind is not None
    return entries.write_off_entry(
        kind=document.write_off_kind,
        journal=pf.journal_code,
        customer_id=account_id,
        receivables_gl_id=pf.receivables_gl_id,
        counter_gl_id=pf.counter_gl_id,
        amount=document.amount,
        date=document.date,
        reference=reference,
        invoice_entry_number=invoice_entry_number,
        currency=document.currency,
        notes=document.description,
    )
