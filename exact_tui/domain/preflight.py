"""Preflight (docs/export.md §What happens to a job): check a document against the cached master
data without calling Exact, and resolve every platform code to what the entry will carry.

Anything missing is reported with its exact key, so the Mappings screen can say "VAT code
21-EU missing in division 123456: blocks 312 documents" and nothing doomed reaches Exact's
10-errors-per-hour budget.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from exact_tui.domain.money import cents
from exact_tui.domain.states import Category, DocumentKind, MappingKind, WriteOffKind
from exact_tui.domain.targets import (
    GL_REVENUE,
    SETTING_LABELS,
    Target,
    TargetProblem,
    Unfit,
    bank_journal_problem,
    mapping_problem,
    setting_problem,
)

# A GL account's UseCostcenter / UseCostunit (docs/exact-api.md §GL accounts).
COST_REQUIRED = 1
COST_FORBIDDEN = 2


@dataclass(frozen=True)
class LineFacts:
    amount: Decimal
    gl_code: str
    vat_code: str
    vat_amount: Decimal | None = None
    description: str | None = None
    cost_center: str | None = None
    cost_unit: str | None = None


@dataclass(frozen=True)
class DocumentFacts:
    kind: DocumentKind
    number: str
    lines: Sequence[LineFacts] = ()
    amount: Decimal | None = None
    write_off_kind: WriteOffKind | None = None


@dataclass(frozen=True)
class GLFacts:
    id: str
    code: str
    type: int
    use_costcenter: int = 0
    use_costunit: int = 0
    is_blocked: bool = False


@dataclass(frozen=True)
class VATFacts:
    code: str
    percentage: Decimal
    is_blocked: bool = False
    #: VATTransactionType: S sales, P purchase, B both.
    transaction_type: str | None = None


@dataclass(frozen=True)
class JournalFacts:
    code: str
    type: int
    is_blocked: bool = False


@dataclass(frozen=True)
class SettingsFacts:
    sales_journal: str | None = None
    general_journal: str | None = None
    receivables_gl: str | None = None
    write_off_gl: str | None = None
    collection_costs_gl: str | None = None


@dataclass(frozen=True)
class DivisionFacts:
    """What the store knows of one division, as plain lookups."""

    division: int
    mappings: Mapping[tuple[MappingKind, str], str]
    settings: SettingsFacts
    gl_accounts: Mapping[str, GLFacts]
    vat_codes: Mapping[str, VATFacts]
    journals: Mapping[str, JournalFacts]
    #: Cost centers and units by code, with their EndDate (None: no end).
    cost_centers: Mapping[str, dt.date | None] = field(default_factory=dict)
    cost_units: Mapping[str, dt.date | None] = field(default_factory=dict)
    #: The business time zone's date, that end dates are judged by.
    today: dt.date = field(kw_only=True)


@dataclass(frozen=True)
class Missing:
    """One thing that blocks a document: `kind` is a mapping kind, "setting" or "binding"."""

    kind: str
    code: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "code": self.code, "detail": self.detail}


@dataclass(frozen=True)
class ResolvedLine:
    amount: Decimal
    gl_account_id: str
    vat_code: str | None
    vat_amount: Decimal | None
    description: str | None
    cost_center: str | None
    cost_unit: str | None


@dataclass(frozen=True)
class Preflight:
    missing: tuple[Missing, ...] = ()
    journal_code: str | None = None
    lines: tuple[ResolvedLine, ...] = ()
    receivables_gl_id: str | None = None
    #: The write-off or collection-costs GL account of a write-off.
    counter_gl_id: str | None = None

    @property
    def ok(self) -> bool:
        return not self.missing

    @property
    def category(self) -> Category | None:
        if not self.missing:
            return None
        if any(m.kind == "binding" for m in self.missing):
            return Category.BINDING
        return Category.MAPPING

    def cause(self, division: int) -> str | None:
        """One line that groups alike failures: the first thing missing."""
        if not self.missing:
            return None
        first = self.missing[0]
        return f"{first.detail} in division {division}"


@dataclass
class _Checker:
    facts: DivisionFacts
    missing: list[Missing] = field(default_factory=list)

    def add(self, kind: str, code: str, detail: str) -> None:
        item = Missing(kind, code, detail)
        if item not in self.missing:
            self.missing.append(item)

    def journal(self, setting: str, code: str | None) -> str | None:
        journal = self.facts.journals.get(code) if code else None
        return code if self._setting(setting, code, _journal_target(journal)) else None

    def setting_gl(self, setting: str, code: str | None) -> str | None:
        gl = self.facts.gl_accounts.get(code) if code else None
        usable = self._setting(setting, code, _gl_target(gl))
        return gl.id if gl is not None and usable else None

    def _setting(self, setting: str, code: str | None, target: Target | None) -> bool:
        """Whether the setting holds a usable code; if not, says why."""
        label = SETTING_LABELS[setting]
        if not code:
            self.add("setting", setting, f"{label} not set")
            return False
        problem = setting_problem(setting, target)
        if problem is not None:
            self.add("setting", setting, f"{label} {code} {_words(problem)}")
        return problem is None

    def mapped(self, kind: MappingKind, platform_code: str) -> str | None:
        exact_code = self.facts.mappings.get((kind, platform_code))
        if exact_code is None:
            self.add(kind.value, platform_code, f"{kind.label} {platform_code} missing")
        return exact_code

    def sales_line(self, line: LineFacts) -> ResolvedLine | None:
        gl = self._revenue_gl(line.gl_code)
        vat = self._vat(line.vat_code)
        center_ok, cost_center = self._cost(MappingKind.COST_CENTER, line.cost_center, gl)
        unit_ok, cost_unit = self._cost(MappingKind.COST_UNIT, line.cost_unit, gl)
        if gl is None or vat is None or not center_ok or not unit_ok:
            return None
        vat_amount = line.vat_amount
        if vat_amount is None:
            vat_amount = cents(line.amount * vat.percentage)
        return ResolvedLine(
            amount=line.amount,
            gl_account_id=gl.id,
            vat_code=vat.code,
            vat_amount=vat_amount,
            description=line.description,
            cost_center=cost_center,
            cost_unit=cost_unit,
        )

    def _revenue_gl(self, platform_code: str) -> GLFacts | None:
        exact_code = self.mapped(MappingKind.GL, platform_code)
        if exact_code is None:
            return None
        gl = self.facts.gl_accounts.get(exact_code)
        usable = self._target(MappingKind.GL, platform_code, exact_code, _gl_target(gl))
        return gl if usable else None

    def _vat(self, platform_code: str) -> VATFacts | None:
        exact_code = self.mapped(MappingKind.VAT, platform_code)
        if exact_code is None:
            return None
        vat = self.facts.vat_codes.get(exact_code)
        target = (
            None
            if vat is None
            else Target(is_blocked=vat.is_blocked, transaction_type=vat.transaction_type)
        )
        return vat if self._target(MappingKind.VAT, platform_code, exact_code, target) else None

    def _target(
        self, kind: MappingKind, platform_code: str, exact_code: str, target: Target | None
    ) -> bool:
        """Whether a mapping's target may go on a sales line; if not, says why."""
        problem = mapping_problem(kind, target, self.facts.today)
        if problem is not None:
            words = f"{kind.label} {platform_code} → {exact_code} {_words(problem)}"
            self.add(kind.value, platform_code, words)
        return problem is None

    def _cost(
        self, kind: MappingKind, platform_code: str | None, gl: GLFacts | None
    ) -> tuple[bool, str | None]:
        """Whether the line's cost center/unit is fine, and the Exact code it carries."""
        label = kind.label
        rule = 0
        if gl is not None:
            rule = gl.use_costcenter if kind is MappingKind.COST_CENTER else gl.use_costunit
        if not platform_code:
            if rule == COST_REQUIRED and gl is not None:
                self.add(kind.value, "", f"GL {gl.code} requires a {label}")
                return False, None
            return True, None
        exact_code = self.mapped(kind, platform_code)
        if exact_code is None:
            return False, None
        known = (
            self.facts.cost_centers if kind is MappingKind.COST_CENTER else self.facts.cost_units
        )
        target = Target(end_date=known[exact_code]) if exact_code in known else None
        if not self._target(kind, platform_code, exact_code, target):
            return False, None
        if rule == COST_FORBIDDEN and gl is not None:
            self.add(kind.value, platform_code, f"GL {gl.code} does not allow a {label}")
            return False, None
        return True, exact_code


