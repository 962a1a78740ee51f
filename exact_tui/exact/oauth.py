"""OAuth 2.0 with Exact Online, through authlib: the authorize URL, the code exchange and the
refresh grant, and what their refusals mean (docs/exact-api.md §OAuth).

This module makes the calls and names the outcomes; the protocol around a refresh (the lock,
reloading, compare-and-swap) lives in the service layer, which owns the store.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import secrets
import time
import urllib.parse
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri

from exact_tui.exact.errors import (
    ExactError,
    RateLimited,
    ReconnectNeeded,
    Refused,
    Transient,
    error_message,
)
from exact_tui.exact.http import NowFn, log_call, tls_context, utc_now

with warnings.catch_warnings():
    # authlib now prefers the httpx2 fork and warns on import when it falls back to httpx, which
    # this project pins; the client API used here is the same for both.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

REGION_HOSTS: Final[Mapping[str, str]] = {
    "nl": "https://start.exactonline.nl",
    "be": "https://start.exactonline.be",
    "de": "https://start.exactonline.de",
    "fr": "https://start.exactonline.fr",
    "uk": "https://start.exactonline.co.uk",
    "es": "https://start.exactonline.es",
    "us": "https://start.exactonline.com",
}
AUTHORIZE_PATH: Final = "/api/oauth2/auth"
TOKEN_PATH: Final = "/api/oauth2/token"  # noqa: S105 - a path

#: Exact's access tokens live 600 s; a new one is given only 570 s after the last
#: (docs/exact-api.md §Token lifetimes).
ACCESS_TOKEN_SECONDS: Final = 600
EARLIEST_REFRESH: Final = dt.timedelta(seconds=570)
#: Refresh when less than this is left, which with 600 s tokens is exactly the 570 s mark.
REFRESH_LEEWAY: Final = dt.timedelta(seconds=30)
#: An unused refresh token dies after 30 days (WS#19); a daily refresh keeps it alive.
REFRESH_TOKEN_LIFETIME: Final = dt.timedelta(days=30)
#: How long a connect attempt's `state` is accepted.
STATE_LIFETIME: Final = dt.timedelta(minutes=15)


def base_url_for(region: str, override: str = "") -> str:
    """The host for a region; an explicit base URL (the sandbox, a proxy) wins."""
    if override:
        return override.rstrip("/")
    try:
        return REGION_HOSTS[region]
    except KeyError:
        regions = ", ".join(REGION_HOSTS)
        raise ValueError(
            f"unknown region {region!r} (one of {regions}, or give a base URL)"
        ) from None


# ---------------------------------------------------------------- tokens and when to refresh


@dataclass(frozen=True)
class TokenSet:
    """A token pair as Exact issued it; the values never show in repr()."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    issued_at: dt.datetime
    expires_at: dt.datetime
    refresh_expires_at: dt.datetime


def refresh_due(issued_at: dt.datetime, expires_at: dt.datetime, now: dt.datetime) -> bool:
    """Due when less than 30 s of the access token are left, and never before Exact's 570 s."""
    return now >= expires_at - REFRESH_LEEWAY and now >= issued_at + EARLIEST_REFRESH


def earliest_refresh(issued_at: dt.datetime) -> dt.datetime:
    return issued_at + EARLIEST_REFRESH


def idle_refresh_due(issued_at: dt.datetime, now: dt.datetime, max_age: dt.timedelta) -> bool:
    """An idle connection's refresh token is renewed before it can expire
    (docs/architecture.md §Connection)."""
    return now - issued_at >= max_age and now >= issued_at + EARLIEST_REFRESH


def _token_set(data: Mapping[str, Any], now: dt.datetime) -> TokenSet:
    access = data.get("access_token")
    refresh = data.get("refresh_token")
    if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
        raise Transient("Exact's token answer lacks a token")
    # Exact sends expires_in as a string ("600").
    raw = str(data.get("expires_in") or ACCESS_TOKEN_SECONDS).strip()
    seconds = int(raw) if raw.isdigit() and int(raw) > 0 else ACCESS_TOKEN_SECONDS
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        issued_at=now,
        expires_at=now + dt.timedelta(seconds=seconds),
        refresh_expires_at=now + REFRESH_TOKEN_LIFETIME,
    )


# ---------------------------------------------------------------- state and the pasted redirect


def new_state() -> str:
    return secrets.token_urlsafe(32)


