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
from exact_tui.sandbox.state import User, World, user_key

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
    user: str  # user_key of who logged in
    used: bool = False


@dataclass
class AccessToken:
    client_id: str
    expires_at: float
    user: str  # user_key of whose token it is
    revoked: bool = False


@dataclass
class RefreshToken:
    client_id: str
    issued_at: float
    user: str
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


#: (client id, user key): one user's grant to one app, with its own token chain.
Grant = tuple[str, str]


@dataclass
class OAuthState:
    """Every user's grants to the registered apps, and every code and token issued. Consent,
    the 570-second rule and the daily token quota are per app and user (docs/sandbox.md)."""

    clock: SandboxClock
    limits: LimitSettings
    world: World
    apps: dict[str, App] = field(
        default_factory=lambda: {CLIENT_ID: App(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)}
    )
    consent: dict[Grant, set[int]] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    access: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    last_issue: dict[Grant, float] = field(default_factory=dict)
    token_calls: dict[tuple[str, str, int], int] = field(default_factory=dict)

    def user_of(self, name: str | None) -> User:
        """A user by name (the default user for None); KeyError naming an unknown one."""
        return self.world.user(name)

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

    def authorize(
        self, client_id: str, redirect_uri: str, divisions: Iterable[int], user: str | None = None
    ) -> str:
        """A code for `user`'s consent to `divisions`; divisions outside their user card are
        not theirs to give and are dropped."""
        who = self.user_of(user)
        given = frozenset(divisions) & frozenset(who.divisions)
        code = "SBX!" + secrets.token_urlsafe(96)
        self.codes[code] = AuthCode(
            client_id, redirect_uri, self.clock.timestamp(), given, user_key(who.name)
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
        self._count_call(app.client_id, self._user_of_form(form))
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self._exchange(app, form)
        if grant == "refresh_token":
            return self._refresh(app, form)
        raise OAuthError(400, "unsupported_grant_type", f"Unsupported grant type '{grant}'.")

    def _user_of_form(self, form: Mapping[str, str]) -> str:
        """Whose token call this is, as far as its code or refresh token tells ("" when
        neither was ever issued)."""
        code = self.codes.get(form.get("code", ""))
        if code is not None:
            return code.user
        refresh = self.refresh.get(form.get("refresh_token", ""))
        return refresh.user if refresh is not None else ""

    def _count_call(self, client_id: str, user: str) -> None:
        """The token endpoint's quota: per app, user and day.

        See docs/exact-api.md §Token lifetimes."""
        day = int(self.clock.timestamp() // self.limits.day_window)
        calls = self.token_calls.get((client_id, user, day), 0)
        # Calls whose user cannot be told (a code or refresh token never issued) count toward
        # every user's quota of the app (docs/sandbox.md, "Users").
        unattributed = self.token_calls.get((client_id, "", day), 0) if user else 0
        if calls + unattributed >= self.limits.token_calls_daily:
            raise OAuthError(
                assumptions.TOKEN_QUOTA_STATUS,
                assumptions.TOKEN_QUOTA_ERROR,
                assumptions.TOKEN_QUOTA_DESCRIPTION,
            )
        self.token_calls[(client_id, user, day)] = calls + 1

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
            self._check_not_too_early((app.client_id, grant.user), now)
        grant.used = True
        self.consent[(app.client_id, grant.user)] = set(grant.divisions)
        return self.issue(app.client_id, grant.user)

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
        self._check_not_too_early((app.client_id, record.user), now)
        record.used_at = now
        return self.issue(app.client_id, record.user)

    def _check_not_too_early(self, grant: Grant, now: float) -> None:
        last = self.last_issue.get(grant)
        if last is not None and now - last < EARLIEST_REFRESH_S:
            raise OAuthError(
                400,
                "access_denied",
                "Rate limit exceeded: access_token not expired",
                headers={"Reason": "TooEarlyToRefreshTokens"},
            )

    def issue(self, client_id: str = CLIENT_ID, user: str | None = None) -> TokenPair:
        """A fresh token pair of `user` (the default user for None); also how in-process tests
        skip the consent page (consenting to the user's default set if they never did)."""
        now = self.clock.timestamp()
        who = user_key(self.user_of(user).name)
        self.consent.setdefault((client_id, who), set(self.user_of(user).default_consent))
        access = "AAEAA" + secrets.token_urlsafe(300)
        refresh = "SBX!IAAAA" + secrets.token_urlsafe(160)
        self.access[access] = AccessToken(client_id, now + ACCESS_TOKEN_LIFETIME_S, who)
        self.refresh[refresh] = RefreshToken(client_id, now, who)
        self.last_issue[(client_id, who)] = now
        return TokenPair(access, refresh, ACCESS_TOKEN_LIFETIME_S)

    # -- checks on REST calls ----------------------------------------------------------------

    def client_of(self, token: str) -> str | None:
        """The client id of a usable access token, or None (401)."""
        record = self.usable(token)
        return record.client_id if record is not None else None

    def usable(self, token: str) -> AccessToken | None:
        """A usable access token (its app and user), or None (401)."""
        record = self.access.get(token)
        if record is None or record.revoked or self.clock.timestamp() >= record.expires_at:
            return None
        return record

    def client_hint(self, token: str) -> str:
        """Who to charge a 401 to: the token's app when it was ever issued."""
        record = self.access.get(token)
        return record.client_id if record is not None else CLIENT_ID

    def has_consent(self, client_id: str, division: int, user: str | None = None) -> bool:
        """Whether `user` gave the app this division (and it is still on their user card)."""
        who = self.user_of(user)
        if division not in who.divisions:
            return False
        return division in self.consent.get((client_id, user_key(who.name)), set())

    def revoke_all(self, user: str | None = None) -> None:
        """A user disconnected the app in Exact: every token of theirs stops working; without
        a user, every token of every user."""
        who = None if user is None else user_key(self.user_of(user).name)
        for access in self.access.values():
            if who is None or access.user == who:
                access.revoked = True
        for refresh in self.refresh.values():
            if who is None or refresh.user == who:
                refresh.revoked = True
        for code in self.codes.values():
            if who is None or code.user == who:
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


_PASSED_ON = ("client_id", "redirect_uri", "state", "response_type", "force_login")


def _hidden(params: Mapping[str, str], names: Iterable[str] = _PASSED_ON) -> str:
    return "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(params[name])}">'
        for name in names
        if name in params
    )


def _login_page(params: Mapping[str, str], problem: str | None = None) -> HTMLResponse:
    """Exact's login step, reduced to the user name (the sandbox checks no password): it
    comes back to the consent page of the user who logged in (docs/sandbox.md, "Users")."""
    note = f"<p>{html.escape(problem)}</p>" if problem else ""
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><title>Exact Online sandbox: log in</title>"
        f"<h1>Log in to Exact Online</h1>{note}"
        f'<form method="get" action="/api/oauth2/auth">{_hidden(params)}'
        '<label>User name <input name="username" autocomplete="username"></label> '
        "<button>Log in</button></form>"
    )


