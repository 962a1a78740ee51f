"""Settings: the TOML file in the config dir, overridden by EXACT_TUI_* environment variables.

Nothing here runs at import time; `load_settings()` is called by the CLI (and the tests).
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from exact_tui import paths

ENV_PREFIX = "EXACT_TUI_"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file or variable and the key."""


class _Section(BaseModel):
    # No infinities or NaN anywhere: every number a setting holds is a real amount of something.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class StoreSettings(_Section):
    #: SQLAlchemy URL or a plain path to a SQLite file; empty = the default file in the data dir.
    url: str = ""


class ExactSettings(_Section):
    region: Literal["nl", "be", "de", "fr", "uk", "es", "us", "sandbox"] = "nl"
    #: Overrides the region's host (the sandbox, or a proxy in front of Exact).
    base_url: str = ""
    client_id: str = ""
    #: The https address registered for the app in Exact's App Center (no default works there:
    #: docs/connecting.md).
    redirect_uri: str = ""
    #: Where `connect --listen` waits on 127.0.0.1 for a redirect forwarded from that address.
    listen_port: int = Field(default=8765, ge=1, le=65535)
    timeout_seconds: float = Field(default=30.0, ge=1, le=600)


class SecretSettings(_Section):
    #: auto: keyring when a recommended backend works, else the environment; never plaintext.
    store: Literal["auto", "keyring", "env", "file"] = "auto"
    #: The file store, used only when `store = "file"` is chosen explicitly.
    file: str = ""
    keyring_timeout_seconds: float = Field(default=5.0, gt=0, le=60)


class SyncSettings(_Section):
    daily_at: time = time(3, 0)
    timezone: str = "Europe/Amsterdam"
    #: Each tenant's daily import starts at `daily_at` plus its own offset within this many
    #: hours (a stable hash of its code), so a fleet is not imported all at once.
    night_window_hours: float = Field(default=3.0, ge=0, le=23)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name like Europe/Amsterdam)"
            ) from None
        return value


class ExportSettings(_Section):
    """The export's numbers (docs/export.md, Settings): every one has a range, so a typo cannot
    stall the queue or hammer Exact."""

    #: Stop calling an endpoint after this many 4xx in the last hour (Exact blocks after 10).
    error_budget: int = Field(default=8, ge=1, le=10)
    backoff_base_seconds: float = Field(default=5.0, ge=0.1, le=3600)
    backoff_cap_seconds: float = Field(default=900.0, ge=1, le=86400)
    #: The first gap between lookups of a job whose answer was lost (later gaps grow).
    lookup_safety_delay_seconds: float = Field(default=30.0, ge=0.1, le=3600)
    #: No job whose answer was lost is sent again before this long after it was sent: a
    #: request Exact commits late is found by the lookups within it (docs/export.md).
    settle_horizon_seconds: float = Field(default=600.0, ge=1, le=86400)
    #: How long a claim holds without news before another worker may take the job over.
    lease_seconds: float = Field(default=600.0, ge=5, le=86400)

    @model_validator(mode="after")
    def _consistent(self) -> ExportSettings:
        if self.backoff_cap_seconds < self.backoff_base_seconds:
            raise ValueError(
                f"backoff_cap_seconds ({self.backoff_cap_seconds:g}) is below "
                f"backoff_base_seconds ({self.backoff_base_seconds:g})"
            )
        if self.settle_horizon_seconds < self.lookup_safety_delay_seconds:
            raise ValueError(
                f"settle_horizon_seconds ({self.settle_horizon_seconds:g}) is below "
                f"lookup_safety_delay_seconds ({self.lookup_safety_delay_seconds:g})"
            )
        return self


class WorkerSettings(_Section):
    """Several workers sharing one store (docs/worker.md §Several workers)."""

    #: How often a worker writes its heartbeat and renews and rebalances its divisions.
    heartbeat_seconds: float = Field(default=5.0, ge=0.5, le=300)
    #: How long a division's lease holds without renewal; a worker whose heartbeat is older
    #: than this is dead to the others, and its divisions and claims are taken over.
    lease_seconds: float = Field(default=30.0, ge=2, le=3600)

    @model_validator(mode="after")
    def _lease_outlasts_beats(self) -> WorkerSettings:
        # A lease is renewed with each heartbeat: it must survive a late one.
        if self.lease_seconds < 3 * self.heartbeat_seconds:
            raise ValueError(
                f"lease_seconds ({self.lease_seconds:g}) must be at least three times "
                f"heartbeat_seconds ({self.heartbeat_seconds:g})"
            )
        return self


class ReconcileSettings(_Section):
    """Reconciliation (docs/export.md): what Exact holds against what the store holds."""

    #: Run after each daily master-data import.
    daily: bool = True
    #: How many days back a run reads when it is not told `--since`.
    days: int = Field(default=35, ge=1, le=366)
    #: The most calls a run may spend per division (past it: incomplete, nothing called missing).
    max_calls: int = Field(default=200, ge=1, le=5000)


class CustomerSettings(_Section):
    on_ambiguous: Literal["create", "hold"] = "create"


class LogSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: Request log file; empty = `exact-tui.log` in the state dir.
    file: str = ""


class Settings(_Section):
    store: StoreSettings = StoreSettings()
    exact: ExactSettings = ExactSettings()
    secrets: SecretSettings = SecretSettings()
    sync: SyncSettings = SyncSettings()
    export: ExportSettings = ExportSettings()
    worker: WorkerSettings = WorkerSettings()
    reconcile: ReconcileSettings = ReconcileSettings()
    customers: CustomerSettings = CustomerSettings()
    log: LogSettings = LogSettings()
    #: The console's keys by action id (`log.retry = "ctrl+r"`); ids in docs/console.md.
    keys: dict[str, str] = Field(default_factory=dict)

    @field_validator("keys")
    @classmethod
    def _keys_named(cls, value: dict[str, str]) -> dict[str, str]:
        for action, keys in value.items():
            if not keys.strip():
                raise ValueError(f"{action}: no key given")
        return value

    @model_validator(mode="after")
    def _lease_outlasts_a_request(self) -> Settings:
        # A claim is renewed right before each request; it must outlast that request.
        if self.export.lease_seconds < 2 * self.exact.timeout_seconds:
            raise ValueError(
                f"export.lease_seconds ({self.export.lease_seconds:g}) must be at least twice "
                f"exact.timeout_seconds ({self.exact.timeout_seconds:g})"
            )
        return self

    def db_url(self) -> str:
        """The store's SQLAlchemy URL: a plain path becomes a SQLite URL."""
        return resolve_db_url(self.store.url)


def resolve_db_url(value: str) -> str:
    if not value:
        return f"sqlite:///{paths.default_db_path()}"
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


# Variables whose names do not follow EXACT_TUI_<SECTION>_<KEY>.
_ENV_ALIASES = {"EXACT_TUI_DB_URL": ("store", "url")}
# Variables read elsewhere (secrets, directories) that are not settings.
_ENV_NOT_SETTINGS = {
    "EXACT_TUI_SECRET_KEY",
    "EXACT_TUI_CLIENT_SECRET",
    "EXACT_TUI_CONFIG_DIR",
    "EXACT_TUI_DATA_DIR",
    "EXACT_TUI_STATE_DIR",
    "EXACT_TUI_TENANT",
}


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    sections = set(Settings.model_fields)
    overrides: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in _ENV_NOT_SETTINGS:
            continue
        if name in _ENV_ALIASES:
            section, key = _ENV_ALIASES[name]
        else:
            rest = name[len(ENV_PREFIX) :].lower()
            section = next((s for s in sections if rest.startswith(s + "_")), "")
            key = rest[len(section) + 1 :]
            if not section:
                raise ConfigError(
                    f"{name}: unknown setting (sections: {', '.join(sorted(sections))})"
                )
        overrides.setdefault(section, {})[key] = value
    return overrides


def _describe(error: ValidationError, source: str) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        problems.append(f"{source}: {where}: {item['msg']}")
    return "; ".join(problems)


def others_can_change(path: Path) -> str | None:
    """Why someone else could change `path` (a file or a folder), with the command that stops
    it; None when only its owner (or root) can. A sticky folder (like /tmp) counts as safe for
    the files in it that exist: others cannot replace those."""
    info = path.stat()
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid not in (0, os.getuid()):
        return f"it belongs to another user (uid {info.st_uid}): chown it to yourself"
    if mode & 0o022 and not (stat.S_ISDIR(info.st_mode) and mode & stat.S_ISVTX):
        who = "anyone" if mode & 0o002 else "its group"
        tight = "700" if stat.S_ISDIR(info.st_mode) else "600"
        return f"{who} can write it (mode {mode:04o}): chmod {tight} {path}"
    return None


def check_config_permissions(path: Path) -> None:
    """Refuse a config file, or the folder holding it, that others can change: the file names
    Exact's host (`exact.base_url`), which receives the tokens and the client secret."""
    for candidate, what in ((path.parent, "config folder"), (path, "config file")):
        if not candidate.exists():
            continue
        why = others_can_change(candidate)
        if why is not None:
            raise ConfigError(
                f"the {what} {candidate} can be changed by others, who could point exact-tui "
                f"at another host and receive its tokens: {why}"
            )


def load_settings(
    config_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the TOML file (if it exists) and apply the environment on top. A file others can
    change is refused (`check_config_permissions`)."""
    path = config_file or paths.config_file()
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    try:
        exists = path.exists()
        if exists and path.is_dir():
            raise ConfigError(
                f"{path} is a folder, not a config file: remove it or give --config FILE"
            )
        check_config_permissions(path)
        text = path.read_text(encoding="utf-8") if exists else ""
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if exists:
        try:
            data = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        try:
            Settings.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(_describe(exc, str(path))) from None
    overrides = _env_overrides(env)
    for section, values in overrides.items():
        merged = dict(data.get(section) or {})
        merged.update(values)
        data[section] = merged
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, "environment (EXACT_TUI_*)")) from None
