"""Text search in the admin lists: LIKE patterns with the operator's text taken literally."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlmodel import col


def contains(text: str) -> str:
    """A LIKE pattern (escape character backslash) matching `text` anywhere."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def starts_with(text: str) -> str:
    return contains(text)[1:]


def code_or_description(model: Any, text: str | None) -> list[Any]:
    """Conditions for a master-data row whose code starts with `text` or whose description
    contains it (none for no text)."""
    if not text:
        return []
    return [
        or_(
            col(model.code).ilike(starts_with(text), escape="\\"),
            col(model.description).ilike(contains(text), escape="\\"),
        )
    ]
