"""The export tests start from a copy of one configured store (see `kit.build_template`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from exact_tui.store.engine import Store
from tests.connection.kit import World, secret_env
from tests.export.kit import ExportWorld, build_template, clone, export_world


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export-template") / "exact-tui.db"
    build_template(path)
    return path


@pytest.fixture
def store(template: Path, tmp_path: Path) -> Iterator[Store]:
    opened = clone(template, tmp_path / "store")
    yield opened
    opened.dispose()


@pytest.fixture
def world(store: Store, monkeypatch: pytest.MonkeyPatch) -> World:
    for name, value in secret_env().items():
        monkeypatch.setenv(name, value)
    return World(store)


@pytest.fixture
async def xw(world: World) -> AsyncIterator[ExportWorld]:
    async with export_world(world) as ready:
        yield ready