def _consent_page(state: OAuthState, params: Mapping[str, str], user: User) -> HTMLResponse:
    boxes = "".join(
        f'<label><input type="checkbox" name="division" value="{number}"'
        f"{' checked' if number in user.default_consent else ''}> "
        f"{number} {html.escape(str(state.world.divisions.info(number)['Description']))}"
        "</label><br>"
        for number in sorted(user.divisions)
    )
    who = f'<input type="hidden" name="username" value="{html.escape(user.name)}">'
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><title>Exact Online sandbox: consent</title>"
        f"<h1>{html.escape(params.get('client_id', ''))} asks for access</h1>"
        f"<p>Logged in as {html.escape(user.name)}</p>"
        f'<form method="post" action="/api/oauth2/auth">{_hidden(params)}{who}{boxes}'
        '<button name="action" value="approve">Approve</button> '
        '<button name="action" value="deny">Deny</button></form>'
    )


def _chosen_user(state: OAuthState, params: Mapping[str, str]) -> User | None:
    """Who logs in: the `username` given on the login page; with one user and none given,
    that user (a one-user sandbox has no login step); None when the login page must ask."""
    name = params.get("username", "").strip()
    if name:
        return state.user_of(name)  # KeyError for an unknown user
    if len(state.world.users) == 1:
        return state.world.default_user
    return None


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
    """GET shows the login page (several users, none named), then the user's consent page, or
    approves at once with auto_approve=1; POST submits the consent page."""
    state: OAuthState = request.app.state.sandbox.oauth
    if request.method == "GET":
        params = dict(request.query_params)
        refusal = _refusal(state, params)
        if refusal is not None:
            return refusal
        try:
            user = _chosen_user(state, params)
        except KeyError:
            problem = f"Unknown user name '{params.get('username', '').strip()}'."
            if params.get("auto_approve") == "1":
                return _error_page(OAuthError(400, "invalid_request", problem))
            return _login_page(params, problem)
        if user is None and params.get("auto_approve") == "1":
            user = state.world.default_user
        if user is None:
            return _login_page(params)
        if params.get("auto_approve") != "1":
            return _consent_page(state, params, user)
        divisions: Iterable[int] = user.default_consent
    else:
        pairs = parse_qsl((await request.body()).decode("utf-8", "replace"))
        params = dict(pairs)
        refusal = _refusal(state, params)
        if refusal is not None:
            return refusal
        try:
            user = _chosen_user(state, params) or state.world.default_user
        except KeyError:
            return _login_page(params, f"Unknown user name '{params['username'].strip()}'.")
        if params.get("action") == "deny":
            return _back(params, {"error": "access_denied"})
        divisions = [int(v) for k, v in pairs if k == "division" and v.isdigit()]
    with request.app.state.sandbox.lock:
        code = state.authorize(params["client_id"], params["redirect_uri"], divisions, user.name)
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
