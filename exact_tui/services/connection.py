"""Connecting to Exact and disconnecting: the consent flow over SSH (paste-back or a loopback
listener), the connection's status with its reason in words, and what may be exported.

Connect: the secrets are checked first (so a refusal changes nothing) → a fresh single-use
`state`, stored hashed → the authorize URL → the pasted redirect (or code), its `state` checked →
the code exchanged → tokens saved encrypted → `current/Me` for the user's name → Connected, the
activation date set on the first connect, and an initial master-data import requested.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
from sqlmodel import Session, col, delete, select

from exact_tui.domain.states import ConnectionStatus
from exact_tui.domain.text import clean_line, cut
from exact_tui.exact.errors import AccessDenied, ConnectionUnusable, ExactError, ReconnectNeeded
from exact_tui.exact.http import ExactClient, NowFn, utc_now
from exact_tui.exact.oauth import (
    REGION_HOSTS,
    STATE_LIFETIME,
    ClientRefused,
    OAuthClient,
    TokenSet,
    base_url_for,
    hash_state,
    new_state,
    parse_redirect,
)
from exact_tui.secret_store import (
    CREDENTIAL_CLIENT_SECRET,
    ENV_CLIENT_SECRET,
    MISSING_CLIENT_SECRET,
    Secret,
    SecretStore,
    SecretStoreError,
    TokenCipher,
    client_secret,
    register_secret,
)
from exact_tui.services.audit import Actor, record
from exact_tui.services.tokens import refresh_lock_for, save_token
from exact_tui.store.engine import Store
from exact_tui.store.models import (
    AuthAttempt,
    Division,
    ExactConnection,
    OAuthToken,
    SyncRequest,
    width,
)
from exact_tui.store.scoping import tenant_key, tenant_of

log = logging.getLogger(__name__)

#: 403 reasons that concern the user or the licence (the whole connection), not one division.
CONNECTION_WIDE_REASONS: Final = frozenset(
    {"BlockedUser", "InactiveUser", "BlockedCustomer", "LicenseExpired"}
)
LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1"})
#: Where `connect --listen` waits when the redirect URI is not a loopback address.
DEFAULT_LISTEN_PORT: Final = 8765


class ConnectError(Exception):
    """Connect was refused; the message says why and what to do."""


@dataclass(frozen=True)
class ConnectSettings:
    region: str
    base_url: str
    client_id: str
    redirect_uri: str
    timeout: float = 30.0


@dataclass(frozen=True)
class ConnectAttempt:
    """One connect attempt: where the user consents, and its `state` (kept in memory only)."""

    authorize_url: str = field(repr=False)
    state: str = field(repr=False)
    expires_at: dt.datetime


@dataclass(frozen=True)
class ConnectResult:
    user_name: str | None
    activated_at: dt.datetime
    first_connect: bool
    sync_requested: bool
    secret_saved_in: str | None
    note: str | None = None


def export_gate(
    status: ConnectionStatus | None, exports_paused: bool, reason: str | None
) -> str | None:
    """Why exports may not run now, or None when they may
    (docs/export.md §Rate limits, the error budget and pauses: paused globally while the connection
    needs a reconnect, is inactive, or an operator paused them)."""
    if status is None or status is ConnectionStatus.INACTIVE:
        return "not connected to Exact"
    if status is ConnectionStatus.RECONNECT:
        return f"the connection needs a reconnect: {reason}" if reason else "reconnect needed"
    if exports_paused:
        return "exports are paused"
    return None


class ConnectionService:
    """Connect, disconnect and the connection's status."""

    def __init__(
        self,
        store: Store,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: NowFn = utc_now,
    ) -> None:
        self._store = store
        self._transport = transport
        self._clock = clock

    # ------------------------------------------------------------ connect

    def begin(self, prepared: PreparedConnect, *, force_login: bool = False) -> ConnectAttempt:
        """A fresh single-use `state`, stored hashed, and the URL where the user consents."""
        now = self._clock()
        state = new_state()
        register_secret(state)
        with self._store.write() as session:
            session.execute(delete(AuthAttempt).where(col(AuthAttempt.expires_at) < now))
            session.add(
                AuthAttempt(
                    state_hash=hash_state(state), created_at=now, expires_at=now + STATE_LIFETIME
                )
            )
        return ConnectAttempt(
            authorize_url=prepared.oauth.authorize_url(state, force_login=force_login),
            state=state,
            expires_at=now + STATE_LIFETIME,
        )

    async def complete(
        self, prepared: PreparedConnect, attempt: ConnectAttempt, pasted: str, actor: Actor
    ) -> ConnectResult:
        """Finish a connect with what the user pasted (the redirect URL, or the bare code)."""
        try:
            redirect = parse_redirect(pasted)
            register_secret(redirect.code)
            await asyncio.to_thread(self._use_state, attempt, redirect.state)
            tokens = await prepared.oauth.exchange_code(redirect.code)
        except ClientRefused as exc:
            why = f"{exc}; the secret used came from {_secret_source(prepared)}: set the right one"
            await asyncio.to_thread(self._audit_refusal, actor, prepared.settings, why)
            raise ConnectError(f"{why} and run connect again") from None
        except (ExactError, ConnectError) as exc:
            await asyncio.to_thread(self._audit_refusal, actor, prepared.settings, str(exc))
            raise ConnectError(str(exc)) from None
        finally:
            await prepared.oauth.aclose()
        register_secret(tokens.access_token)
        register_secret(tokens.refresh_token)
        return await self._finish(prepared, tokens, actor)

    def _use_state(self, attempt: ConnectAttempt, pasted_state: str | None) -> None:
        """The attempt's `state` is used up now, whatever comes next; a pasted URL must carry
        exactly this attempt's state. (A bare code carries none to compare.)"""
        if pasted_state is not None and pasted_state != attempt.state:
            raise ConnectError(
                "the pasted address belongs to another connect attempt (its state does not "
                "match): start again and paste the address this attempt's link leads to"
            )
        now = self._clock()
        with self._store.write() as session:
            row = session.get(AuthAttempt, hash_state(attempt.state))
            if row is None:
                raise ConnectError("this connect attempt is unknown: start again")
            if row.used_at is not None:
                raise ConnectError("this connect attempt was already used: start again")
            if row.expires_at <= now:
                raise ConnectError("this connect attempt expired: start again")
            row.used_at = now
            session.add(row)

    async def _finish(
        self, prepared: PreparedConnect, tokens: TokenSet, actor: Actor
    ) -> ConnectResult:
        settings = prepared.settings
        now = self._clock()
        await asyncio.to_thread(self._ensure_row, settings, now)
        async with refresh_lock_for(self._store).hold():
            await asyncio.to_thread(self._save_tokens, prepared.cipher, tokens)
        me, note = await self._me(settings, tokens)
        secret_saved_in = None
        # A secret given in the environment is kept in a keyring or file store, so the worker
        # can refresh without it.
        if prepared.secret_from_environment and prepared.secrets.kind in ("keyring", "file"):
            try:
                if await asyncio.to_thread(
                    prepared.secrets.save_client_secret, prepared.client_secret
                ):
                    secret_saved_in = prepared.secrets.describe()
            except SecretStoreError as exc:
                note = f"the client secret could not be stored: {exc}"
        return await asyncio.to_thread(
            self._mark_connected, settings, me, actor, now, secret_saved_in, note
        )

    def _ensure_row(self, settings: ConnectSettings, now: dt.datetime) -> None:
        with self._store.write() as session:
            if session.get(ExactConnection, tenant_of(session)) is None:
                session.add(
                    ExactConnection(
                        region=settings.region,
                        base_url=settings.base_url,
                        client_id=settings.client_id,
                        redirect_uri=settings.redirect_uri,
                        status=ConnectionStatus.INACTIVE,
                        updated_at=now,
                    )
                )

    def _save_tokens(self, cipher: TokenCipher, tokens: TokenSet) -> None:
        with self._store.write() as session:
            current = session.get(OAuthToken, tenant_of(session))
            expected = current.version if current is not None else None
            if save_token(session, cipher, tokens, expected_version=expected) is None:
                raise ConnectError("the tokens changed while connecting: run connect again")

    async def _me(
        self, settings: ConnectSettings, tokens: TokenSet
    ) -> tuple[dict[str, Any], str | None]:
        source = _FreshToken(tokens.access_token)
        async with ExactClient(
            settings.base_url,
            source,
            timeout=settings.timeout,
            transport=self._transport,
            clock=self._clock,
        ) as client:
            try:
                return await client.current_me(), None
            except ExactError as exc:
                # The tokens are good and saved; the name is only for display.
                return {}, f"the user's name could not be read: {exc}"

    def _mark_connected(
        self,
        settings: ConnectSettings,
        me: Mapping[str, Any],
        actor: Actor,
        now: dt.datetime,
        secret_saved_in: str | None,
        note: str | None,
    ) -> ConnectResult:
        user_name = clean_line(
            me.get("FullName") or me.get("UserName"), width(ExactConnection.user_name)
        )
        with self._store.write() as session:
            conn = session.get(ExactConnection, tenant_of(session))
            assert conn is not None  # made by _ensure_row
            first = conn.activated_at is None
            conn.region = settings.region
            conn.base_url = settings.base_url
            conn.client_id = settings.client_id
            conn.redirect_uri = settings.redirect_uri
            conn.user_id = clean_line(me.get("UserID"), width(ExactConnection.user_id))
            conn.user_name = user_name
            conn.status = ConnectionStatus.CONNECTED
            conn.reason = None
            # Documents dated before activation are history and never exported
            # (docs/export.md §What happens to a job), so a reconnect keeps the first date.
            conn.activated_at = conn.activated_at or now
            conn.connected_at = now
            conn.disconnected_at = None
            conn.updated_at = now
            session.add(conn)
            requested = _request_initial_sync(session, actor)
            record(
                session,
                actor,
                "connect",
                target=settings.base_url,
                detail={
                    "region": settings.region,
                    "client_id": settings.client_id,
                    "user": user_name,
                    "first": first,
                },
            )
            activated_at = conn.activated_at
        log.info("connected to %s as %s", settings.base_url, user_name or "an unknown user")
        return ConnectResult(
            user_name=user_name,
            activated_at=activated_at,
            first_connect=first,
            sync_requested=requested,
            secret_saved_in=secret_saved_in,
            note=note,
        )

    def _audit_refusal(self, actor: Actor, settings: ConnectSettings, why: str) -> None:
        log.warning("connect refused: %s", why)
        with self._store.write() as session:
            record(
                session,
                actor,
                "connect",
                target=settings.base_url,
                detail={"region": settings.region, "client_id": settings.client_id},
                result=f"refused: {why}",
            )

    # ------------------------------------------------------------ disconnect and status

    def disconnect(self, actor: Actor) -> bool:
        """Tokens deleted, exports stop (Inactive), master data and jobs stay. False when there
        was nothing to disconnect."""
        now = self._clock()
        with self._store.write() as session:
            conn = session.get(ExactConnection, tenant_of(session))
            token = session.get(OAuthToken, tenant_of(session))
            if conn is None or (conn.status is ConnectionStatus.INACTIVE and token is None):
                return False
            if token is not None:
                session.delete(token)
            conn.status = ConnectionStatus.INACTIVE
            conn.reason = f"disconnected by {actor.name}"
            conn.disconnected_at = now
            conn.updated_at = now
            session.add(conn)
            record(session, actor, "disconnect", target=conn.base_url)
        log.info("disconnected by %s: tokens deleted", actor.name)
        return True

    def note_access_denied(self, division: int, error: AccessDenied) -> None:
        """Where a 403 belongs: a blocked user or licence puts the whole connection in Error;
        a division without consent or blocked is marked on that division."""
        now = self._clock()
        with self._store.write() as session:
            if error.reason in CONNECTION_WIDE_REASONS:
                conn = session.get(ExactConnection, tenant_of(session))
                if conn is not None:
                    conn.status = ConnectionStatus.ERROR
                    conn.reason = error.message
                    conn.updated_at = now
                    session.add(conn)
                return
            row = session.get(Division, tenant_key(session, division))
            if row is not None:
                row.accessible = False
                row.access_reason = cut(error.message, width(Division.access_reason))
                session.add(row)

    def note_unusable(self, error: ConnectionUnusable) -> None:
        """This process cannot use the stored connection (its data key does not open the
        tokens): Error, with the reason, until the key opens them again."""
        now = self._clock()
        with self._store.write() as session:
            conn = session.get(ExactConnection, tenant_of(session))
            if conn is not None and conn.status is not ConnectionStatus.INACTIVE:
                conn.status = ConnectionStatus.ERROR
                conn.reason = cut(error.message, width(ExactConnection.reason))
                conn.updated_at = now
                session.add(conn)

    def note_reconnect_needed(self, error: ReconnectNeeded) -> None:
        now = self._clock()
        with self._store.write() as session:
            conn = session.get(ExactConnection, tenant_of(session))
            if conn is not None and conn.status is not ConnectionStatus.INACTIVE:
                conn.status = ConnectionStatus.RECONNECT
                conn.reason = error.message
                conn.updated_at = now
                session.add(conn)


