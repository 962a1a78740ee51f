"""The states, categories and kinds that every layer speaks of, each member with its label.

A label is the words the console and the CLI show for a member; it sits beside the enum, one
per member (`labelled` refuses a table that misses one, so a new member needs its words).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

E = TypeVar("E", bound=StrEnum)
V = TypeVar("V")


def labelled(enum: type[E], labels: Mapping[E, V]) -> Mapping[E, V]:
    """`labels`, checked to name every member of `enum` once (at import: a gap fails early)."""
    missing = [member.value for member in enum if member not in labels]
    if missing:
        raise TypeError(f"{enum.__name__}: no label for {', '.join(missing)}")
    return labels


class JobState(StrEnum):
    """Where an export job is in the state machine (docs/export.md §The state machine)."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    POSTED = "posted"
    FAILED = "failed"
    NEEDS_MAPPING = "needs_mapping"
    RETRY_WAIT = "retry_wait"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"

    @property
    def label(self) -> str:
        return _JOB_STATES[self][1]

    @property
    def mark(self) -> str:
        """The sign a list shows before the label ("✔ posted", "⚠ blocked")."""
        return _JOB_STATES[self][0]

    @property
    def is_final(self) -> bool:
        return self in (JobState.POSTED, JobState.SKIPPED)

    @property
    def retryable(self) -> bool:
        """States an operator's retry moves back to pending (unknown asks for a lookup instead)."""
        return self in (JobState.FAILED, JobState.NEEDS_MAPPING, JobState.RETRY_WAIT)


_JOB_STATES = labelled(
    JobState,
    {
        JobState.PENDING: ("·", "pending"),
        JobState.IN_FLIGHT: ("➜", "in flight"),
        JobState.POSTED: ("✔", "posted"),
        JobState.FAILED: ("✖", "failed"),
        # Held for a person: a binding, a mapping or a customer link (the category says which).
        JobState.NEEDS_MAPPING: ("⚠", "blocked"),
        JobState.RETRY_WAIT: ("↻", "retry wait"),
        JobState.UNKNOWN: ("?", "unknown"),
        JobState.SKIPPED: ("–", "skipped"),
    },
)


class Category(StrEnum):
    """Why a job is not (yet) posted; set on every non-final job that is waiting on something."""

    BINDING = "binding"
    MAPPING = "mapping"
    CUSTOMER = "customer"
    VALIDATION = "validation"
    ACCESS = "access"
    AUTH = "auth"
    RATE_LIMIT = "rate_limit"
    TRANSIENT = "transient"
    AMBIGUOUS = "ambiguous"
    DUPLICATE = "duplicate"
    #: An entry in Exact carries the document's reference but is not the document (another
    #: amount, customer, date, journal or lines): never taken as posted; a person decides.
    CONFLICT = "conflict"

    @property
    def label(self) -> str:
        return _CATEGORIES[self]


_CATEGORIES = labelled(
    Category,
    {
        Category.BINDING: "binding",
        Category.MAPPING: "mapping",
        Category.CUSTOMER: "customer",
        Category.VALIDATION: "validation",
        Category.ACCESS: "access",
        Category.AUTH: "auth",
        Category.RATE_LIMIT: "rate limit",
        Category.TRANSIENT: "transient",
        # An answer was lost: the job is looked up in Exact before anything is sent again.
        Category.AMBIGUOUS: "lost answer",
        Category.DUPLICATE: "duplicate",
        Category.CONFLICT: "conflict",
    },
)


class DocumentKind(StrEnum):
    """The platform documents that become entries in Exact."""

    INVOICE = "invoice"
    PAYMENT = "payment"
    WRITE_OFF = "write_off"

    @property
    def label(self) -> str:
        return _DOCUMENT_KINDS[self][0]

    @property
    def short(self) -> str:
        """Three characters, for a narrow column."""
        return _DOCUMENT_KINDS[self][1]


_DOCUMENT_KINDS = labelled(
    DocumentKind,
    {
        DocumentKind.INVOICE: ("invoice", "inv"),
        DocumentKind.PAYMENT: ("payment", "pay"),
        DocumentKind.WRITE_OFF: ("write-off", "w/o"),
    },
)


class WriteOffKind(StrEnum):
    WRITE_OFF = "write_off"
    COLLECTION_COSTS = "collection_costs"

    @property
    def label(self) -> str:
        return _WRITE_OFF_KINDS[self]


_WRITE_OFF_KINDS = labelled(
    WriteOffKind,
    {WriteOffKind.WRITE_OFF: "write-off", WriteOffKind.COLLECTION_COSTS: "collection costs"},
)


class MappingKind(StrEnum):
    GL = "gl"
    VAT = "vat"
    COST_CENTER = "cost_center"
    COST_UNIT = "cost_unit"

    @property
    def label(self) -> str:
        """The code's name in a sentence: "GL REV-EVENT", "VAT code EU-SERV"."""
        return _MAPPING_KINDS[self][0]

    @property
    def plural(self) -> str:
        return _MAPPING_KINDS[self][1]


_MAPPING_KINDS = labelled(
    MappingKind,
    {
        MappingKind.GL: ("GL", "GL codes"),
        MappingKind.VAT: ("VAT code", "VAT codes"),
        MappingKind.COST_CENTER: ("cost center", "cost centers"),
        MappingKind.COST_UNIT: ("cost unit", "cost units"),
    },
)


class LinkMethod(StrEnum):
    """How a platform customer came to be linked to an Exact account."""

    VAT = "vat"
    CODE = "code"
    SEARCH_CODE = "search_code"
    CREATED = "created"
    MANUAL = "manual"

    @property
    def label(self) -> str:
        return _LINK_METHODS[self]


_LINK_METHODS = labelled(
    LinkMethod,
    {
        LinkMethod.VAT: "VAT number",
        LinkMethod.CODE: "customer number = account code",
        LinkMethod.SEARCH_CODE: "customer number = search code",
        LinkMethod.CREATED: "created by exact-tui",
        LinkMethod.MANUAL: "linked by hand",
    },
)


class ConnectionStatus(StrEnum):
    """The integration statuses users know, with the marks they know them by."""

    CONNECTED = "connected"
    RECONNECT = "reconnect"
    ERROR = "error"
    INACTIVE = "inactive"

    @property
    def mark(self) -> str:
        return _CONNECTION_STATUSES[self][0]

    @property
    def label(self) -> str:
        return _CONNECTION_STATUSES[self][1]


_CONNECTION_STATUSES = labelled(
    ConnectionStatus,
    {
        ConnectionStatus.CONNECTED: ("✔", "Connected"),
        ConnectionStatus.RECONNECT: ("🔄", "Reconnect"),
        ConnectionStatus.ERROR: ("⛔", "Error"),
        ConnectionStatus.INACTIVE: ("⚫", "Inactive"),
    },
)
