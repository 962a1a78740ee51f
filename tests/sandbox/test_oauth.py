"""OAuth: the consent page, the token endpoint's rules and bodies, token lifetimes."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest

from exact_tui.sandbox import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, Sandbox

from .helpers import BE, NL, NO_CONSENT, Api

AUTH = "/api/oauth2/auth"
TOKEN = "/api/oauth2/token"
AUTH_PARAMS = {
    "client_id": CLIENT_ID,
    "redirect_uri": REDIRECT_URI,
    "response_type": "code",
    "state": "st-42",
    "force_login": "0",
}


async def code_for(client: httpx.AsyncClient, **extra: str) -> str:
    response = await client.get(AUTH, params={**AUTH_PARAMS, "auto_approve": "1", **extra})
    assert response.status_code == 302
    return str(httpx.URL(response.headers["location"]).params["code"])


async def exchange(client: httpx.AsyncClient, code: str, **overrides: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        **overrides,
    }
    return await client.post(TOKEN, data=form)


async def refresh(client: httpx.AsyncClient, token: str, **overrides: str) -> httpx.Response:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": token,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        **overrides,
    }
    return await client.post(TOKEN, data=form)


async def connect(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await exchange(client, await code_for(client))
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


# -- authorization --------------------------------------------------------------------------


async def test_auto_approve_redirects_back_with_code_and_state(client: httpx.AsyncClient) -> None:
    response = await client.get(AUTH, params={**AUTH_PARAMS, "auto_approve": "1"})
    assert response.status_code == 302
    location = httpx.URL(response.headers["location"])
    assert str(location).startswith(REDIRECT_URI + "?")
    assert location.params["state"] == "st-42"
    assert len(location.params["code"]) > 100


async def test_consent_page_offers_every_division_with_the_default_set_ticked(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(AUTH, params=AUTH_PARAMS)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    for division in (NL, BE):
        assert f'value="{division.number}" checked>' in page
    assert f'value="{NO_CONSENT.number}">' in page
    assert 'value="st-42"' in page


async def test_consenting_to_some_divisions_limits_the_token(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    form = {**AUTH_PARAMS, "division": str(BE.number), "action": "approve"}
    response = await client.post(AUTH, data=form)
    assert response.status_code == 302
    code = httpx.URL(response.headers["location"]).params["code"]
    tokens = (await exchange(client, code)).json()
    api = Api(client, tokens["access_token"])
    assert (await api.get(f"{BE.number}/financial/Journals")).status_code == 200
    refused = await api.get(f"{NL.number}/financial/Journals")
    assert refused.status_code == 403
    assert refused.headers["Reason"] == "NoDivisionAccess"
    assert sandbox.consent() == {BE.number}


async def test_denying_redirects_with_access_denied(client: httpx.AsyncClient) -> None:
    response = await client.post(AUTH, data={**AUTH_PARAMS, "action": "deny"})
    location = httpx.URL(response.headers["location"])
    assert location.params["error"] == "access_denied"
    assert location.params["state"] == "st-42"
    assert "code" not in location.params


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://localhost:8765/callback/",
        "http://localhost:8765/",
        "https://localhost:8765/callback",
        "http://127.0.0.1:8765/callback",
    ],
)
async def test_redirect_uri_must_match_exactly(
    client: httpx.AsyncClient, redirect_uri: str
) -> None:
    response = await client.get(AUTH, params={**AUTH_PARAMS, "redirect_uri": redirect_uri})
    assert response.status_code == 400
    assert f"Callback URI &#x27;{redirect_uri}&#x27; is not valid" in response.text
    assert "location" not in response.headers


@pytest.mark.parametrize(
    ("redirect_uri", "why"),
    [
        ("http://ops.example.test/callback", "it must use https"),
        ("https://localhost:8765/callback", "localhost and loopback addresses are not allowed"),
        ("https://127.0.0.1/callback", "localhost and loopback addresses are not allowed"),
        ("https://[::1]:8443/cb", "localhost and loopback addresses are not allowed"),
        ("https://app.localhost/cb", "localhost and loopback addresses are not allowed"),
        ("callback", "it is not an absolute address"),
    ],
)
async def test_the_app_center_registers_https_redirects_off_this_machine_only(
    client: httpx.AsyncClient, sandbox: Sandbox, redirect_uri: str, why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        sandbox.register_app("other-app", "other-secret", redirect_uri)
    answer = await client.post(
        "/_sandbox/apps",
        json={"client_id": "other-app", "client_secret": "s", "redirect_uri": redirect_uri},
    )
    assert answer.status_code == 400
    assert why in answer.json()["error"]["message"]["value"]
    refused = await client.get(AUTH, params={**AUTH_PARAMS, "client_id": "other-app"})
    assert refused.status_code == 400  # never registered


async def test_a_registered_app_uses_its_own_redirect(client: httpx.AsyncClient) -> None:
    registered = await client.post(
        "/_sandbox/apps",
        json={
            "client_id": "other-app",
            "client_secret": "other-secret",
            "redirect_uri": "https://ops.example.test/exact/callback",
        },
    )
    assert registered.status_code == 201
    params = {
        **AUTH_PARAMS,
        "client_id": "other-app",
        "redirect_uri": "https://ops.example.test/exact/callback",
        "auto_approve": "1",
    }
    answer = await client.get(AUTH, params=params)
    assert answer.status_code == 302
    assert answer.headers["location"].startswith("https://ops.example.test/exact/callback?code=")


async def test_unknown_client_and_implicit_flow_are_refused(client: httpx.AsyncClient) -> None:
    unknown = await client.get(AUTH, params={**AUTH_PARAMS, "client_id": "someone-else"})
    assert unknown.status_code == 400
    implicit = await client.get(AUTH, params={**AUTH_PARAMS, "response_type": "token"})
    assert implicit.status_code == 400
    assert "unsupported_response_type" in implicit.text


# -- code exchange --------------------------------------------------------------------------


async def test_token_body_is_exacts_with_expires_in_as_a_string(client: httpx.AsyncClient) -> None:
    response = await exchange(client, await code_for(client))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == "600"
    assert body["access_token"] != body["refresh_token"]


async def test_authorization_codes_are_single_use(client: httpx.AsyncClient) -> None:
    code = await code_for(client)
    assert (await exchange(client, code)).status_code == 200
    again = await exchange(client, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


async def test_authorization_codes_expire_after_three_minutes(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    code = await code_for(client)
    sandbox.advance(181)
    response = await exchange(client, code)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "The authorization code has expired.",
    }


async def test_code_exchange_checks_the_redirect_uri_and_the_secret(
    client: httpx.AsyncClient,
) -> None:
    code = await code_for(client)
    wrong_uri = await exchange(client, code, redirect_uri="http://localhost:8765/other")
    assert wrong_uri.status_code == 400
    wrong_secret = await exchange(client, code, client_secret="guess")
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"
    # Neither attempt spent the code.
    assert (await exchange(client, code)).status_code == 200


def _basic(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 §2.3.1: each part form-encoded, then base64."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


async def test_the_client_may_authenticate_with_http_basic(client: httpx.AsyncClient) -> None:
    code = await code_for(client)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    answer = await client.post(TOKEN, data=form, headers=_basic(CLIENT_ID, CLIENT_SECRET))
    assert answer.status_code == 200, answer.text
    assert answer.json()["token_type"] == "bearer"


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (_basic(CLIENT_ID, "guess"), {}),
        (_basic("someone-else", CLIENT_SECRET), {}),
        (_basic(CLIENT_ID, CLIENT_SECRET), {"client_id": "someone-else"}),
        ({"Authorization": "Basic !!not-base64"}, {}),
        ({"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}, {}),
    ],
)
async def test_a_wrong_basic_is_invalid_client_with_a_challenge(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, str]
) -> None:
    code = await code_for(client)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    answer = await client.post(TOKEN, data={**form, **body}, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert answer.headers["WWW-Authenticate"].startswith("Basic")
    assert (await exchange(client, code)).status_code == 200  # the code was not spent


async def test_unknown_grant_type(client: httpx.AsyncClient) -> None:
    response = await exchange(client, "x", grant_type="client_credentials")
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


# -- refresh --------------------------------------------------------------------------------


async def test_refresh_before_570_seconds_is_refused_with_reason(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    tokens = await connect(client)
    sandbox.advance(569)
    response = await refresh(client, tokens["refresh_token"])
    assert response.status_code == 400
    assert response.headers["Reason"] == "TooEarlyToRefreshTokens"
    assert response.json() == {
        "error": "access_denied",
        "error_description": "Rate limit exceeded: access_token not expired",
    }
    # The refused call did not spend the refresh token.
    sandbox.advance(1)
    assert (await refresh(client, tokens["refresh_token"])).status_code == 200


async def test_refresh_rotates_and_an_old_refresh_token_is_refused(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    first = await connect(client)
    sandbox.advance(570)
    response = await refresh(client, first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert second["expires_in"] == "600"
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    sandbox.advance(600)
    reused = await refresh(client, first["refresh_token"])
    assert reused.status_code == 401
    assert reused.json() == {
        "error": "unauthorized_client",
        "error_description": "Old refresh token used.",
    }
    assert (await refresh(client, second["refresh_token"])).status_code == 200


async def test_access_tokens_expire_after_600_seconds(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    tokens = await connect(client)
    api = Api(client, tokens["access_token"])
    sandbox.advance(599)
    assert (await api.get("current/Me")).status_code == 200
    sandbox.advance(1)
    expired = await api.get("current/Me")
    assert expired.status_code == 401
    assert "WWW-Authenticate" in expired.headers
    assert expired.json()["error"]["message"]["value"]


async def test_refresh_tokens_expire_after_30_days(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    tokens = await connect(client)
    sandbox.advance(30 * 24 * 3600)
    response = await refresh(client, tokens["refresh_token"])
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_request"
    # Exact's wording and US date format: "expired at 4/1/2026 9:00:10 AM and it is now ...".
    assert body["error_description"].startswith("The refresh token expired at 4/1/2026 9:00:")
    assert " AM and it is now 4/1/2026 " in body["error_description"]


async def test_unknown_refresh_token(client: httpx.AsyncClient) -> None:
    response = await refresh(client, "never-issued")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_200_token_calls_a_day(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.set_limits(token_calls_daily=3)
    for _ in range(3):
        assert (await exchange(client, "bogus")).status_code == 400  # counted, though refused
    over = await exchange(client, await code_for(client))
    assert over.status_code == 400
    assert over.json()["error"] == "access_denied"
    assert "too many token requests" in over.json()["error_description"]
    sandbox.advance(24 * 3600)
    assert (await exchange(client, await code_for(client))).status_code == 200


async def test_the_daily_default_is_200(sandbox: Sandbox) -> None:
    assert sandbox.settings.token_calls_daily == 200


async def test_revoked_grant_refuses_calls_and_refresh(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    tokens = await connect(client)
    sandbox.revoke_tokens()
    assert (await Api(client, tokens["access_token"]).get("current/Me")).status_code == 401
    sandbox.advance(600)
    response = await refresh(client, tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    # A new consent works again.
    assert (await exchange(client, await code_for(client))).status_code == 200
