"""The entity sets the sandbox serves: fields and their EDM types, keys, paging and query rules."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from exact_tui.sandbox import assumptions
from exact_tui.sandbox.odata.types import FieldType

G = FieldType.GUID
S = FieldType.STRING
I = FieldType.INT  # noqa: E741 - reads as the EDM type in the tables below
I64 = FieldType.INT64
D = FieldType.DOUBLE
B = FieldType.BOOL
DT = FieldType.DATETIME

MODELS = "Exact.Web.Api.Models"


class Kind(enum.Enum):
    PLAIN = "plain"
    BULK = "bulk"
    SYNC = "sync"


class Source(enum.Enum):
    """Where an entity set's rows live."""

    ME = "me"
    DIVISIONS = "divisions"
    HRM_DIVISIONS = "hrm_divisions"
    JOURNALS = "journals"
    GL_ACCOUNTS = "gl_accounts"
    VAT_CODES = "vat_codes"
    COST_CENTERS = "cost_centers"
    COST_UNITS = "cost_units"
    ACCOUNTS = "accounts"
    DELETED = "deleted"
    SALES_ENTRIES = "sales_entries"
    SALES_ENTRY_LINES = "sales_entry_lines"
    BANK_ENTRIES = "bank_entries"
    BANK_ENTRY_LINES = "bank_entry_lines"
    GJ_ENTRIES = "gj_entries"
    GJ_ENTRY_LINES = "gj_entry_lines"


@dataclass(frozen=True)
class Navigation:
    """A line collection under an entry: `SalesEntries(guid'…')/SalesEntryLines`."""

    target: str  # path of the line entity set
    foreign_key: str  # field on the line holding the entry's key


@dataclass(frozen=True)
class EntitySet:
    path: str
    type_name: str
    key: str
    fields: Mapping[str, FieldType]
    source: Source
    kind: Kind = Kind.PLAIN
    methods: frozenset[str] = frozenset({"GET"})
    page_size: int = assumptions.PAGE_SIZE
    # Fields of which at least one must appear in $filter (mandatory filtering), or None.
    mandatory_filter: frozenset[str] | None = None
    # Fields $filter may use at all, or None for any field.
    filterable: frozenset[str] | None = None
    select_required: bool = False
    select_or_top_required: bool = False
    navigations: Mapping[str, Navigation] = field(default_factory=dict)
    # Rows ordered by this field when there is no $orderby; also the $skiptoken.
    order_key: str = ""
    in_division: bool = True

    @property
    def entity_name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def sort_field(self) -> str:
        return self.order_key or self.key


ME_FIELDS = {
    "UserID": G, "UserName": S, "FullName": S, "FirstName": S, "LastName": S, "Email": S,
    "CurrentDivision": I, "AccountingDivision": I, "DivisionCustomer": G,
    "DivisionCustomerCode": S, "DivisionCustomerName": S, "LanguageCode": S, "Language": S,
    "ServerTime": DT, "ServerUtcOffset": D,
}  # fmt: skip

DIVISION_FIELDS = {
    "Code": I, "Description": S, "Hid": I64, "Country": S, "Currency": S, "Current": B,
    "IsMainDivision": B, "Legislation": S, "Status": I, "BlockingStatus": I, "VATNumber": S,
    "ChamberOfCommerceNumber": S, "DivisionMoveDate": DT, "StartDate": DT, "ArchiveDate": DT,
    "Customer": G, "CustomerCode": S, "CustomerName": S, "Created": DT, "Modified": DT,
}  # fmt: skip

HRM_DIVISION_FIELDS = {
    "Code": I, "Description": S, "HID": I64, "Country": S, "Currency": S, "Current": B,
    "Main": B, "Status": I, "VATNumber": S, "StartDate": DT, "Created": DT, "Modified": DT,
}  # fmt: skip

