"""What the worker does not call for a while: divisions (rate limits), endpoints (the error
budget), and everything while Exact refuses the access token."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from exact_tui.domain.states import DocumentKind
from exact_tui.services.export.payloads import ENDPOINTS


@dataclass
class Holds:
    """Divisions (rate limits) and endpoints (error budget) not to call before a time, and
    no call at all while Exact refuses the access token (until `auth_until`, or until the
    stored token changes: a reconnect)."""

    divisions: dict[int, dt.datetime] = field(default_factory=dict)
    endpoints: dict[tuple[int, str], dt.datetime] = field(default_factory=dict)
    auth_until: dt.datetime | None = None
    auth_version: int | None = None

    def auth_held(self, token_version: int | None, now: dt.datetime) -> bool:
        if self.auth_until is None or self.auth_until <= now:
            return False
        return token_version == self.auth_version

    def division_held(self, division: int, now: dt.datetime) -> bool:
        until = self.divisions.get(division)
        return until is not None and until > now

    def held_kinds(self, division: int, now: dt.datetime) -> set[DocumentKind]:
        return {
            kind
            for kind, endpoint in ENDPOINTS.items()
            if (until := self.endpoints.get((division, endpoint))) is not None and until > now
        }
