"""Real processes: `exact-tui connect` against `exact-tui sandbox`, and two processes that
share one SQLite store reaching token expiry together, fifty times."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from exact_tui.cli import group
from exact_tui.domain.states import ConnectionStatus
from exact_tui.store.engine import open_store
from exact_tui.store.models import ExactConnection, OAuthToken
from tests.connection.kit import cli_connect, process_env, secret_env

DRIVER = Path(__file__).with_name("refresh_driver.py")
ROOT = Path(__file__).parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**process_env(tmp_path / "home"), **secret_env()}


def test_connect_by_paste_back_through_the_cli(
    served: str, tmp_path: Path, env: dict[str, str], db_url: str
) -> None:
    code, out, err = cli_connect(served, db_url, env)
    assert code == 0, err
    assert out.startswith(f"{served}/api/oauth2/auth?response_type=code&client_id=sandbox-client")
    assert "✔ Connected as Sanne de Vries" in err
    assert "initial master-data import requested" in err
    store = open_store(db_url)
    with store.read() as session:
        conn = session.get(ExactConnection, 1)
        token = session.get(OAuthToken, 1)
    store.dispose()
    assert conn is not None and conn.status is ConnectionStatus.CONNECTED
    assert conn.region == "custom" and conn.base_url == served
    assert token is not None and token.version == 1
    # The log holds the request lines, redacted.
    log = (tmp_path / "home" / "state" / "exact-tui.log").read_text()
    assert "POST /api/oauth2/token 200" in log and "GET /api/v1/current/Me 200" in log
    calls = httpx.get(f"{served}/_sandbox/calls").json()
    assert calls["by_endpoint"] == {"oauth2/auth": 1, "oauth2/token": 1, "current/Me": 1}


def _advance(control: httpx.Client, seconds: float, clock_file: Path) -> None:
    """Move the sandbox's clock, and tell the driver processes the new offset from real time."""
    answer = control.post("/_sandbox/clock", json={"advance": seconds})
    sandbox_now = dt.datetime.fromisoformat(answer.json()["now"])
    clock_file.write_text(str((sandbox_now - dt.datetime.now(dt.UTC)).total_seconds()))


def test_two_processes_reach_expiry_together_fifty_times(
    served: str, tmp_path: Path, env: dict[str, str], db_url: str
) -> None:
    code, _, err = cli_connect(served, db_url, env)
    assert code == 0, err
    clock_file = tmp_path / "clock-offset"
    control = httpx.Client(base_url=served)
    _advance(control, 0, clock_file)
    drivers = [
        subprocess.Popen(
            [sys.executable, str(DRIVER), db_url, str(clock_file)],
            env={**env, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    answers: list[list[str]] = [[], []]
    try:
        for driver in drivers:
            assert driver.stdout is not None and driver.stdout.readline().strip() == "ready"
        for _ in range(50):
            _advance(control, 600, clock_file)
            for driver in drivers:
                assert driver.stdin is not None
                driver.stdin.write("go\n")
                driver.stdin.flush()
            for index, driver in enumerate(drivers):
                assert driver.stdout is not None
                answers[index].append(driver.stdout.readline().strip())
    finally:
        control.close()
        for driver in drivers:
            assert driver.stdin is not None
            driver.stdin.close()
            driver.wait(10)
    errors = [a for both in answers for a in both if not a.startswith("ok ")]
    assert errors == []
    refreshes = [int(both[-1].split()[1]) for both in answers]
    assert sum(refreshes) == 50
    calls = httpx.get(f"{served}/_sandbox/calls").json()["calls"]
    token_calls = {c["status"]: c["count"] for c in calls if c["endpoint"] == "oauth2/token"}
    # The code exchange and exactly one refresh per cycle; never "Old refresh token used" (401).
    assert token_calls == {200: 51}
    me = {c["status"]: c["count"] for c in calls if c["endpoint"] == "current/Me"}
    assert me == {200: 101}


def test_connect_refuses_without_a_secret_store_and_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "never" / "store.db"
    result = CliRunner().invoke(
        group,
        ["--db", str(db), "connect", "--base-url", "http://127.0.0.1:9", "--client-id", "x"],
        env={"EXACT_TUI_CLIENT_SECRET": "sandbox-secret"},
    )
    assert result.exit_code == 1
    assert "EXACT_TUI_SECRET_KEY" in result.stderr
    assert "base64.b64encode(secrets.token_bytes(32)).decode()" in result.stderr
    assert 'secrets.store = "file"' in result.stderr
    assert result.stdout == ""
    assert not db.exists() and not db.parent.exists()
    no_secret = CliRunner().invoke(
        group,
        ["--db", str(db), "connect", "--base-url", "http://127.0.0.1:9", "--client-id", "x"],
        env={"EXACT_TUI_SECRET_KEY": secret_env()["EXACT_TUI_SECRET_KEY"]},
    )
    assert no_secret.exit_code == 1 and "EXACT_TUI_CLIENT_SECRET" in no_secret.stderr
    assert not db.exists()
