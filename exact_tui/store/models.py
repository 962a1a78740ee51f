"""All tables of the store (docs/architecture.md §Store), in one SQLModel metadata migrated by
Alembic.

Groups: the platform's documents, Exact's master data (a read-only cache per division),
configuration (bindings, mappings, settings, customer links), the export outbox with its
append-only event log, and the connection with its tokens, budgets, requests and audit.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from exact_tui.domain.states import (
    Category,
    ConnectionStatus,
    DocumentKind,
    JobState,
    LinkMethod,
    MappingKind,
    WriteOffKind,
)
from exact_tui.store.types import EnumText, FixedDecimal, Money, UTCDateTime, utcnow

GUID = 36  # Exact's IDs are GUIDs in their 36-character text form


def width(column: Any) -> int:
    """The declared width of a text column (`width(ExportEvent.message)`): what is stored in it
    is cut to this (domain.text.cut), as PostgreSQL refuses longer text."""
    length = column.type.length
    assert isinstance(length, int), f"{column} has no width"
    return length


def _now_field(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kwargs)


def _time_field(**kwargs: Any) -> Any:
    return Field(default=None, sa_type=UTCDateTime, **kwargs)


def _fk(target: str, *, ondelete: str = "RESTRICT", index: bool = True) -> Any:
    return Field(sa_column_args=[ForeignKey(target, ondelete=ondelete)], index=index)


# ---------------------------------------------------------------- tenants


class Tenant(SQLModel, table=True):
    """One customer of the billing platform (docs/tenants.md): every tenant-owned row carries
    its id, and every session sees the rows of one tenant only (store/scoping.py)."""

    __tablename__ = "tenant"

    id: int | None = Field(default=None, primary_key=True)
    #: 1-40 characters of a-z, 0-9 and '-' (domain.tenants.normalise_code).
    code: str = Field(unique=True, max_length=40)
    name: str = Field(max_length=200)
    created_at: dt.datetime = _now_field()
    #: Set while the tenant is disabled: the worker serves nothing of it.
    disabled_at: dt.datetime | None = _time_field()
    disabled_reason: str | None = Field(default=None, max_length=500)


#: The tenant an existing store's rows move into, and the only one a new store starts with.
DEFAULT_TENANT_ID = 1
DEFAULT_TENANT_CODE = "default"


class TenantOwned(SQLModel):
    """A row of one tenant. Stamped from the session's tenant when added, and filtered to it on
    every ORM read, update and delete (store/scoping.py)."""

    tenant_id: int = Field(default=None, foreign_key="tenant.id", ondelete="RESTRICT")


class TenantKeyed(TenantOwned):
    """A tenant-owned row whose natural key starts with the tenant (two tenants may see the same
    division): `Model.key(session, ...)` builds the key `session.get` takes."""

    tenant_id: int = Field(
        default=None,
        primary_key=True,
        foreign_key="tenant.id",
        ondelete="RESTRICT",
        sa_column_kwargs={"autoincrement": False},
    )


# ---------------------------------------------------------------- platform


class Organization(TenantOwned, table=True):
    __tablename__ = "organization"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    content_hash: str = Field(max_length=64)
    created_at: dt.datetime = _now_field()
    updated_at: dt.datetime = _now_field()


class BankAccount(TenantOwned, table=True):
    __tablename__ = "bank_account"
    __table_args__ = (UniqueConstraint("tenant_id", "iban"),)

    id: int | None = Field(default=None, primary_key=True)
    iban: str = Field(max_length=34)
    organization_id: int = _fk("organization.id")
    name: str | None = Field(default=None, max_length=200)
    content_hash: str = Field(max_length=64)
    created_at: dt.datetime = _now_field()
    updated_at: dt.datetime = _now_field()


class Customer(TenantOwned, table=True):
    __tablename__ = "customer"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_customer_tenant_vat", "tenant_id", "vat_normalised"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=64)
    name: str = Field(max_length=200)
    vat_number: str | None = Field(default=None, max_length=40)
    #: VAT number in the compact form matching compares (domain.vat.normalise_vat).
    vat_normalised: str | None = Field(default=None, max_length=40)
    address_line: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, max_length=20)
    city: str | None = Field(default=None, max_length=100)
    country: str | None = Field(default=None, max_length=2)
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    content_hash: str = Field(max_length=64)
    created_at: dt.datetime = _now_field()
    updated_at: dt.datetime = _now_field()


class Invoice(TenantOwned, table=True):
    __tablename__ = "invoice"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=64)
    date: dt.date
    customer_id: int = _fk("customer.id")
    bank_account_id: int = _fk("bank_account.id")
    due_date: dt.date | None = None
    payment_reference: str | None = Field(default=None, max_length=100)
    currency: str = Field(default="EUR", max_length=3)
    description: str | None = Field(default=None, max_length=500)
    content_hash: str = Field(max_length=64)
    created_at: dt.datetime = _now_field()
    updated_at: dt.datetime = _now_field()


class InvoiceLine(TenantOwned, table=True):
    __tablename__ = "invoice_line"
    __table_args__ = (
        UniqueConstraint("invoice_id", "position"),
        # The Mappings screen lists the platform codes in use one distinct value at a time.
        Index("ix_invoice_line_gl_code", "tenant_id", "gl_code"),
        Index("ix_invoice_line_vat_code", "tenant_id", "vat_code"),
        Index("ix_invoice_line_cost_center", "tenant_id", "cost_center"),
        Index("ix_invoice_line_cost_unit", "tenant_id", "cost_unit"),
    )

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = _fk("invoice.id", ondelete="CASCADE")
    position: int
    amount: Decimal = Field(sa_type=Money())
    gl_code: str = Field(max_length=64)
    vat_code: str = Field(max_length=64)
    vat_amount: Decimal | None = Field(default=None, sa_type=Money())
    description: str | None = Field(default=None, max_length=500)
    cost_center: str | None = Field(default=None, max_length=64)
    cost_unit: str | None = Field(default=None, max_length=64)


class Payment(TenantOwned, table=True):
    __tablename__ = "payment"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=64)
    date: dt.date
    amount: Decimal = Field(sa_type=Money())
    customer_id: int = _fk("customer.id")
    bank_account_id: int = _fk("bank_account.id")
    invoice_id: int | None = Field(
        default=None, sa_column_args=[ForeignKey("invoice.id", ondelete="RESTRICT")], index=True
    )
    description: str | None = Field(default=None, max_length=500)
    content_hash: str = Field(max_length=64)
    created_at: dt.datetime = _now_field()
    updated_at: dt.datetime = _now_field()


class WriteOff(TenantOwned, table=True):
    __tablename__ = "write_off"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=64)
    date: dt.date
    amount: Decimal = Field(sa_type=Money())
    invoice_id: int = _fk("invoice.id")
    kind: WriteOffKind = Field(sa_type=EnumText(WriteOffKind))
    description: str | None = Field(default=None, max_length=500)
    content_hash: str = Field(max_length=64)
    created_at: dt.datetime = _now_field()
    updated_at: dt.datetime = _now_field()


# ---------------------------------------------------------------- Exact cache (read-only here)


class Division(TenantKeyed, table=True):
    __tablename__ = "division"

    code: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    description: str = Field(max_length=200)
    hid: int | None = Field(default=None, sa_type=BigInteger)
    country: str | None = Field(default=None, max_length=3)
    currency: str | None = Field(default=None, max_length=3)
    legislation: str | None = Field(default=None, max_length=10)
    status: int = 1
    blocking_status: int = 0
    is_main: bool = False
    vat_number: str | None = Field(default=None, max_length=40)
    move_date: dt.datetime | None = _time_field()
    #: False while Exact refuses this division (no consent, blocked); `access_reason` says why.
    accessible: bool = True
    access_reason: str | None = Field(default=None, max_length=500)
    imported_at: dt.datetime | None = _time_field()


class _DivisionScoped(TenantKeyed):
    division: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    id: str = Field(primary_key=True, max_length=GUID)


class Journal(_DivisionScoped, table=True):
    __tablename__ = "journal"
    __table_args__ = (Index("ix_journal_division_code", "tenant_id", "division", "code"),)

    code: str = Field(max_length=20)
    description: str = Field(default="", max_length=200)
    type: int
    gl_account: str | None = Field(default=None, max_length=GUID)
    bank_account_iban: str | None = Field(default=None, max_length=34)
    currency: str | None = Field(default=None, max_length=3)
    allow_vat: bool = False
    is_blocked: bool = False


class GLAccount(_DivisionScoped, table=True):
    __tablename__ = "gl_account"
    __table_args__ = (Index("ix_gl_account_division_code", "tenant_id", "division", "code"),)

    code: str = Field(max_length=20)
    description: str = Field(default="", max_length=200)
    type: int
    balance_type: str | None = Field(default=None, max_length=1)
    balance_side: str | None = Field(default=None, max_length=1)
    #: 0 optional, 1 mandatory, 2 not allowed (Exact's UseCostcenter / UseCostunit).
    use_costcenter: int = 0
    use_costunit: int = 0
    vat_code: str | None = Field(default=None, max_length=10)
    is_blocked: bool = False


class VATCode(_DivisionScoped, table=True):
    __tablename__ = "vat_code"
    __table_args__ = (Index("ix_vat_code_division_code", "tenant_id", "division", "code"),)

    code: str = Field(max_length=10)
    description: str = Field(default="", max_length=200)
    #: As Exact returns it (a fraction: 0.21 for 21 %).
    percentage: Decimal = Field(default=Decimal(0), sa_type=FixedDecimal(6))
    type: str | None = Field(default=None, max_length=1)
    transaction_type: str | None = Field(default=None, max_length=1)
    is_blocked: bool = False


class CostCenter(_DivisionScoped, table=True):
    __tablename__ = "cost_center"
    __table_args__ = (Index("ix_cost_center_division_code", "tenant_id", "division", "code"),)

    code: str = Field(max_length=20)
    description: str = Field(default="", max_length=200)
    end_date: dt.date | None = None


class CostUnit(_DivisionScoped, table=True):
    __tablename__ = "cost_unit"
    __table_args__ = (Index("ix_cost_unit_division_code", "tenant_id", "division", "code"),)

    code: str = Field(max_length=20)
    description: str = Field(default="", max_length=200)
    end_date: dt.date | None = None


class ExactAccount(_DivisionScoped, table=True):
    __tablename__ = "exact_account"
    __table_args__ = (
        Index("ix_exact_account_division_code", "tenant_id", "division", "code"),
        Index("ix_exact_account_division_search_code", "tenant_id", "division", "search_code"),
        Index("ix_exact_account_division_vat", "tenant_id", "division", "vat_normalised"),
        Index("ix_exact_account_division_name", "tenant_id", "division", "name"),
    )

    #: Stored trimmed; Exact pads it to 18 characters.
    code: str | None = Field(default=None, max_length=18)
    search_code: str | None = Field(default=None, max_length=64)
    name: str = Field(max_length=200)
    vat_number: str | None = Field(default=None, max_length=40)
    vat_normalised: str | None = Field(default=None, max_length=40)
    #: A none, S suspect, P prospect, C customer.
    status: str | None = Field(default=None, max_length=1)
    address_line: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, max_length=20)
    city: str | None = Field(default=None, max_length=100)
    country: str | None = Field(default=None, max_length=3)
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    is_blocked: bool = False


class SyncState(TenantKeyed, table=True):
    """Per division and entity: where the incremental import stands."""

    __tablename__ = "sync_state"

    division: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    entity: str = Field(primary_key=True, max_length=40)
    last_timestamp: int | None = Field(default=None, sa_type=BigInteger)
    #: The division's DivisionMoveDate when the cursor was taken: a change means a full re-import.
    move_date: dt.datetime | None = _time_field()
    last_full_at: dt.datetime | None = _time_field()
    last_run_at: dt.datetime | None = _time_field()


class SyncRun(TenantOwned, table=True):
    """One import run of one entity in one division (or of the division list)."""

    __tablename__ = "sync_run"
    __table_args__ = (
        Index("ix_sync_run_division_entity", "tenant_id", "division", "entity", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    division: int | None = Field(default=None, sa_type=BigInteger)
    entity: str = Field(max_length=40)
    trigger: str = Field(max_length=20)
    full: bool = False
    started_at: dt.datetime = _now_field()
    finished_at: dt.datetime | None = _time_field()
    #: Rows Exact returned; an incremental run with nothing changed reads none.
    read: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    calls: int = 0
    duration_ms: int | None = None
    error: str | None = Field(default=None, max_length=2000)


# ---------------------------------------------------------------- configuration


class DivisionBinding(TenantOwned, table=True):
    """A division belongs to one organization of one tenant at most: the key is the division
    alone, across tenants."""

    __tablename__ = "division_binding"
    __table_args__ = (Index("ix_division_binding_tenant", "tenant_id", "division"),)

    division: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    organization_id: int = _fk("organization.id")
    bound_by: str = Field(max_length=100)
    bound_at: dt.datetime = _now_field()


class BankAccountBinding(TenantOwned, table=True):
    """Where a bank account's documents go: a division and one of its bank journals."""

    __tablename__ = "bank_account_binding"
    __table_args__ = (Index("ix_bank_account_binding_tenant_division", "tenant_id", "division"),)

    bank_account_id: int = Field(
        primary_key=True, sa_column_args=[ForeignKey("bank_account.id", ondelete="CASCADE")]
    )
    division: int = Field(sa_type=BigInteger)
    journal_code: str = Field(max_length=20)
    bound_by: str = Field(max_length=100)
    bound_at: dt.datetime = _now_field()