# ---------------------------------------------------------------- secrets before anything


@dataclass(frozen=True)
class PreparedConnect:
    """A connect whose secrets are known to be there."""

    settings: ConnectSettings
    secrets: SecretStore
    oauth: OAuthClient
    cipher: TokenCipher
    client_secret: Secret
    secret_from_environment: bool


def prepare_connect(
    secrets: SecretStore,
    settings: ConnectSettings,
    *,
    environ: Mapping[str, str] | None = None,
    clock: NowFn = utc_now,
    transport: httpx.AsyncBaseTransport | None = None,
) -> PreparedConnect:
    """The data key (made now in a keyring or file store that has none) and the client secret;
    refuses with what to set when either is missing."""
    if not settings.client_id:
        raise ConnectError(
            "no client id: pass --client-id or set exact.client_id (EXACT_TUI_EXACT_CLIENT_ID)"
        )
    secret = client_secret(secrets, environ)
    if secret is None:
        raise ConnectError(MISSING_CLIENT_SECRET)
    redirect = urllib.parse.urlsplit(settings.redirect_uri.strip())
    if redirect.scheme not in ("https", "http") or not redirect.hostname:
        raise ConnectError(
            "no redirect URI: pass --redirect-uri or set exact.redirect_uri to the https address "
            "registered for the app in Exact's App Center (docs/connecting.md)"
        )
    try:
        key = secrets.data_key(create=True)
    except SecretStoreError as exc:
        raise ConnectError(str(exc)) from None
    stored = None
    try:
        stored = secrets.stored_client_secret()
    except SecretStoreError:
        stored = None
    oauth = OAuthClient(
        settings.base_url,
        settings.client_id,
        secret.reveal(),
        settings.redirect_uri,
        timeout=settings.timeout,
        transport=transport,
        clock=clock,
    )
    return PreparedConnect(
        settings=settings,
        secrets=secrets,
        oauth=oauth,
        cipher=TokenCipher(key),
        client_secret=secret,
        secret_from_environment=stored != secret,
    )


