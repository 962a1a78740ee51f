"""The platform's ingest format (docs/ingest-format.md): one file's bytes in, validated records out.

Pure: no store, no I/O. Everything a file can get wrong on its own is found here (syntax,
encoding, types, limits, duplicates within the file); what needs the store (references to
earlier files, documents already posted) is the ingest service's part.

`fields` checks single values, `records` builds the records from them, `reader` reads a whole
file, and `problems` says what is wrong and where.
"""

from exact_tui.domain.ingest_format.fields import describe, vat_problem
from exact_tui.domain.ingest_format.problems import FormatError, Origin, Problem
from exact_tui.domain.ingest_format.reader import Item, PlatformData, parse
from exact_tui.domain.ingest_format.records import (
    MAX_LINES,
    BankAccountIn,
    CustomerIn,
    InvoiceIn,
    InvoiceLineIn,
    OrganizationIn,
    PaymentIn,
    Record,
    RecordType,
    WriteOffIn,
    content_hash,
)

__all__ = [
    "MAX_LINES",
    "BankAccountIn",
    "CustomerIn",
    "FormatError",
    "InvoiceIn",
    "InvoiceLineIn",
    "Item",
    "OrganizationIn",
    "Origin",
    "PaymentIn",
    "PlatformData",
    "Problem",
    "Record",
    "RecordType",
    "WriteOffIn",
    "content_hash",
    "describe",
    "parse",
    "vat_problem",
]
