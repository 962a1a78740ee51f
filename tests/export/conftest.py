"""The export tests start from a copy of one configured store (see `kit.build_template`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from exact_tui.store.engine import Store
from tests.connection.kit import World, secret_env
from tests.export.kit import ExportWorld, build_template, export_world
from tests.stores import Stores, Template


@pytest.fixture(scope="session")
def template(stores: Stores) -> Template:
    return stores.template("export", build_template)


@pytest.fixture
def db_url(stores: Stores, template: Template, tmp_path: Path) -> Iterator[str]:
    """This test's copy of the configured store."""
    url = stores.copy(template, tmp_path / "store")
    yield url
    stores.drop(url)


@pytest.fixture
def world(store: Store, monkeypatch: pytest.MonkeyPatch) -> World:
    for name, value in secret_env().items():
        monkeypatch.setenv(name, value)
    return World(store)


@pytest.fixture
async def xw(world: World) -> AsyncIterator[ExportWorld]:
    async with export_world(world) as ready:
        yield ready
