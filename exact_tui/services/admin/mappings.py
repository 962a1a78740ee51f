"""Mappings and division settings: every platform code in use with its Exact target (or
missing), what each blocks, and the targets a mapping or setting may take."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from exact_tui.domain import targets
from exact_tui.domain.states import Category, JobState, MappingKind
from exact_tui.domain.targets import (
    GL_REVENUE,
    SETTING_LABELS,
    SETTING_RULES,
    VAT_PURCHASE,
    TargetTable,
    Unfit,
)
from exact_tui.services.admin.blocked import BlockedCounts, blocked_counts
from exact_tui.services.admin.search import code_or_description
from exact_tui.services.admin.words import (
    GL_TYPES,
    JOURNAL_TYPES,
    gl_detail,
    type_words,
    vat_detail,
)
from exact_tui.services.target_rows import (
    MAPPING_TABLES,
    SETTING_TABLES,
    TargetRow,
    rows_by_code,
    target_of,
)
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    CostCenter,
    CostUnit,
    DivisionSettings,
    ExportJob,
    GLAccount,
    InvoiceLine,
    Journal,
    VATCode,
)
from exact_tui.store.models import Mapping as MappingRow
from exact_tui.store.scoping import tenant_key

#: At most this many distinct platform codes of one kind are listed.
CODES_LIMIT = 1_000
SETTINGS = tuple(SETTING_LABELS)


@dataclass(frozen=True)
class MappingInfo:
    division: int
    kind: MappingKind
    platform_code: str
    #: None: not mapped (⚠ missing).
    exact_code: str | None
    target_description: str | None
    #: Why the mapped target is unusable now (gone, blocked, inactive, wrong type), or None.
    problem: str | None
    #: Documents of this division waiting for this mapping.
    blocked: int
    #: Used on an invoice line (the platform's codes are shared by all divisions).
    in_use: bool
    updated_by: str | None = None
    updated_at: dt.datetime | None = None

    @property
    def missing(self) -> bool:
        return self.exact_code is None

    @property
    def needs_work(self) -> bool:
        """Unmapped and holding documents up, or mapped to an unusable target."""
        return (self.missing and self.blocked > 0) or self.problem is not None


@dataclass(frozen=True)
class SettingInfo:
    division: int
    name: str
    label: str
    value: str | None
    description: str | None
    problem: str | None
    blocked: int

    @property
    def needs_work(self) -> bool:
        return self.value is None or self.problem is not None


@dataclass(frozen=True)
class OtherProblem:
    """A blocked key no mapping fixes (e.g. "GL 8000 requires a cost center"): the lines'
    data must change on the platform."""

    detail: str
    blocked: int


@dataclass(frozen=True)
class MappingsView:
    division: int
    rows: list[MappingInfo]
    settings: list[SettingInfo]
    other: list[OtherProblem]
    #: Jobs of this division waiting on a mapping or setting.
    blocked: int
    truncated: bool

    @property
    def missing(self) -> int:
        """Codes without a mapping that hold documents up."""
        return sum(1 for row in self.rows if row.missing and row.blocked)

    @property
    def unmapped(self) -> int:
        """Codes without a mapping that nothing in this division waits for (yet)."""
        return sum(1 for row in self.rows if row.missing and not row.blocked)

    @property
    def stale(self) -> int:
        return sum(1 for row in self.rows if row.problem is not None)


_LINE_COLUMNS = {
    MappingKind.GL: InvoiceLine.gl_code,
    MappingKind.VAT: InvoiceLine.vat_code,
    MappingKind.COST_CENTER: InvoiceLine.cost_center,
    MappingKind.COST_UNIT: InvoiceLine.cost_unit,
}


def codes_in_use(session: Session, kind: MappingKind, limit: int = CODES_LIMIT) -> list[str]:
    """The distinct platform codes of one kind on invoice lines, by a skip-scan of the
    column's index: one short lookup per code, whatever the number of lines."""
    column = col(_LINE_COLUMNS[kind])
    codes: list[str] = []
    current = session.exec(select(func.min(column)).where(column.is_not(None))).one()
    while current is not None and len(codes) < limit:
        if current:
            codes.append(current)
        current = session.exec(select(func.min(column)).where(column > current)).one()
    return codes