class Mapping(TenantOwned, table=True):
    """A platform code mapped to an Exact code in one division."""

    __tablename__ = "mapping"
    __table_args__ = (UniqueConstraint("tenant_id", "division", "kind", "platform_code"),)

    id: int | None = Field(default=None, primary_key=True)
    division: int = Field(sa_type=BigInteger)
    kind: MappingKind = Field(sa_type=EnumText(MappingKind))
    platform_code: str = Field(max_length=64)
    exact_code: str = Field(max_length=20)
    updated_by: str = Field(max_length=100)
    updated_at: dt.datetime = _now_field()


class DivisionSettings(TenantKeyed, table=True):
    """The journals and GL accounts a division's entries use (Exact codes)."""

    __tablename__ = "division_settings"

    division: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    sales_journal: str | None = Field(default=None, max_length=20)
    general_journal: str | None = Field(default=None, max_length=20)
    receivables_gl: str | None = Field(default=None, max_length=20)
    write_off_gl: str | None = Field(default=None, max_length=20)
    collection_costs_gl: str | None = Field(default=None, max_length=20)
    updated_by: str = Field(max_length=100)
    updated_at: dt.datetime = _now_field()


class CustomerLink(TenantOwned, table=True):
    """A platform customer linked to an Exact account in one division, and how."""

    __tablename__ = "customer_link"
    __table_args__ = (
        Index("ix_customer_link_division_account", "tenant_id", "division", "exact_account_id"),
    )

    customer_id: int = Field(
        primary_key=True, sa_column_args=[ForeignKey("customer.id", ondelete="CASCADE")]
    )
    division: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    exact_account_id: str = Field(max_length=GUID)
    method: LinkMethod = Field(sa_type=EnumText(LinkMethod))
    linked_by: str = Field(max_length=100)
    linked_at: dt.datetime = _now_field()


