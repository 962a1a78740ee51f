"""The states, categories and kinds that every layer speaks of."""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """Where an export job is in the state machine of design §7."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    POSTED = "posted"
    FAILED = "failed"
    NEEDS_MAPPING = "needs_mapping"
    RETRY_WAIT = "retry_wait"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"

    @property
    def is_final(self) -> bool:
        return self in (JobState.POSTED, JobState.SKIPPED)

    @property
    def retryable(self) -> bool:
        """States an operator's retry moves back to pending (unknown asks for a lookup instead)."""
        return self in (JobState.FAILED, JobState.NEEDS_MAPPING, JobState.RETRY_WAIT)


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


class DocumentKind(StrEnum):
    """The platform documents that become entries in Exact."""

    INVOICE = "invoice"
    PAYMENT = "payment"
    WRITE_OFF = "write_off"


class WriteOffKind(StrEnum):
    WRITE_OFF = "write_off"
    COLLECTION_COSTS = "collection_costs"


class MappingKind(StrEnum):
    GL = "gl"
    VAT = "vat"
    COST_CENTER = "cost_center"
    COST_UNIT = "cost_unit"


class LinkMethod(StrEnum):
    """How a platform customer came to be linked to an Exact account."""

    VAT = "vat"
    CODE = "code"
    SEARCH_CODE = "search_code"
    CREATED = "created"
    MANUAL = "manual"


class ConnectionStatus(StrEnum):
    """The integration statuses users know, with the marks they know them by."""

    CONNECTED = "connected"
    RECONNECT = "reconnect"
    ERROR = "error"
    INACTIVE = "inactive"

    @property
    def mark(self) -> str:
        return _MARKS[self]

    @property
    def label(self) -> str:
        return _LABELS[self]


_MARKS = {
    ConnectionStatus.CONNECTED: "✔",
    ConnectionStatus.RECONNECT: "🔄",
    ConnectionStatus.ERROR: "⛔",
    ConnectionStatus.INACTIVE: "⚫",
}
_LABELS = {
    ConnectionStatus.CONNECTED: "Connected",
    ConnectionStatus.RECONNECT: "Reconnect",
    ConnectionStatus.ERROR: "Error",
    ConnectionStatus.INACTIVE: "Inactive",
}
