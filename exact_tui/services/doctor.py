"""`exact-tui doctor`: what this installation looks like, and what is wrong with it."""

from __future__ import annotations

import locale
import os
import shutil
import stat
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from exact_tui import secrets
from exact_tui.store import migrations
from exact_tui.store.engine import Store, StoreError, open_store


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"

    @property
    def mark(self) -> str:
        return {"ok": "✔", "warn": "⚠", "fail": "✖"}[self.value]


@dataclass(frozen=True)
class Check:
    area: str
    name: str
    level: Level
    detail: str


@dataclass(frozen=True)
class DoctorInput:
    """Plain values from the configuration, so this module needs no config import."""

    config_file: Path
    data_dir: Path
    state_dir: Path
    db_url: str
    secret_store: str
    secret_file: str
    keyring_timeout: float


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _path_checks(inp: DoctorInput) -> list[Check]:
    checks = [
        Check(
            "paths",
            "config file",
            Level.OK,
            f"{inp.config_file}" + ("" if inp.config_file.exists() else " (absent: defaults)"),
        )
    ]
    for name, path in (("data dir", inp.data_dir), ("state dir", inp.state_dir)):
        if not path.exists():
            checks.append(Check("paths", name, Level.OK, f"{path} (created on first use)"))
            continue
        mode = _mode(path)
        level = Level.OK if mode & 0o077 == 0 else Level.WARN
        advice = "" if level is Level.OK else f"; others can read it: chmod 700 {path}"
        checks.append(Check("paths", name, level, f"{path} mode {mode:04o}{advice}"))
    return checks


def _store_checks(inp: DoctorInput) -> list[Check]:
    checks: list[Check] = []
    try:
        store: Store = open_store(inp.db_url, upgrade=False)
    except StoreError as exc:
        return [Check("database", "schema", Level.FAIL, str(exc))]
    except Exception as exc:  # a driver error names the real cause; show it
        return [Check("database", "open", Level.FAIL, f"{inp.db_url}: {exc}")]
    try:
        info = store.schema()
        checks.append(Check("database", "url", Level.OK, store.url))
        if info.current == info.head:
            checks.append(Check("database", "schema", Level.OK, f"revision {info.current} (head)"))
        else:
            checks.append(
                Check(
                    "database",
                    "schema",
                    Level.WARN,
                    f"revision {info.current or 'none'}, head {info.head}: "
                    "upgraded the next time exact-tui opens it",
                )
            )
        path = store.sqlite_path
        if path is not None:
            for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                if not candidate.exists():
                    continue
                mode = _mode(candidate)
                level = Level.OK if mode & 0o077 == 0 else Level.FAIL
                advice = "" if level is Level.OK else f"; fix with chmod 600 {candidate}"
                checks.append(Check("database", candidate.name, level, f"mode {mode:04o}{advice}"))
    finally:
        store.dispose()
    return checks


def _secret_checks(inp: DoctorInput) -> list[Check]:
    checks: list[Check] = []
    backend, usable, why = secrets.keyring_backend(inp.keyring_timeout)
    checks.append(
        Check(
            "secrets",
            "keyring",
            Level.OK if usable else Level.WARN,
            backend if usable else f"{backend}: {why}",
        )
    )
    env_key = bool(os.environ.get(secrets.ENV_SECRET_KEY))
    checks.append(
        Check(
            "secrets",
            "environment key",
            Level.OK,
            f"{secrets.ENV_SECRET_KEY} is {'set (value hidden)' if env_key else 'not set'}",
        )
    )
    checks.append(Check("secrets", "configured store", Level.OK, inp.secret_store))
    return checks


def _terminal_checks() -> list[Check]:
    term = os.environ.get("TERM", "")
    colorterm = os.environ.get("COLORTERM", "")
    size = shutil.get_terminal_size(fallback=(0, 0))
    encoding = (sys.stdout.encoding or locale.getpreferredencoding(False)).lower()
    checks = [
        Check("terminal", "TERM", Level.OK if term else Level.WARN, term or "not set"),
        Check("terminal", "colour", Level.OK, _colour_support(term, colorterm)),
        Check(
            "terminal",
            "size",
            Level.OK if size.columns >= 80 and size.lines >= 24 else Level.WARN,
            f"{size.columns}×{size.lines}"
            + ("" if size.columns >= 80 else " (the console needs 80×24)"),
        ),
        Check(
            "terminal",
            "encoding",
            Level.OK if "utf" in encoding else Level.WARN,
            encoding + ("" if "utf" in encoding else ": status marks need a UTF-8 locale"),
        ),
    ]
    return checks


def _colour_support(term: str, colorterm: str) -> str:
    if os.environ.get("NO_COLOR"):
        return "NO_COLOR is set: no colour"
    if colorterm in ("truecolor", "24bit"):
        return "truecolor"
    if "256color" in term:
        return "256 colours (use --ansi to follow the terminal's own palette)"
    if term in ("", "dumb"):
        return "none"
    return "16 colours (use --ansi)"


def run_checks(inp: DoctorInput) -> list[Check]:
    return [
        *_path_checks(inp),
        *_store_checks(inp),
        *_secret_checks(inp),
        *_terminal_checks(),
        Check("version", "migrations", Level.OK, f"head {migrations.head_revision()}"),
    ]
