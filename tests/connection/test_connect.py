"""Connect by paste-back against the sandbox, the single-use state and code, disconnect."""

from __future__ import annotations

import datetime as dt
import os
import urllib.parse

import pytest
from sqlmodel import select

from exact_tui.domain.states import ConnectionStatus
from exact_tui.exact.errors import (
    AccessDenied,
    ConnectionUnusable,
    ReconnectNeeded,
    reason_in_words,
)
from exact_tui.secret_store import TokenCipher
from exact_tui.services.connection import ConnectError, export_gate
from exact_tui.services.status import status_report
from exact_tui.services.tokens import KEY_REASON, load_token
from exact_tui.store.models import Audit, AuthAttempt, ExactConnection, OAuthToken, SyncRequest
from tests.connection.kit import ACTOR, BASE_URL, World


def _state_of(url: str) -> str:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["state"]


async def test_connect_by_paste_back_end_to_end(world: World) -> None:
    prepared = world.prepare()
    attempt = world.service.begin(prepared)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(attempt.authorize_url).query))
    assert query["client_id"] == "sandbox-client" and query["state"] == attempt.state
    with world.store.read() as session:
        stored = session.exec(select(AuthAttempt)).one()
    assert stored.state_hash != attempt.state and stored.used_at is None

    result = await world.service.complete(prepared, attempt, await world.consent(attempt), ACTOR)

    assert result.user_name == "Sanne de Vries"
    assert result.first_connect and result.sync_requested
    assert result.activated_at == world.now()
    with world.store.read() as session:
        conn = session.get(ExactConnection, 1)
        token = session.get(OAuthToken, 1)
        requests = session.exec(select(SyncRequest)).all()
        audit = session.exec(select(Audit)).all()
        tokens = load_token(session, prepared.cipher)
        attempt_row = session.exec(select(AuthAttempt)).one()
    assert conn is not None and conn.status is ConnectionStatus.CONNECTED
    assert conn.base_url == BASE_URL and conn.user_name == "Sanne de Vries"
    assert token is not None and token.version == 1 and token.key_id == prepared.cipher.key_id
    assert token.expires_at - token.issued_at == dt.timedelta(seconds=600)
    assert tokens.access_token in world.sandbox.oauth.access
    assert [(r.trigger, r.state, r.requested_by) for r in requests] == [
        ("initial", "pending", "tester")
    ]
    assert [(a.action, a.result) for a in audit] == [("connect", "ok")]
    assert attempt_row.used_at is not None
    report = status_report(world.store)
    assert report.connection is not None and report.connection.has_token
    assert export_gate(report.connection.status, False, None) is None
    # exchange + current/Me, nothing else
    assert world.token_calls(200) == 1
    assert world.sandbox.calls.count("current/Me") == 1


async def test_a_wrong_state_is_refused_and_changes_nothing(world: World) -> None:
    prepared = world.prepare()
    attempt = world.service.begin(prepared)
    other = world.service.begin(prepared)
    redirect = await world.consent(other)
    with pytest.raises(ConnectError, match="another connect attempt"):
        await world.service.complete(prepared, attempt, redirect, ACTOR)
    forged = redirect.replace(_state_of(redirect), "forged-state")
    with pytest.raises(ConnectError, match="state does not match"):
        await world.service.complete(prepared, attempt, forged, ACTOR)
    with world.store.read() as session:
        assert session.get(ExactConnection, 1) is None and session.get(OAuthToken, 1) is None
        refusals = session.exec(select(Audit)).all()
    assert all(a.result.startswith("refused") for a in refusals) and len(refusals) == 2
    assert world.token_calls() == 0  # refused before the code was spent


async def test_a_reused_state_is_refused(world: World) -> None:
    prepared = world.prepare()
    attempt = world.service.begin(prepared)
    redirect = await world.consent(attempt)
    await world.service.complete(prepared, attempt, redirect, ACTOR)
    with pytest.raises(ConnectError, match="already used"):
        await world.service.complete(prepared, attempt, redirect, ACTOR)
    assert world.token_calls() == 1


async def test_a_reused_code_is_refused_at_the_token_endpoint(world: World) -> None:
    prepared = world.prepare()
    first = world.service.begin(prepared)
    redirect = await world.consent(first)
    await world.service.complete(prepared, first, redirect, ACTOR)
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(redirect).query))["code"]
    second = world.service.begin(prepared)
    with pytest.raises(ConnectError, match="refused the authorization code") as caught:
        await world.service.complete(prepared, second, code, ACTOR)
    assert "already been used" in str(caught.value)
    assert world.token_calls(400) == 1
    with world.store.read() as session:
        token = session.get(OAuthToken, 1)
    assert token is not None and token.version == 1  # the good tokens stayed


