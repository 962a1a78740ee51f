"""Fixtures shared by every test: an isolated environment and fresh stores.

Every store a test opens comes from here: `db_url` (a fresh copy of the migrated template),
`store` (that copy, opened), `empty_db_url` (a database with no schema yet) and `stores` (for a
folder's own template). With TEST_PG_URL set they are PostgreSQL databases, otherwise
SQLite files (tests/stores.py). A test that holds on one database only by nature is marked
`sqlite_only(reason)` or `postgres_only(reason)` and is skipped, with that reason, on the other.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from exact_tui.store.engine import Store, open_store
from tests.stores import Stores, Template, on_postgres, stores_for_run


def pytest_report_header(config: pytest.Config) -> str:
    return f"stores: {'PostgreSQL' if on_postgres() else 'SQLite'}"


def pytest_runtest_setup(item: pytest.Item) -> None:
    postgres = on_postgres()
    for marker, wrong, label in (
        ("sqlite_only", postgres, "SQLite only"),
        ("postgres_only", not postgres, "PostgreSQL only"),
    ):
        found = item.get_closest_marker(marker)
        if found is None:
            continue
        reason = found.kwargs.get("reason") or (found.args[0] if found.args else "")
        if not reason:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{marker} needs a reason")
        if wrong:
            pytest.skip(f"{label}: {reason}")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the user's real config, data, state or keyring."""
    for name in list(os.environ):
        if name.startswith("EXACT_TUI_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("EXACT_TUI_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("EXACT_TUI_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("EXACT_TUI_STATE_DIR", str(home / "state"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return home


@pytest.fixture(scope="session")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    """The run's databases: `stores.template(name, build)` makes a folder's template once,
    `stores.open_copy(template, directory)` gives a test its own copy."""
    made = stores_for_run(tmp_path_factory.mktemp("stores"))
    yield made
    made.close()


@pytest.fixture
def db_url(stores: Stores, tmp_path: Path) -> Iterator[str]:
    """A fresh store of this test's own, migrated to head and empty; on SQLite the file is
    `exact-tui.db` in a 0700 directory."""
    url = stores.copy(stores.migrated, tmp_path / "store")
    yield url
    stores.drop(url)


@pytest.fixture
def empty_db_url(stores: Stores, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own with no schema yet (on SQLite: no file yet)."""
    url = stores.empty(tmp_path / "empty")
    yield url
    stores.drop(url)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = open_store(db_url)
    yield opened
    opened.dispose()


@pytest.fixture(scope="session")
def admin_template(stores: Stores) -> Template:
    """The admin screens' seeded store, built once: each test gets a copy (seeding costs more
    than the tests themselves)."""
    from tests.admin_seed import seed_admin
    from tests.console_seed import seed

    def build(template: Store) -> None:
        seed(template)
        seed_admin(template)

    return stores.template("admin", build)


@pytest.fixture
def admin_store(stores: Stores, admin_template: Template, tmp_path: Path) -> Iterator[Store]:
    with stores.open_copy(admin_template, tmp_path / "admin") as opened:
        yield opened