def target_problem(kind: MappingKind, row: TargetRow | None, today: dt.date) -> str | None:
    """Why an Exact row cannot be the target of a `kind` mapping (domain/targets.py), in the
    admin views' words: None when it can."""
    problem = targets.mapping_problem(kind, target_of(row), today)
    if problem is None:
        return None
    match problem.unfit:
        case Unfit.MISSING:
            return "no longer in Exact"
        case Unfit.BLOCKED:
            return "blocked in Exact"
        case Unfit.WRONG_TYPE:
            return f"not a revenue account ({type_words(GL_TYPES, problem.type)})"
        case Unfit.PURCHASE_VAT:
            return "a purchase VAT code"
        case Unfit.ENDED:
            return "inactive in Exact"


def setting_problem(name: str, row: TargetRow | None) -> str | None:
    """Why an Exact row cannot be the division setting `name`, in the admin views' words."""
    problem = targets.setting_problem(name, target_of(row))
    if problem is None:
        return None
    match problem.unfit:
        case Unfit.MISSING:
            return "not in Exact"
        case Unfit.WRONG_TYPE:
            journal = SETTING_RULES[name].table is TargetTable.JOURNAL
            types = JOURNAL_TYPES if journal else GL_TYPES
            wanted = type_words(types, problem.wanted)
            return f"type {type_words(types, problem.type)}, not {wanted}"
        case _:
            return "blocked in Exact"


def mappings_view(
    store: Store,
    division: int,
    *,
    today: dt.date,
    kind: MappingKind | None = None,
    text: str | None = None,
) -> MappingsView:
    """One division's mappings: every platform code in use, mapped or not, plus codes mapped
    or missing here; what each one blocks; and the division's settings. Problems first (the
    codes blocking most documents at the top), then by kind and code."""
    kinds = [kind] if kind else list(MappingKind)
    needle = (text or "").strip().casefold()
    with store.read() as session:
        blocked = blocked_counts(session, division)
        mapped = {
            (MappingKind(row.kind), row.platform_code): row
            for row in session.exec(select(MappingRow).where(col(MappingRow.division) == division))
        }
        rows: list[MappingInfo] = []
        truncated = False
        for each in kinds:
            in_use = codes_in_use(session, each)
            truncated = truncated or len(in_use) >= CODES_LIMIT
            codes = set(in_use)
            codes.update(code for k, code in mapped if k is each)
            codes.update(
                key.code
                for key in blocked.counts
                if key.division == division and key.kind == each.value and key.code
            )
            if needle:
                codes = {code for code in codes if needle in code.casefold()}
            found = rows_by_code(
                session,
                MAPPING_TABLES[each],
                division,
                (m.exact_code for (k, code), m in mapped.items() if k is each and code in codes),
            )
            used = set(in_use)
            for code in codes:
                mapping = mapped.get((each, code))
                target = found.get(mapping.exact_code) if mapping else None
                rows.append(
                    MappingInfo(
                        division=division,
                        kind=each,
                        platform_code=code,
                        exact_code=mapping.exact_code if mapping else None,
                        target_description=target.description if target else None,
                        problem=target_problem(each, target, today) if mapping else None,
                        blocked=blocked.of(division, each.value, code),
                        in_use=code in used,
                        updated_by=mapping.updated_by if mapping else None,
                        updated_at=mapping.updated_at if mapping else None,
                    )
                )
        order = list(MappingKind)
        rows.sort(
            key=lambda r: (
                not r.needs_work,
                not r.missing,
                -r.blocked,
                order.index(r.kind),
                r.platform_code,
            )
        )
        settings = _settings(session, division, blocked)
        other = [
            OtherProblem(blocked.details.get(key) or f"{key.kind} {key.code}", count)
            for key, count in blocked.counts.items()
            if key.division == division
            and (
                (key.kind in {k.value for k in MappingKind} and not key.code)
                or (key.kind == "setting" and key.code not in SETTING_LABELS)
            )
        ]
        waiting = session.exec(
            select(func.count())
            .select_from(ExportJob)
            .where(
                col(ExportJob.division) == division,
                col(ExportJob.state) == JobState.NEEDS_MAPPING,
                col(ExportJob.category) == Category.MAPPING,
            )
        ).one()
    return MappingsView(division, rows, settings, other, int(waiting), truncated)


