"""The records of the ingest format (docs/ingest-format.md), validated by pydantic models
built from the field types."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Annotated, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from exact_tui.domain.ingest_format.fields import (
    Amount,
    Code,
    Country,
    Currency,
    Date,
    Description,
    Email,
    Iban,
    IbanReference,
    Kind,
    Name,
    NonZeroAmount,
    OptionalAmount,
    OptionalCode,
    OptionalDate,
    OptionalName,
    optional_text,
    refuse,
    vat_problem,
)
from exact_tui.domain.vat import normalise_vat

#: Most lines one invoice may carry; far above real invoices, low enough to bound memory.
MAX_LINES = 1000


class RecordType(StrEnum):
    """The records of the format; the value is the JSON Lines `type`."""

    ORGANIZATION = "organization"
    BANK_ACCOUNT = "bank_account"
    CUSTOMER = "customer"
    INVOICE = "invoice"
    PAYMENT = "payment"
    WRITE_OFF = "write_off"

    @property
    def array(self) -> str:
        """The top-level key of the JSON shape."""
        return f"{self.value}s"

    @property
    def key_field(self) -> str:
        """The field that identifies a record of this type across files."""
        return _KEY_FIELDS[self]


_KEY_FIELDS = {
    RecordType.ORGANIZATION: "code",
    RecordType.BANK_ACCOUNT: "iban",
    RecordType.CUSTOMER: "number",
    RecordType.INVOICE: "number",
    RecordType.PAYMENT: "number",
    RecordType.WRITE_OFF: "number",
}
#: The record type of each top-level array of the JSON shape.
BY_ARRAY = {t.array: t for t in RecordType}


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrganizationIn(_Record):
    code: Code
    name: Name


class BankAccountIn(_Record):
    #: Stored compact ("NL91ABNA0417164300").
    iban: Iban
    #: The organization's code.
    organization: Code
    name: OptionalName = None


class CustomerIn(_Record):
    number: Code
    name: Name
    # Before vat_number: its check needs the country.
    country: Country = None
    #: Stored as given (cleaned); matching uses `vat_normalised`.
    vat_number: Annotated[str | None, BeforeValidator(optional_text(40))] = None
    address_line: OptionalName = None
    postcode: Annotated[str | None, BeforeValidator(optional_text(20))] = None
    city: Annotated[str | None, BeforeValidator(optional_text(100))] = None
    email: Email = None
    phone: Annotated[str | None, BeforeValidator(optional_text(50))] = None

    @field_validator("vat_number")
    @classmethod
    def _valid_vat(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            problem = vat_problem(value, info.data.get("country"))
            if problem:
                raise refuse(problem)
        return value

    @property
    def vat_normalised(self) -> str | None:
        return normalise_vat(self.vat_number, self.country)


class InvoiceLineIn(_Record):
    #: Excluding VAT; negative on a credit note.
    amount: Amount
    gl_code: Code
    vat_code: Code
    vat_amount: OptionalAmount = None
    description: Description = None
    cost_center: OptionalCode = None
    cost_unit: OptionalCode = None


class InvoiceIn(_Record):
    number: Code
    date: Date
    #: The customer's number.
    customer: Code
    #: The IBAN of the bank account the invoice is paid into.
    bank_account: IbanReference
    due_date: OptionalDate = None
    payment_reference: Annotated[str | None, BeforeValidator(optional_text(100))] = None
    currency: Currency = "EUR"
    description: Description = None
    lines: list[InvoiceLineIn] = Field(min_length=1, max_length=MAX_LINES)


class PaymentIn(_Record):
    number: Code
    date: Date
    #: Received from the customer; negative for a refund.
    amount: NonZeroAmount
    customer: Code
    bank_account: IbanReference
    #: The number of the invoice it pays, when known.
    invoice: OptionalCode = None
    description: Description = None


class WriteOffIn(_Record):
    number: Code
    date: Date
    amount: NonZeroAmount
    invoice: Code
    kind: Kind
    description: Description = None


Record = OrganizationIn | BankAccountIn | CustomerIn | InvoiceIn | PaymentIn | WriteOffIn
R = TypeVar("R", bound=Record)

MODELS: dict[RecordType, type[Record]] = {
    RecordType.ORGANIZATION: OrganizationIn,
    RecordType.BANK_ACCOUNT: BankAccountIn,
    RecordType.CUSTOMER: CustomerIn,
    RecordType.INVOICE: InvoiceIn,
    RecordType.PAYMENT: PaymentIn,
    RecordType.WRITE_OFF: WriteOffIn,
}


def content_hash(record: Record) -> str:
    """sha256 of the validated record: equal hashes mean "unchanged" on re-ingest.

    Absent optional fields are left out, so a field added to the format later does not make
    every stored record look changed.
    """
    return hashlib.sha256(record.model_dump_json(exclude_none=True).encode()).hexdigest()
