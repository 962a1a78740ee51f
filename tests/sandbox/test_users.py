"""Several Exact users: each logs in on the login page, consents to their own divisions and gets
their own tokens; a token reads only its user's consented divisions."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from exact_tui.sandbox import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    Sandbox,
    SandboxClock,
    create_app,
    division_number,
    facts_for,
)

from .helpers import BASE_URL, START, Api

AUTH = "/api/oauth2/auth"
TOKEN = "/api/oauth2/token"
AUTH_PARAMS = {
    "client_id": CLIENT_ID,
    "redirect_uri": REDIRECT_URI,
    "response_type": "code",
    "state": "st-7",
}


@pytest.fixture
def fleet() -> Sandbox:
    return Sandbox(seed=7, users=3, clock=SandboxClock(START, frozen=True))


@pytest.fixture
async def client(fleet: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(fleet))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http


def names(fleet: Sandbox) -> list[str]:
    return [user.user_name for user in fleet.facts.users]


async def tokens_by_login(
    client: httpx.AsyncClient, username: str, divisions: list[int] | None = None
) -> dict[str, str]:
    """The browser's way: the login page, the user's consent page, the code, the tokens."""
    page = await client.get(AUTH, params={**AUTH_PARAMS, "username": username})
    assert page.status_code == 200, page.text
    assert f"Logged in as {username}" in page.text
    ticked = divisions if divisions is not None else []
    form = [(k, v) for k, v in AUTH_PARAMS.items()] + [("username", username)]
    form += [("division", str(d)) for d in ticked] + [("action", "approve")]
    answer = await client.post(
        AUTH,
        content=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 302, answer.text
    code = httpx.URL(answer.headers["location"]).params["code"]
    exchanged = await client.post(
        TOKEN,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert exchanged.status_code == 200, exchanged.text
    body = exchanged.json()
    assert isinstance(body, dict)
    return body


def test_each_user_has_divisions_of_their_own() -> None:
    facts = facts_for("small", 3)
    first, second, third = facts.users
    assert first.user_name == facts.user_name  # the default user is the one-user sandbox's
    assert first.divisions == (101001, 101002, 101003)
    assert second.divisions == (division_number(2, 1), division_number(2, 2)) == (102001, 102002)
    assert third.divisions == (103001, 103002)
    assert len({d.number for d in facts.divisions}) == 7
    assert len({u.user_name for u in facts.users}) == 3
    # A size for scale: one user with many divisions, and many users with several each.
    many = facts_for("small", 1, 40)
    assert len(many.users[0].divisions) == 40 and many.users[0].divisions[-1] == 101040
    crowd = facts_for("small", 250, 2)
    assert len(crowd.divisions) == 500 and crowd.users[-1].divisions == (350001, 350002)


@pytest.mark.parametrize(
    ("users", "per_user", "message"),
    [
        (0, None, "users must be a whole number of at least 1, not 0"),
        (2, 0, "divisions_per_user must be a whole number from 1 to 999, not 0"),
        (2, 1000, "divisions_per_user must be a whole number from 1 to 999, not 1000"),
    ],
)
def test_a_sandbox_of_no_users_or_too_many_divisions_is_refused(
    users: int, per_user: int | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Sandbox(users=users, divisions_per_user=per_user)


def test_many_divisions_are_built_only_when_read() -> None:
    sandbox = Sandbox(seed=3, users=200, divisions_per_user=5)
    assert len(sandbox.world.divisions) == 1000
    assert sandbox.world.divisions.built() == []
    info = sandbox.world.divisions.info(150003)
    assert info["Code"] == 150003 and sandbox.world.divisions.built() == []
    built = sandbox.division(150003)
    assert built.info == info and len(built.accounts) > 200
    assert [d.number for d in sandbox.world.divisions.built()] == [150003]
    # The same seed builds the same books whatever was built before.
    again = Sandbox(seed=3, users=200, divisions_per_user=5).division(150003)
    assert list(again.accounts) == list(built.accounts)


async def test_several_users_are_asked_who_logs_in(client: httpx.AsyncClient) -> None:
    page = await client.get(AUTH, params=AUTH_PARAMS)
    assert page.status_code == 200
    assert 'name="username"' in page.text and "Approve" not in page.text
    unknown = await client.get(AUTH, params={**AUTH_PARAMS, "username": "nobody@example.test"})
    assert "Unknown user name 'nobody@example.test'." in html.unescape(unknown.text)
    assert "Approve" not in unknown.text
    refused = await client.get(
        AUTH, params={**AUTH_PARAMS, "username": "nobody@example.test", "auto_approve": "1"}
    )
    assert refused.status_code == 400 and "Unknown user name" in refused.text


async def test_the_consent_page_offers_the_users_own_divisions(
    client: httpx.AsyncClient, fleet: Sandbox
) -> None:
    second = fleet.facts.users[1]
    page = await client.get(AUTH, params={**AUTH_PARAMS, "username": second.user_name.upper()})
    for number in second.divisions:
        assert f'value="{number}" checked' in page.text
    assert "101001" not in page.text


async def test_me_and_divisions_answer_the_tokens_user(
    client: httpx.AsyncClient, fleet: Sandbox
) -> None:
    first, second, _ = fleet.facts.users
    tokens = await tokens_by_login(client, second.user_name, list(second.divisions))
    api = Api(client, tokens["access_token"])
    me = (await api.results("current/Me"))[0]
    assert me["UserName"] == second.user_name
    assert me["CurrentDivision"] == second.current_division
    listed = await api.results(f"{second.divisions[0]}/system/Divisions")
    assert [d["Code"] for d in listed] == list(second.divisions)
    assert all(d["Code"] not in first.divisions for d in listed)
    hrm = await api.results(f"{second.divisions[0]}/hrm/Divisions", {"$select": "Code"})
    assert sorted(d["Code"] for d in hrm) == sorted(second.divisions)
    # Records of their divisions were made by them.
    journals = await api.results(f"{second.divisions[0]}/financial/Journals")
    assert journals[0]["CreatorFullName"] == second.full_name


async def test_a_user_cannot_read_another_users_division(
    client: httpx.AsyncClient, fleet: Sandbox
) -> None:
    first, second, third = fleet.facts.users
    tokens = await tokens_by_login(client, second.user_name, list(second.divisions))
    api = Api(client, tokens["access_token"])
    assert (await api.get(f"{second.divisions[0]}/financial/Journals")).status_code == 200
    for foreign in (first.divisions[0], third.divisions[1]):
        answer = await api.get(f"{foreign}/financial/Journals")
        assert answer.status_code == 403
        assert answer.headers["Reason"] == "NoDivisionAccess"
        posted = await api.post(f"{foreign}/crm/Accounts", {"Name": "Indringer B.V."})
        assert posted.status_code == 403
    books: Any = fleet.ledger(first.divisions[0])["divisions"]
    assert books["101001"]["counts"]["accounts"] == 0


async def test_consent_cannot_reach_another_users_division(
    client: httpx.AsyncClient, fleet: Sandbox
) -> None:
    first, second, _ = fleet.facts.users
    # A forged consent form naming someone else's division gives nothing of it.
    tokens = await tokens_by_login(client, second.user_name, [second.divisions[1], 101001])
    assert fleet.consent(user=second.user_name) == {second.divisions[1]}
    api = Api(client, tokens["access_token"])
    assert (await api.get("101001/financial/Journals")).status_code == 403
    # Only what they ticked: their other division is theirs but not given.
    assert (await api.get(f"{second.divisions[0]}/financial/Journals")).status_code == 403
    assert (await api.get(f"{second.divisions[1]}/financial/Journals")).status_code == 200
    with pytest.raises(ValueError, match="101001 is not one of"):
        fleet.set_consent([101001], user=second.user_name)
    assert fleet.consent(user=first.user_name) == frozenset()  # the first never logged in


async def test_tokens_are_per_user(client: httpx.AsyncClient, fleet: Sandbox) -> None:
    first, second, third = fleet.facts.users
    a = await tokens_by_login(client, first.user_name, list(first.default_consent))
    b = await tokens_by_login(client, second.user_name, list(second.divisions))
    # Each user's token chain keeps its own 570-second rule: b's consent right after a's
    # does not make a's refresh early, and a's refresh leaves b's tokens alone.
    fleet.advance(575)
    refreshed = await client.post(
        TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": a["refresh_token"],
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    b_api = Api(client, b["access_token"])
    assert (await b_api.get(f"{second.divisions[0]}/financial/Journals")).status_code == 200
    # One user disconnects the app: their tokens stop working, the others' do not.
    fleet.revoke_tokens(user=second.user_name)
    assert (await b_api.get(f"{second.divisions[0]}/financial/Journals")).status_code == 401
    a_api = Api(client, refreshed.json()["access_token"])
    assert (await a_api.get("101001/financial/Journals")).status_code == 200
    c = fleet.issue_tokens(user=third.user_name)
    c_me = (await Api(client, c.access_token).results("current/Me"))[0]
    assert c_me["UserName"] == third.user_name


async def test_the_control_api_speaks_of_users(client: httpx.AsyncClient, fleet: Sandbox) -> None:
    second = fleet.facts.users[1]
    listed = (await client.get("/_sandbox/users")).json()["users"]
    assert [u["user_name"] for u in listed] == names(fleet)
    assert listed[1]["divisions"] == list(second.divisions) and listed[1]["consent"] == []
    given = await client.post(
        "/_sandbox/consent", json={"user": second.user_name, "divisions": [second.divisions[0]]}
    )
    assert given.json() == {"user": second.user_name, "divisions": [second.divisions[0]]}
    foreign = await client.post(
        "/_sandbox/consent", json={"user": second.user_name, "divisions": [101001]}
    )
    assert foreign.status_code == 400 and fleet.consent(user=second.user_name) == {
        second.divisions[0]
    }
    unknown = await client.get("/_sandbox/consent", params={"user": "nobody@example.test"})
    assert unknown.status_code == 400
    assert "nobody@example.test" in unknown.json()["error"]["message"]["value"]
    withdrawn = await client.delete(
        f"/_sandbox/consent/{second.divisions[0]}", params={"user": second.user_name}
    )
    assert withdrawn.json()["divisions"] == []