def _settings(session: Session, division: int, blocked: BlockedCounts) -> list[SettingInfo]:
    row = session.get(DivisionSettings, tenant_key(session, division))
    values = {name: getattr(row, name) if row else None for name in SETTINGS}
    found_in = {
        table: rows_by_code(
            session,
            model,
            division,
            (v for n, v in values.items() if v and SETTING_RULES[n].table is table),
        )
        for table, model in SETTING_TABLES.items()
    }
    settings = []
    for name in SETTINGS:
        value = values[name]
        found = found_in[SETTING_RULES[name].table].get(value) if value else None
        settings.append(
            SettingInfo(
                division=division,
                name=name,
                label=SETTING_LABELS[name],
                value=value,
                description=found.description if found else None,
                problem=setting_problem(name, found) if value else None,
                blocked=blocked.of(division, "setting", name),
            )
        )
    return settings


@dataclass(frozen=True)
class TargetChoice:
    code: str
    description: str
    #: What makes it fit, in words ("revenue · cost center required", "21 % · sales").
    detail: str


def mapping_targets(
    store: Store,
    division: int,
    kind: MappingKind,
    *,
    today: dt.date,
    text: str | None = None,
    limit: int = 50,
) -> list[TargetChoice]:
    """The Exact codes a `kind` mapping may point at, and only those: revenue GL accounts
    (mapped GL codes go on sales lines), sales VAT codes, active cost centers and units —
    none blocked."""
    with store.read() as session:
        rows = _offered(session, MAPPING_TABLES[kind], division, _fitting(kind, today), text, limit)
    return [TargetChoice(row.code, row.description, _detail(row)) for row in rows]


def setting_targets(
    store: Store, division: int, setting: str, *, text: str | None = None, limit: int = 50
) -> list[TargetChoice]:
    """The journals or GL accounts a division setting may take: a sales journal (type 20),
    a general journal (type 90), a receivables GL account (type 20), any GL account for
    write-offs and collection costs — none blocked."""
    rule = SETTING_RULES[setting]
    model: Any = SETTING_TABLES[rule.table]
    conditions: list[Any] = [col(model.is_blocked).is_(False)]
    if rule.type is not None:
        conditions.append(col(model.type) == rule.type)
    with store.read() as session:
        rows = _offered(session, model, division, conditions, text, limit)
    return [TargetChoice(row.code, row.description, _detail(row)) for row in rows]


def _fitting(kind: MappingKind, today: dt.date) -> list[Any]:
    """domain/targets.py's rule for a `kind` mapping as SQL conditions, so the picker pages in
    the store (tests/services/test_admin.py holds the two to agreeing)."""
    if kind is MappingKind.GL:
        return [col(GLAccount.type) == GL_REVENUE, col(GLAccount.is_blocked).is_(False)]
    if kind is MappingKind.VAT:
        kind_ok = or_(
            col(VATCode.transaction_type).is_(None), col(VATCode.transaction_type) != VAT_PURCHASE
        )
        return [col(VATCode.is_blocked).is_(False), kind_ok]
    model: Any = MAPPING_TABLES[kind]
    return [or_(col(model.end_date).is_(None), col(model.end_date) > today)]


def _offered(
    session: Session, model: Any, division: int, conditions: list[Any], text: str | None, limit: int
) -> list[TargetRow]:
    """A division's rows of `model` that meet `conditions` and the search text, by code."""
    return list(
        session.exec(
            select(model)
            .where(col(model.division) == division, *conditions, *code_or_description(model, text))
            .order_by(col(model.code))
            .limit(limit)
        )
    )


def _detail(row: TargetRow) -> str:
    """What makes a target fit, in words ("revenue · cost center required", "21 % · sales")."""
    match row:
        case GLAccount():
            return gl_detail(row)
        case VATCode():
            return vat_detail(row)
        case Journal():
            return f"{type_words(JOURNAL_TYPES, row.type)} journal"
        case CostCenter() | CostUnit():
            return f"active until {row.end_date}" if row.end_date else "active"
