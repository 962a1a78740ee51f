"""OAuth 2.0 as Exact runs it: consent page, single-use codes, rotating single-use refresh
tokens, the 570-second rule, 600-second access tokens and the daily token-call quota."""

from __future__ import annotations

import base64
import html
import ipaddress
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from exact_tui.sandbox import assumptions
from exact_tui.sandbox.clock import SandboxClock
from exact_tui.sandbox.limits import LimitSettings
from exact_tui.sandbox.seed import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI
from exact_tui.sandbox.state import World

ACCESS_TOKEN_LIFETIME_S = 600
EARLIEST_REFRESH_S = 570


@dataclass(frozen=True)
class App:
    """An app registered in the App Center, with the one redirect URI it may use."""

    client_id: str
    secret: str
    redirect_uri: str

    def __post_init__(self) -> None:
        problem = redirect_uri_problem(self.redirect_uri)
        if problem is not None:
            raise ValueError(f"Redirect URI '{self.redirect_uri}' is not accepted: {problem}.")


def redirect_uri_problem(uri: str) -> str | None:
    """Why the App Center would not register `uri` (docs/sandbox.md, "Redirect URIs"): it must
    be https, and not on this machine (localhost, a loopback address)."""
    parts = urlsplit(uri.strip())
    host = (parts.hostname or "").lower()
    if not host:
        return "it is not an absolute address"
    if parts.scheme != "https" and assumptions.REDIRECT_URI_HTTPS_ONLY:
        return "it must use https"
    if assumptions.REDIRECT_URI_NO_LOOPBACK and _loopback(host):
        return "localhost and loopback addresses are not allowed"
    return None


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    issued_at: float
    divisions: frozenset[int]  # what the user consented to on the page
    used: bool = False


@dataclass
class AccessToken:
    client_id: str
    expires_at: float
    revoked: bool = False


@dataclass
class RefreshToken:
    client_id: str
    issued_at: float
    used_at: float | None = None
    revoked: bool = False


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int

    def body(self) -> dict[str, str]:
        # expires_in is a string on Exact (OSSO's comment; PQ insists on a digit string).
        return {
            "access_token": self.access_token,
            "token_type": "bearer",
            "expires_in": str(self.expires_in),
            "refresh_token": self.refresh_token,
        }


class OAuthError(Exception):
    def __init__(
        self, status: int, error: str, description: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status,
            headers=self.headers,
        )


def _exact_timestamp(moment: float) -> str:
    """Exact's US-style text: 10/11/2022 9:18:20 PM (WS#23)."""
    when = datetime.fromtimestamp(moment, tz=UTC)
    hour = when.hour % 12 or 12
    half = "AM" if when.hour < 12 else "PM"
    return f"{when.month}/{when.day}/{when.year} {hour}:{when:%M:%S} {half}"


