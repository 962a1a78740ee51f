"""Where the data key and the client secret come from, and the refusals that say what to set."""

from __future__ import annotations

import base64
import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from exact_tui import secret_store
from exact_tui.secret_store import (
    EnvSecretStore,
    FileSecretStore,
    KeyringSecretStore,
    Secret,
    SecretStoreError,
    client_secret,
    open_secret_store,
)

KEY = base64.b64encode(bytes(range(32))).decode()


class MemoryKeyring(KeyringBackend):
    """A recommended (priority 1) backend that keeps everything in this process."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.values.pop((service, username), None)


class HangingKeyring(MemoryKeyring):
    """A Secret Service without a session bus: every call hangs."""

    release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait(5)
        return None


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_nothing_usable_says_exactly_what_to_set() -> None:
    with pytest.raises(SecretStoreError) as caught:
        open_secret_store("auto", environ={})
    message = str(caught.value)
    assert "EXACT_TUI_SECRET_KEY" in message
    assert "base64.b64encode(secrets.token_bytes(32))" in message
    assert 'secrets.store = "file"' in message
    assert "exact-tui-secret-key" in message  # the systemd credential
    with pytest.raises(SecretStoreError, match=r"secrets\.store is keyring"):
        open_secret_store("keyring", environ={})


def test_environment_key_and_systemd_credential(tmp_path: Path) -> None:
    store = open_secret_store("auto", environ={"EXACT_TUI_SECRET_KEY": KEY})
    assert isinstance(store, EnvSecretStore)
    assert store.data_key() == bytes(range(32))
    assert store.describe() == "environment (EXACT_TUI_SECRET_KEY)"
    (tmp_path / "exact-tui-secret-key").write_text(KEY + "\n")
    (tmp_path / "exact-tui-client-secret").write_text("from-credential\n")
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    credential = open_secret_store("auto", environ=env)
    assert credential.data_key() == bytes(range(32))
    assert "systemd credential" in credential.describe()
    found = client_secret(credential, env)
    assert found is not None and found.reveal() == "from-credential"
    with pytest.raises(SecretStoreError, match="not a 32-byte key in base64"):
        EnvSecretStore({"EXACT_TUI_SECRET_KEY": "c2hvcnQ="}).data_key()
    with pytest.raises(SecretStoreError, match="is not set"):
        EnvSecretStore({}).data_key(create=True)


@pytest.mark.parametrize(
    "encode",
    [
        base64.b64encode,
        base64.urlsafe_b64encode,  # Fernet's form
        lambda key: base64.b64encode(key).rstrip(b"="),
        lambda key: base64.urlsafe_b64encode(key).rstrip(b"="),
    ],
)
def test_a_key_in_either_base64_alphabet_is_taken(encode: Callable[[bytes], bytes]) -> None:
    # 0xfb 0xff make '+/' in the standard alphabet and '-_' in the URL-safe one.
    key = bytes([0xFB, 0xFF] * 16)
    text = encode(key).decode()
    assert EnvSecretStore({"EXACT_TUI_SECRET_KEY": text}).data_key() == key


@pytest.mark.parametrize(
    "text",
    [
        base64.b64encode(bytes([0xFB, 0xFF] * 16)).decode().replace("/", "_", 1),  # mixed
        base64.b64encode(bytes(31)).decode(),  # too short
        base64.b64encode(bytes(32)).decode() + "==",  # three padding signs
        "é" * 44,
    ],
)
def test_a_key_in_no_base64_alphabet_is_refused_naming_both(text: str) -> None:
    with pytest.raises(SecretStoreError, match=r"standard alphabet with \+ and /.*URL-safe"):
        EnvSecretStore({"EXACT_TUI_SECRET_KEY": text}).data_key()


def test_env_client_secret_wins_and_prints_masked() -> None:
    found = client_secret(EnvSecretStore({}), {"EXACT_TUI_CLIENT_SECRET": "s3cret-value"})
    assert found is not None and found.reveal() == "s3cret-value"
    assert "s3cret-value" not in f"{found} {found!r}"
    assert client_secret(EnvSecretStore({}), {}) is None


def test_file_store_is_private_and_refuses_loose_modes(tmp_path: Path) -> None:
    path = tmp_path / "new-dir" / "secrets.json"
    store = open_secret_store("file", file=str(path), environ={})
    assert isinstance(store, FileSecretStore)
    with pytest.raises(SecretStoreError, match="holds no data key"):
        store.data_key()
    key = store.data_key(create=True)
    assert len(key) == 32 and store.data_key() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert store.save_client_secret(Secret("file-secret-1"))
    stored = store.stored_client_secret()
    assert stored is not None and stored.reveal() == "file-secret-1"
    assert store.data_key() == key  # saving the secret kept the key
    os.chmod(path, 0o644)
    with pytest.raises(SecretStoreError, match="chmod 600"):
        store.data_key()


def test_keyring_store_makes_the_key_once(memory_keyring: MemoryKeyring) -> None:
    store = open_secret_store("auto", environ={})
    assert isinstance(store, KeyringSecretStore)
    assert "MemoryKeyring" in store.describe()
    with pytest.raises(SecretStoreError, match="has no data key"):
        store.data_key()
    key = store.data_key(create=True)
    assert store.data_key() == key
    assert base64.b64decode(memory_keyring.values[("exact-tui", "data-key")]) == key
    store.save_client_secret(Secret("kr-secret-1"))
    assert memory_keyring.values[("exact-tui", "client-secret")] == "kr-secret-1"
    # An environment key is explicit and wins over the keyring in auto.
    assert isinstance(
        open_secret_store("auto", environ={"EXACT_TUI_SECRET_KEY": KEY}), EnvSecretStore
    )
    assert isinstance(
        open_secret_store("keyring", environ={"EXACT_TUI_SECRET_KEY": KEY}), KeyringSecretStore
    )


def test_keyring_calls_give_up_after_the_timeout() -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(HangingKeyring())
    try:
        store = KeyringSecretStore("HangingKeyring", timeout=0.2)
        with pytest.raises(SecretStoreError, match=r"did not answer within 0\.2 s"):
            store.data_key()
    finally:
        HangingKeyring.release.set()
        keyring.set_keyring(previous)


def test_the_null_and_fail_backends_are_refused() -> None:
    name, usable, why = secret_store.keyring_backend(2.0)
    assert not usable and "fail" in name and "recommended" in why