def _secret_source(prepared: PreparedConnect) -> str:
    if prepared.secret_from_environment or prepared.secrets.kind == "env":
        return f"{ENV_CLIENT_SECRET} (or its systemd credential {CREDENTIAL_CLIENT_SECRET})"
    return prepared.secrets.describe()


def region_of(base_url: str) -> str:
    """The region whose host `base_url` is; "custom" for anything else (the sandbox, a proxy)."""
    wanted = base_url.rstrip("/").lower()
    return next((r for r, host in REGION_HOSTS.items() if host == wanted), "custom")


def connect_settings(
    *,
    region: str,
    base_url: str,
    client_id: str,
    redirect_uri: str,
    timeout: float = 30.0,
) -> ConnectSettings:
    """Settings for a connect: the region decides the host unless a base URL is given."""
    try:
        host = base_url_for(region, base_url)
    except ValueError as exc:
        raise ConnectError(str(exc)) from None
    return ConnectSettings(
        region=region,
        base_url=host,
        client_id=client_id,
        redirect_uri=redirect_uri,
        timeout=timeout,
    )


def _request_initial_sync(session: Session, actor: Actor) -> bool:
    """Ask for a full import, unless one waits already: the initial one of an earlier connect,
    or the daily one the worker kept waiting while the connection needed a Reconnect
    (docs/worker.md §Tenants)."""
    pending = session.exec(
        select(SyncRequest)
        .where(col(SyncRequest.trigger).in_(("initial", "daily")))
        .where(col(SyncRequest.division).is_(None))
        .where(col(SyncRequest.state) == "pending")
    ).first()
    if pending is not None:
        return False
    session.add(SyncRequest(trigger="initial", requested_by=actor.name))
    return True


