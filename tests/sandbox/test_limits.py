"""Rate limits per client id and division, their headers, 429s, and the error block."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from exact_tui.sandbox import Sandbox

from .helpers import BE, NL, START, Api, error_text, sales_body

JOURNALS = f"{NL.number}/financial/Journals"
MINUTELY = {
    "x-ratelimit-minutely-limit",
    "x-ratelimit-minutely-remaining",
    "x-ratelimit-minutely-reset",
}
DAILY = {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"}


def ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def rate_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("x-ratelimit")}


async def test_six_headers_with_resets_in_epoch_milliseconds(api: Api) -> None:
    response = await api.get(JOURNALS)
    assert rate_headers(response) == {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "4999",
        "x-ratelimit-reset": ms(datetime(2026, 3, 3, tzinfo=UTC)),
        "x-ratelimit-minutely-limit": "60",
        "x-ratelimit-minutely-remaining": "59",
        "x-ratelimit-minutely-reset": ms(START.replace(minute=1, second=0)),
    }
    second = await api.get(JOURNALS)
    assert second.headers["x-ratelimit-remaining"] == "4998"
    assert second.headers["x-ratelimit-minutely-remaining"] == "58"


async def test_minutely_429_carries_only_the_minutely_headers(api: Api, sandbox: Sandbox) -> None:
    for _ in range(60):
        assert (await api.get(JOURNALS)).status_code == 200
    response = await api.get(JOURNALS)
    assert response.status_code == 429
    assert set(rate_headers(response)) == MINUTELY
    assert response.headers["x-ratelimit-minutely-remaining"] == "0"
    assert error_text(response) == "API rate limit exceeded."
    # The next minute starts a new budget; the 429 did not count.
    sandbox.advance(50)
    again = await api.get(JOURNALS)
    assert again.status_code == 200
    assert again.headers["x-ratelimit-minutely-remaining"] == "59"
    assert again.headers["x-ratelimit-remaining"] == str(5000 - 61)


async def test_budgets_are_per_division(api: Api) -> None:
    for _ in range(5):
        await api.get(JOURNALS)
    other = await api.get(f"{BE.number}/financial/Journals")
    assert other.headers["x-ratelimit-minutely-remaining"] == "59"
    assert other.headers["x-ratelimit-remaining"] == "4999"


async def test_daily_budget_and_its_reset_at_midnight(api: Api, sandbox: Sandbox) -> None:
    sandbox.set_limits(daily=3)
    for _ in range(3):
        assert (await api.get(JOURNALS)).status_code == 200
    response = await api.get(JOURNALS)
    assert response.status_code == 429
    assert set(rate_headers(response)) == MINUTELY | DAILY
    assert response.headers["x-ratelimit-remaining"] == "0"
    sandbox.advance((datetime(2026, 3, 3, tzinfo=UTC) - START).total_seconds())
    api.token = sandbox.issue_tokens().access_token  # the old one expired meanwhile
    assert (await api.get(JOURNALS)).status_code == 200


async def test_compressed_windows_for_drills(api: Api, sandbox: Sandbox) -> None:
    sandbox.set_limits(minutely=2, minute_window=6)
    await api.get(JOURNALS)
    second = await api.get(JOURNALS)
    # START is 09:00:10; six-second windows reset at 09:00:12.
    assert second.headers["x-ratelimit-minutely-reset"] == ms(START.replace(second=12))
    assert (await api.get(JOURNALS)).status_code == 429
    sandbox.advance(2)
    assert (await api.get(JOURNALS)).status_code == 200


async def test_unauthenticated_calls_get_no_budget_headers(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/v1/{JOURNALS}")
    assert response.status_code == 401
    assert rate_headers(response) == {}


# -- the error block ----------------------------------------------------------------------------


async def test_more_than_ten_errors_per_hour_block_the_endpoint(api: Api, sandbox: Sandbox) -> None:
    missing = f"{NL.number}/crm/Accounts(guid'00000000-0000-4000-8000-000000000000')"
    for _ in range(11):
        assert (await api.get(missing)).status_code == 404
    blocked = await api.get(f"{NL.number}/crm/Accounts", {"$filter": "Code eq '1'"})
    assert blocked.status_code == 429
    assert error_text(blocked).startswith(
        "API rate limit exceeded: more than 10 errors on this endpoint within an hour."
    )
    assert rate_headers(blocked) == {}
    # Other endpoints and divisions carry on.
    assert (await api.get(JOURNALS)).status_code == 200
    assert (
        await api.get(f"{BE.number}/crm/Accounts", {"$filter": "Code eq '1'"})
    ).status_code == 200
    sandbox.advance(3600)
    api.token = sandbox.issue_tokens().access_token
    assert (
        await api.get(f"{NL.number}/crm/Accounts", {"$filter": "Code eq '1'"})
    ).status_code == 200


async def test_ten_errors_do_not_block(api: Api) -> None:
    for _ in range(10):
        assert (await api.get(f"{NL.number}/crm/Accounts")).status_code == 400
    assert (
        await api.get(f"{NL.number}/crm/Accounts", {"$filter": "Code eq '1'"})
    ).status_code == 200


async def test_errors_older_than_an_hour_do_not_count(api: Api, sandbox: Sandbox) -> None:
    for _ in range(10):
        await api.get(f"{NL.number}/crm/Accounts")
    sandbox.advance(3600)
    api.token = sandbox.issue_tokens().access_token
    for _ in range(10):
        await api.get(f"{NL.number}/crm/Accounts")
    assert (
        await api.get(f"{NL.number}/crm/Accounts", {"$filter": "Code eq '1'"})
    ).status_code == 200


async def test_401_and_403_count_as_errors(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    stale = Api(client, "expired-or-never-issued")
    for _ in range(11):
        assert (await stale.get(JOURNALS)).status_code == 401
    fresh = Api(client, sandbox.issue_tokens().access_token)
    assert (await fresh.get(JOURNALS)).status_code == 429
    no_access = "101003/financial/Journals"
    for _ in range(11):
        assert (await fresh.get(no_access)).status_code == 403
    assert (await fresh.get(no_access)).status_code == 429


async def test_500_validation_errors_do_not_count(api: Api, sandbox: Sandbox) -> None:
    body = {**sales_body(sandbox), "Journal": NL.general_journal}
    for _ in range(12):
        response = await api.post(f"{NL.number}/salesentry/SalesEntries", body)
        assert response.status_code == 500
    assert (
        await api.post(f"{NL.number}/salesentry/SalesEntries", sales_body(sandbox))
    ).status_code == 201
