"""The pure parts of OAuth: when to refresh, what was pasted, what a refusal means."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse

import pytest

from exact_tui.exact.errors import Refused
from exact_tui.exact.oauth import (
    OAuthClient,
    TokenRefusal,
    _token_set,
    base_url_for,
    classify_token_error,
    hash_state,
    idle_refresh_due,
    parse_redirect,
    refresh_due,
)

ISSUED = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
EXPIRES = ISSUED + dt.timedelta(seconds=600)


def at(seconds: float) -> dt.datetime:
    return ISSUED + dt.timedelta(seconds=seconds)


def test_refresh_is_due_in_exacts_window_only() -> None:
    assert not refresh_due(ISSUED, EXPIRES, at(0))
    assert not refresh_due(ISSUED, EXPIRES, at(569.9))
    assert refresh_due(ISSUED, EXPIRES, at(570))
    assert refresh_due(ISSUED, EXPIRES, at(3600))
    # A token that claims a short life is still not refreshed before Exact's 570 s.
    assert not refresh_due(ISSUED, at(60), at(100))


def test_idle_refresh_is_daily() -> None:
    day = dt.timedelta(days=1)
    assert not idle_refresh_due(ISSUED, at(3600), day)
    assert idle_refresh_due(ISSUED, at(86400), day)


def test_expires_in_arrives_as_a_string() -> None:
    tokens = _token_set(
        {"access_token": "a" * 20, "refresh_token": "r" * 20, "expires_in": "600"}, ISSUED
    )
    assert tokens.expires_at == EXPIRES
    assert tokens.refresh_expires_at == ISSUED + dt.timedelta(days=30)
    assert "a" * 20 not in repr(tokens) and "r" * 20 not in repr(tokens)
    odd = _token_set({"access_token": "a", "refresh_token": "r", "expires_in": "soon"}, ISSUED)
    assert odd.expires_at == EXPIRES


def test_parse_redirect_takes_the_url_or_the_bare_code() -> None:
    url = "http://localhost:8765/callback?code=SBX%21abc&state=xyz"
    redirect = parse_redirect(f"  {url}\n")
    assert (redirect.code, redirect.state) == ("SBX!abc", "xyz")
    assert "SBX" not in repr(redirect)
    bare = parse_redirect("SBX%21abc")
    assert (bare.code, bare.state) == ("SBX!abc", None)
    assert parse_redirect("?code=c1&state=s1").state == "s1"
    with pytest.raises(Refused, match="did not give access: access_denied"):
        parse_redirect("http://localhost:8765/callback?error=access_denied&state=xyz")
    with pytest.raises(Refused, match="no code"):
        parse_redirect("http://localhost:8765/callback?state=xyz")
    with pytest.raises(Refused):
        parse_redirect("   ")
    with pytest.raises(Refused):
        parse_redirect("two words")


def _body(error: str, description: str) -> str:
    return json.dumps({"error": error, "error_description": description})


@pytest.mark.parametrize(
    ("status", "headers", "body", "kind"),
    [
        (
            400,
            {"Reason": "TooEarlyToRefreshTokens"},
            _body("access_denied", "Rate limit exceeded: access_token not expired"),
            TokenRefusal.TOO_EARLY,
        ),
        (401, {}, _body("invalid_request", "Access Token not expired"), TokenRefusal.TOO_EARLY),
        (401, {}, _body("unauthorized_client", "Old refresh token used."), TokenRefusal.OLD_TOKEN),
        (
            400,
            {},
            _body("invalid_request", "The refresh token expired at 10/11/2022 9:18:20 PM and it"),
            TokenRefusal.EXPIRED,
        ),
        (
            400,
            {},
            _body("invalid_grant", "The refresh token has been revoked."),
            TokenRefusal.REVOKED,
        ),
        (
            400,
            {},
            _body("access_denied", "Rate limit exceeded: maximum number of token requests per day"),
            TokenRefusal.QUOTA,
        ),
        (400, {}, _body("invalid_grant", "Invalid chainId"), TokenRefusal.OTHER),
        (400, {}, "<html>moved</html>", TokenRefusal.OTHER),
    ],
)
def test_token_refusals(
    status: int, headers: dict[str, str], body: str, kind: TokenRefusal
) -> None:
    assert classify_token_error(status, headers, body, grant="refresh_token") is kind


def test_a_refused_code_is_a_bad_code_whatever_the_text() -> None:
    body = _body("invalid_grant", "The authorization code has already been used.")
    assert classify_token_error(400, {}, body, grant="authorization_code") is TokenRefusal.BAD_CODE


@pytest.mark.parametrize("grant", ["authorization_code", "refresh_token"])
def test_a_refused_client_is_named_whichever_the_grant(grant: str) -> None:
    body = _body("invalid_client", "Client authentication failed.")
    assert classify_token_error(401, {}, body, grant=grant) is TokenRefusal.BAD_CLIENT


def test_authorize_url_carries_state_and_exact_parameters() -> None:
    client = OAuthClient("https://start.exactonline.be/", "cid", "secret-value", "https://x/cb")
    url = urllib.parse.urlsplit(client.authorize_url("st4te", force_login=True))
    assert (url.scheme, url.netloc, url.path) == (
        "https",
        "start.exactonline.be",
        "/api/oauth2/auth",
    )
    params = dict(urllib.parse.parse_qsl(url.query))
    assert params == {
        "response_type": "code",
        "client_id": "cid",
        "redirect_uri": "https://x/cb",
        "state": "st4te",
        "force_login": "1",
    }
    assert "secret-value" not in repr(client)


def test_regions_and_state_hashing() -> None:
    assert base_url_for("uk") == "https://start.exactonline.co.uk"
    assert base_url_for("us") == "https://start.exactonline.com"
    assert base_url_for("nl", "http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    with pytest.raises(ValueError, match="unknown region"):
        base_url_for("xx")
    assert hash_state("abc") != "abc" and len(hash_state("abc")) == 64