class _FreshToken:
    """The token source of the one call made right after the code exchange."""

    def __init__(self, access_token: str) -> None:
        self._token = access_token

    async def access_token(self) -> str:
        return self._token

    async def after_unauthorized(self, rejected: str) -> str:
        raise ReconnectNeeded("Exact refused the token it just issued")


# ---------------------------------------------------------------- the loopback listener


async def wait_for_redirect(
    redirect_uri: str, *, port: int = DEFAULT_LISTEN_PORT, timeout: float = 600.0
) -> str:
    """Listen on 127.0.0.1 for the browser's redirect, at the redirect URI's path, and return
    the address it arrived at (on the redirect URI's scheme and host, so the state check reads
    it as the redirect). The port is the redirect URI's own when it is a loopback address,
    else `port`: Exact wants an https redirect URI that is not localhost, so the browser comes
    here through a page at that address that forwards to http://127.0.0.1:PORT/<path> (see
    docs/connecting.md), and from another machine through `ssh -L PORT:127.0.0.1:PORT`."""
    target = urllib.parse.urlsplit(redirect_uri)
    if target.scheme not in ("http", "https") or not target.hostname:
        raise ConnectError(f"--listen needs the redirect URI's address, not {redirect_uri!r}")
    if target.scheme == "http" and target.hostname in LOOPBACK_HOSTS and target.port:
        port = target.port
    path = target.path or "/"
    arrived: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await asyncio.wait_for(reader.readline(), 10)).decode("latin-1")
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "GET":
                requested = urllib.parse.urlsplit(parts[1])
                if requested.path == path and requested.query and not arrived.done():
                    _reply(writer, 200, "exact-tui has the answer; you can close this tab.")
                    arrived.set_result(
                        urllib.parse.urlunsplit(
                            (target.scheme, target.netloc, path, requested.query, "")
                        )
                    )
                    return
            _reply(writer, 404, "not found")
        except (TimeoutError, ConnectionError, UnicodeDecodeError):
            pass
        finally:
            writer.close()

    try:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
    except OSError as exc:
        raise ConnectError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    async with server:
        try:
            return await asyncio.wait_for(arrived, timeout)
        except TimeoutError:
            raise ConnectError(f"no redirect arrived within {timeout:g} s") from None


