"""The sandbox over a real socket (uvicorn in a thread): faults that need a connection."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from exact_tui.sandbox import Sandbox
from exact_tui.sandbox.server import ServerThread

from .helpers import NL, make_sandbox, sales_body

SALES = f"/api/v1/{NL.number}/salesentry/SalesEntries"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    with ServerThread(make_sandbox()) as running:
        yield running


@pytest.fixture
def sandbox_behind(server: ServerThread) -> Sandbox:
    server.sandbox.reset()
    return server.sandbox


def http(server: ServerThread, sandbox: Sandbox, timeout: float = 5.0) -> httpx.Client:
    token = sandbox.issue_tokens().access_token
    return httpx.Client(
        base_url=server.base_url,
        timeout=timeout,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )


def test_served_on_a_free_local_port(server: ServerThread, sandbox_behind: Sandbox) -> None:
    assert server.base_url.startswith("http://127.0.0.1:")
    with http(server, sandbox_behind) as client:
        response = client.get("/api/v1/current/Me")
    assert response.status_code == 200
    assert response.json()["d"]["results"][0]["__metadata"]["uri"].startswith(server.base_url)


def test_connection_reset_drops_the_connection(
    server: ServerThread, sandbox_behind: Sandbox
) -> None:
    sandbox_behind.set_faults(
        {"faults": [{"endpoint": "salesentry/*", "kind": "connection_reset", "count": 1}]}
    )
    with http(server, sandbox_behind) as client:
        # Half an answer then a closed socket: httpx reports either, depending on timing.
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.post(SALES, json=sales_body(sandbox_behind))
        assert sandbox_behind.division(NL.number).sales_entries == {}
        assert client.post(SALES, json=sales_body(sandbox_behind)).status_code == 201
    assert sandbox_behind.calls.count("salesentry/SalesEntries", status=0) == 1


def test_commit_then_hang_outlasts_the_client_timeout(
    server: ServerThread, sandbox_behind: Sandbox
) -> None:
    sandbox_behind.set_faults(
        {
            "faults": [
                {"endpoint": "salesentry/*", "kind": "commit_then_hang", "seconds": 1, "count": 1}
            ]
        }
    )
    with http(server, sandbox_behind, timeout=0.3) as client, pytest.raises(httpx.ReadTimeout):
        client.post(SALES, json=sales_body(sandbox_behind))
    assert len(sandbox_behind.division(NL.number).sales_entries) == 1
