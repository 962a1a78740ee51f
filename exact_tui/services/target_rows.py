"""The cached Exact rows that mappings and division settings name, looked up by code and
handed to the rule in domain/targets.py as plain values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from sqlmodel import Session, col, select

from exact_tui.domain.states import MappingKind
from exact_tui.domain.targets import SETTING_RULES, Target, TargetTable
from exact_tui.store.models import CostCenter, CostUnit, GLAccount, Journal, VATCode

TargetRow = GLAccount | Journal | VATCode | CostCenter | CostUnit
TargetModel = type[GLAccount] | type[Journal] | type[VATCode] | type[CostCenter] | type[CostUnit]

#: Where the target of each kind of mapping is cached.
MAPPING_TABLES: Final[dict[MappingKind, TargetModel]] = {
    MappingKind.GL: GLAccount,
    MappingKind.VAT: VATCode,
    MappingKind.COST_CENTER: CostCenter,
    MappingKind.COST_UNIT: CostUnit,
}
#: Where the target of each kind of division setting is cached.
SETTING_TABLES: Final[dict[TargetTable, TargetModel]] = {
    TargetTable.JOURNAL: Journal,
    TargetTable.GL: GLAccount,
}


def setting_table(name: str) -> TargetModel:
    """Where the target of the division setting `name` is cached."""
    return SETTING_TABLES[SETTING_RULES[name].table]


def target_of(row: TargetRow | None) -> Target | None:
    """What the rule needs to know of a cached row (None: not in the cache)."""
    match row:
        case None:
            return None
        case GLAccount() | Journal():
            return Target(type=row.type, is_blocked=row.is_blocked)
        case VATCode():
            return Target(is_blocked=row.is_blocked, transaction_type=row.transaction_type)
        case CostCenter() | CostUnit():
            return Target(end_date=row.end_date)


def row_by_code(session: Session, model: TargetModel, division: int, code: str) -> TargetRow | None:
    table: Any = model  # select() over a union of tables does not type-check
    row: TargetRow | None = session.exec(
        select(table).where(col(table.division) == division, col(table.code) == code)
    ).first()
    return row


def rows_by_code(
    session: Session, model: TargetModel, division: int, codes: Iterable[str]
) -> dict[str, TargetRow]:
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    table: Any = model  # as above
    rows: Iterable[TargetRow] = session.exec(
        select(table).where(col(table.division) == division, col(table.code).in_(wanted))
    )
    return {row.code: row for row in rows}