JOURNAL_FIELDS = {
    "ID": G, "Code": S, "Description": S, "Type": I, "AllowVAT": B, "AllowVariableCurrency": B,
    "AllowVariableExchangeRate": B, "Currency": S, "GLAccount": G, "GLAccountCode": S,
    "GLAccountDescription": S, "GLAccountType": I, "BankAccountID": G, "BankAccountIBAN": S,
    "BankAccountIncludingMask": S, "BankAccountBICCode": S, "BankAccountDescription": S,
    "BankName": S, "PaymentServiceProvider": I, "IsBlocked": B, "AutoSave": B, "Division": I,
    "Created": DT, "Modified": DT,
}  # fmt: skip

GL_ACCOUNT_FIELDS = {
    "ID": G, "Code": S, "Description": S, "SearchCode": S, "Type": I, "TypeDescription": S,
    "BalanceType": S, "BalanceSide": S, "UseCostcenter": I, "UseCostunit": I, "VATCode": S,
    "VATDescription": S, "IsBlocked": B, "Costcenter": S, "Costunit": S, "Division": I,
    "Created": DT, "Modified": DT,
}  # fmt: skip

VAT_CODE_FIELDS = {
    "ID": G, "Code": S, "Description": S, "Percentage": D, "Type": S, "VATTransactionType": S,
    "Charged": B, "EUSalesListing": S, "GLToPay": G, "GLToPayCode": S, "GLToClaim": G,
    "GLToClaimCode": S, "IsBlocked": B, "LegalText": S, "Division": I, "Created": DT,
    "Modified": DT,
}  # fmt: skip

COST_FIELDS = {
    "ID": G, "Code": S, "Description": S, "Active": B, "EndDate": DT, "Division": I,
    "Created": DT, "Modified": DT,
}  # fmt: skip

ACCOUNT_FIELDS = {
    "ID": G, "Code": S, "SearchCode": S, "Name": S, "Status": S, "IsSales": B, "IsSupplier": B,
    "IsPurchase": B, "Type": S, "VATNumber": S, "ChamberOfCommerce": S, "AddressLine1": S,
    "AddressLine2": S, "Postcode": S, "City": S, "State": S, "Country": S, "Email": S,
    "Phone": S, "PhoneExtension": S, "Website": S, "Language": S, "SalesCurrency": S,
    "SalesVATCode": S, "PaymentConditionSales": S, "PaymentConditionSalesDescription": S,
    "InvoiceAttachmentType": I, "InvoicingMethod": I, "GLAR": G, "Blocked": B,
    "StartDate": DT, "EndDate": DT, "Division": I, "Created": DT, "Modified": DT,
}  # fmt: skip

DELETED_FIELDS = {
    "ID": G, "EntityKey": G, "EntityType": I, "DeletedBy": G, "DeletedDate": DT, "Division": I,
    "FullName": S, "Timestamp": I64,
}  # fmt: skip

SALES_ENTRY_FIELDS = {
    "EntryID": G, "Journal": S, "JournalDescription": S, "Customer": G, "CustomerName": S,
    "EntryDate": DT, "DueDate": DT, "EntryNumber": I, "InvoiceNumber": I, "YourRef": S,
    "Description": S, "PaymentCondition": S, "PaymentReference": S, "Currency": S, "Rate": D,
    "AmountDC": D, "AmountFC": D, "VATAmountDC": D, "VATAmountFC": D, "Status": I,
    "StatusDescription": S, "Type": I, "TypeDescription": S, "ReportingYear": I,
    "ReportingPeriod": I, "OrderNumber": I, "ExternalLinkReference": S, "Division": I,
    "Created": DT, "Modified": DT,
}  # fmt: skip

SALES_ENTRY_LINE_FIELDS = {
    "ID": G, "EntryID": G, "LineNumber": I, "AmountFC": D, "AmountDC": D, "VATAmountFC": D,
    "VATAmountDC": D, "VATBaseAmountFC": D, "VATCode": S, "VATPercentage": D, "GLAccount": G,
    "GLAccountCode": S, "GLAccountDescription": S, "Description": S, "Notes": S,
    "Quantity": D, "CostCenter": S, "CostUnit": S, "From": DT, "To": DT, "Division": I,
}  # fmt: skip

