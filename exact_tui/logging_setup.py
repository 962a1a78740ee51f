"""Logging for the processes that call Exact: one file, every record redacted on its way out.

The request log (`exact_tui.requests`, one line per call) and everything else go to
`exact-tui.log` in the state dir (or `log.file`), created 0600. Our own loggers log at
`log.level`; libraries at WARNING only (httpx and httpcore print URLs and headers below that,
SQLAlchemy every statement). Every line is plain text (`PlainFormatter`): Exact's messages and
the data they quote lose their escape sequences, so `tail -f` on the log, or the journal of the
worker's stderr, shows them without a terminal acting on them.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from exact_tui import paths
from exact_tui.config import ConfigError, Settings
from exact_tui.domain.text import clean_text
from exact_tui.secret_store import RedactingFilter

_HANDLER_NAME = "exact-tui-file"
QUIET_LOGGERS = ("httpx", "httpcore", "authlib")


class PlainFormatter(logging.Formatter):
    """Log lines made plain like everything exact-tui prints (domain/text.py), line by line."""

    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(clean_text(line) for line in super().format(record).split("\n"))


def log_path(settings: Settings) -> Path:
    return (
        Path(settings.log.file).expanduser()
        if settings.log.file
        else paths.state_dir() / ("exact-tui.log")
    )


def _private_file(path: Path) -> None:
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    fd = os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
    os.close(fd)


def configure_logging(settings: Settings) -> Path:
    """Install the redacting file handler on the root logger (once per process). A log file
    that cannot be written is a `ConfigError` naming it."""
    path = log_path(settings)
    try:
        _private_file(path)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        where = "[log] file (EXACT_TUI_LOG_FILE)" if settings.log.file else "EXACT_TUI_STATE_DIR"
        raise ConfigError(
            f"the log file {path} cannot be written ({exc.strerror or exc}): make it writable, "
            f"or set {where} to a writable place"
        ) from None
    root = logging.getLogger()
    for previous in list(root.handlers):
        if previous.get_name() == _HANDLER_NAME:
            root.removeHandler(previous)
            previous.close()
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(
        PlainFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%S%z")
    )
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("exact_tui").setLevel(settings.log.level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return path
