"""Secrets: values that print masked, a logging filter that redacts them everywhere, where the
data key and the client secret come from, and the encryption of the tokens in the store."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import re
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from exact_tui import paths

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


# The most recent secret values, oldest dropped first: tokens rotate every ten minutes, so a
# long-running worker must not remember every token it ever saw.
_KNOWN_LIMIT: Final = 512
_known: OrderedDict[str, None] = OrderedDict()
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
            _known[value] = None
            _known.move_to_end(value)
            while len(_known) > _KNOWN_LIMIT:
                _known.popitem(last=False)


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


KEYRING_DATA_KEY = "data-key"
KEYRING_CLIENT_SECRET = "client-secret"  # noqa: S105 - an entry name
#: systemd credentials (LoadCredential= / SetCredentialEncrypted=), read from
#: $CREDENTIALS_DIRECTORY: the same values as the two environment variables.
CREDENTIAL_SECRET_KEY = "exact-tui-secret-key"  # noqa: S105 - a file name
CREDENTIAL_CLIENT_SECRET = "exact-tui-client-secret"  # noqa: S105 - a file name
GENERATE_KEY_COMMAND: Final = (
    'python3 -c "import secrets,base64;print(base64.b64encode(secrets.token_bytes(32)).decode())"'
)
KEY_BYTES: Final = 32

T = TypeVar("T")


class KeyMismatch(SecretStoreError):
    """The tokens in the store were encrypted with another data key than the one in use."""


def _with_timeout(call: Callable[[], T], timeout: float, what: str) -> T:
    """Run a keyring call in a thread and give up after `timeout`: a Secret Service without a
    session bus (the usual SSH login) can hang for minutes."""
    result: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(call())
        except Exception as exc:  # keyring backends raise many kinds of errors
            error.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    if error:
        raise SecretStoreError(f"the keyring failed to {what}: {error[0]}")
    if not result:
        raise SecretStoreError(f"the keyring did not answer within {timeout:g} s ({what})")
    return result[0]


_STANDARD_ALPHABET = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_URL_SAFE_ALPHABET = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def decode_key(text: str, source: str) -> bytes:
    """A data key given as base64 text, in the standard alphabet (`+` `/`, as `base64` and
    `openssl rand -base64 32` print) or the URL-safe one (`-` `_`, as Fernet keys are), with or
    without the `=` padding; the error names the source and how to make a key."""
    compact = text.strip()
    padded = compact.rstrip("=") + "=" * (-len(compact.rstrip("=")) % 4)
    key = b""
    try:
        if _STANDARD_ALPHABET.fullmatch(compact):
            key = base64.b64decode(padded, validate=True)
        elif _URL_SAFE_ALPHABET.fullmatch(compact):
            key = base64.urlsafe_b64decode(padded)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise SecretStoreError(
            f"{source} is not a {KEY_BYTES}-byte key in base64 (the standard alphabet with + and "
            f"/, or the URL-safe one with - and _); make one with: {GENERATE_KEY_COMMAND}"
        )
    return key


def _credential(environ: Mapping[str, str], name: str) -> str | None:
    directory = environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None
    path = Path(directory) / name
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


class SecretStore:
    """Where the data key (and, when the store can hold one, the client secret) live."""

    kind = ""

    def describe(self) -> str:
        raise NotImplementedError

    def data_key(self, *, create: bool = False) -> bytes:
        """The 32-byte key that encrypts the tokens; `create` makes one where the store can
        hold it (keyring, file) and none exists yet."""
        raise NotImplementedError

    def stored_client_secret(self) -> Secret | None:
        return None

    def save_client_secret(self, value: Secret) -> bool:
        """Keep the client secret for the worker; False when this store cannot hold one."""
        return False


class EnvSecretStore(SecretStore):
    """EXACT_TUI_SECRET_KEY, or a systemd credential of the same value: nothing is written."""

    kind = "env"

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def describe(self) -> str:
        if self._environ.get(ENV_SECRET_KEY):
            return f"environment ({ENV_SECRET_KEY})"
        if _credential(self._environ, CREDENTIAL_SECRET_KEY):
            return f"systemd credential ({CREDENTIAL_SECRET_KEY})"
        return f"environment ({ENV_SECRET_KEY} not set)"

    def data_key(self, *, create: bool = False) -> bytes:
        value = self._environ.get(ENV_SECRET_KEY)
        if value:
            return decode_key(value, ENV_SECRET_KEY)
        credential = _credential(self._environ, CREDENTIAL_SECRET_KEY)
        if credential:
            return decode_key(credential, f"the credential {CREDENTIAL_SECRET_KEY}")
        raise SecretStoreError(
            f"{ENV_SECRET_KEY} is not set (secrets.store is env): set it to a key made with "
            f"{GENERATE_KEY_COMMAND}"
        )

    def stored_client_secret(self) -> Secret | None:
        """This store's environment holds the client secret too (it may not be the process's
        own environment, as in the demo)."""
        value = self._environ.get(ENV_CLIENT_SECRET) or _credential(
            self._environ, CREDENTIAL_CLIENT_SECRET
        )
        return Secret(value) if value else None


class KeyringSecretStore(SecretStore):
    """The OS keyring (a recommended backend only), every call under a timeout."""

    kind = "keyring"

    def __init__(self, backend: str, timeout: float) -> None:
        self._backend = backend
        self._timeout = timeout

    def describe(self) -> str:
        return f"keyring ({self._backend})"

    def _get(self, name: str) -> str | None:
        import keyring

        value = _with_timeout(
            lambda: keyring.get_password(KEYRING_SERVICE, name), self._timeout, f"read {name}"
        )
        return value if isinstance(value, str) and value else None

    def _set(self, name: str, value: str) -> None:
        import keyring

        _with_timeout(
            lambda: keyring.set_password(KEYRING_SERVICE, name, value),
            self._timeout,
            f"store {name}",
        )

    def data_key(self, *, create: bool = False) -> bytes:
        stored = self._get(KEYRING_DATA_KEY)
        if stored:
            return decode_key(stored, f"the keyring entry {KEYRING_SERVICE}/{KEYRING_DATA_KEY}")
        if not create:
            raise SecretStoreError(
                f"the keyring has no data key ({KEYRING_SERVICE}/{KEYRING_DATA_KEY}): "
                "run `exact-tui connect` on this machine, or set "
                f"{ENV_SECRET_KEY} to the key the tokens were stored with"
            )
        key = os.urandom(KEY_BYTES)
        self._set(KEYRING_DATA_KEY, base64.b64encode(key).decode())
        return key

    def stored_client_secret(self) -> Secret | None:
        value = self._get(KEYRING_CLIENT_SECRET)
        return Secret(value) if value else None

    def save_client_secret(self, value: Secret) -> bool:
        self._set(KEYRING_CLIENT_SECRET, value.reveal())
        return True


class FileSecretStore(SecretStore):
    """A JSON file the user chose in config (`secrets.store = "file"`), 0600, in a 0700
    directory; refused when others can read it."""

    kind = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def describe(self) -> str:
        return f"file {self.path}"

    def _read(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o077:
            raise SecretStoreError(
                f"the secrets file {self.path} can be read by others (mode {mode:04o}): "
                f"chmod 600 {self.path}"
            )
        try:
            data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError) as exc:
            raise SecretStoreError(f"the secrets file {self.path} cannot be read: {exc}") from None
        if not isinstance(data, dict):
            raise SecretStoreError(f"the secrets file {self.path} is not a JSON object")
        return {str(k): str(v) for k, v in data.items()}

    def _write(self, data: dict[str, str]) -> None:
        directory = self.path.parent
        if not directory.exists():
            directory.mkdir(mode=0o700, parents=True)
        partial = self.path.with_name(self.path.name + ".new")
        fd = os.open(partial, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, self.path)

    def data_key(self, *, create: bool = False) -> bytes:
        data = self._read()
        if data.get(KEYRING_DATA_KEY):
            return decode_key(data[KEYRING_DATA_KEY], f"the data key in {self.path}")
        if not create:
            raise SecretStoreError(
                f"the secrets file {self.path} holds no data key: run `exact-tui connect`"
            )
        key = os.urandom(KEY_BYTES)
        data[KEYRING_DATA_KEY] = base64.b64encode(key).decode()
        self._write(data)
        return key

    def stored_client_secret(self) -> Secret | None:
        value = self._read().get(KEYRING_CLIENT_SECRET)
        return Secret(value) if value else None

    def save_client_secret(self, value: Secret) -> bool:
        data = self._read()
        data[KEYRING_CLIENT_SECRET] = value.reveal()
        self._write(data)
        return True


def default_secret_file() -> Path:
    return paths.data_dir() / "secrets.json"


def open_secret_store(
    kind: str,
    *,
    file: str = "",
    keyring_timeout: float = 5.0,
    environ: Mapping[str, str] | None = None,
) -> SecretStore:
    """The store `secrets.store` names; `auto` takes the environment key when one is set, else
    a recommended keyring, and otherwise refuses, saying what to set. Never plaintext unasked."""
    env = os.environ if environ is None else environ
    if kind == "file":
        return FileSecretStore(Path(file).expanduser() if file else default_secret_file())
    env_store = EnvSecretStore(env)
    if kind == "env":
        return env_store
    has_env_key = bool(env.get(ENV_SECRET_KEY) or _credential(env, CREDENTIAL_SECRET_KEY))
    if kind == "auto" and has_env_key:
        return env_store
    backend, usable, why = keyring_backend(keyring_timeout)
    if usable:
        return KeyringSecretStore(backend, keyring_timeout)
    if kind == "keyring":
        raise SecretStoreError(
            f"secrets.store is keyring but {why} ({backend}); install and unlock a keyring, or "
            f"set secrets.store to env and {ENV_SECRET_KEY}"
        )
    raise SecretStoreError(
        f"nowhere safe to keep the token key: {why} ({backend}) and {ENV_SECRET_KEY} is not "
        f"set. Set {ENV_SECRET_KEY} to a new key and keep it, as the tokens cannot be read "
        f'without it (export {ENV_SECRET_KEY}="$({GENERATE_KEY_COMMAND})"); or, under '
        f"systemd, pass that key as the credential {CREDENTIAL_SECRET_KEY}; or choose the file "
        f'store: secrets.store = "file" in {paths.config_file()}'
    )


def client_secret(store: SecretStore, environ: Mapping[str, str] | None = None) -> Secret | None:
    """The app's client secret: EXACT_TUI_CLIENT_SECRET, its systemd credential, or the store."""
    env = os.environ if environ is None else environ
    value = env.get(ENV_CLIENT_SECRET) or _credential(env, CREDENTIAL_CLIENT_SECRET)
    if value:
        return Secret(value)
    return store.stored_client_secret()