BANK_ENTRY_FIELDS = {
    "EntryID": G, "JournalCode": S, "JournalDescription": S, "EntryNumber": I, "Currency": S,
    "OpeningBalanceFC": D, "ClosingBalanceFC": D, "FinancialYear": I, "FinancialPeriod": I,
    "Status": I, "StatusDescription": S, "Division": I, "Created": DT, "Modified": DT,
}  # fmt: skip

JOURNAL_LINE_FIELDS = {
    "ID": G, "EntryID": G, "LineNumber": I, "EntryNumber": I, "AmountFC": D, "AmountDC": D,
    "AmountVATFC": D, "GLAccount": G, "GLAccountCode": S, "GLAccountDescription": S,
    "Account": G, "AccountCode": S, "AccountName": S, "OurRef": I, "Date": DT,
    "Description": S, "Notes": S, "VATCode": S, "VATPercentage": D, "CostCenter": S,
    "CostUnit": S, "Quantity": D, "Division": I,
}  # fmt: skip

GJ_ENTRY_FIELDS = {
    "EntryID": G, "JournalCode": S, "JournalDescription": S, "EntryNumber": I, "Currency": S,
    "ExchangeRate": D, "FinancialYear": I, "FinancialPeriod": I, "Reversal": B, "Status": I,
    "StatusDescription": S, "Type": I, "TypeDescription": S, "Division": I, "Created": DT,
    "Modified": DT,
}  # fmt: skip


def _with_timestamp(fields: Mapping[str, FieldType]) -> dict[str, FieldType]:
    return {**fields, "Timestamp": I64}


_WRITE = frozenset({"GET", "POST"})
_SYNC_FILTER = frozenset({"Timestamp"})

