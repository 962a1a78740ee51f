"""What the export pipeline needs of the Exact client (`ExactClient` has it; tests may wrap it)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from exact_tui.exact.http import BeforeSend
from exact_tui.exact.odata import Page, Query
from exact_tui.exact.ratelimit import RateState


class ExactApi(Protocol):
    #: Requests sent per division (what reconciliation reports as the calls it spent).
    calls: Counter[int]

    def iter_rows(
        self, division: int, path: str, query: Query | None = None, *, max_pages: int = 10_000
    ) -> AsyncIterator[dict[str, Any]]: ...

    async def get_page(self, division: int, path: str, query: Query | None = None) -> Page: ...

    async def get_all(
        self, division: int, path: str, query: Query | None = None
    ) -> list[dict[str, Any]]: ...

    async def post(
        self,
        division: int,
        path: str,
        body: Mapping[str, Any],
        *,
        before_send: BeforeSend | None = None,
    ) -> dict[str, Any]: ...

    def rate_state(self, division: int) -> RateState: ...

    def forget_rate(self, division: int) -> None: ...