def hash_state(state: str) -> str:
    """What the store keeps: a leaked database holds no usable state."""
    return hashlib.sha256(state.encode()).hexdigest()


@dataclass(frozen=True)
class Redirect:
    """What came back from the consent page: the code, and the state when a URL was pasted."""

    code: str = field(repr=False)
    state: str | None = field(repr=False, default=None)


def parse_redirect(text: str) -> Redirect:
    """The pasted redirect URL (its `code` and `state`), or a bare code."""
    text = text.strip()
    if not text:
        raise Refused("nothing was pasted: paste the address the browser ended on, or the code")
    if "://" not in text and "?" not in text and "=" not in text:
        code = urllib.parse.unquote(text)
        if any(ch.isspace() for ch in code):
            raise Refused("that does not look like a code or a redirect address")
        return Redirect(code=code)
    query = urllib.parse.urlsplit(text).query if "://" in text else text.lstrip("?")
    params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    if params.get("error"):
        description = params.get("error_description") or params["error"]
        raise Refused(f"Exact did not give access: {description}")
    found = params.get("code")
    if not found:
        raise Refused("the pasted address has no code in it: paste the whole address")
    return Redirect(code=found, state=params.get("state"))


# ---------------------------------------------------------------- the token endpoint


class TokenRefusal(StrEnum):
    TOO_EARLY = "too_early"
    OLD_TOKEN = "old_token"  # noqa: S105 - a name
    EXPIRED = "expired"
    REVOKED = "revoked"
    QUOTA = "quota"
    BAD_CODE = "bad_code"
    #: The app's client id or secret was refused (RFC 6749 §5.2 `invalid_client`).
    BAD_CLIENT = "bad_client"
    OTHER = "other"


class TooEarly(ExactError):
    """Exact will not refresh yet (TooEarlyToRefreshTokens); the refresh token still works."""


class ClientRefused(Refused):
    """Exact refused the app's client id or secret (`invalid_client`), not the code."""


