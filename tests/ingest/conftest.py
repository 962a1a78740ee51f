from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from exact_tui.services.ingest import IngestError, ingest_bytes
from exact_tui.store.engine import Store, open_store
from tests.ingest.helpers import EXAMPLE, dump

Refuse = Callable[..., str]


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A migrated empty store and one holding the example file, built once and copied per
    test: migrating a fresh database for each of ~100 tests would take most of their time."""
    base = tmp_path_factory.mktemp("templates")
    empty, seeded = base / "empty.db", base / "seeded.db"
    open_store(f"sqlite:///{empty}").dispose()
    shutil.copy(empty, seeded)
    store = open_store(f"sqlite:///{seeded}")
    ingest_bytes(store, "platform-data.json", EXAMPLE.read_bytes())
    store.dispose()
    return {"empty": empty, "seeded": seeded}


def _copy(template: Path, tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "store" / "exact-tui.db"
    path.parent.mkdir(mode=0o700)
    shutil.copy(template, path)
    store = open_store(f"sqlite:///{path}")
    yield store
    store.dispose()


@pytest.fixture
def store(templates: dict[str, Path], tmp_path: Path) -> Iterator[Store]:
    yield from _copy(templates["empty"], tmp_path)


@pytest.fixture
def seeded(templates: dict[str, Path], tmp_path: Path) -> Iterator[Store]:
    """A store that already holds the example file, so "nothing changed" has rows to keep."""
    yield from _copy(templates["seeded"], tmp_path)


@pytest.fixture
def refuse(seeded: Store) -> Refuse:
    """Ingest `data`, expect a refusal, check the store did not change; the message back."""

    def run(data: bytes, source: str = "bad.json") -> str:
        before = dump(seeded)
        with pytest.raises(IngestError) as caught:
            ingest_bytes(seeded, source, data)
        assert dump(seeded) == before
        return str(caught.value)

    return run