ENTITY_SETS: tuple[EntitySet, ...] = (
    EntitySet(
        "current/Me", f"{MODELS}.System.Me", "UserID", ME_FIELDS, Source.ME, in_division=False
    ),
    EntitySet(
        "system/Divisions", f"{MODELS}.System.Division", "Code", DIVISION_FIELDS, Source.DIVISIONS
    ),
    EntitySet(
        "hrm/Divisions",
        f"{MODELS}.HRM.Division",
        "Code",
        HRM_DIVISION_FIELDS,
        Source.HRM_DIVISIONS,
    ),
    EntitySet("financial/Journals", f"{MODELS}.Journal", "ID", JOURNAL_FIELDS, Source.JOURNALS),
    EntitySet(
        "financial/GLAccounts",
        f"{MODELS}.GLAccount",
        "ID",
        GL_ACCOUNT_FIELDS,
        Source.GL_ACCOUNTS,
        mandatory_filter=assumptions.GL_ACCOUNT_FILTER_FIELDS,
    ),
    EntitySet(
        "bulk/Financial/GLAccounts",
        f"{MODELS}.Bulk.Financial.GLAccount",
        "ID",
        GL_ACCOUNT_FIELDS,
        Source.GL_ACCOUNTS,
        kind=Kind.BULK,
        page_size=assumptions.PAGE_SIZE_BULK,
        mandatory_filter=assumptions.BULK_GL_ACCOUNT_FILTERABLE,
        filterable=assumptions.BULK_GL_ACCOUNT_FILTERABLE,
        select_required=True,
    ),
    EntitySet(
        "sync/Financial/GLAccounts",
        f"{MODELS}.Sync.Financial.GLAccount",
        "ID",
        _with_timestamp(GL_ACCOUNT_FIELDS),
        Source.GL_ACCOUNTS,
        kind=Kind.SYNC,
        page_size=assumptions.PAGE_SIZE_SYNC,
        filterable=_SYNC_FILTER,
        select_required=True,
        order_key="Timestamp",
    ),
    EntitySet("vat/VATCodes", f"{MODELS}.VATCode", "ID", VAT_CODE_FIELDS, Source.VAT_CODES),
    EntitySet("hrm/Costcenters", f"{MODELS}.Costcenter", "ID", COST_FIELDS, Source.COST_CENTERS),
    EntitySet("hrm/Costunits", f"{MODELS}.Costunit", "ID", COST_FIELDS, Source.COST_UNITS),
    EntitySet(
        "crm/Accounts",
        f"{MODELS}.Account",
        "ID",
        ACCOUNT_FIELDS,
        Source.ACCOUNTS,
        methods=_WRITE,
        mandatory_filter=assumptions.CRM_ACCOUNT_FILTER_FIELDS,
    ),
    EntitySet(
        "bulk/CRM/Accounts",
        f"{MODELS}.Bulk.CRM.Account",
        "ID",
        ACCOUNT_FIELDS,
        Source.ACCOUNTS,
        kind=Kind.BULK,
        page_size=assumptions.PAGE_SIZE_BULK,
        mandatory_filter=assumptions.BULK_CRM_ACCOUNT_FILTERABLE,
        filterable=assumptions.BULK_CRM_ACCOUNT_FILTERABLE,
        select_required=True,
    ),
    EntitySet(
        "sync/CRM/Accounts",
        f"{MODELS}.Sync.CRM.Account",
        "ID",
        _with_timestamp(ACCOUNT_FIELDS),
        Source.ACCOUNTS,
        kind=Kind.SYNC,
        page_size=assumptions.PAGE_SIZE_SYNC,
        filterable=_SYNC_FILTER,
        select_required=True,
        order_key="Timestamp",
    ),
    EntitySet(
        "sync/Deleted",
        f"{MODELS}.Sync.Deleted",
        "ID",
        DELETED_FIELDS,
        Source.DELETED,
        kind=Kind.SYNC,
        page_size=assumptions.PAGE_SIZE_SYNC,
        filterable=_SYNC_FILTER,
        select_required=True,
        order_key="Timestamp",
    ),
    EntitySet(
        "salesentry/SalesEntries",
        f"{MODELS}.SalesEntry",
        "EntryID",
        SALES_ENTRY_FIELDS,
        Source.SALES_ENTRIES,
        methods=_WRITE,
        navigations={"SalesEntryLines": Navigation("salesentry/SalesEntryLines", "EntryID")},
    ),
    EntitySet(
        "salesentry/SalesEntryLines",
        f"{MODELS}.SalesEntryLine",
        "ID",
        SALES_ENTRY_LINE_FIELDS,
        Source.SALES_ENTRY_LINES,
    ),
    EntitySet(
        "financialtransaction/BankEntries",
        f"{MODELS}.FinancialTransaction.BankEntry",
        "EntryID",
        BANK_ENTRY_FIELDS,
        Source.BANK_ENTRIES,
        methods=_WRITE,
        navigations={
            "BankEntryLines": Navigation("financialtransaction/BankEntryLines", "EntryID")
        },
    ),
    EntitySet(
        "financialtransaction/BankEntryLines",
        f"{MODELS}.FinancialTransaction.BankEntryLine",
        "ID",
        JOURNAL_LINE_FIELDS,
        Source.BANK_ENTRY_LINES,
    ),
    EntitySet(
        "generaljournalentry/GeneralJournalEntries",
        f"{MODELS}.GeneralJournalEntry.GeneralJournalEntry",
        "EntryID",
        GJ_ENTRY_FIELDS,
        Source.GJ_ENTRIES,
        methods=_WRITE,
        select_or_top_required=True,
        navigations={
            "GeneralJournalEntryLines": Navigation(
                "generaljournalentry/GeneralJournalEntryLines", "EntryID"
            )
        },
    ),
    EntitySet(
        "generaljournalentry/GeneralJournalEntryLines",
        f"{MODELS}.GeneralJournalEntry.GeneralJournalEntryLine",
        "ID",
        JOURNAL_LINE_FIELDS,
        Source.GJ_ENTRY_LINES,
    ),
)

BY_PATH: dict[str, EntitySet] = {entity.path.lower(): entity for entity in ENTITY_SETS}


def lookup(path: str) -> EntitySet | None:
    """The entity set at `path` (e.g. "crm/Accounts"), matched case-insensitively like IIS."""
    return BY_PATH.get(path.lower())