def _reply(writer: asyncio.StreamWriter, status: int, text: str) -> None:
    body = f"<!doctype html><title>exact-tui</title><p>{text}</p>".encode()
    reason = "OK" if status == 200 else "Not Found"
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )


# ---------------------------------------------------------------- connecting from the console


@dataclass
class ConsoleConnect:
    """A connect started from the console: show `authorize_url`, then `finish` with what the
    user pasted (the redirect URL or the bare code). Blocking; the console calls it from a
    thread."""

    service: ConnectionService
    prepared: PreparedConnect
    attempt: ConnectAttempt
    actor: Actor

    @property
    def authorize_url(self) -> str:
        return self.attempt.authorize_url

    def finish(self, pasted: str) -> ConnectResult:
        if not pasted.strip():
            raise ConnectError("nothing was pasted: paste the address the browser ends on")
        return asyncio.run(self.service.complete(self.prepared, self.attempt, pasted, self.actor))


def reconnect_settings(store: Store, fallback: ConnectSettings) -> ConnectSettings:
    """A reconnect goes to the stored connection's host and app (its tokens belong there);
    a first connect uses the configured ones."""
    with store.read() as session:
        conn = session.get(ExactConnection, tenant_of(session))
    if conn is None:
        return fallback
    return ConnectSettings(
        region=conn.region,
        base_url=conn.base_url,
        client_id=conn.client_id,
        redirect_uri=conn.redirect_uri,
        timeout=fallback.timeout,
    )


def start_console_connect(
    store: Store,
    secrets: SecretStore,
    fallback: ConnectSettings,
    actor: Actor,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: NowFn = utc_now,
) -> ConsoleConnect:
    """Check the secrets (refusing with what to set) and begin an attempt."""
    settings = reconnect_settings(store, fallback)
    prepared = prepare_connect(secrets, settings, transport=transport, clock=clock)
    service = ConnectionService(store, transport=transport, clock=clock)
    return ConsoleConnect(service, prepared, service.begin(prepared), actor)