@dataclass
class OAuthState:
    """The user's grants to the registered apps, and every code and token issued."""

    clock: SandboxClock
    limits: LimitSettings
    world: World
    apps: dict[str, App] = field(
        default_factory=lambda: {CLIENT_ID: App(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)}
    )
    consent: dict[str, set[int]] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    access: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    last_issue: dict[str, float] = field(default_factory=dict)
    token_calls: dict[tuple[str, int], int] = field(default_factory=dict)

    def register(self, app: App) -> None:
        """Registers another app (its redirect URI was checked when the App was made)."""
        self.apps[app.client_id] = app

    # -- authorization ---------------------------------------------------------------------

    def check_request(self, client_id: str, redirect_uri: str) -> None:
        app = self.apps.get(client_id)
        if app is None:
            raise OAuthError(400, "invalid_client", f"Unknown client id '{client_id}'.")
        if redirect_uri != app.redirect_uri:
            # Exact compares the whole URI, path included (WS#8).
            raise OAuthError(400, "invalid_request", f"Callback URI '{redirect_uri}' is not valid")

    def authorize(self, client_id: str, redirect_uri: str, divisions: Iterable[int]) -> str:
        code = "SBX!" + secrets.token_urlsafe(96)
        self.codes[code] = AuthCode(
            client_id, redirect_uri, self.clock.timestamp(), frozenset(divisions)
        )
        return code

    # -- the token endpoint ----------------------------------------------------------------

    def token(self, form: Mapping[str, str], authorization: str = "") -> TokenPair:
        """A token call. The client authenticates with its secret in the body (Exact's own
        examples) or with HTTP Basic (RFC 6749 §2.3.1); see assumptions.BASIC_CLIENT_AUTH."""
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        basic = _basic_credentials(authorization)
        challenge: dict[str, str] = {}
        if basic is not None:
            challenge = {"WWW-Authenticate": 'Basic realm="Exact Online"'}
            if not assumptions.BASIC_CLIENT_AUTH or (client_id and client_id != basic[0]):
                raise OAuthError(401, "invalid_client", "Client authentication failed.", challenge)
            client_id, secret = basic
        app = self.apps.get(client_id)
        if app is None or not secrets.compare_digest(secret, app.secret):
            raise OAuthError(401, "invalid_client", "Client authentication failed.", challenge)
        self._count_call(app.client_id)
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self._exchange(app, form)
        if grant == "refresh_token":
            return self._refresh(app, form)
        raise OAuthError(400, "unsupported_grant_type", f"Unsupported grant type '{grant}'.")

    def _count_call(self, client_id: str) -> None:
        day = int(self.clock.timestamp() // self.limits.day_window)
        calls = self.token_calls.get((client_id, day), 0)
        if calls >= self.limits.token_calls_daily:
            raise OAuthError(
                assumptions.TOKEN_QUOTA_STATUS,
                assumptions.TOKEN_QUOTA_ERROR,
                assumptions.TOKEN_QUOTA_DESCRIPTION,
            )
        self.token_calls[(client_id, day)] = calls + 1

    def _exchange(self, app: App, form: Mapping[str, str]) -> TokenPair:
        code = form.get("code", "")
        grant = self.codes.get(code)
        now = self.clock.timestamp()
        if grant is None or grant.client_id != app.client_id:
            raise OAuthError(400, "invalid_grant", "Invalid authorization code.")
        if grant.used:
            raise OAuthError(400, "invalid_grant", "The authorization code has already been used.")
        if now - grant.issued_at > assumptions.AUTH_CODE_LIFETIME_S:
            raise OAuthError(400, "invalid_grant", "The authorization code has expired.")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise OAuthError(400, "invalid_grant", "The redirect URI does not match.")
        if assumptions.TOO_EARLY_RULE_ON_CODE_EXCHANGE:
            self._check_not_too_early(app.client_id, now)
        grant.used = True
        self.consent[app.client_id] = set(grant.divisions)
        return self.issue(app.client_id)

    def _refresh(self, app: App, form: Mapping[str, str]) -> TokenPair:
        token = form.get("refresh_token", "")
        record = self.refresh.get(token)
        now = self.clock.timestamp()
        if record is None or record.client_id != app.client_id:
            raise OAuthError(400, "invalid_grant", assumptions.UNKNOWN_REFRESH_DESCRIPTION)
        if record.revoked:
            raise OAuthError(
                assumptions.REVOKED_REFRESH_STATUS,
                assumptions.REVOKED_REFRESH_ERROR,
                assumptions.REVOKED_REFRESH_DESCRIPTION,
            )
        if (
            record.used_at is not None
            and now - record.used_at >= assumptions.OLD_REFRESH_TOKEN_GRACE_S
        ):
            raise OAuthError(401, "unauthorized_client", "Old refresh token used.")
        expires_at = record.issued_at + assumptions.REFRESH_TOKEN_LIFETIME_S
        if now >= expires_at:
            raise OAuthError(
                400,
                "invalid_request",
                f"The refresh token expired at {_exact_timestamp(expires_at)} and it is now "
                f"{_exact_timestamp(now)}.",
            )
        self._check_not_too_early(app.client_id, now)
        record.used_at = now
        return self.issue(app.client_id)

    def _check_not_too_early(self, client_id: str, now: float) -> None:
        last = self.last_issue.get(client_id)
        if last is not None and now - last < EARLIEST_REFRESH_S:
            raise OAuthError(
                400,
                "access_denied",
                "Rate limit exceeded: access_token not expired",
                headers={"Reason": "TooEarlyToRefreshTokens"},
            )

    def issue(self, client_id: str = CLIENT_ID) -> TokenPair:
        """A fresh token pair; also how in-process tests skip the consent page."""
        now = self.clock.timestamp()
        self.consent.setdefault(client_id, set(self.world.default_consent))
        access = "AAEAA" + secrets.token_urlsafe(300)
        refresh = "SBX!IAAAA" + secrets.token_urlsafe(160)
        self.access[access] = AccessToken(client_id, now + ACCESS_TOKEN_LIFETIME_S)
        self.refresh[refresh] = RefreshToken(client_id, now)
        self.last_issue[client_id] = now
        return TokenPair(access, refresh, ACCESS_TOKEN_LIFETIME_S)

    # -- checks on REST calls ----------------------------------------------------------------

    def client_of(self, token: str) -> str | None:
        """The client id of a usable access token, or None (401)."""
        record = self.access.get(token)
        if record is None or record.revoked or self.clock.timestamp() >= record.expires_at:
            return None
        return record.client_id

    def client_hint(self, token: str) -> str:
        """Who to charge a 401 to: the token's app when it was ever issued."""
        record = self.access.get(token)
        return record.client_id if record is not None else CLIENT_ID

    def has_consent(self, client_id: str, division: int) -> bool:
        return division in self.consent.get(client_id, set())

    def revoke_all(self) -> None:
        """The user disconnected the app in Exact: every token stops working."""
        for access in self.access.values():
            access.revoked = True
        for refresh in self.refresh.values():
            refresh.revoked = True
        for code in self.codes.values():
            code.used = True


# -- HTTP ---------------------------------------------------------------------------------------


def _basic_credentials(authorization: str) -> tuple[str, str] | None:
    """(client id, secret) from `Authorization: Basic …`, each form-encoded before the base64
    (RFC 6749 §2.3.1); ("", "") when the header is there but unreadable; None without it."""
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return "", ""
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        return "", ""
    return unquote_plus(client_id), unquote_plus(secret)


def _form(body: bytes) -> dict[str, str]:
    # python-multipart is not a dependency, and Exact's token calls are urlencoded anyway.
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _redirect(uri: str, params: dict[str, str]) -> RedirectResponse:
    separator = "&" if "?" in uri else "?"
    return RedirectResponse(f"{uri}{separator}{urlencode(params)}", status_code=302)


def _error_page(error: OAuthError) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><title>Exact Online</title>"
        f"<h1>{html.escape(error.error)}</h1><p>{html.escape(error.description)}</p>",
        status_code=error.status,
    )