class TokenRefused(ReconnectNeeded):
    """Exact refused the refresh token for good: a person must connect again."""

    def __init__(self, message: str, *, kind: TokenRefusal, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.kind = kind


def classify_token_error(
    status: int, headers: Mapping[str, str], body: str, *, grant: str
) -> TokenRefusal:
    """Which refusal an error answer of the token endpoint is
    (docs/exact-api.md §Token lifetimes)."""
    reason = next((v for k, v in headers.items() if k.lower() == "reason"), "")
    text = (error_message(body) or "").lower()
    if reason.strip() == "TooEarlyToRefreshTokens" or "not expired" in text:
        return TokenRefusal.TOO_EARLY
    if "maximum number of token requests" in text:
        return TokenRefusal.QUOTA
    if oauth_error_code(body) == "invalid_client":
        return TokenRefusal.BAD_CLIENT
    if grant == "authorization_code":
        return TokenRefusal.BAD_CODE
    if "old refresh token" in text:
        return TokenRefusal.OLD_TOKEN
    if "expired" in text:
        return TokenRefusal.EXPIRED
    if "revoked" in text:
        return TokenRefusal.REVOKED
    return TokenRefusal.OTHER


def oauth_error_code(body: str) -> str | None:
    """The OAuth `error` code of a token endpoint's answer (RFC 6749 §5.2), if it has one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return error.strip() if isinstance(error, str) else None


_REFUSAL_WORDS: Final[Mapping[TokenRefusal, str]] = {
    TokenRefusal.OLD_TOKEN: "Exact refused the refresh token as already used (another process "
    "refreshed with it, or the tokens came from an old copy of the database)",
    TokenRefusal.EXPIRED: "the refresh token expired (it was not used for 30 days)",
    TokenRefusal.REVOKED: "the access was revoked in Exact (the app was disconnected there)",
    TokenRefusal.BAD_CLIENT: "Exact refused the app's client id or secret (invalid_client): set "
    "the client secret of the app registered in Exact's App Center",
}


def refusal_in_words(kind: TokenRefusal, body: str) -> str:
    words = _REFUSAL_WORDS.get(kind)
    if words is None:
        words = f"Exact refused the token refresh: {error_message(body) or 'no reason given'}"
    return f"{words}: connect again"


class OAuthClient:
    """Exact's OAuth endpoints for one app (client id and secret) on one host."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: NowFn = utc_now,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._secret = client_secret
        self._timeout = timeout
        self._transport = transport
        self._clock = clock
        self._http: AsyncOAuth2Client | None = None
        self._answered: list[httpx.Response] = []
        self._calls = asyncio.Lock()

    def __repr__(self) -> str:
        return f"OAuthClient({self.base_url!r}, client_id={self.client_id!r})"

    def authorize_url(self, state: str, *, force_login: bool = False) -> str:
        """Where the user consents; `force_login` makes Exact ignore a browser session that
        belongs to someone else."""
        return str(
            prepare_grant_uri(
                self.base_url + AUTHORIZE_PATH,
                client_id=self.client_id,
                response_type="code",
                redirect_uri=self.redirect_uri,
                state=state,
                force_login="1" if force_login else "0",
            )
        )

    async def exchange_code(self, code: str) -> TokenSet:
        """Trade a consent's code for tokens (single use: a second try is refused)."""
        return await self._token_call("authorization_code", code=code)

    async def refresh(self, refresh_token: str) -> TokenSet:
        """One refresh grant. Refusals raise `TooEarly`, `TokenRefused` or `RateLimited`."""
        return await self._token_call("refresh_token", refresh_token=refresh_token)

    async def __aenter__(self) -> OAuthClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _client(self) -> AsyncOAuth2Client:
        # One client for the OAuthClient's life: building one costs a TLS context (~40 ms).
        if self._http is None:
            self._http = AsyncOAuth2Client(
                client_id=self.client_id,
                client_secret=self._secret,
                token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name
                redirect_uri=self.redirect_uri,
                timeout=self._timeout,
                transport=self._transport,
                verify=tls_context(),
                follow_redirects=False,
            )
            self._http.register_compliance_hook("access_token_response", self._keep)
            self._http.register_compliance_hook("refresh_token_response", self._keep)
        return self._http

    def _keep(self, response: httpx.Response) -> httpx.Response:
        self._answered.append(response)
        return response

    async def _token_call(self, grant: str, **values: str) -> TokenSet:
        url = self.base_url + TOKEN_PATH
        async with self._calls:
            self._answered.clear()
            started = time.perf_counter()
            client = self._client()
            try:
                if grant == "refresh_token":
                    token = await client.refresh_token(url, refresh_token=values["refresh_token"])
                else:
                    token = await client.fetch_token(
                        url, grant_type="authorization_code", code=values["code"]
                    )
            except httpx.TransportError as exc:
                log_call("POST", url, None, _ms(started), None)
                # Whether Exact rotated the refresh token is unknown: a later retry with the
                # same token may be refused as old, and then a person connects again.
                raise Transient(
                    f"no answer from Exact's token endpoint ({type(exc).__name__})"
                ) from exc
            except (OAuthError, httpx.HTTPStatusError, ValueError) as exc:
                response = self._answered[-1] if self._answered else None
                if response is not None:
                    log_call("POST", url, response.status_code, _ms(started), None)
                raise self._refusal(grant, response) from exc
            if self._answered:
                log_call("POST", url, self._answered[-1].status_code, _ms(started), None)
            return _token_set(dict(token), self._clock())

    def _refusal(self, grant: str, response: httpx.Response | None) -> ExactError:
        if response is None:
            return Transient("Exact's token endpoint gave no usable answer")
        status = response.status_code
        body = response.text
        if status >= 500:
            return Transient(f"Exact's token endpoint failed (HTTP {status})", status=status)
        kind = classify_token_error(status, response.headers, body, grant=grant)
        if kind is TokenRefusal.TOO_EARLY:
            return TooEarly(
                "Exact refuses a new access token within 570 s of the last one", status=status
            )
        if kind is TokenRefusal.QUOTA:
            now = self._clock()
            midnight = dt.datetime.combine(
                now.date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC
            )
            return RateLimited(
                "Exact's daily limit of token requests is spent", until=midnight, scope="token"
            )
        if kind is TokenRefusal.BAD_CLIENT:
            return ClientRefused(
                "Exact refused the app's client id or secret "
                f"({error_message(body) or 'invalid_client'}): the client secret is not the one "
                f"of the app with client id {self.client_id} in Exact's App Center",
                status=status,
            )
        if kind is TokenRefusal.BAD_CODE:
            return Refused(
                "Exact refused the authorization code "
                f"({error_message(body) or f'HTTP {status}'}): a code works once and for a few "
                "minutes, so run connect again and paste the new address promptly",
                status=status,
            )
        return TokenRefused(refusal_in_words(kind, body), kind=kind, status=status)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
