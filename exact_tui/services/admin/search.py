"""Text search in the admin lists: LIKE patterns with the operator's text taken literally."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlmodel import col

from exact_tui.store.search import ci_like, contains, starts_with


def code_or_description(model: Any, text: str | None) -> list[Any]:
    """Conditions for a master-data row whose code starts with `text` or whose description
    contains it (none for no text)."""
    if not text:
        return []
    return [
        or_(
            ci_like(col(model.code), starts_with(text)),
            ci_like(col(model.description), contains(text)),
        )
    ]
