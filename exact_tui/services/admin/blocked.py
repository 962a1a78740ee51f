"""How many documents each missing key holds up, from the jobs waiting on an admin.

Preflight writes the exact keys a job misses (`export_job.missing`); jobs missing the same
things carry the same list, so one grouped query over the blocked jobs (on the (category,
state) index) gives the counts, whatever the number of jobs.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import String, cast, func, or_
from sqlmodel import Session, col, select

from exact_tui.domain.states import Category, JobState
from exact_tui.store.models import ExportJob

#: Jobs in these categories wait for an admin: a binding, a mapping or setting, a customer link.
BLOCKING = (Category.BINDING, Category.MAPPING, Category.CUSTOMER)


@dataclass(frozen=True)
class BlockKey:
    """One thing missing: in a division (None: not routed yet), of a kind (a mapping kind,
    "setting", "binding" or "customer"), with its code."""

    division: int | None
    kind: str
    code: str


@dataclass(frozen=True)
class BlockedCounts:
    """How many blocked documents each missing key holds up (a document missing two keys
    counts for both), and the detail preflight wrote for each key."""

    counts: Counter[BlockKey]
    details: dict[BlockKey, str]

    def of(self, division: int | None, kind: str, code: str) -> int:
        return self.counts.get(BlockKey(division, kind, code), 0)


def blocked_counts(session: Session, division: int | None = None) -> BlockedCounts:
    """Documents blocked per missing key, from the jobs waiting on an admin (all divisions,
    or one division and the unrouted ones)."""
    missing = cast(col(ExportJob.missing), String)
    query = (
        select(ExportJob.division, missing, func.count())
        .where(
            col(ExportJob.state) == JobState.NEEDS_MAPPING,
            col(ExportJob.category).in_(BLOCKING),
        )
        .group_by(col(ExportJob.division), missing)
    )
    if division is not None:
        query = query.where(
            or_(col(ExportJob.division) == division, col(ExportJob.division).is_(None))
        )
    counts: Counter[BlockKey] = Counter()
    details: dict[BlockKey, str] = {}
    for job_division, text, count in session.exec(query):
        try:
            items = json.loads(text) if text else []
        except ValueError:
            continue
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            key = BlockKey(job_division, str(item.get("kind", "")), str(item.get("code") or ""))
            counts[key] += count
            details.setdefault(key, str(item.get("detail") or ""))
    return BlockedCounts(counts, details)
