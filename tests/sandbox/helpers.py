"""Shared helpers for the sandbox contract tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from exact_tui.sandbox import SMALL, Sandbox, SandboxClock
from exact_tui.sandbox.seed import BE_DIVISION, NL_DIVISION, NO_CONSENT_DIVISION

# Ten seconds into a minute, so a test has 50 sandbox-seconds before the minutely window rolls.
START = datetime(2026, 3, 2, 9, 0, 10, tzinfo=UTC)
BASE_URL = "http://sandbox.test"
NL = SMALL.division(NL_DIVISION)
BE = SMALL.division(BE_DIVISION)
NO_CONSENT = SMALL.division(NO_CONSENT_DIVISION)


class Api:
    """A bearer-authenticated client for /api/v1 paths."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.token = token

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            **(extra or {}),
        }

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> httpx.Response:
        url = path if path.startswith("http") else f"/api/v1/{path}"
        return await self.client.get(url, params=params, headers=self.headers())

    async def post(
        self, path: str, body: object, *, prefer: bool = True, raw: bytes | None = None
    ) -> httpx.Response:
        extra = {"Prefer": "return=representation"} if prefer else {}
        headers = self.headers({"Content-Type": "application/json", **extra})
        if raw is not None:
            return await self.client.post(f"/api/v1/{path}", content=raw, headers=headers)
        return await self.client.post(f"/api/v1/{path}", json=body, headers=headers)

    async def results(self, path: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        response = await self.get(path, params)
        assert response.status_code == 200, response.text
        results = response.json()["d"]["results"]
        assert isinstance(results, list)
        return results

    async def all_pages(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> tuple[list[Any], int]:
        """Every row behind `__next`, and how many requests it took."""
        rows: list[Any] = []
        response = await self.get(path, params)
        calls = 1
        while True:
            assert response.status_code == 200, response.text
            data = response.json()["d"]
            rows.extend(data["results"])
            if "__next" not in data:
                return rows, calls
            response = await self.get(data["__next"])
            calls += 1


def make_sandbox(seed: int = 7, size: str = "small") -> Sandbox:
    return Sandbox(seed=seed, size=size, clock=SandboxClock(START, frozen=True))


def gl_id(sandbox: Sandbox, division: int, code: str) -> str:
    record = sandbox.division(division).gl_by_code(code)
    assert record is not None, code
    return str(record["ID"])


def account_id(sandbox: Sandbox, division: int, code: str) -> str:
    record = sandbox.division(division).account_by_code(code)
    assert record is not None, code
    return str(record["ID"])


def sales_body(
    sandbox: Sandbox,
    *,
    division: int = NL_DIVISION,
    your_ref: str = "INV-1001",
    customer: str = "5",
    lines: list[dict[str, Any]] | None = None,
    **header: Any,
) -> dict[str, Any]:
    facts = SMALL.division(division)
    return {
        "Journal": facts.sales_journal,
        "Customer": account_id(sandbox, division, customer),
        "EntryDate": "2026-03-01T00:00:00",
        "YourRef": your_ref,
        "Description": your_ref,
        "SalesEntryLines": lines
        if lines is not None
        else [
            {
                "GLAccount": gl_id(sandbox, division, facts.gl["revenue"]),
                "AmountFC": "100.00",
                "VATCode": facts.vat["high"],
                "Description": "Meeting room",
            }
        ],
        **header,
    }


def bank_body(
    sandbox: Sandbox, *, division: int = NL_DIVISION, our_ref: int = 26000001, **header: Any
) -> dict[str, Any]:
    facts = SMALL.division(division)
    return {
        "JournalCode": facts.bank_journals[0].code,
        "BankEntryLines": [
            {
                "GLAccount": gl_id(sandbox, division, facts.gl["receivables"]),
                "Account": account_id(sandbox, division, "5"),
                "AmountFC": "121.00",
                "OurRef": our_ref,
                "Date": "2026-03-10T00:00:00",
                "Description": f"PAY-{our_ref}",
            }
        ],
        **header,
    }


def journal_body(
    sandbox: Sandbox, *, division: int = NL_DIVISION, amount: str = "25.00", **header: Any
) -> dict[str, Any]:
    facts = SMALL.division(division)
    return {
        "JournalCode": facts.general_journal,
        "GeneralJournalEntryLines": [
            {
                "GLAccount": gl_id(sandbox, division, facts.gl["receivables"]),
                "Account": account_id(sandbox, division, "5"),
                "AmountFC": f"-{amount}",
                "OurRef": 26000001,
                "Description": "WO-77 write-off",
            },
            {
                "GLAccount": gl_id(sandbox, division, facts.gl["write_off"]),
                "AmountFC": amount,
                "Description": "WO-77 write-off",
            },
        ],
        **header,
    }


def error_text(response: httpx.Response) -> str:
    value = response.json()["error"]["message"]["value"]
    assert isinstance(value, str)
    return value
