"""The Status screen's actions, pressed as an operator would, against the in-process sandbox:
connect by paste-back, Retrieve data, pause and resume, Unlink."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel import select
from textual.widgets import Input

from exact_tui.domain.states import ConnectionStatus
from exact_tui.sandbox import REDIRECT_URI
from exact_tui.services.audit import Actor
from exact_tui.services.console import ConsoleServices, operator_actions
from exact_tui.services.export import ExportService
from exact_tui.store.engine import Store
from exact_tui.store.models import Audit, ExactConnection, OAuthToken, SyncRequest
from exact_tui.ui.app import ConsoleApp, build_app
from exact_tui.ui.screens.connect import ConnectScreen
from tests.connection.kit import BASE_URL, World, secret_env
from tests.ui.conftest import screen_text, wait_for

SIZE = (120, 36)


@pytest.fixture
def world(store: Store, monkeypatch: pytest.MonkeyPatch) -> World:
    for name, value in secret_env().items():
        monkeypatch.setenv(name, value)
    return World(store)


def console(world: World, *, read_only: bool = False) -> ConsoleApp:
    from exact_tui.services.connection import connect_settings

    actions = operator_actions(
        world.store,
        Actor("operator", "tui"),
        open_secrets=lambda: world.secrets,
        connect_settings=connect_settings(
            region="nl",
            base_url=BASE_URL,
            client_id="sandbox-client",
            redirect_uri=REDIRECT_URI,
        ),
        transport=world.transport,
    )
    services = ConsoleServices(world.store, timezone="Europe/Amsterdam", actions=actions)
    return build_app(services, read_only=read_only, poll_seconds=0.05, tail_seconds=0.05)


def footer(app: ConsoleApp) -> str:
    return screen_text(app).splitlines()[-1]


def connection(store: Store) -> ExactConnection | None:
    with store.read() as session:
        return session.get(ExactConnection, 1)


async def approve(world: World, url: str) -> str:
    """The user's browser: consent, and the address it ends on."""
    async with httpx.AsyncClient(transport=world.transport) as browser:
        answer = await browser.get(url + "&auto_approve=1")
    return answer.headers["location"]


async def test_connect_by_paste_back_then_operate_and_unlink(world: World) -> None:
    app = console(world)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "not connected" in screen_text(app).lower())
        assert "c Connect" in footer(app) and "Unlink" not in footer(app)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConnectScreen))
        modal = app.screen
        assert isinstance(modal, ConnectScreen)
        await wait_for(pilot, lambda: modal.flow is not None)
        assert modal.flow is not None
        url = modal.flow.authorize_url
        assert url.startswith(f"{BASE_URL}/api/oauth2/auth?response_type=code")
        assert "api/oauth2/auth" in screen_text(app)

        # A paste from another attempt is refused in the dialog, which stays open.
        stale = (await approve(world, url)).replace("state=", "state=x")
        modal.query_one("#connect-paste", Input).value = stale
        await pilot.press("enter")
        await wait_for(pilot, lambda: "another connect attempt" in screen_text(app))
        assert isinstance(app.screen, ConnectScreen) and connection(world.store) is None

        # ctrl+n: a new address; its redirect connects.
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: modal.flow is not None and modal.flow.authorize_url != url)
        assert modal.flow is not None
        modal.query_one("#connect-paste", Input).value = await approve(
            world, modal.flow.authorize_url
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConnectScreen))
        await wait_for(pilot, lambda: "✔ Connected" in screen_text(app))
        conn = connection(world.store)
        assert conn is not None and conn.status is ConnectionStatus.CONNECTED
        await wait_for(pilot, lambda: "c Reconnect" in footer(app) and "x Unlink" in footer(app))

        # Retrieve data asks the worker for an import; the connect's initial one still waits,
        # so that one request serves both.
        await pilot.press("r")
        await wait_for(pilot, lambda: "sync" in _audited(world.store))
        assert _requests(world.store) == ["initial"]

        # Pause, then resume.
        await pilot.press("p")
        await wait_for(pilot, lambda: _paused(world.store))
        await wait_for(pilot, lambda: "p Resume exports" in footer(app))
        await pilot.press("p")
        await wait_for(pilot, lambda: not _paused(world.store))

        # Unlink asks first; "n" changes nothing, "y" deletes the tokens and stops exports.
        await pilot.press("x")
        await wait_for(pilot, lambda: "Unlink from Exact Online?" in screen_text(app))
        await pilot.press("n")
        await pilot.pause(0.1)
        assert _has_token(world.store)
        await pilot.press("x")
        await wait_for(pilot, lambda: "Unlink from Exact Online?" in screen_text(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: not _has_token(world.store))
        await wait_for(pilot, lambda: "Inactive" in screen_text(app))
    conn = connection(world.store)
    assert conn is not None and conn.status is ConnectionStatus.INACTIVE

    async def no_client() -> Any:
        raise AssertionError("a paused export must not ask for a client")

    assert ExportService(world.store, no_client).paused_reason() == "not connected to Exact"
    actions = _audited(world.store)
    assert actions[0] == "connect" and actions[-1] == "disconnect"
    assert {"sync", "pause", "resume"} <= set(actions)


async def test_read_only_offers_no_status_action(world: World) -> None:
    await world.connect()
    app = console(world, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "✔ Connected" in screen_text(app))
        bar = footer(app)
        for label in ("Reconnect", "Unlink", "Retrieve data", "Pause exports"):
            assert label not in bar
        await pilot.press("c", "x", "r", "p")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConnectScreen)
    assert _requests(world.store) == ["initial"] and not _paused(world.store)
    assert _has_token(world.store)


def _audited(store: Store) -> list[str]:
    with store.read() as session:
        return list(session.exec(select(Audit.action).order_by(Audit.id)))


def _requests(store: Store) -> list[str]:
    with store.read() as session:
        return list(session.exec(select(SyncRequest.trigger).order_by(SyncRequest.id)))


def _paused(store: Store) -> bool:
    conn = connection(store)
    return bool(conn and conn.exports_paused)


def _has_token(store: Store) -> bool:
    with store.read() as session:
        return session.get(OAuthToken, 1) is not None
