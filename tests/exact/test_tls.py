"""One worker holds a client to Exact per tenant it serves (docs/worker.md §Tenants): their TLS
settings are built once per process, not once per client (a CA bundle loaded is about 0.9 MB
and 40 ms: a thousand tenants would hold a gigabyte of copies of it)."""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from exact_tui.exact.http import ExactClient
from exact_tui.exact.oauth import OAuthClient

HOST = "https://start.exactonline.nl"


async def test_clients_of_many_tenants_share_one_tls_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded: list[Any] = []
    load = ssl.SSLContext.load_verify_locations

    def counted(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loaded.append(args or kwargs)
        load(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    clients: list[ExactClient] = []
    oauths: list[OAuthClient] = []
    for _tenant in range(5):
        clients.append(ExactClient(HOST, tokens=None))  # type: ignore[arg-type]
        oauth = OAuthClient(HOST, "app", "secret", "http://localhost/cb")
        oauth._client()  # built when a tenant first refreshes
        oauths.append(oauth)
    try:
        assert len(loaded) <= 1, f"{len(loaded)} CA bundles loaded for 5 tenants"
    finally:
        for client in clients:
            await client.aclose()
        for oauth in oauths:
            await oauth.aclose()
