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

from sqlmodel import select

from exact_tui import secret_store
from exact_tui.store import migrations
from exact_tui.store.engine import Store, StoreError, open_store
from exact_tui.store.failures import describe_store, sqlite_file
from exact_tui.store.models import OAuthToken


class Level(StrEnum):
    OK = "ok"
    #: A fact, neither good nor bad (an optional variable that is not set).
    INFO = "info"
    WARN = "warn"
    FAIL = "fail"

    @property
    def mark(self) -> str:
        return {"ok": "✔", "info": "·", "warn": "⚠", "fail": "✖"}[self.value]


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
    #: Why the configuration was refused (then the checks ran on the defaults), or None.
    config_problem: str | None = None
    log_file: Path | None = None


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _path_checks(inp: DoctorInput) -> list[Check]:
    checks = [_config_check(inp)]
    for name, path in (("data dir", inp.data_dir), ("state dir", inp.state_dir)):
        if not path.exists():
            checks.append(Check("paths", name, Level.OK, f"{path} (created on first use)"))
            continue
        if not path.is_dir():
            checks.append(Check("paths", name, Level.FAIL, f"{path} is not a folder"))
            continue
        if _read_only_file_system(path):
            checks.append(
                Check(
                    "paths",
                    name,
                    Level.FAIL,
                    f"{path} is on a read-only file system: exact-tui writes there",
                )
            )
            continue
        mode = _mode(path)
        level = Level.OK if mode & 0o077 == 0 else Level.WARN
        advice = "" if level is Level.OK else f"; others can read it: chmod 700 {path}"
        checks.append(Check("paths", name, level, f"{path} mode {mode:04o}{advice}"))
    if inp.log_file is not None:
        checks.append(_log_check(inp.log_file))
    return checks


def _config_check(inp: DoctorInput) -> Check:
    path = inp.config_file
    if inp.config_problem is not None:
        return Check(
            "paths",
            "config file",
            Level.FAIL,
            f"refused, so every other command stops (the checks below use the defaults): "
            f"{inp.config_problem}",
        )
    if not path.exists():
        return Check("paths", "config file", Level.OK, f"{path} (absent: defaults)")
    mode = _mode(path)
    return Check(
        "paths", "config file", Level.OK, f"{path} mode {mode:04o}, only you can change it"
    )


def _log_check(path: Path) -> Check:
    """Whether the log file can be appended to, without creating it."""
    existing = path if path.exists() else next((p for p in path.parents if p.exists()), None)
    if existing is None:
        return Check("paths", "log file", Level.WARN, f"{path}: no part of its path exists")
    if existing.is_dir() and existing == path:
        return Check("paths", "log file", Level.FAIL, f"{path} is a folder, not a file")
    if _read_only_file_system(existing) or not os.access(existing, os.W_OK):
        return Check(
            "paths",
            "log file",
            Level.FAIL,
            f"{path} cannot be written: the worker and connect refuse to start; set [log] file "
            "to a writable place",
        )
    return Check("paths", "log file", Level.OK, str(path))


def _read_only_file_system(path: Path) -> bool:
    return bool(os.statvfs(path).f_flag & os.ST_RDONLY)


def _store_checks(inp: DoctorInput) -> list[Check]:
    checks: list[Check] = []
    path = sqlite_file(inp.db_url)
    if path is not None and not path.exists() and not path.is_symlink():
        # Looking must not create it: the first command that needs the store does.
        return [Check("database", "store", Level.OK, f"{path} (created on first use)")]
    try:
        store: Store = open_store(inp.db_url, upgrade=False)
    except StoreError as exc:
        return [Check("database", "schema", Level.FAIL, str(exc))]
    except Exception as exc:  # a driver error names the real cause; show it
        return [Check("database", "open", Level.FAIL, f"{describe_store(inp.db_url)}: {exc}")]
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
    backend, usable, why = secret_store.keyring_backend(inp.keyring_timeout)
    checks.append(
        Check(
            "secrets",
            "keyring",
            Level.OK if usable else Level.WARN,
            backend if usable else f"{backend}: {why}",
        )
    )
    stored_key_id = _stored_key_id(inp.db_url)
    # Without stored tokens a missing secret store only matters at the next connect.
    missing = Level.FAIL if stored_key_id else Level.WARN
    checks.append(_env_key_check(inp.secret_store, missing))
    checks.append(Check("secrets", "configured store", Level.OK, inp.secret_store))
    try:
        store = secret_store.open_secret_store(
            inp.secret_store, file=inp.secret_file, keyring_timeout=inp.keyring_timeout
        )
    except secret_store.SecretStoreError as exc:
        checks.append(Check("secrets", "store in use", missing, f"none usable: {exc}"))
        return checks
    checks.append(Check("secrets", "store in use", Level.OK, store.describe()))
    try:
        key_id = secret_store.key_id(store.data_key(create=False))
    except secret_store.SecretStoreError as exc:
        checks.append(Check("secrets", "data key", missing, str(exc)))
    else:
        checks.append(Check("secrets", "data key", Level.OK, f"present (key id {key_id})"))
        if stored_key_id and stored_key_id != key_id:
            checks.append(
                Check(
                    "secrets",
                    "stored tokens",
                    Level.FAIL,
                    f"encrypted with key id {stored_key_id}, not the key in use: restore that "
                    "key, or run `exact-tui connect` again",
                )
            )
        elif stored_key_id:
            checks.append(Check("secrets", "stored tokens", Level.OK, "readable with this key"))
    try:
        secret = secret_store.client_secret(store)
    except secret_store.SecretStoreError as exc:
        checks.append(Check("secrets", "client secret", missing, str(exc)))
    else:
        checks.append(
            Check(
                "secrets",
                "client secret",
                Level.OK if secret else missing,
                "set (value hidden)" if secret else secret_store.MISSING_CLIENT_SECRET,
            )
        )
    return checks


def _env_key_check(configured: str, missing: Level) -> Check:
    """EXACT_TUI_SECRET_KEY: a fact when it is not needed, a problem when it is (secrets.store
    = env) or when it is set but not a key."""
    name = secret_store.ENV_SECRET_KEY
    value = os.environ.get(name)
    if not value:
        if configured == "env":
            return Check(
                "secrets",
                "environment key",
                missing,
                f"{name} is not set, and secrets.store is env: set it to a key made with "
                f"{secret_store.GENERATE_KEY_COMMAND}",
            )
        return Check("secrets", "environment key", Level.INFO, f"{name} is not set")
    try:
        secret_store.decode_key(value, name)
    except secret_store.SecretStoreError as exc:
        return Check("secrets", "environment key", Level.FAIL, str(exc))
    return Check("secrets", "environment key", Level.OK, f"{name} is set (value hidden)")


def _stored_key_id(db_url: str) -> str | None:
    """The key id the stored tokens were encrypted with, if there are any."""
    path = sqlite_file(db_url)
    if path is not None and not path.exists():
        return None
    try:
        store = open_store(db_url, upgrade=False)
    except Exception:  # the database checks report why it cannot be opened
        return None
    try:
        # One data key seals every tenant's tokens: any tenant's row tells which.
        with store.all_tenants().read() as session:
            token = session.exec(select(OAuthToken)).first()
            return token.key_id if token is not None else None
    except Exception:  # an old schema without the table: nothing stored
        return None
    finally:
        store.dispose()


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
