"""Mapping a platform code to an Exact code in a division."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from exact_tui.domain.states import Category, MappingKind
from exact_tui.domain.targets import Unfit, mapping_problem
from exact_tui.domain.text import counted
from exact_tui.services import audit
from exact_tui.services.intents.base import IntentBase, IntentRefused, IntentResult
from exact_tui.services.target_rows import MAPPING_TABLES, row_by_code, target_of
from exact_tui.store.models import Mapping as MappingRow


class MappingIntents(IntentBase):
    def map(
        self, division: int, kind: MappingKind, platform_code: str, exact_code: str
    ) -> IntentResult:
        """Map a platform code to an Exact code in a division; only a usable target of the
        right kind is accepted (a revenue GL account: mapped GL codes go on sales lines)."""
        platform_code, exact_code = platform_code.strip(), exact_code.strip()
        words = kind.label
        target = f"{division} {kind.value} {platform_code}"
        with self._writing("map", target) as session:
            if not platform_code or not exact_code:
                raise IntentRefused("give both the platform code and the Exact code")
            self._division(session, division)
            problem = _mapping_problem(session, division, kind, exact_code, self.today())
            if problem is not None:
                raise IntentRefused(f"{words} {exact_code}: {problem}")
            row = session.exec(
                select(MappingRow).where(
                    col(MappingRow.division) == division,
                    col(MappingRow.kind) == kind,
                    col(MappingRow.platform_code) == platform_code,
                )
            ).first()
            previous = row.exact_code if row else None
            if row is None:
                row = MappingRow(
                    division=division,
                    kind=kind,
                    platform_code=platform_code,
                    exact_code=exact_code,
                    updated_by=self.actor.name,
                )
            row.exact_code = exact_code
            row.updated_by = self.actor.name
            row.updated_at = self.clock.now()
            session.add(row)
            moved = self._unblock(
                session,
                f"{words} {platform_code} → {exact_code} mapped by {self.actor.name}",
                division=division,
                categories=(Category.MAPPING,),
                kinds=(kind.value,),
                code=platform_code,
            )
            audit.record(
                session,
                self.actor,
                "map",
                target=target,
                detail={"exact_code": exact_code, "previous": previous, "requeued": moved},
            )
        return IntentResult(
            f"{words} {platform_code} → {exact_code} in division {division} saved; "
            f"{counted(moved, 'job')} back to pending",
            moved,
        )


def _mapping_problem(
    session: Session, division: int, kind: MappingKind, code: str, today: dt.date
) -> str | None:
    """Why `code` cannot be the target of a `kind` mapping in `division`, or None."""
    row = row_by_code(session, MAPPING_TABLES[kind], division, code)
    problem = mapping_problem(kind, target_of(row), today)
    if problem is None:
        return None
    match problem.unfit:
        case Unfit.MISSING:
            return "not in Exact"
        case Unfit.BLOCKED:
            return "blocked in Exact"
        case Unfit.WRONG_TYPE:
            return f"not a revenue account (type {problem.type}): Exact refuses it on sales lines"
        case Unfit.PURCHASE_VAT:
            return "a purchase VAT code: Exact refuses it on sales lines"
        case Unfit.ENDED:
            return "inactive in Exact"