def _consent_page(state: OAuthState, params: Mapping[str, str]) -> HTMLResponse:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in params.items()
        if name in ("client_id", "redirect_uri", "state", "response_type")
    )
    boxes = "".join(
        f'<label><input type="checkbox" name="division" value="{number}"'
        f"{' checked' if number in state.world.default_consent else ''}> "
        f"{number} {html.escape(str(division.info['Description']))}</label><br>"
        for number, division in sorted(state.world.divisions.items())
    )
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><title>Exact Online sandbox: consent</title>"
        f"<h1>{html.escape(params.get('client_id', ''))} asks for access</h1>"
        f'<form method="post" action="/api/oauth2/auth">{hidden}{boxes}'
        '<button name="action" value="approve">Approve</button> '
        '<button name="action" value="deny">Deny</button></form>'
    )


def _refusal(state: OAuthState, params: Mapping[str, str]) -> Response | None:
    """The error page for a bad authorization request, or None when it may go ahead."""
    try:
        state.check_request(params.get("client_id", ""), params.get("redirect_uri", ""))
    except OAuthError as error:
        return _error_page(error)
    if params.get("response_type") != "code":
        return _error_page(
            OAuthError(400, "unsupported_response_type", "Only response_type=code is supported.")
        )
    return None


def _back(params: Mapping[str, str], reply: dict[str, str]) -> RedirectResponse:
    if params.get("state"):
        reply["state"] = params["state"]
    return _redirect(params["redirect_uri"], reply)


async def authorize(request: Request) -> Response:
    """GET shows the consent page (or approves at once with auto_approve=1); POST submits it."""
    state: OAuthState = request.app.state.sandbox.oauth
    if request.method == "GET":
        params = dict(request.query_params)
        refusal = _refusal(state, params)
        if refusal is not None:
            return refusal
        if params.get("auto_approve") != "1":
            return _consent_page(state, params)
        divisions: Iterable[int] = state.world.default_consent
    else:
        pairs = parse_qsl((await request.body()).decode("utf-8", "replace"))
        params = dict(pairs)
        refusal = _refusal(state, params)
        if refusal is not None:
            return refusal
        if params.get("action") == "deny":
            return _back(params, {"error": "access_denied"})
        divisions = [int(v) for k, v in pairs if k == "division" and v.isdigit()]
    with request.app.state.sandbox.lock:
        code = state.authorize(params["client_id"], params["redirect_uri"], divisions)
    return _back(params, {"code": code})


async def token(request: Request) -> Response:
    sandbox = request.app.state.sandbox
    form = _form(await request.body())
    with sandbox.lock:
        try:
            pair = sandbox.oauth.token(form, request.headers.get("authorization", ""))
        except OAuthError as error:
            return error.response()
    return JSONResponse(pair.body(), headers={"Cache-Control": "no-store"})
