"""Which Exact row a mapping or a division setting may point at: the one rule that preflight,
the intents, the admin views and the stale-mapping report apply
(docs/export.md §What happens to a job).

Pure: the callers look the row up in the cached master data and hand over what it says; the
answer is why the row does not fit, or None. Each caller words the answer for its reader.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from exact_tui.domain.states import MappingKind

# Exact's journal and GL account types (docs/exact-api.md §Journals, §GL accounts).
JOURNAL_BANK: Final = 12
JOURNAL_SALES: Final = 20
JOURNAL_GENERAL: Final = 90
GL_RECEIVABLE: Final = 20
GL_REVENUE: Final = 110
#: VATCodes.VATTransactionType of a code for purchases only.
VAT_PURCHASE: Final = "P"


class TargetTable(StrEnum):
    """Where a setting's code is looked up."""

    JOURNAL = "journal"
    GL = "gl"


@dataclass(frozen=True)
class SettingRule:
    label: str
    table: TargetTable
    #: The journal or GL account type the setting needs; None: any type.
    type: int | None = None


#: A division's settings, in the order they are shown.
SETTING_RULES: Final[dict[str, SettingRule]] = {
    "sales_journal": SettingRule("sales journal", TargetTable.JOURNAL, JOURNAL_SALES),
    "general_journal": SettingRule("general journal", TargetTable.JOURNAL, JOURNAL_GENERAL),
    "receivables_gl": SettingRule("receivables GL account", TargetTable.GL, GL_RECEIVABLE),
    "write_off_gl": SettingRule("write-off GL account", TargetTable.GL),
    "collection_costs_gl": SettingRule("collection-costs GL account", TargetTable.GL),
}
SETTING_LABELS: Final = {name: rule.label for name, rule in SETTING_RULES.items()}


@dataclass(frozen=True)
class Target:
    """What the cache holds of the Exact row a mapping or setting names (fields that do not
    apply to the row's kind keep their defaults)."""

    #: A GL account's or journal's type.
    type: int | None = None
    is_blocked: bool = False
    #: A VAT code's VATTransactionType: S sales, P purchase, B both.
    transaction_type: str | None = None
    #: A cost center's or cost unit's EndDate.
    end_date: dt.date | None = None


class Unfit(StrEnum):
    MISSING = "missing"
    BLOCKED = "blocked"
    WRONG_TYPE = "wrong_type"
    PURCHASE_VAT = "purchase_vat"
    ENDED = "ended"


@dataclass(frozen=True)
class TargetProblem:
    unfit: Unfit
    #: With WRONG_TYPE: the row's type and the one wanted.
    type: int | None = None
    wanted: int | None = None


def cost_usable(end_date: dt.date | None, today: dt.date) -> bool:
    """A cost center or unit is usable until its EndDate: from then on Exact refuses it on an
    entry line ("Niet actief"). `today` is the business time zone's date."""
    return end_date is None or end_date > today


def mapping_problem(
    kind: MappingKind, target: Target | None, today: dt.date
) -> TargetProblem | None:
    """Why `target` cannot be what a `kind` mapping points at, or None. Mapped codes go on
    sales lines: a GL account must be a revenue account, a VAT code not a purchase one, a
    cost center or unit not past its end date; none blocked."""
    if target is None:
        return TargetProblem(Unfit.MISSING)
    if target.is_blocked:
        return TargetProblem(Unfit.BLOCKED)
    if kind is MappingKind.GL and target.type != GL_REVENUE:
        return TargetProblem(Unfit.WRONG_TYPE, target.type, GL_REVENUE)
    if kind is MappingKind.VAT and target.transaction_type == VAT_PURCHASE:
        return TargetProblem(Unfit.PURCHASE_VAT)
    if kind in (MappingKind.COST_CENTER, MappingKind.COST_UNIT) and not cost_usable(
        target.end_date, today
    ):
        return TargetProblem(Unfit.ENDED)
    return None


def setting_problem(name: str, target: Target | None) -> TargetProblem | None:
    """Why `target` cannot be the division setting `name`, or None."""
    return _typed_problem(SETTING_RULES[name].type, target)


def bank_journal_problem(target: Target | None) -> TargetProblem | None:
    """Why `target` cannot be the bank journal a bank account is bound to, or None."""
    return _typed_problem(JOURNAL_BANK, target)


def _typed_problem(wanted: int | None, target: Target | None) -> TargetProblem | None:
    if target is None:
        return TargetProblem(Unfit.MISSING)
    if wanted is not None and target.type != wanted:
        return TargetProblem(Unfit.WRONG_TYPE, target.type, wanted)
    if target.is_blocked:
        return TargetProblem(Unfit.BLOCKED)
    return None
