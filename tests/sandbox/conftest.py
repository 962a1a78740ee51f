"""Fixtures for the sandbox contract tests: a frozen-clock sandbox served in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from exact_tui.sandbox import Sandbox, TokenPair, create_app

from .helpers import BASE_URL, Api, make_sandbox


@pytest.fixture
def sandbox() -> Sandbox:
    return make_sandbox()


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(sandbox))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http


@pytest.fixture
def tokens(sandbox: Sandbox) -> TokenPair:
    return sandbox.issue_tokens()


@pytest.fixture
def api(client: httpx.AsyncClient, tokens: TokenPair) -> Api:
    return Api(client, tokens.access_token)
