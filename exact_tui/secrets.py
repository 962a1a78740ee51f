"""Secrets: values that print masked, and a logging filter that redacts them everywhere."""

from __future__ import annotations

import logging
import re
import threading
from typing import Final

MASK: Final = "••••"


class Secret:
    """A secret value that never shows itself in str(), repr() or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


_known: set[str] = set()
_known_lock = threading.Lock()

# Shapes that are secret whatever their value: bearer headers, OAuth form and JSON fields,
# and codes or tokens in query strings.
_PATTERNS = [
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(bearer\s+)?[^\s\"',;]+"),
    re.compile(
        r"(?i)([\"']?(?:access_token|refresh_token|client_secret|code|password|secret_key)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]+"
    ),
    re.compile(r"(?i)([?&](?:code|access_token|refresh_token|client_secret|state)=)[^&\s\"']+"),
]


def register_secret(value: str) -> None:
    """Remember a secret value so `redact()` removes it wherever it turns up."""
    if len(value) >= 8:
        with _known_lock:
            _known.add(value)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}{MASK}", text)
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites every record's message with secrets masked (install on handlers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


# ---------------------------------------------------------------- where secrets come from

ENV_SECRET_KEY = "EXACT_TUI_SECRET_KEY"  # noqa: S105 - a variable name
ENV_CLIENT_SECRET = "EXACT_TUI_CLIENT_SECRET"  # noqa: S105 - a variable name
KEYRING_SERVICE = "exact-tui"


class SecretStoreError(Exception):
    """No usable place for secrets; the message says exactly what to set."""


def keyring_backend(timeout: float) -> tuple[str, bool, str]:
    """The OS keyring backend, whether it is one we accept, and why not if not.

    Only backends keyring itself recommends (priority ≥ 1) count: the fail and null backends and
    plaintext files (keyrings.alt) are refused. Every keyring call runs under `timeout`, because a
    Secret Service without a session bus can hang.
    """
    result: list[tuple[str, bool, str]] = []

    def probe() -> None:
        try:
            import keyring
            from keyring.backends import fail

            backend = keyring.get_keyring()
            name = f"{type(backend).__module__}.{type(backend).__name__}"
            priority = float(getattr(backend, "priority", 0))
            if isinstance(backend, fail.Keyring) or priority < 1 or "keyrings.alt" in name:
                result.append((name, False, "no recommended keyring backend is available"))
                return
            result.append((name, True, ""))
        except Exception as exc:  # keyring backends raise many kinds of errors
            result.append(("unknown", False, f"the keyring could not be read: {exc}"))

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    if not result:
        return ("unknown", False, f"the keyring did not answer within {timeout:g} s")
    return result[0]
