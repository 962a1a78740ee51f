"""Fixtures shared by every test: an isolated environment and a fresh store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from exact_tui.store.engine import Store, open_store


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the user's real config, data, state or keyring."""
    import os

    for name in list(os.environ):
        if name.startswith("EXACT_TUI_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("EXACT_TUI_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("EXACT_TUI_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("EXACT_TUI_STATE_DIR", str(home / "state"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return home


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store' / 'exact-tui.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = open_store(db_url)
    yield opened
    opened.dispose()
