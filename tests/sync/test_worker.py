"""The worker process around the import: the daily schedule, requests written by the CLI,
and a clean stop in the middle of an import."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import func
from sqlmodel import col, select

from exact_tui.cli import group
from exact_tui.secret_store import open_secret_store
from exact_tui.services.export import ExportOptions
from exact_tui.services.runtime import LinkOptions, WorkerSetup, build_worker
from exact_tui.services.worker import WorkerOptions
from exact_tui.store.engine import Store, open_store
from exact_tui.store.models import ExactAccount, SyncRequest, SyncRun, WorkerHeartbeat
from tests.connection.kit import World, cli_connect, process_env, sandbox_process, secret_env

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


class SteppedClock:
    """A clock a test sets by hand."""

    def __init__(self, now: dt.datetime) -> None:
        self.current = now

    def now(self) -> dt.datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.current += dt.timedelta(seconds=seconds)


class WorldClock:
    """The sandbox's clock, for a worker in the same process as the sandbox."""

    def __init__(self, world: World) -> None:
        self.world = world

    def now(self) -> dt.datetime:
        return self.world.now()

    async def sleep(self, seconds: float) -> None:
        await self.world.sleep(seconds)


def setup(poll: float = 0.05) -> WorkerSetup:
    return WorkerSetup(
        link=LinkOptions(),
        export=ExportOptions(),
        # No night window: the one tenant's import starts at daily_at itself.
        worker=WorkerOptions(poll_seconds=poll, daily_at=dt.time(3, 0), night_window_hours=0),
    )


def _daily_requests(store: Store) -> list[dt.datetime]:
    with store.read() as session:
        return list(
            session.exec(select(SyncRequest.requested_at).where(SyncRequest.trigger == "daily"))
        )


def _run_all(store: Store) -> None:
    with store.write() as session:
        for request in session.exec(select(SyncRequest)):
            request.state = "done"
            session.add(request)


def test_daily_import_is_requested_once_a_day(store: Store) -> None:
    clock = SteppedClock(dt.datetime(2026, 11, 21, 10, 0, tzinfo=AMSTERDAM))
    secrets = open_secret_store("env", environ=secret_env())
    worker, _ = build_worker(store, secrets, setup(), clock=clock)
    worker.schedule_daily()
    assert len(_daily_requests(store)) == 1  # today's 03:00 slot had passed unseen
    _run_all(store)  # run by the worker (one still waiting is enough: none beside it)
    for local in (
        dt.datetime(2026, 11, 21, 23, 59, tzinfo=AMSTERDAM),
        dt.datetime(2026, 11, 22, 2, 59, tzinfo=AMSTERDAM),
    ):
        clock.current = local
        worker.schedule_daily()
    assert len(_daily_requests(store)) == 1
    clock.current = dt.datetime(2026, 11, 22, 3, 0, tzinfo=AMSTERDAM)
    worker.schedule_daily()
    worker.schedule_daily()
    assert len(_daily_requests(store)) == 2
    _run_all(store)
    # Across the change to summer time the slot stays at 03:00 local.
    clock.current = dt.datetime(2027, 3, 28, 3, 30, tzinfo=AMSTERDAM)
    worker.schedule_daily()
    assert len(_daily_requests(store)) == 3


async def test_sync_request_from_the_cli_is_picked_up_by_a_running_worker(
    connected: World, db_url: str
) -> None:
    worker, link = build_worker(
        connected.store,
        connected.secrets,
        setup(),
        clock=WorldClock(connected),
        transport=connected.transport,
    )
    running = asyncio.create_task(worker.run())
    try:
        # The connect asked for the initial import; the worker does it first.
        for _ in range(200):
            with connected.store.read() as session:
                states = set(session.exec(select(SyncRequest.state)))
            if states == {"done"}:
                break
            await asyncio.sleep(0.05)
        assert states == {"done"}
        result = await asyncio.to_thread(
            CliRunner().invoke, group, ["--db", db_url, "sync", "--division", "101001", "--wait"]
        )
        assert result.exit_code == 0, result.output
        assert "queued for division 101001" in result.output
        assert "division 101001   accounts" in result.output
        assert "done: 101001:" in result.output
    finally:
        worker.stop()
        await running
        await link.close()
    with connected.store.read() as session:
        beat = session.get(WorkerHeartbeat, worker.worker_id)
        states = set(session.exec(select(SyncRequest.state)))
    assert beat is not None and beat.state == "stopped"
    assert states == {"done"}  # the connect's initial import and the CLI's request


def test_sync_of_an_unknown_division_is_refused(store: Store, db_url: str) -> None:
    result = CliRunner().invoke(group, ["--db", db_url, "sync", "--division", "999"])
    assert result.exit_code == 1
    assert "division 999 is not known" in result.output
    with store.read() as session:
        assert session.exec(select(SyncRequest)).all() == []


# ---------------------------------------------------------------- a real worker process


@pytest.fixture(scope="module")
def large_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with sandbox_process(tmp_path_factory.mktemp("large-sandbox"), "--size", "large") as url:
        yield url


def _runs(db_url: str) -> int:
    store = open_store(db_url)
    try:
        with store.read() as session:
            return session.exec(select(func.count()).select_from(SyncRun)).one()
    finally:
        store.dispose()


@pytest.mark.slow
def test_sigterm_mid_import_leaves_a_consistent_store(
    large_sandbox: str, tmp_path: Path, db_url: str
) -> None:
    env = {**process_env(tmp_path / "home"), **secret_env()}
    code, _, err = cli_connect(large_sandbox, db_url, env)
    assert code == 0, err
    command = [sys.executable, "-m", "exact_tui", "--db", db_url, "worker"]
    worker = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while _runs(db_url) < 2:  # the division list and the first entity are in
        assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
        assert time.monotonic() < deadline, "the import did not start"
        time.sleep(0.05)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    store = open_store(db_url)
    with store.read() as session:
        beats = session.exec(select(WorkerHeartbeat)).all()
        request = session.exec(select(SyncRequest).order_by(col(SyncRequest.id))).first()
    assert [beat.state for beat in beats] == ["stopped"]
    assert request is not None and request.state in ("pending", "done")
    store.dispose()

    # The next run completes the import: every account of both divisions is in the cache.
    finish = subprocess.run(
        [*command, "--until-idle"], env=env, capture_output=True, text=True, timeout=120
    )
    assert finish.returncode == 0, finish.stderr
    store = open_store(db_url)
    with store.read() as session:
        per_division = dict(
            session.exec(
                select(ExactAccount.division, func.count()).group_by(col(ExactAccount.division))
            ).all()
        )
        states = set(session.exec(select(SyncRequest.state)))
    store.dispose()
    assert per_division == {101001: 20_000, 101002: 20_000}
    assert states == {"done"}
    assert os.path.exists(tmp_path / "home" / "state" / "exact-tui.log")
