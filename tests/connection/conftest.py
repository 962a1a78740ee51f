from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from exact_tui.store.engine import Store
from tests.connection.kit import World, sandbox_process, secret_env


@pytest.fixture
def world(store: Store, monkeypatch: pytest.MonkeyPatch) -> World:
    for name, value in secret_env().items():
        monkeypatch.setenv(name, value)
    return World(store)


@pytest.fixture
async def connected(world: World) -> World:
    await world.connect()
    return world


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`exact-tui sandbox` in a real process on a free port of 127.0.0.1 (its clock runs)."""
    with sandbox_process(tmp_path_factory.mktemp("sandbox-home")) as base_url:
        yield base_url


@pytest.fixture
def served(sandbox_server: str) -> str:
    """The sandbox process, back to its seed (its clock keeps going)."""
    httpx.post(f"{sandbox_server}/_sandbox/reset", json={}).raise_for_status()
    return sandbox_server


@pytest.fixture(autouse=True)
def _drop_log_handler() -> Iterator[None]:
    """Commands install a file handler on the root logger; it must not outlive the test."""
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == "exact-tui-file":
            root.removeHandler(handler)
            handler.close()
