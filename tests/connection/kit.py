"""The in-process sandbox world the client, token and connection tests share.

The sandbox's clock stands still; the client and the token manager read it, and their `sleep`
moves it forward, so waits for rate-limit resets and the 570-second mark take no real time.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from exact_tui.sandbox import CLIENT_ID, REDIRECT_URI, Sandbox, SandboxClock, create_app
from exact_tui.secret_store import SecretStore, open_secret_store
from exact_tui.services.audit import Actor
from exact_tui.services.connection import (
    ConnectAttempt,
    ConnectionService,
    ConnectResult,
    PreparedConnect,
    connect_settings,
    prepare_connect,
)
from exact_tui.services.exact_session import ExactSession, exact_session
from exact_tui.store.engine import Store

BASE_URL = "http://sandbox.test"
ACTOR = Actor("tester", "cli")
NL, BE, NO_CONSENT = 101001, 101002, 101003


def secret_env() -> dict[str, str]:
    return {
        "EXACT_TUI_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(),
        "EXACT_TUI_CLIENT_SECRET": "sandbox-secret",
    }


def process_env(home: Path) -> dict[str, str]:
    """The environment of an exact-tui process in a test: its own directories, no keyring."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith("EXACT_TUI_")}
    return {
        **keep,
        "EXACT_TUI_CONFIG_DIR": str(home / "config"),
        "EXACT_TUI_DATA_DIR": str(home / "data"),
        "EXACT_TUI_STATE_DIR": str(home / "state"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }


@dataclass
class World:
    store: Store
    sandbox: Sandbox = field(
        default_factory=lambda: Sandbox(seed=7, size="small", clock=SandboxClock(frozen=True))
    )
    slept: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app = create_app(self.sandbox)
        self.transport = httpx.ASGITransport(app=self.app)
        self.secrets: SecretStore = open_secret_store("auto")
        self.service = ConnectionService(self.store, transport=self.transport, clock=self.now)

    def now(self) -> dt.datetime:
        return self.sandbox.now()

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.sandbox.advance(seconds)

    def token_calls(self, status: int | None = None) -> int:
        return self.sandbox.calls.count("oauth2/token", status=status)

    def prepare(self) -> PreparedConnect:
        settings = connect_settings(
            region="nl", base_url=BASE_URL, client_id=CLIENT_ID, redirect_uri=REDIRECT_URI
        )
        return prepare_connect(self.secrets, settings, transport=self.transport, clock=self.now)

    async def consent(self, attempt: ConnectAttempt) -> str:
        """What the browser ends on after the user approves: the redirect URL."""
        async with httpx.AsyncClient(transport=self.transport) as browser:
            answer = await browser.get(attempt.authorize_url + "&auto_approve=1")
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]

    async def connect(self) -> ConnectResult:
        prepared = self.prepare()
        attempt = self.service.begin(prepared)
        return await self.service.complete(prepared, attempt, await self.consent(attempt), ACTOR)

    @asynccontextmanager
    async def session(
        self, *, lag: float = 0.0, error_threshold: int = 8
    ) -> AsyncIterator[ExactSession]:
        """A client session whose clock runs `lag` seconds behind the sandbox's."""

        def clock() -> dt.datetime:
            return self.now() - dt.timedelta(seconds=lag)

        async with exact_session(
            self.store,
            self.secrets,
            transport=self.transport,
            clock=clock,
            sleep=self.sleep,
            error_threshold=error_threshold,
        ) as session:
            yield session


def cli_connect(base_url: str, db_url: str, env: dict[str, str]) -> tuple[int, str, str]:
    """`exact-tui connect` with the user's part played by an HTTP client: open the printed
    address (auto-approving), and paste the address the browser would end on into stdin."""
    command = [sys.executable, "-m", "exact_tui", "--db", db_url, "connect"]
    command += ["--base-url", base_url, "--client-id", CLIENT_ID, "--redirect-uri", REDIRECT_URI]
    process = subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url:
        out, err = process.communicate(timeout=30)
        return process.returncode, out, err
    answer = httpx.get(url + "&auto_approve=1", follow_redirects=False)
    assert answer.status_code == 302
    out, err = process.communicate(answer.headers["location"] + "\n", timeout=60)
    return process.returncode, url + "\n" + out, err


@contextmanager
def sandbox_process(home: Path, *args: str) -> Iterator[str]:
    """`exact-tui sandbox` in a real process on a free port of 127.0.0.1 (its clock runs),
    until the block ends; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "exact_tui", "sandbox", "--port", str(port), *args],
        env=process_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                httpx.get(f"{base_url}/_sandbox/clock", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the sandbox process did not start") from None
                time.sleep(0.05)
        yield base_url
    finally:
        server.terminate()
        server.wait(10)