# ---------------------------------------------------------------- export (outbox)


class ExportJob(TenantOwned, table=True):
    """One document to post to Exact, and where it stands (docs/export.md §The state machine)."""

    __tablename__ = "export_job"
    __table_args__ = (
        UniqueConstraint("document_kind", "document_id"),
        # What is due across tenants (the worker), and per tenant (lists and counts).
        Index("ix_export_job_state_due", "state", "next_attempt_at"),
        #: New jobs (pending, no division yet) of every tenant: what the worker routes.
        Index("ix_export_job_state_division", "state", "division"),
        Index("ix_export_job_tenant_state_due", "tenant_id", "state", "next_attempt_at"),
        Index("ix_export_job_division_state", "tenant_id", "division", "state"),
        Index("ix_export_job_category_state", "tenant_id", "category", "state"),
        Index("ix_export_job_updated", "tenant_id", "updated_at", "id"),
        Index("ix_export_job_number", "tenant_id", "document_number"),
        Index("ix_export_job_entry", "exact_entry_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    document_kind: DocumentKind = Field(sa_type=EnumText(DocumentKind))
    document_id: int
    #: Denormalised for the log's filters and for lookups in Exact by reference.
    document_number: str = Field(max_length=64)
    document_date: dt.date
    division: int | None = Field(default=None, sa_type=BigInteger)
    state: JobState = Field(default=JobState.PENDING, sa_type=EnumText(JobState))
    category: Category | None = Field(default=None, sa_type=EnumText(Category))
    #: What blocks it, for grouping ("vat 21-EU missing in division 123456").
    cause: str | None = Field(default=None, max_length=300)
    #: Since when this cause has held the job: set when the cause changes, kept while it stays
    #: (through retries and claims); the failures by cause say "since" from it.
    cause_since: dt.datetime | None = _time_field()
    #: The exact keys preflight found missing, e.g. [{"kind": "vat", "code": "21-EU"}].
    missing: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True))
    )
    attempts: int = 0
    next_attempt_at: dt.datetime | None = _time_field()
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_expires_at: dt.datetime | None = _time_field()
    #: Incremented by every claim (to send, or to look up): a worker acts on the job, and
    #: records what came of it, only while the claim is still the one it took (fencing).
    claim: int = 0
    #: When the last request that may have reached Exact left, and that request: lookups and
    #: the settling horizon go by them.
    sent_at: dt.datetime | None = _time_field()
    sent_request: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True))
    )
    last_error: str | None = Field(default=None, max_length=2000)
    last_http_status: int | None = None
    #: Lookups in Exact that found nothing since the job became unknown (two are needed).
    lookups_empty: int = 0
    last_lookup_at: dt.datetime | None = _time_field()
    exact_entry_id: str | None = Field(default=None, max_length=GUID)
    exact_entry_number: int | None = Field(default=None, sa_type=BigInteger)
    created_at: dt.datetime = _now_field()
    updated_at: dt.datetime = _now_field()
    posted_at: dt.datetime | None = _time_field()


