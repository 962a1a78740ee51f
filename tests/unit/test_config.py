from datetime import time
from pathlib import Path

import pytest

from exact_tui.config import ConfigError, load_settings, resolve_db_url


def test_defaults_without_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "absent.toml", environ={})
    assert settings.customers.on_ambiguous == "create"
    assert settings.export.error_budget == 8
    assert settings.db_url().startswith("sqlite:///")
    assert settings.db_url().endswith("exact-tui.db")


def test_file_then_environment_override(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[exact]\nregion = "be"\nclient_id = "abc"\n[sync]\ndaily_at = "04:30"\n'
        '[customers]\non_ambiguous = "hold"\n'
    )
    settings = load_settings(
        path, environ={"EXACT_TUI_EXACT_REGION": "de", "EXACT_TUI_DB_URL": "/srv/x.db"}
    )
    assert settings.exact.region == "de"
    assert settings.exact.client_id == "abc"
    assert settings.sync.daily_at == time(4, 30)
    assert settings.customers.on_ambiguous == "hold"
    assert settings.db_url() == "sqlite:////srv/x.db"


def test_unknown_key_in_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[customers]\non_ambigous = "hold"\n')
    with pytest.raises(ConfigError, match=r"config.toml: customers.on_ambigous: Extra inputs"):
        load_settings(path, environ={})


def test_bad_value_in_environment_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"environment.*customers.on_ambiguous"):
        load_settings(tmp_path / "x.toml", environ={"EXACT_TUI_CUSTOMERS_ON_AMBIGUOUS": "merge"})


def test_unknown_environment_section(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="EXACT_TUI_COLOUR_MODE: unknown setting"):
        load_settings(tmp_path / "x.toml", environ={"EXACT_TUI_COLOUR_MODE": "x"})


def test_secrets_in_environment_are_not_settings(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path / "x.toml",
        environ={"EXACT_TUI_SECRET_KEY": "k" * 44, "EXACT_TUI_CLIENT_SECRET": "s"},
    )
    assert settings.secrets.store == "auto"


def test_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[exact\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, environ={})


def test_bad_time_zone(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[sync]\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        load_settings(path, environ={})


def test_resolve_db_url(tmp_path: Path) -> None:
    assert resolve_db_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert resolve_db_url(str(tmp_path / "a.db")) == f"sqlite:///{tmp_path / 'a.db'}"
