"""The `commit_late` fault: Exact takes the request, the client gives up waiting, and the entry
is committed seconds later whatever the client did (a proxy held the request)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from exact_tui.sandbox import Sandbox
from exact_tui.sandbox.server import ServerThread

from .helpers import NL, Api, make_sandbox, sales_body

SALES = f"{NL.number}/salesentry/SalesEntries"


def _late(seconds: float) -> dict[str, object]:
    return {
        "faults": [
            {"endpoint": "salesentry/SalesEntries", "method": "POST", "kind": "commit_late",
             "seconds": seconds, "count": 1}
        ]
    }  # fmt: skip


def _ledger_refs(sandbox: Sandbox) -> list[str]:
    books: Any = sandbox.ledger(NL.number)["divisions"]
    return [entry["YourRef"] for entry in books[str(NL.number)]["sales_entries"]]


async def _found(api: Api, your_ref: str) -> int:
    rows = await api.results(SALES, {"$filter": f"YourRef eq '{your_ref}'", "$select": "EntryID"})
    return len(rows)


async def test_the_entry_appears_when_the_clock_passes_the_delay(
    api: Api, sandbox: Sandbox
) -> None:
    sandbox.set_faults(_late(75))
    with pytest.raises(httpx.ReadTimeout):
        await api.post(SALES, sales_body(sandbox, your_ref="INV-LATE"))
    assert await _found(api, "INV-LATE") == 0
    sandbox.advance(74)
    assert await _found(api, "INV-LATE") == 0
    assert _ledger_refs(sandbox) == []
    sandbox.advance(1)
    assert await _found(api, "INV-LATE") == 1
    assert sandbox.calls.faults["commit_late"] == 1
    # Fired once: the next request is committed at once.
    assert (await api.post(SALES, sales_body(sandbox, your_ref="INV-NEXT"))).status_code == 201


async def test_a_late_commit_is_visible_in_the_ledger_without_another_request(
    api: Api, sandbox: Sandbox
) -> None:
    sandbox.set_faults(_late(10))
    with pytest.raises(httpx.ReadTimeout):
        await api.post(SALES, sales_body(sandbox, your_ref="INV-LATE"))
    sandbox.advance(10)
    assert _ledger_refs(sandbox) == ["INV-LATE"]


async def test_a_request_refused_when_it_is_committed_leaves_nothing(
    api: Api, sandbox: Sandbox
) -> None:
    sandbox.set_faults(_late(5))
    with pytest.raises(httpx.ReadTimeout):
        await api.post(SALES, sales_body(sandbox, your_ref="INV-BAD", Journal="999"))
    sandbox.advance(5)
    assert await _found(api, "INV-BAD") == 0


@pytest.fixture
def served() -> Iterator[ServerThread]:
    with ServerThread(make_sandbox()) as running:
        yield running


def test_over_a_socket_the_commit_happens_after_the_client_gave_up(served: ServerThread) -> None:
    sandbox = served.sandbox
    sandbox.set_faults(_late(0.5))
    token = sandbox.issue_tokens().access_token
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    client = httpx.Client(base_url=served.base_url, timeout=0.2, headers=headers)
    with client, pytest.raises(httpx.ReadTimeout):
        client.post(f"/api/v1/{SALES}", json=sales_body(sandbox, your_ref="INV-LATE"))
    assert sandbox.division(NL.number).sales_entries == {}
    deadline = time.monotonic() + 10
    while not sandbox.division(NL.number).sales_entries and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(sandbox.division(NL.number).sales_entries) == 1
