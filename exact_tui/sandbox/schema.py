"""Exact's documented resources, read from `data/exact_api.json`: what the sandbox serves.

The data file is the one description of Exact's REST resources in the project: per resource its
methods, key, every documented field with its OData type (and which methods it takes part in,
whether it is mandatory or obsolete), the filter rules and the page size, each with its source.
The sandbox serves exactly those fields and refuses others; the contract tests hold the client
to the same list (docs/sandbox.md, "The schema").

What is the sandbox's own lives here in code: where each resource's rows come from (`Source`).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from exact_tui.sandbox.odata.types import FieldType

SCHEMA_FILE = "exact_api.json"


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
    VAT_PERCENTAGES = "vat_percentages"
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


SOURCES: Mapping[str, Source] = {
    "current/Me": Source.ME,
    "system/Divisions": Source.DIVISIONS,
    "hrm/Divisions": Source.HRM_DIVISIONS,
    "financial/Journals": Source.JOURNALS,
    "financial/GLAccounts": Source.GL_ACCOUNTS,
    "bulk/Financial/GLAccounts": Source.GL_ACCOUNTS,
    "sync/Financial/GLAccounts": Source.GL_ACCOUNTS,
    "vat/VATCodes": Source.VAT_CODES,
    "vat/VatPercentages": Source.VAT_PERCENTAGES,
    "hrm/Costcenters": Source.COST_CENTERS,
    "hrm/Costunits": Source.COST_UNITS,
    "crm/Accounts": Source.ACCOUNTS,
    "bulk/CRM/Accounts": Source.ACCOUNTS,
    "sync/CRM/Accounts": Source.ACCOUNTS,
    "sync/Deleted": Source.DELETED,
    "salesentry/SalesEntries": Source.SALES_ENTRIES,
    "salesentry/SalesEntryLines": Source.SALES_ENTRY_LINES,
    "financialtransaction/BankEntries": Source.BANK_ENTRIES,
    "financialtransaction/BankEntryLines": Source.BANK_ENTRY_LINES,
    "generaljournalentry/GeneralJournalEntries": Source.GJ_ENTRIES,
    "generaljournalentry/GeneralJournalEntryLines": Source.GJ_ENTRY_LINES,
}


@dataclass(frozen=True)
class Field:
    """One documented property of a resource."""

    name: str
    type_name: str  # as the schema writes it: "Edm.Guid", or one of Exact's complex types
    methods: frozenset[str]
    mandatory: bool = False
    obsolete: bool = False

    @property
    def type(self) -> FieldType:
        return FieldType.of(self.type_name)


@dataclass(frozen=True)
class Navigation:
    """A collection under an entity (`SalesEntries(guid'…')/SalesEntryLines`). `target` is the
    resource holding its rows, or None when the sandbox models none (then it is empty)."""

    target: str | None
    foreign_key: str | None  # field on the target holding the parent's key


@dataclass(frozen=True)
class EntitySet:
    path: str
    type_name: str
    key: str
    # Every documented property that is not a collection, with its type.
    fields: Mapping[str, FieldType]
    source: Source
    documented: Mapping[str, Field] = field(default_factory=dict)
    kind: Kind = Kind.PLAIN
    methods: frozenset[str] = frozenset({"GET"})
    page_size: int = 60
    # Fields of which at least one must appear in $filter (mandatory filtering), or None.
    mandatory_filter: frozenset[str] | None = None
    # Fields $filter may use at all, or None for any field.
    filterable: frozenset[str] | None = None
    select_required: bool = False
    select_or_top_required: bool = False
    navigations: Mapping[str, Navigation] = field(default_factory=dict)
    in_division: bool = True
    # The division in the URL is not checked (the division lists answer under any number).
    any_division: bool = False

    @property
    def entity_name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def sort_field(self) -> str:
        """Rows are ordered by the key when there is no $orderby (the sync key is Timestamp, a
        rowversion); the $skiptoken holds it."""
        return self.key

    @property
    def writable(self) -> frozenset[str]:
        """Fields a POST may set (documented as taking part in POST, key excluded)."""
        return frozenset(
            name
            for name, spec in self.documented.items()
            if "POST" in spec.methods and name != self.key and name not in self.navigations
        )

    @property
    def obsolete(self) -> frozenset[str]:
        return frozenset(name for name, spec in self.documented.items() if spec.obsolete)


def _rule_fields(resource: Mapping[str, Any], name: str) -> frozenset[str] | None:
    rule = resource.get(name)
    return frozenset(rule["fields"]) if rule else None


def _entity(path: str, resource: Mapping[str, Any]) -> EntitySet:
    documented: dict[str, Field] = {}
    fields: dict[str, FieldType] = {}
    navigations: dict[str, Navigation] = {}
    for name, spec in resource["fields"].items():
        documented[name] = Field(
            name,
            spec["type"],
            frozenset(spec["methods"]),
            mandatory=spec.get("mandatory", False),
            obsolete=spec.get("obsolete", False),
        )
        if spec["type"] == "collection":
            navigations[name] = Navigation(spec.get("target"), spec.get("foreign_key"))
        else:
            fields[name] = FieldType.of(spec["type"])
    list_rule = resource.get("division_in_url_checked")
    return EntitySet(
        path=path,
        type_name=resource["metadata_type"]["name"],
        key=resource["key"],
        fields=fields,
        source=SOURCES[path],
        documented=documented,
        kind=Kind(resource["kind"]),
        methods=frozenset(resource["methods"]),
        page_size=int(resource["page_size"]["rows"]),
        mandatory_filter=_rule_fields(resource, "mandatory_filter"),
        filterable=_rule_fields(resource, "filterable"),
        select_required="select_required" in resource,
        select_or_top_required="select_or_top_required" in resource,
        navigations=navigations,
        in_division=resource.get("scope") != "current",
        any_division=list_rule is not None and not list_rule["value"],
    )


@cache
def load() -> dict[str, Any]:
    """The schema file as JSON."""
    text = resources.files("exact_tui.sandbox").joinpath("data", SCHEMA_FILE).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _entity_sets() -> tuple[EntitySet, ...]:
    return tuple(_entity(path, resource) for path, resource in load()["resources"].items())


ENTITY_SETS: tuple[EntitySet, ...] = _entity_sets()
BY_PATH: dict[str, EntitySet] = {entity.path.lower(): entity for entity in ENTITY_SETS}


def lookup(path: str) -> EntitySet | None:
    """The entity set at `path` (e.g. "crm/Accounts"), matched case-insensitively like IIS."""
    return BY_PATH.get(path.lower())


def entity(path: str) -> EntitySet:
    found = lookup(path)
    if found is None:
        raise KeyError(path)
    return found


ACCOUNT_FIELDS: Mapping[str, FieldType] = entity("crm/Accounts").fields
GL_ACCOUNT_FIELDS: Mapping[str, FieldType] = entity("financial/GLAccounts").fields