def _words(problem: TargetProblem) -> str:
    """A target's problem as a job's cause says it, after "GL 8000 → 1300"."""
    match problem.unfit:
        case Unfit.MISSING:
            return "not in Exact"
        case Unfit.BLOCKED:
            return "is blocked"
        case Unfit.WRONG_TYPE if problem.wanted == GL_REVENUE:
            return "is not a revenue account"
        case Unfit.WRONG_TYPE:
            return f"is not of type {problem.wanted}"
        case Unfit.PURCHASE_VAT:
            return "is a purchase VAT code"
        case Unfit.ENDED:
            return "is past its end date"


def _gl_target(gl: GLFacts | None) -> Target | None:
    return None if gl is None else Target(type=gl.type, is_blocked=gl.is_blocked)


def _journal_target(journal: JournalFacts | None) -> Target | None:
    return None if journal is None else Target(type=journal.type, is_blocked=journal.is_blocked)


def preflight(
    document: DocumentFacts, facts: DivisionFacts, *, bank_journal: str | None = None
) -> Preflight:
    """Everything the document needs, resolved, or everything that is missing."""
    check = _Checker(facts)
    settings = facts.settings
    if document.kind is DocumentKind.INVOICE:
        journal = check.journal("sales_journal", settings.sales_journal)
        resolved = [check.sales_line(line) for line in document.lines]
        if not document.lines:
            check.add("setting", "lines", f"invoice {document.number} has no lines")
        lines = tuple(line for line in resolved if line is not None)
        return Preflight(tuple(check.missing), journal, lines)
    if document.kind is DocumentKind.PAYMENT:
        journal = None
        if not bank_journal:
            check.add("binding", "", "bank account not bound to a bank journal")
        else:
            if bank_journal_problem(_journal_target(facts.journals.get(bank_journal))):
                check.add(
                    "binding",
                    bank_journal,
                    f"bank journal {bank_journal} is not a usable bank journal",
                )
            else:
                journal = bank_journal
        receivables = check.setting_gl("receivables_gl", settings.receivables_gl)
        return Preflight(tuple(check.missing), journal, receivables_gl_id=receivables)
    journal = check.journal("general_journal", settings.general_journal)
    receivables = check.setting_gl("receivables_gl", settings.receivables_gl)
    if document.write_off_kind is WriteOffKind.COLLECTION_COSTS:
        counter = check.setting_gl("collection_costs_gl", settings.collection_costs_gl)
    else:
        counter = check.setting_gl("write_off_gl", settings.write_off_gl)
    return Preflight(
        tuple(check.missing), journal, receivables_gl_id=receivables, counter_gl_id=counter
    )
