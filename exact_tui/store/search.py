"""Case-insensitive text search with the operator's text taken literally (`%` and `_` too).

`ci_like(column, pattern)` is `ILIKE` on PostgreSQL and a plain `LIKE` on SQLite, whose LIKE is
already case-insensitive (for ASCII, as its `lower()` is); SQLAlchemy's own `ilike` wraps both
sides in `lower()` there, which costs a third of a scan over a big table for nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement

ESCAPE = "\\"


def contains(text: str) -> str:
    """A LIKE pattern (escape character backslash) matching `text` anywhere."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def starts_with(text: str) -> str:
    return contains(text)[1:]


class _CaseInsensitiveLike(ColumnElement[bool]):
    inherit_cache = True
    type = Boolean()

    def __init__(self, column: Any, pattern: str) -> None:
        self.column = column
        self.pattern = pattern


@compiles(_CaseInsensitiveLike)
def _ilike(element: _CaseInsensitiveLike, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.ilike(element.pattern, escape=ESCAPE), **kw)


@compiles(_CaseInsensitiveLike, "sqlite")
def _sqlite_like(element: _CaseInsensitiveLike, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.like(element.pattern, escape=ESCAPE), **kw)


def ci_like(column: Any, pattern: str) -> ColumnElement[bool]:
    """`column` matches the LIKE `pattern` (built with `contains` / `starts_with`), whatever
    the case."""
    return _CaseInsensitiveLike(column, pattern)
