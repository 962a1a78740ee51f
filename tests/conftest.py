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


@pytest.fixture(scope="session")
def admin_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The admin screens' seeded store, built once: each test gets a copy (seeding with
    synchronous=FULL costs more than the tests themselves)."""
    from tests.admin_seed import seed_admin
    from tests.console_seed import seed

    path = tmp_path_factory.mktemp("admin") / "template.db"
    template = open_store(f"sqlite:///{path}")
    seed(template)
    seed_admin(template)
    template.dispose()
    return path


@pytest.fixture
def admin_store(admin_template: Path, tmp_path: Path) -> Iterator[Store]:
    import shutil

    path = tmp_path / "admin.db"
    shutil.copyfile(admin_template, path)
    path.chmod(0o600)
    opened = open_store(f"sqlite:///{path}")
    yield opened
    opened.dispose()
