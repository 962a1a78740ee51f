"""A division's journals and GL accounts: showing and changing them."""

from __future__ import annotations

from typing import Final

from sqlmodel import Session

from exact_tui.domain.states import Category
from exact_tui.domain.targets import (
    SETTING_LABELS,
    SETTING_RULES,
    TargetTable,
    Unfit,
    setting_problem,
)
from exact_tui.domain.text import counted
from exact_tui.services import audit
from exact_tui.services.intents.base import IntentBase, IntentRefused, IntentResult
from exact_tui.services.target_rows import row_by_code, setting_table, target_of
from exact_tui.store.engine import Store
from exact_tui.store.models import DivisionSettings
from exact_tui.store.scoping import tenant_key

SETTING_FIELDS: Final = tuple(SETTING_LABELS)


class SettingsIntents(IntentBase):
    def set_settings(self, division: int, **changes: str | None) -> IntentResult:
        """Change a division's journals and GL accounts (Exact codes); None leaves a value as
        it is, "" clears it."""
        unknown = set(changes) - set(SETTING_FIELDS)
        if unknown:
            raise IntentRefused(f"unknown setting(s): {', '.join(sorted(unknown))}")
        given = {k: (v.strip() if v else "") for k, v in changes.items() if v is not None}
        target = str(division)
        if not given:
            raise IntentRefused("no setting given")
        with self._writing("settings", target) as session:
            self._division(session, division)
            for name, code in given.items():
                problem = _setting_problem(session, division, name, code) if code else None
                if problem is not None:
                    raise IntentRefused(f"{SETTING_LABELS[name]} {code}: {problem}")
            row = session.get(DivisionSettings, tenant_key(session, division)) or DivisionSettings(
                division=division, updated_by=self.actor.name
            )
            previous = {name: getattr(row, name) for name in given}
            for name, code in given.items():
                setattr(row, name, code or None)
            row.updated_by = self.actor.name
            row.updated_at = self.clock.now()
            session.add(row)
            moved = self._unblock(
                session,
                f"settings of division {division} changed by {self.actor.name}",
                division=division,
                categories=(Category.MAPPING,),
                kinds=("setting",),
            )
            audit.record(
                session,
                self.actor,
                "settings",
                target=target,
                detail={"changes": given, "previous": previous, "requeued": moved},
            )
        words = ", ".join(f"{SETTING_LABELS[k]} {v or '(none)'}" for k, v in given.items())
        return IntentResult(
            f"division {division}: {words}; {counted(moved, 'job')} back to pending", moved
        )


def current_settings(store: Store, division: int) -> dict[str, str | None]:
    """A division's settings as saved (None where not set)."""
    with store.read() as session:
        row = session.get(DivisionSettings, tenant_key(session, division))
    return {name: getattr(row, name) if row else None for name in SETTING_FIELDS}


def _setting_problem(session: Session, division: int, name: str, code: str) -> str | None:
    rule = SETTING_RULES[name]
    row = row_by_code(session, setting_table(name), division, code)
    problem = setting_problem(name, target_of(row))
    if problem is None:
        return None
    what = "journal" if rule.table is TargetTable.JOURNAL else "GL account"
    match problem.unfit:
        case Unfit.MISSING:
            return f"division {division} has no such {what}"
        case Unfit.WRONG_TYPE if rule.table is TargetTable.JOURNAL:
            return f"a journal of type {problem.type}, not {problem.wanted}"
        case Unfit.WRONG_TYPE:
            return f"a GL account of type {problem.type}, not {problem.wanted} (receivables)"
        case _:
            return "blocked in Exact"
