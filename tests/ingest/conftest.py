from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from exact_tui.services.ingest import IngestError, ingest_bytes
from exact_tui.store.engine import Store
from tests.ingest.helpers import EXAMPLE, dump
from tests.stores import Stores, Template

Refuse = Callable[..., str]


@pytest.fixture(scope="session")
def example_template(stores: Stores) -> Template:
    """A store holding the example file, built once and copied per test."""
    return stores.template(
        "ingested", lambda store: ingest_bytes(store, "platform-data.json", EXAMPLE.read_bytes())
    )


@pytest.fixture
def seeded(stores: Stores, example_template: Template, tmp_path: Path) -> Iterator[Store]:
    """A store that already holds the example file, so "nothing changed" has rows to keep."""
    with stores.open_copy(example_template, tmp_path / "seeded") as opened:
        yield opened


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