class ExportEvent(TenantOwned, table=True):
    """Append-only: one row per attempt, outcome or operator action on a job."""

    __tablename__ = "export_event"
    __table_args__ = (
        Index("ix_export_event_job", "job_id", "id"),
        Index("ix_export_event_tenant", "tenant_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(sa_column_args=[ForeignKey("export_job.id", ondelete="CASCADE")])
    at: dt.datetime = _now_field()
    level: str = Field(default="info", max_length=10)
    outcome: str = Field(max_length=40)
    message: str = Field(default="", max_length=2000)
    http_status: int | None = None
    duration_ms: int | None = None
    minutely_remaining: int | None = None
    daily_remaining: int | None = None
    #: The request body sent (amounts as strings), kept for the job's detail view.
    request: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))


# ---------------------------------------------------------------- connection and operations


class ExactConnection(TenantKeyed, table=True):
    """A tenant's connection to Exact: one row per tenant, keyed by the tenant. The platform's
    Exact app (client id, secret) is shared; the user, tokens and status are the tenant's."""

    __tablename__ = "connection"

    region: str = Field(max_length=10)
    base_url: str = Field(max_length=200)
    client_id: str = Field(max_length=100)
    redirect_uri: str = Field(max_length=300)
    user_id: str | None = Field(default=None, max_length=GUID)
    user_name: str | None = Field(default=None, max_length=200)
    status: ConnectionStatus = Field(
        default=ConnectionStatus.INACTIVE, sa_type=EnumText(ConnectionStatus)
    )
    reason: str | None = Field(default=None, max_length=1000)
    activated_at: dt.datetime | None = _time_field()
    connected_at: dt.datetime | None = _time_field()
    disconnected_at: dt.datetime | None = _time_field()
    exports_paused: bool = False
    paused_reason: str | None = Field(default=None, max_length=500)
    last_refresh_at: dt.datetime | None = _time_field()
    updated_at: dt.datetime = _now_field()


