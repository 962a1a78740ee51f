from __future__ import annotations

import pytest

from exact_tui.store.engine import Store
from tests.connection.kit import World, secret_env


@pytest.fixture
async def connected(store: Store, monkeypatch: pytest.MonkeyPatch) -> World:
    for name, value in secret_env().items():
        monkeypatch.setenv(name, value)
    world = World(store)
    await world.connect()
    return world