async def test_a_wrong_client_secret_is_named_not_the_code(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXACT_TUI_CLIENT_SECRET", "not-the-sandbox-secret")
    prepared = world.prepare()
    attempt = world.service.begin(prepared)
    redirect = await world.consent(attempt)
    with pytest.raises(ConnectError) as caught:
        await world.service.complete(prepared, attempt, redirect, ACTOR)
    message = str(caught.value)
    assert "client id or secret" in message and "EXACT_TUI_CLIENT_SECRET" in message
    assert "authorization code" not in message and "promptly" not in message
    assert world.token_calls(401) == 1
    with world.store.read() as session:
        assert session.get(OAuthToken, 1) is None


async def test_an_expired_attempt_is_refused(world: World) -> None:
    prepared = world.prepare()
    attempt = world.service.begin(prepared)
    redirect = await world.consent(attempt)
    world.sandbox.advance(16 * 60)
    with pytest.raises(ConnectError, match="expired"):
        await world.service.complete(prepared, attempt, redirect, ACTOR)


async def test_reconnect_keeps_the_activation_date(world: World) -> None:
    first = await world.connect()
    world.sandbox.advance(3 * 86400)
    with world.store.write() as session:
        for request in session.exec(select(SyncRequest)):
            request.state = "done"
            session.add(request)
    second = await world.connect()
    assert not second.first_connect
    assert second.activated_at == first.activated_at
    with world.store.read() as session:
        conn = session.get(ExactConnection, 1)
        token = session.get(OAuthToken, 1)
        pending = session.exec(select(SyncRequest).where(SyncRequest.state == "pending")).all()
    assert conn is not None and conn.connected_at == world.now()
    assert token is not None and token.version == 2
    assert len(pending) == 1


async def test_disconnect_deletes_tokens_and_stops_exports(connected: World) -> None:
    world = connected
    assert world.service.disconnect(ACTOR)
    with world.store.read() as session:
        conn = session.get(ExactConnection, 1)
        actions = [a.action for a in session.exec(select(Audit))]
        requests = session.exec(select(SyncRequest)).all()
    assert conn is not None and conn.status is ConnectionStatus.INACTIVE
    assert conn.reason == "disconnected by tester" and conn.disconnected_at == world.now()
    assert conn.activated_at is not None  # kept for the next connect
    assert actions == ["connect", "disconnect"]
    assert len(requests) == 1  # nothing of the store's other data is touched
    with world.store.read() as session:
        assert session.get(OAuthToken, 1) is None
    assert export_gate(conn.status, conn.exports_paused, conn.reason) == "not connected to Exact"
    assert not world.service.disconnect(ACTOR)


def test_export_gate() -> None:
    assert export_gate(None, False, None) == "not connected to Exact"
    assert export_gate(ConnectionStatus.RECONNECT, False, "old token").endswith("old token")
    assert export_gate(ConnectionStatus.CONNECTED, True, None) == "exports are paused"
    assert export_gate(ConnectionStatus.ERROR, False, "blocked user") is None


async def test_the_tokens_are_readable_only_with_the_key_they_were_stored_with(
    connected: World,
) -> None:
    # A key problem, not a connection that needs a reconnect: nothing was or will be sent.
    with connected.store.read() as session, pytest.raises(ConnectionUnusable) as raised:
        load_token(session, TokenCipher(os.urandom(32)))
    assert raised.value.message.startswith(KEY_REASON)
    assert "stored with another data key" in raised.value.message


async def test_a_blocked_user_puts_the_whole_connection_in_error(connected: World) -> None:
    world = connected
    blocked = AccessDenied(reason_in_words("BlockedUser"), reason="BlockedUser")
    world.service.note_access_denied(101001, blocked)
    with world.store.read() as session:
        conn = session.get(ExactConnection, 1)
    assert conn is not None and conn.status is ConnectionStatus.ERROR
    assert conn.reason == "the Exact user who connected is blocked"
    world.service.note_reconnect_needed(ReconnectNeeded("Exact refused the access token"))
    with world.store.read() as session:
        conn = session.get(ExactConnection, 1)
    assert conn is not None and conn.status is ConnectionStatus.RECONNECT
    world.service.disconnect(ACTOR)
    world.service.note_reconnect_needed(ReconnectNeeded("late news"))
    with world.store.read() as session:
        conn = session.get(ExactConnection, 1)
    assert conn is not None and conn.status is ConnectionStatus.INACTIVE  # stays disconnected


async def test_a_reconnect_while_a_daily_import_waits_queues_no_second_import(
    connected: World,
) -> None:
    """While the connection waited for a Reconnect the worker kept one daily import request
    waiting; the Reconnect asks for none beside it (two full imports in a row otherwise)."""
    with connected.store.write() as session:
        for request in session.exec(select(SyncRequest)):
            request.state = "done"
            session.add(request)
        session.add(SyncRequest(trigger="daily", requested_by="schedule"))
    connected.sandbox.advance(700)
    result = await connected.connect()
    with connected.store.read() as session:
        waiting = [
            r.trigger
            for r in session.exec(select(SyncRequest))
            if r.state == "pending" and r.division is None
        ]
    assert waiting == ["daily"]
    assert not result.sync_requested
