"""Token encryption: AES-GCM with a fresh nonce, bound to its row and version."""

from __future__ import annotations

import logging
import os

import pytest

from exact_tui import secret_store
from exact_tui.secret_store import KeyMismatch, SecretStoreError, TokenCipher, key_id

PAYLOAD = {"access_token": "AAEAA-access-canary", "refresh_token": "SBX!refresh-canary"}


def test_round_trip_and_no_plaintext() -> None:
    cipher = TokenCipher(os.urandom(32))
    blob = cipher.encrypt(PAYLOAD, connection_id=1, version=3)
    assert b"canary" not in blob
    assert cipher.decrypt(blob, stored_key_id=cipher.key_id, connection_id=1, version=3) == PAYLOAD
    # A fresh nonce each time: the same tokens never give the same bytes.
    assert cipher.encrypt(PAYLOAD, connection_id=1, version=3) != blob


def test_blob_is_bound_to_its_row_and_version() -> None:
    cipher = TokenCipher(os.urandom(32))
    blob = cipher.encrypt(PAYLOAD, connection_id=1, version=3)
    for connection_id, version in ((1, 4), (2, 3)):
        with pytest.raises(SecretStoreError, match="do not decrypt"):
            cipher.decrypt(
                blob, stored_key_id=cipher.key_id, connection_id=connection_id, version=version
            )
    damaged = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(SecretStoreError, match="do not decrypt"):
        cipher.decrypt(damaged, stored_key_id=cipher.key_id, connection_id=1, version=3)
    with pytest.raises(SecretStoreError, match="damaged"):
        cipher.decrypt(b"\x02" + blob[1:], stored_key_id=cipher.key_id, connection_id=1, version=3)


def test_a_changed_key_is_named_as_such() -> None:
    old, new = os.urandom(32), os.urandom(32)
    blob = TokenCipher(old).encrypt(PAYLOAD, connection_id=1, version=1)
    with pytest.raises(KeyMismatch) as caught:
        TokenCipher(new).decrypt(blob, stored_key_id=key_id(old), connection_id=1, version=1)
    assert key_id(old) in str(caught.value) and "exact-tui connect" in str(caught.value)
    assert key_id(old) != key_id(new) and len(key_id(old)) == 16
    with pytest.raises(SecretStoreError):
        TokenCipher(b"short")


def test_redaction_masks_shapes_and_registered_values() -> None:
    secret_store.register_secret("a-registered-canary-value")
    text = (
        "Authorization: Bearer eyJhbGciOi.abc.def "
        "refresh_token=SBX!xyz&client_secret=hunter22 "
        'GET /cb?code=SBX%21abc&state=st4te {"access_token": "AAEAA123"} '
        "a-registered-canary-value"
    )
    cleaned = secret_store.redact(text)
    for leaked in ("eyJhbGciOi", "SBX!xyz", "hunter22", "SBX%21abc", "st4te", "AAEAA123", "canary"):
        assert leaked not in cleaned, leaked


def test_the_filter_redacts_messages_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret_store.register_secret("token-in-an-exception")
    logger = logging.getLogger("tests.redaction")
    handler = caplog.handler
    handler.addFilter(secret_store.RedactingFilter())
    try:
        try:
            raise RuntimeError("failed with token-in-an-exception")
        except RuntimeError:
            logger.exception("call with %s", "token-in-an-exception")
    finally:
        handler.removeFilter(handler.filters[-1])
    assert "token-in-an-exception" not in caplog.text
    assert "failed with" in caplog.text


def test_remembered_values_are_bounded() -> None:
    for number in range(600):
        secret_store.register_secret(f"rotating-token-{number:04d}")
    assert secret_store.redact("rotating-token-0599") == secret_store.MASK
    # The oldest are forgotten (tokens rotate every ten minutes; memory must not grow forever).
    assert secret_store.redact("rotating-token-0000") == "rotating-token-0000"