class OAuthToken(TenantKeyed, table=True):
    """A tenant's token pair, AES-GCM encrypted (bound to the tenant's id); `version` makes
    saves compare-and-swap."""

    __tablename__ = "oauth_token"

    tenant_id: int = Field(
        default=None,
        primary_key=True,
        foreign_key="connection.tenant_id",
        ondelete="CASCADE",
        sa_column_kwargs={"autoincrement": False},
    )
    blob: bytes = Field(sa_type=LargeBinary)
    key_id: str = Field(max_length=64)
    version: int = 1
    issued_at: dt.datetime = _now_field()
    expires_at: dt.datetime = _now_field()
    refresh_expires_at: dt.datetime | None = _time_field()


class AuthAttempt(TenantOwned, table=True):
    """A connect attempt's `state`, stored hashed, usable once."""

    __tablename__ = "auth_attempt"

    state_hash: str = Field(primary_key=True, max_length=64)
    created_at: dt.datetime = _now_field()
    expires_at: dt.datetime = _now_field()
    used_at: dt.datetime | None = _time_field()


class Budget(TenantKeyed, table=True):
    """Exact's rate-limit budget for a division, as its headers last said."""

    __tablename__ = "budget"

    division: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    minutely_limit: int | None = None
    minutely_remaining: int | None = None
    minutely_reset_at: dt.datetime | None = _time_field()
    daily_limit: int | None = None
    daily_remaining: int | None = None
    daily_reset_at: dt.datetime | None = _time_field()
    updated_at: dt.datetime = _now_field()


