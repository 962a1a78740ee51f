"""`exact-tui worker` is a fleet command: without --tenant it serves every enabled tenant and its
start line says how many; with --tenant, that one."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlmodel import delete, select

from exact_tui.store.engine import Store
from exact_tui.store.models import Tenant, WorkerHeartbeat
from tests.connection.kit import process_env, secret_env


def _start_line(store: Store, db_url: str, home: Path, *tenant: str) -> str:
    env = {**process_env(home), **secret_env()}
    command = [sys.executable, "-m", "exact_tui", "--db", db_url, *tenant, "worker"]
    worker = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert worker.stderr is not None
        line = worker.stderr.readline()
        # Its first heartbeat: it runs, and stops cleanly on SIGTERM.
        while not _running(store):
            assert worker.poll() is None, worker.stderr.read()
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    with store.write() as session:
        session.execute(delete(WorkerHeartbeat))
    return line


def _running(store: Store) -> bool:
    with store.read() as session:
        beats = session.exec(select(WorkerHeartbeat.state)).all()
    return "running" in beats


def test_the_worker_serves_every_enabled_tenant_or_the_one_named(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    with store.write() as session:
        session.add(Tenant(code="bee", name="Bee"))
        session.add(Tenant(code="cee", name="Cee", disabled_at=dt.datetime.now(dt.UTC)))
    line = _start_line(store, db_url, tmp_path / "all")
    assert "serving 2 tenants (1 disabled)" in line, line
    line = _start_line(store, db_url, tmp_path / "one", "--tenant", "bee")
    assert "serving tenant bee" in line, line
