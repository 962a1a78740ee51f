"""Fault plans, in-process: every kind, counts, probabilities, matching, and the control API."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from exact_tui.sandbox import Sandbox

from .helpers import BE, NL, Api, sales_body

SALES = f"{NL.number}/salesentry/SalesEntries"


def plan(*faults: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    return {"faults": list(faults), "seed": seed}


def posted(sandbox: Sandbox, division: int = NL.number) -> int:
    return len(sandbox.division(division).sales_entries)


async def test_latency_delays_then_answers(api: Api, sandbox: Sandbox) -> None:
    sandbox.set_faults(plan({"endpoint": "financial/*", "kind": "latency", "ms": 60, "count": 1}))
    started = time.perf_counter()
    response = await api.get(f"{NL.number}/financial/Journals")
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.06
    assert sandbox.calls.faults["latency"] == 1


async def test_error_before_commit_commits_nothing(api: Api, sandbox: Sandbox) -> None:
    sandbox.set_faults(
        plan({"endpoint": "salesentry/SalesEntries", "kind": "error_before_commit", "count": 1})
    )
    response = await api.post(SALES, sales_body(sandbox))
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert posted(sandbox) == 0
    assert (await api.post(SALES, sales_body(sandbox))).status_code == 201
    assert posted(sandbox) == 1


async def test_error_after_commit_commits_and_lies(api: Api, sandbox: Sandbox) -> None:
    sandbox.set_faults(
        plan({"endpoint": "salesentry/*", "kind": "error_after_commit", "status": 502, "count": 1})
    )
    response = await api.post(SALES, sales_body(sandbox))
    assert response.status_code == 502
    assert posted(sandbox) == 1


async def test_commit_then_hang_is_a_read_timeout_in_process(api: Api, sandbox: Sandbox) -> None:
    sandbox.set_faults(plan({"endpoint": "salesentry/*", "kind": "commit_then_hang", "count": 1}))
    with pytest.raises(httpx.ReadTimeout):
        await api.post(SALES, sales_body(sandbox))
    assert posted(sandbox) == 1


async def test_connection_reset_before_commit(api: Api, sandbox: Sandbox) -> None:
    sandbox.set_faults(plan({"endpoint": "salesentry/*", "kind": "connection_reset", "count": 1}))
    with pytest.raises(httpx.TransportError):
        await api.post(SALES, sales_body(sandbox))
    assert posted(sandbox) == 0


async def test_connection_reset_after_commit(api: Api, sandbox: Sandbox) -> None:
    sandbox.set_faults(
        plan(
            {
                "endpoint": "salesentry/*",
                "kind": "connection_reset",
                "after_commit": True,
                "count": 1,
            }
        )
    )
    with pytest.raises(httpx.RemoteProtocolError):
        await api.post(SALES, sales_body(sandbox))
    assert posted(sandbox) == 1


async def test_rate_limit_storm(api: Api, sandbox: Sandbox) -> None:
    sandbox.set_faults(plan({"endpoint": "*", "kind": "rate_limit_storm", "count": 3}))
    for _ in range(3):
        response = await api.get(f"{NL.number}/financial/Journals")
        assert response.status_code == 429
        assert {k for k in response.headers if k.startswith("x-ratelimit")} == {
            "x-ratelimit-minutely-limit",
            "x-ratelimit-minutely-remaining",
            "x-ratelimit-minutely-reset",
        }
        assert response.headers["x-ratelimit-minutely-remaining"] == "0"
        assert int(response.headers["x-ratelimit-minutely-reset"]) % 60_000 == 0
    assert (await api.get(f"{NL.number}/financial/Journals")).status_code == 200


async def test_revoke_tokens(api: Api, client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    refresh_token = sandbox.issue_tokens().refresh_token
    sandbox.set_faults(plan({"endpoint": "financial/*", "kind": "revoke_tokens", "count": 1}))
    assert (await api.get(f"{NL.number}/financial/Journals")).status_code == 401
    sandbox.advance(600)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": "sandbox-client",
        "client_secret": "sandbox-secret",
    }
    refused = await client.post("/api/oauth2/token", data=form)
    assert refused.status_code == 400


async def test_token_endpoint_faults(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    refresh_token = sandbox.issue_tokens().refresh_token
    sandbox.advance(600)
    sandbox.set_faults(plan({"endpoint": "oauth2/token", "kind": "error_after_commit", "count": 1}))
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": "sandbox-client",
        "client_secret": "sandbox-secret",
    }
    assert (await client.post("/api/oauth2/token", data=form)).status_code == 503
    # The refresh happened behind the 503: the token the client still holds is spent.
    reused = await client.post("/api/oauth2/token", data=form)
    assert reused.json()["error_description"] == "Old refresh token used."


async def test_probability_is_reproducible_from_the_plan_seed(api: Api, sandbox: Sandbox) -> None:
    async def pattern() -> list[int]:
        sandbox.set_faults(
            plan(
                {"endpoint": "financial/*", "kind": "error_before_commit", "probability": 0.5},
                seed=11,
            )
        )
        return [(await api.get(f"{NL.number}/financial/Journals")).status_code for _ in range(20)]

    first = await pattern()
    assert 3 <= first.count(503) <= 17
    assert first.count(200) + first.count(503) == 20
    assert await pattern() == first


async def test_skip_method_division_and_count(api: Api, sandbox: Sandbox) -> None:
    sandbox.set_faults(
        plan(
            {
                "endpoint": "salesentry/SalesEntries",
                "method": "POST",
                "division": BE.number,
                "kind": "error_before_commit",
                "skip": 1,
                "count": 2,
            }
        )
    )
    body = sales_body(sandbox, division=BE.number)
    be_sales = f"{BE.number}/salesentry/SalesEntries"
    statuses = [(await api.post(be_sales, body)).status_code for _ in range(4)]
    assert statuses == [201, 503, 503, 201]
    assert (await api.post(SALES, sales_body(sandbox))).status_code == 201
    assert (await api.get(be_sales, {"$top": "1"})).status_code == 200
    (fault,) = sandbox.faults.snapshot()
    assert fault["remaining"] == 0
    assert fault["fired"] == 2


async def test_first_matching_fault_wins_latency_adds_up(api: Api, sandbox: Sandbox) -> None:
    sandbox.set_faults(
        plan(
            {"kind": "latency", "ms": 1, "count": 5},
            {"kind": "rate_limit_storm", "count": 1},
            {"kind": "error_before_commit", "count": 1},
        )
    )
    assert (await api.get(f"{NL.number}/financial/Journals")).status_code == 429
    assert (await api.get(f"{NL.number}/financial/Journals")).status_code == 503
    assert (await api.get(f"{NL.number}/financial/Journals")).status_code == 200
    assert sandbox.calls.faults["latency"] == 3


# -- the control API ----------------------------------------------------------------------------


async def test_faults_over_the_control_api(client: httpx.AsyncClient, api: Api) -> None:
    body = plan(
        {"endpoint": "financial/*", "kind": "error_before_commit", "status": 504, "count": 1}
    )
    response = await client.post("/_sandbox/faults", json=body)
    assert response.status_code == 200
    (active,) = response.json()["faults"]
    assert active["kind"] == "error_before_commit"
    assert active["remaining"] == 1
    assert (await api.get(f"{NL.number}/financial/Journals")).status_code == 504
    await client.post("/_sandbox/faults", json=body)
    cleared = await client.delete("/_sandbox/faults")
    assert cleared.json() == {"faults": []}
    assert (await api.get(f"{NL.number}/financial/Journals")).status_code == 200


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "explode", "count": 1},
        {"kind": "latency", "count": 1},
        {"kind": "error_before_commit"},
        {"kind": "error_before_commit", "count": 1, "status": 404},
        {"kind": "error_before_commit", "probability": 2},
        {"kind": "error_before_commit", "count": 1, "typo": True},
    ],
)
async def test_invalid_fault_plans_are_400(
    client: httpx.AsyncClient, fault: dict[str, Any]
) -> None:
    response = await client.post("/_sandbox/faults", json=plan(fault))
    assert response.status_code == 400
    assert response.json()["error"]["message"]["value"]
