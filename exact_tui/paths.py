"""Where exact-tui keeps its files (platformdirs), and the permissions they get."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "exact-tui"


def config_dir() -> Path:
    override = os.environ.get("EXACT_TUI_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    override = os.environ.get("EXACT_TUI_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def state_dir() -> Path:
    """Logs and lock files; kept apart from the data so a wiped log never touches the store."""
    override = os.environ.get("EXACT_TUI_STATE_DIR")
    return Path(override) if override else Path(platformdirs.user_state_dir(APP_NAME))


def config_file() -> Path:
    return config_dir() / "config.toml"


def default_db_path() -> Path:
    return data_dir() / "exact-tui.db"
