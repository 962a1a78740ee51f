"""The imported master data (read-only here: it is edited in Exact), list by list, with when
each was last imported."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import String, cast, func, or_
from sqlmodel import Session, col, select

from exact_tui.services.admin.search import code_or_description
from exact_tui.services.admin.words import (
    COST_RULES,
    GL_TYPES,
    JOURNAL_TYPES,
    type_words,
    vat_detail,
)
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    CostCenter,
    CostUnit,
    Division,
    GLAccount,
    Journal,
    SyncRun,
    VATCode,
)
from exact_tui.store.search import ci_like, contains, starts_with


class MasterList(StrEnum):
    """The imported lists, named as their import runs are recorded."""

    DIVISIONS = "divisions"
    JOURNALS = "journals"
    GL_ACCOUNTS = "gl_accounts"
    VAT_CODES = "vat_codes"
    COST_CENTERS = "cost_centers"
    COST_UNITS = "cost_units"

    @property
    def noun(self) -> str:
        """The list's name inside a sentence ("no GL accounts match")."""
        label = self.label
        return label if label[:2].isupper() else label.lower()

    @property
    def label(self) -> str:
        return {
            MasterList.DIVISIONS: "Divisions",
            MasterList.JOURNALS: "Journals",
            MasterList.GL_ACCOUNTS: "GL accounts",
            MasterList.VAT_CODES: "VAT codes",
            MasterList.COST_CENTERS: "Cost centers",
            MasterList.COST_UNITS: "Cost units",
        }[self]


#: The columns each list shows after its code and description.
MASTER_COLUMNS: dict[MasterList, tuple[str, ...]] = {
    MasterList.DIVISIONS: ("Country", "Currency", "Access"),
    MasterList.JOURNALS: ("Type", "Bank account", "State"),
    MasterList.GL_ACCOUNTS: ("Type", "Cost center", "Cost unit", "State"),
    MasterList.VAT_CODES: ("Rate", "Used for", "State"),
    MasterList.COST_CENTERS: ("Ends", "State"),
    MasterList.COST_UNITS: ("Ends", "State"),
}


@dataclass(frozen=True)
class MasterRow:
    code: str
    description: str
    #: One value per column of `MASTER_COLUMNS[list]`.
    facts: tuple[str, ...]
    #: Not usable in entries (blocked, inactive, no access): shown as such.
    unusable: bool


@dataclass(frozen=True)
class ImportInfo:
    finished_at: dt.datetime | None
    error: str | None
    #: The last import that went through (the newest run may have failed).
    last_ok_at: dt.datetime | None


@dataclass(frozen=True)
class MasterPage:
    which: MasterList
    division: int | None
    rows: list[MasterRow]
    #: Pass as `after` for the next page; None at the end.
    next_after: str | None
    imported: ImportInfo


def _last_import(session: Session, division: int | None, entity: str) -> ImportInfo:
    where = [col(SyncRun.entity) == entity]
    where.append(
        col(SyncRun.division).is_(None) if division is None else col(SyncRun.division) == division
    )
    newest = session.exec(
        select(SyncRun).where(*where).order_by(col(SyncRun.id).desc()).limit(1)
    ).first()
    good = session.exec(
        select(SyncRun.finished_at)
        .where(*where, col(SyncRun.error).is_(None), col(SyncRun.finished_at).is_not(None))
        .order_by(col(SyncRun.id).desc())
        .limit(1)
    ).first()
    if newest is None:
        return ImportInfo(None, None, None)
    return ImportInfo(newest.finished_at, newest.error, good)


def _state(blocked: bool, active: bool = True) -> str:
    return "blocked" if blocked else "inactive" if not active else ""


def _master_row(which: MasterList, row: Any, today: dt.date) -> MasterRow:
    if which is MasterList.DIVISIONS:
        access = "yes" if row.accessible else f"no: {row.access_reason or 'refused'}"
        return MasterRow(
            str(row.code),
            row.description,
            (row.country or "", row.currency or "", access),
            not row.accessible,
        )
    if which is MasterList.JOURNALS:
        return MasterRow(
            row.code,
            row.description,
            (
                type_words(JOURNAL_TYPES, row.type),
                row.bank_account_iban or "",
                _state(row.is_blocked),
            ),
            row.is_blocked,
        )
    if which is MasterList.GL_ACCOUNTS:
        return MasterRow(
            row.code,
            row.description,
            (
                type_words(GL_TYPES, row.type),
                COST_RULES.get(row.use_costcenter, ""),
                COST_RULES.get(row.use_costunit, ""),
                _state(row.is_blocked),
            ),
            row.is_blocked,
        )
    if which is MasterList.VAT_CODES:
        rate, used = vat_detail(row).partition(" · ")[::2]
        return MasterRow(
            row.code, row.description, (rate, used, _state(row.is_blocked)), row.is_blocked
        )
    active = row.end_date is None or row.end_date > today
    return MasterRow(
        row.code,
        row.description,
        (row.end_date.isoformat() if row.end_date else "", _state(False, active)),
        not active,
    )


_MASTER_MODELS: dict[MasterList, Any] = {
    MasterList.JOURNALS: Journal,
    MasterList.GL_ACCOUNTS: GLAccount,
    MasterList.VAT_CODES: VATCode,
    MasterList.COST_CENTERS: CostCenter,
    MasterList.COST_UNITS: CostUnit,
}


def master_page(
    store: Store,
    which: MasterList,
    division: int | None,
    *,
    today: dt.date,
    text: str | None = None,
    after: str | None = None,
    limit: int = 200,
) -> MasterPage:
    """One imported list (of one division, except the division list itself) by code,
    `limit` rows at a time, with when it was last imported."""
    text = (text or "").strip()
    with store.read() as session:
        if which is MasterList.DIVISIONS:
            query = select(Division)
            if text:
                query = query.where(
                    or_(
                        ci_like(cast(col(Division.code), String), starts_with(text)),
                        ci_like(col(Division.description), contains(text)),
                    )
                )
            if after is not None:
                query = query.where(col(Division.code) > int(after))
            rows: Sequence[Any] = session.exec(
                query.order_by(col(Division.code)).limit(limit)
            ).all()
            imported = _last_import(session, None, which.value)
            if imported.finished_at is None:
                newest = session.exec(select(func.max(Division.imported_at))).one()
                imported = ImportInfo(newest, None, newest)
        else:
            model = _MASTER_MODELS[which]
            if division is None:
                return MasterPage(which, None, [], None, ImportInfo(None, None, None))
            query = select(model).where(
                col(model.division) == division, *code_or_description(model, text)
            )
            if after is not None:
                query = query.where(col(model.code) > after)
            rows = session.exec(query.order_by(col(model.code)).limit(limit)).all()
            imported = _last_import(session, division, which.value)
    converted = [_master_row(which, row, today) for row in rows]
    next_after = converted[-1].code if len(converted) == limit else None
    return MasterPage(which, division, converted, next_after, imported)
