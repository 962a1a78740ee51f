from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from exact_tui.store.engine import Store
from tests.connection.kit import World, process_env, secret_env


@pytest.fixture
def world(store: Store, monkeypatch: pytest.MonkeyPatch) -> World:
    for name, value in secret_env().items():
        monkeypatch.setenv(name, value)
    return World(store)


@pytest.fixture
async def connected(world: World) -> World:
    await world.connect()
    return world


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`exact-tui sandbox` in a real process on a free port of 127.0.0.1 (its clock runs)."""
    home = tmp_path_factory.mktemp("sandbox-home")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**process_env(home), "EXACT_TUI_CONFIG_DIR": str(home / "config")}
    server = subprocess.Popen(
        [sys.executable, "-m", "exact_tui", "sandbox", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base_url}/_sandbox/clock", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError("the sandbox process did not start") from None
            time.sleep(0.05)
    yield base_url
    server.terminate()
    server.wait(10)


@pytest.fixture
def served(sandbox_server: str) -> str:
    """The sandbox process, back to its seed (its clock keeps going)."""
    httpx.post(f"{sandbox_server}/_sandbox/reset", json={}).raise_for_status()
    return sandbox_server


@pytest.fixture(autouse=True)
def _drop_log_handler() -> Iterator[None]:
    """Commands install a file handler on the root logger; it must not outlive the test."""
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == "exact-tui-file":
            root.removeHandler(handler)
            handler.close()
