"""Tenant codes (docs/tenants.md): how an operator names a company of the platform."""

from __future__ import annotations

import re

#: The widest code (store.models.Tenant.code).
CODE_WIDTH = 40
_CODE = re.compile(r"[a-z0-9-]{1,40}")


class BadTenantCode(ValueError):
    """A tenant code that is not 1-40 characters of a-z, 0-9 and '-'."""


def normalise_code(text: str) -> str:
    """`text` as a tenant code: trimmed and lower-cased; BadTenantCode when it is not one."""
    code = text.strip().lower()
    if not _CODE.fullmatch(code):
        shown = text if len(text) <= CODE_WIDTH + 10 else text[: CODE_WIDTH + 10] + "…"
        raise BadTenantCode(
            f"tenant code {shown!r}: use 1-{CODE_WIDTH} characters of a-z, 0-9 and '-'"
        )
    return code
