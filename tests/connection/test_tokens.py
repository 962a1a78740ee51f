"""The refresh protocol against the sandbox's token rules (in-process, on its frozen clock)."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import pytest
from sqlmodel import select

from exact_tui.domain.states import ConnectionStatus
from exact_tui.exact.errors import ReconnectNeeded, Transient
from exact_tui.exact.oauth import TokenRefusal, TokenRefused
from exact_tui.services.exact_session import exact_session
from exact_tui.services.tokens import FileRefreshLock, lock_path, refresh_lock_for
from exact_tui.store.models import ExactConnection, OAuthToken
from exact_tui.store.scoping import tenant_key
from tests.connection.kit import ACTOR, NL, World


def _token_row(world: World) -> OAuthToken:
    with world.store.read() as session:
        token = session.get(OAuthToken, 1)
    assert token is not None
    return token


def _connection(world: World) -> ExactConnection:
    with world.store.read() as session:
        conn = session.get(ExactConnection, 1)
    assert conn is not None
    return conn


async def test_refresh_at_expiry_takes_one_token_call(connected: World) -> None:
    world = connected
    async with world.session() as session:
        await session.client.current_me()
        world.sandbox.advance(569)
        await session.client.current_me()
        assert world.token_calls() == 1  # only the code exchange so far
        world.sandbox.advance(2)
        await session.client.current_me()
        await session.client.current_me()
    assert world.token_calls(200) == 2
    assert world.sandbox.calls.count("current/Me", status=401) == 0
    token = _token_row(world)
    assert token.version == 2 and token.issued_at == world.now()
    assert _connection(world).last_refresh_at == world.now()


async def test_two_managers_in_one_process_refresh_once(connected: World) -> None:
    world = connected
    async with world.session() as first, world.session() as second:
        world.sandbox.advance(600)
        tokens = await asyncio.gather(
            first.tokens.access_token(), second.tokens.access_token(), first.tokens.access_token()
        )
    assert len(set(tokens)) == 1
    assert first.tokens.refreshes + second.tokens.refreshes == 1
    assert world.token_calls(200) == 2 and world.token_calls(401) == 0


async def test_an_unexpected_401_gets_one_refresh_and_the_same_request(connected: World) -> None:
    world = connected
    # Our clock runs 40 s behind Exact's: for us the token has life left, for Exact it expired.
    async with world.session(lag=40) as session:
        world.sandbox.advance(605)
        me = await session.client.current_me()
    assert me["FullName"] == "Sanne de Vries"
    assert world.sandbox.calls.count("current/Me", status=401) == 1
    assert world.sandbox.calls.count("current/Me", status=200) == 2  # connect's and this one
    assert world.token_calls(200) == 2
    assert world.slept == [pytest.approx(5.0)]  # to our clock's 570 s mark, then one refresh


async def test_a_401_on_a_young_token_waits_for_the_570_mark_within_reason(
    connected: World,
) -> None:
    world = connected
    async with world.session() as session:
        world.sandbox.advance(540)
        for record in world.sandbox.oauth.access.values():
            record.revoked = True
        await session.client.current_me()
        assert world.slept and world.slept[-1] == pytest.approx(30.0)
        assert world.token_calls(200) == 2
        world.sandbox.advance(60)
        for record in world.sandbox.oauth.access.values():
            record.revoked = True
        # Nine minutes to the next allowed refresh: one early try (Exact answers "too early",
        # so the grant stands), then the wait is handed back.
        with pytest.raises(Transient) as caught:
            await session.client.current_me()
        assert caught.value.retry_at is not None
        assert world.token_calls(400) == 1 and world.token_calls() == 3
        # Refused again under the same token: no second early try, nothing sent.
        with pytest.raises(Transient):
            await session.client.current_me()
    assert world.token_calls() == 3


async def test_a_revoked_grant_on_a_young_token_asks_for_a_reconnect_at_once(
    connected: World,
) -> None:
    world = connected
    async with world.session() as session:
        await session.client.current_me()
        world.sandbox.advance(30)
        world.sandbox.revoke_tokens()  # consent withdrawn in Exact: access and refresh tokens
        with pytest.raises(TokenRefused) as caught:
            await session.client.current_me()
    assert caught.value.kind is TokenRefusal.REVOKED
    assert world.slept == []  # not nine minutes of waiting for the 570 s mark
    assert world.token_calls() == 2  # the code exchange and the one early refresh
    conn = _connection(world)
    assert conn.status is ConnectionStatus.RECONNECT and "revoked" in (conn.reason or "")


@pytest.mark.parametrize(
    ("spoil", "kind", "words"),
    [
        ("revoke", TokenRefusal.REVOKED, "revoked in Exact"),
        ("expire", TokenRefusal.EXPIRED, "not used for 30 days"),
        ("rotate", TokenRefusal.OLD_TOKEN, "already used"),
    ],
)
async def test_a_refused_refresh_moves_to_reconnect_and_stops(
    connected: World, spoil: str, kind: TokenRefusal, words: str
) -> None:
    world = connected
    if spoil == "revoke":
        world.sandbox.revoke_tokens()
        world.sandbox.advance(600)
    elif spoil == "expire":
        world.sandbox.advance(31 * 86400)
    else:
        # Someone used our refresh token behind the store's back (an old copy of the database).
        world.sandbox.advance(600)
        for record in world.sandbox.oauth.refresh.values():
            record.used_at = world.sandbox.clock.timestamp()
    async with world.session() as session:
        with pytest.raises(TokenRefused) as caught:
            await session.client.current_me()
        assert caught.value.kind is kind
        calls = world.token_calls()
        conn = _connection(world)
        assert conn.status is ConnectionStatus.RECONNECT
        assert conn.reason is not None and words in conn.reason and "connect again" in conn.reason
        for _ in range(3):
            with pytest.raises(ReconnectNeeded, match=words):
                await session.client.current_me()
            with pytest.raises(ReconnectNeeded):
                await session.tokens.refresh_if_idle()
    assert world.token_calls() == calls  # no loop on the token endpoint
    assert world.sandbox.calls.count("current/Me") == 1  # connect's only


async def test_too_early_is_handled_by_waiting_once(connected: World) -> None:
    world = connected
    async with world.session() as session:
        # Our clock says 570 s passed; Exact's last issue was later (the clocks differ).
        world.sandbox.advance(570)
        grant = ("sandbox-client", world.sandbox.facts.user_name)
        world.sandbox.oauth.last_issue[grant] = world.sandbox.clock.timestamp() - 567
        token = await session.tokens.access_token()
    assert world.token_calls(400) == 1 and world.token_calls(200) == 2
    assert token in world.sandbox.oauth.access
    assert world.slept[-1] >= 1.0
    assert _connection(world).status is ConnectionStatus.CONNECTED


async def test_daily_refresh_of_an_idle_connection(connected: World) -> None:
    world = connected
    async with world.session() as session:
        world.sandbox.advance(3600)
        assert not await session.tokens.refresh_if_idle()
        world.sandbox.advance(86400)
        assert await session.tokens.refresh_if_idle()
        assert not await session.tokens.refresh_if_idle()
    assert world.token_calls(200) == 2
    token = _token_row(world)
    assert token.refresh_expires_at == world.now() + dt.timedelta(days=30)


async def test_disconnect_takes_effect_at_once(connected: World) -> None:
    world = connected
    async with world.session() as session:
        await session.client.current_me()
        world.service.disconnect(ACTOR)
        with pytest.raises(ReconnectNeeded, match="not connected"):
            await session.client.current_me()


async def test_a_session_needs_a_connection(world: World) -> None:
    with pytest.raises(ReconnectNeeded, match="exact-tui connect"):
        async with exact_session(world.store, world.secrets, transport=world.transport):
            pass


@pytest.mark.sqlite_only("on PostgreSQL the refresh lock is an advisory lock, not a file")
async def test_the_lock_file_sits_beside_the_database(connected: World) -> None:
    path = connected.store.sqlite_path
    assert path is not None
    lock = lock_path(path.resolve(), 1)
    assert lock.parent == path.resolve().parent and lock.name.endswith(".refresh-lock")
    held = FileRefreshLock(lock)
    async with held.hold():
        other = FileRefreshLock(lock, timeout=0.1)
        with pytest.raises(TimeoutError):
            async with other.hold():
                pass
    assert (lock.stat().st_mode & 0o077) == 0
    with connected.store.read() as session:
        assert len(session.exec(select(OAuthToken)).all()) == 1


async def test_a_refresh_and_a_writer_of_the_connection_row_never_wait_for_each_other(
    connected: World,
) -> None:
    """The refresh holds its lock while it saves a token in a write transaction; meanwhile
    another writer holds the write lock and updates the connection row. Neither may wait for
    the other (a row lock on the connection would make them: a stall until the lock timeout)."""
    store = connected.store
    writer_has_the_lock = threading.Event()
    refresh_holds = threading.Event()
    errors: list[BaseException] = []

    def other_writer() -> None:
        try:
            assert refresh_holds.wait(10)
            with store.write() as session:
                writer_has_the_lock.set()
                conn = session.get(ExactConnection, tenant_key(session))
                assert conn is not None
                conn.last_refresh_at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
                session.add(conn)
                session.flush()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    thread = threading.Thread(target=other_writer)
    thread.start()
    async with refresh_lock_for(store).hold():
        refresh_holds.set()
        assert await asyncio.to_thread(writer_has_the_lock.wait, 10)

        def save() -> None:
            with store.write() as session:
                token = session.get(OAuthToken, tenant_key(session))
                assert token is not None
                token.version += 1
                session.add(token)

        await asyncio.to_thread(save)
    await asyncio.to_thread(thread.join)
    assert errors == []
    with store.read() as session:
        conn = session.get(ExactConnection, tenant_key(session))
        token = session.get(OAuthToken, tenant_key(session))
    assert conn is not None and conn.last_refresh_at == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert token is not None and token.version == 2


async def test_the_sandbox_clock_is_what_the_session_sees(connected: World) -> None:
    async with connected.session() as session:
        await session.client.get_page(NL, "financial/Journals")
        state = session.client.rate_state(NL)
    assert state.minutely is not None and state.minutely.reset_at > connected.now()
