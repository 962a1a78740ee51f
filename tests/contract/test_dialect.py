"""Exact's dialect where a client can go wrong without noticing: the representation chosen by
`Accept`, and the empty page after an exact multiple of the page size."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

import httpx
import pytest

from exact_tui.exact import odata
from exact_tui.exact.errors import ExactError
from exact_tui.exact.odata import Query
from exact_tui.sandbox import SMALL
from exact_tui.sandbox.odata import atom
from exact_tui.services.connection import ConnectionService
from exact_tui.store.engine import Store
from tests.connection.kit import NL, World, secret_env

ATOM = "{http://www.w3.org/2005/Atom}"
DATA = "{http://schemas.microsoft.com/ado/2007/08/dataservices}"
META = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"


class WithoutAccept(httpx.AsyncBaseTransport):
    """A client regression: the Accept header is lost on the way out."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        del request.headers["Accept"]
        return await self.inner.handle_async_request(request)


@dataclass
class ForgetfulWorld(World):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.transport = WithoutAccept(self.transport)
        self.service = ConnectionService(self.store, transport=self.transport, clock=self.now)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in secret_env().items():
        monkeypatch.setenv(name, value)


async def test_a_client_that_drops_accept_gets_atom_it_cannot_read(env: None, store: Store) -> None:
    world = ForgetfulWorld(store)
    await world.connect()  # the token endpoint answers JSON whatever Accept says
    async with world.session() as session:
        with pytest.raises(ExactError, match="not JSON"):
            await session.client.get_page(NL, "financial/Journals", Query(select=("Code",)))


async def test_the_client_sends_accept_and_reads_json(env: None, store: Store) -> None:
    world = World(store)
    await world.connect()
    async with world.session() as session:
        page = await session.client.get_page(NL, "financial/Journals", Query(select=("Code",)))
    assert {row["Code"] for row in page.rows} == set(SMALL.division(NL).journals)


async def _raw(world: World, path: str, accept: str | None, **params: str) -> httpx.Response:
    token = world.sandbox.issue_tokens().access_token
    headers = {"Authorization": f"Bearer {token}"}
    if accept is not None:
        headers["Accept"] = accept
    async with httpx.AsyncClient(transport=world.transport, base_url="http://sandbox.test") as c:
        return await c.get(f"/api/v1/{path}", params=params, headers=headers)


async def test_without_accept_a_list_is_an_atom_feed(env: None, store: Store) -> None:
    world = World(store)
    answer = await _raw(
        world,
        f"{NL}/crm/Accounts",
        None,
        **{"$select": "ID,Code,Name,Blocked,Created", "$filter": "Status eq 'C'"},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == atom.FEED_TYPE
    feed = ET.fromstring(answer.content)  # noqa: S314 - the sandbox's own answer
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 60
    properties = entries[0].find(f"{ATOM}content/{META}properties")
    assert properties is not None
    assert properties.find(f"{DATA}ID").get(f"{META}type") == "Edm.Guid"  # type: ignore[union-attr]
    assert properties.find(f"{DATA}Blocked").text == "false"  # type: ignore[union-attr]
    created = properties.find(f"{DATA}Created")
    assert created is not None and created.get(f"{META}type") == "Edm.DateTime"
    following = [link for link in feed.findall(f"{ATOM}link") if link.get("rel") == "next"]
    assert len(following) == 1 and "$skiptoken=" in str(following[0].get("href"))


@pytest.mark.parametrize(
    ("accept", "json"),
    [
        ("application/json", True),
        ("application/json;odata=verbose", True),
        ("application/atom+xml", False),
        ("*/*", False),
        (None, False),
    ],
)
async def test_accept_picks_the_representation(
    env: None, store: Store, accept: str | None, json: bool
) -> None:
    answer = await _raw(World(store), f"{NL}/financial/Journals", accept, **{"$select": "Code"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(
        "application/json" if json else "application/atom+xml"
    )


async def test_errors_follow_the_representation_and_other_types_are_415(
    env: None, store: Store
) -> None:
    world = World(store)
    unknown = await _raw(world, f"{NL}/hrm/Costunits", None, **{"$select": "Active"})
    assert unknown.status_code == 400
    message = ET.fromstring(unknown.content).find(f"{META}message")  # noqa: S314
    assert message is not None and "No property 'Active'" in str(message.text)
    html = await _raw(world, f"{NL}/financial/Journals", "text/html")
    assert html.status_code == 415
    count = await _raw(world, f"{NL}/financial/Journals/$count", "text/plain")
    assert (count.status_code, count.text) == (200, str(len(SMALL.division(NL).journals)))
    assert (await _raw(world, f"{NL}/financial/Journals", "text/plain")).status_code == 415


async def test_the_client_counts_the_empty_page_after_an_exact_multiple(
    env: None, store: Store
) -> None:
    """120 accounts match: two full pages, then the empty one Exact answers; three calls."""
    world = World(store)
    await world.connect()
    for number in range(120):
        world.sandbox.create_account(NL, Name=f"Veelvoud {number}", Code=str(800000 + number))
    query = Query(select=("ID",), filter=odata.compare("Code", "ge", f"{800000:>18}"))
    async with world.session() as session:
        before = session.client.calls[NL]
        rows = await session.client.get_all(NL, "crm/Accounts", query)
        calls = session.client.calls[NL] - before
    assert (len(rows), calls) == (120, 3)