MISSING_CLIENT_SECRET: Final = (
    f"no client secret: set {ENV_CLIENT_SECRET} to the secret of the app registered in Exact's "
    f"App Center (or pass it as the systemd credential {CREDENTIAL_CLIENT_SECRET})"
)


# ---------------------------------------------------------------- token encryption

_BLOB_FORMAT = b"\x01"
_NONCE_BYTES = 12


def key_id(key: bytes) -> str:
    """Names a key without revealing it, so a changed key is told apart from a damaged blob."""
    return hashlib.sha256(b"exact-tui data key id\x00" + key).hexdigest()[:16]


class TokenCipher:
    """AES-GCM for the token blob: a fresh nonce per encryption, and the connection and version
    bound in as associated data, so a blob copied to another row or version does not decrypt."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise SecretStoreError(f"the data key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(key)
        self.key_id = key_id(key)

    def __repr__(self) -> str:
        return f"TokenCipher(key_id={self.key_id})"

    @staticmethod
    def _aad(connection_id: int, version: int) -> bytes:
        return f"exact-tui oauth_token connection={connection_id} version={version}".encode()

    def encrypt(self, payload: Mapping[str, str], *, connection_id: int, version: int) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        plain = json.dumps(dict(payload)).encode()
        sealed = self._aead.encrypt(nonce, plain, self._aad(connection_id, version))
        return _BLOB_FORMAT + nonce + sealed

    def decrypt(
        self, blob: bytes, *, stored_key_id: str, connection_id: int, version: int
    ) -> dict[str, str]:
        if stored_key_id != self.key_id:
            raise KeyMismatch(
                f"the tokens were stored with another data key (key id {stored_key_id}, the key "
                f"in use is {self.key_id}): restore that key, or run `exact-tui connect` again"
            )
        if not blob.startswith(_BLOB_FORMAT) or len(blob) < 1 + _NONCE_BYTES + 16:
            raise SecretStoreError("the stored tokens are damaged: run `exact-tui connect` again")
        nonce = blob[1 : 1 + _NONCE_BYTES]
        try:
            plain = self._aead.decrypt(
                nonce, blob[1 + _NONCE_BYTES :], self._aad(connection_id, version)
            )
        except InvalidTag:
            raise SecretStoreError(
                "the stored tokens do not decrypt (damaged, or moved between rows): "
                "run `exact-tui connect` again"
            ) from None
        data = json.loads(plain)
        if not isinstance(data, dict):
            raise SecretStoreError("the stored tokens are damaged: run `exact-tui connect` again")
        return {str(k): str(v) for k, v in data.items()}
