"""`disconnect`, `status --json` and `doctor` on a connected store, and the loopback listener."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlmodel import select

from exact_tui.cli import group
from exact_tui.domain.states import ConnectionStatus
from exact_tui.services.connection import ConnectError, wait_for_redirect
from exact_tui.store.models import Audit, ExactConnection, OAuthToken
from tests.connection.kit import World, secret_env


def run(db_url: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(group, ["--db", db_url, *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


async def test_disconnect_asks_first(connected: World, db_url: str) -> None:
    code, _, err = run(db_url, "disconnect", stdin="n\n")
    assert code == 1 and "not disconnected" in err
    with connected.store.read() as session:
        assert session.get(OAuthToken, 1) is not None
    code, out, _ = run(db_url, "disconnect", "--yes")
    assert code == 0 and "Disconnected" in out
    with connected.store.read() as session:
        conn = session.get(ExactConnection, 1)
        audit = session.exec(select(Audit).where(Audit.action == "disconnect")).one()
        assert session.get(OAuthToken, 1) is None
    assert conn is not None and conn.status is ConnectionStatus.INACTIVE
    assert audit.origin == "cli"
    code, out, _ = run(db_url, "disconnect", "--yes")
    assert code == 0 and "nothing to disconnect" in out


async def test_status_json_has_the_connection(connected: World, db_url: str) -> None:
    code, out, _ = run(db_url, "status", "--json")
    assert code == 0
    conn = json.loads(out)["connection"]
    assert conn["status"] == "connected" and conn["user_name"] == "Sanne de Vries"
    assert conn["has_token"] is True and conn["token_expires_at"] and conn["token_issued_at"]
    assert conn["activated_at"] and conn["reason"] is None


async def test_doctor_names_the_secret_store_in_use(connected: World, db_url: str) -> None:
    code, out, _ = run(db_url, "doctor")
    assert code == 0, out
    assert "✔ store in use: environment (EXACT_TUI_SECRET_KEY)" in out
    assert "✔ data key: present (key id " in out
    assert "✔ stored tokens: readable with this key" in out
    assert "✔ client secret: set (value hidden)" in out


async def test_doctor_fails_when_the_key_changed(
    connected: World, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXACT_TUI_SECRET_KEY", "A" * 43 + "=")
    code, out, _ = run(db_url, "doctor")
    assert code == 1
    assert "✖ stored tokens: encrypted with key id" in out


def test_doctor_without_any_store_says_what_to_set(db_url: str) -> None:
    code, out, _ = run(db_url, "doctor")
    assert code == 0  # nothing is stored yet: a warning, not a failure
    assert "⚠ store in use: none usable" in out and "EXACT_TUI_SECRET_KEY" in out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_loopback_listener_returns_the_redirect() -> None:
    port = _free_port()
    waiting = asyncio.create_task(
        wait_for_redirect(f"http://localhost:{port}/callback", timeout=10)
    )
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as browser:
        for _ in range(100):
            try:
                stray = await browser.get("/favicon.ico")
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.02)
        page = await browser.get("/callback?code=SBX%21abc&state=st")
    assert stray.status_code == 404
    assert page.status_code == 200 and "close this tab" in page.text
    assert "SBX" not in page.text
    assert await waiting == f"http://localhost:{port}/callback?code=SBX%21abc&state=st"


async def test_an_https_redirect_is_caught_when_its_page_forwards_it_to_the_listener() -> None:
    """Exact wants an https redirect URI that is not localhost: the page there forwards the
    browser to 127.0.0.1:PORT at the same path, and the listener reads it as the redirect."""
    port = _free_port()
    waiting = asyncio.create_task(
        wait_for_redirect("https://ops.example.test/exact/callback", port=port, timeout=10)
    )
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as browser:
        for _ in range(100):
            try:
                other = await browser.get("/callback?code=x&state=y")
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.02)
        page = await browser.get("/exact/callback?code=SBX%21abc&state=st")
    assert other.status_code == 404  # not the registered path
    assert page.status_code == 200
    assert await waiting == "https://ops.example.test/exact/callback?code=SBX%21abc&state=st"


async def test_the_listener_needs_an_address_and_gives_up() -> None:
    with pytest.raises(ConnectError, match="--listen needs the redirect URI's address"):
        await wait_for_redirect("", port=_free_port())
    with pytest.raises(ConnectError, match="no redirect arrived"):
        await wait_for_redirect(f"http://127.0.0.1:{_free_port()}/cb", timeout=0.05)


def test_connect_without_a_redirect_uri_says_what_to_set(tmp_path: Path) -> None:
    """No default redirect URI works at Exact (https only, not localhost): connect asks for the
    registered one and changes nothing."""
    db = tmp_path / "never" / "store.db"
    result = CliRunner().invoke(
        group,
        ["--db", str(db), "connect", "--base-url", "http://127.0.0.1:9", "--client-id", "x"],
        env=secret_env(),
    )
    assert result.exit_code == 1
    assert "no redirect URI: pass --redirect-uri or set exact.redirect_uri" in result.stderr
    assert result.stdout == ""
    assert not db.exists()