class ApiErrorRecord(TenantOwned, table=True):
    """A 400/401/403/404 from Exact: counted per division and endpoint over the last hour."""

    __tablename__ = "api_error"
    __table_args__ = (
        Index("ix_api_error_division_endpoint_at", "tenant_id", "division", "endpoint", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    division: int = Field(sa_type=BigInteger)
    endpoint: str = Field(max_length=100)
    status: int
    at: dt.datetime = _now_field()


class SyncRequest(TenantOwned, table=True):
    """An intent to import master data, written by the console or CLI, done by the worker."""

    __tablename__ = "sync_request"
    __table_args__ = (
        Index("ix_sync_request_state", "state", "id"),
        Index("ix_sync_request_tenant_state", "tenant_id", "state", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    division: int | None = Field(default=None, sa_type=BigInteger)
    trigger: str = Field(default="manual", max_length=20)
    state: str = Field(default="pending", max_length=20)
    requested_by: str = Field(max_length=100)
    requested_at: dt.datetime = _now_field()
    #: The worker that took it; a request left running by a worker that died is taken again.
    picked_by: str | None = Field(default=None, max_length=100)
    picked_at: dt.datetime | None = _time_field()
    finished_at: dt.datetime | None = _time_field()
    result: str | None = Field(default=None, max_length=2000)


class ReconcileRun(TenantOwned, table=True):
    """A reconciliation (docs/export.md §Reconciliation): asked for by a person or the daily
    schedule, run by the worker, its result kept. `division` None: every division; `since`
    None: the default period."""

    __tablename__ = "reconcile_run"
    __table_args__ = (
        Index("ix_reconcile_run_state", "state", "id"),
        Index("ix_reconcile_run_tenant_state", "tenant_id", "state", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    division: int | None = Field(default=None, sa_type=BigInteger)
    since: dt.date | None = None
    trigger: str = Field(default="manual", max_length=20)
    state: str = Field(default="pending", max_length=20)
    requested_by: str = Field(max_length=100)
    requested_at: dt.datetime = _now_field()
    picked_by: str | None = Field(default=None, max_length=100)
    picked_at: dt.datetime | None = _time_field()
    finished_at: dt.datetime | None = _time_field()
    #: Exact was read whole for the period (else nothing is called missing).
    complete: bool = True
    calls: int = 0
    entries: int = 0
    duplicates: int = 0
    missing: int = 0
    unrecorded: int = 0
    result: str | None = Field(default=None, max_length=2000)


class ReconcileFinding(TenantOwned, table=True):
    """One difference a reconciliation found."""

    __tablename__ = "reconcile_finding"
    __table_args__ = (Index("ix_reconcile_finding_run", "run_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(sa_column_args=[ForeignKey("reconcile_run.id", ondelete="CASCADE")])
    division: int = Field(sa_type=BigInteger)
    kind: str = Field(max_length=20)
    document_kind: DocumentKind = Field(sa_type=EnumText(DocumentKind))
    reference: str = Field(max_length=100)
    job_id: int | None = None
    number: str | None = Field(default=None, max_length=64)
    #: [{"entry_id": …, "entry_number": …}] of the entries concerned.
    entries: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True))
    )
    message: str = Field(default="", max_length=2000)


class WorkerHeartbeat(SQLModel, table=True):
    __tablename__ = "worker_heartbeat"

    worker_id: str = Field(primary_key=True, max_length=100)
    host: str = Field(max_length=200)
    pid: int
    started_at: dt.datetime = _now_field()
    beat_at: dt.datetime = _now_field()
    state: str = Field(default="running", max_length=20)
    detail: str | None = Field(default=None, max_length=500)


class DivisionLease(SQLModel, table=True):
    """Which worker serves a tenant's division (docs/worker.md §Several workers): taken,
    renewed with each heartbeat and released by its owner; free when `owner` is empty or the
    lease has run out. One row per (tenant, division), kept when released. Global, not scoped
    (one worker serves every tenant): every query names the tenant itself."""

    __tablename__ = "division_lease"

    tenant_id: int = Field(
        primary_key=True,
        foreign_key="tenant.id",
        ondelete="CASCADE",
        sa_column_kwargs={"autoincrement": False},
    )
    division: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    owner: str | None = Field(default=None, max_length=100)
    taken_at: dt.datetime | None = _time_field()
    renewed_at: dt.datetime | None = _time_field()
    expires_at: dt.datetime | None = _time_field()


class Audit(TenantOwned, table=True):
    """What an operator did: who, from where, for which tenant, what, and the result. A removed
    tenant's rows stay, without the tenant (its code is in `target`)."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_at", "at"), Index("ix_audit_tenant_at", "tenant_id", "at"))

    tenant_id: int | None = Field(  # type: ignore[assignment]
        default=None, foreign_key="tenant.id", ondelete="SET NULL"
    )
    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = _now_field()
    actor: str = Field(max_length=100)
    #: cli, tui or worker
    origin: str = Field(max_length=20)
    #: Where the operator was: the SSH client's address, or "local".
    host: str = Field(default="local", max_length=100)
    action: str = Field(max_length=40)
    target: str | None = Field(default=None, max_length=200)
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    result: str = Field(default="ok", max_length=500)


metadata = SQLModel.metadata
