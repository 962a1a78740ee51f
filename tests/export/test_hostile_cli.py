"""An Exact whose master data carry terminal escapes and bidi controls: its names come in
through the import and out through the command line, plain (see tests/cli/test_hostile_output.py
for the store's and the environment's side)."""

from __future__ import annotations

import base64
import os
import secrets

from sqlmodel import select

from exact_tui.secret_store import open_secret_store
from exact_tui.services.audit import Actor
from exact_tui.services.export import ExportOptions
from exact_tui.services.runtime import LinkOptions, WorkerSetup, build_worker
from exact_tui.services.sync_requests import request_sync
from exact_tui.services.worker import WorkerOptions
from exact_tui.store.models import ExactAccount
from tests.cli.environments import run_cli
from tests.cli.test_hostile_output import HOSTILE, assert_plain
from tests.export.kit import NL, ExportWorld, customer, invoice
from tests.sync.test_worker import WorldClock


async def test_an_exact_whose_master_data_is_hostile(xw: ExportWorld) -> None:
    sandbox = xw.sandbox
    account = next(iter(sandbox.division(NL).accounts.values()))
    sandbox.update_account(NL, str(account["ID"]), Name=f"Exact{HOSTILE}")
    request_sync(xw.store, Actor("test", "cli", "local"), NL)
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-H", "5")])
    setup = WorkerSetup(
        link=LinkOptions(), export=ExportOptions(), worker=WorkerOptions(poll_seconds=0.05)
    )
    worker, link = build_worker(
        xw.store,
        open_secret_store("auto"),
        setup,
        clock=WorldClock(xw.world),
        transport=xw.world.transport,
    )
    try:
        await worker.run(until_idle=True)
    finally:
        await link.close()
    with xw.store.read() as session:
        imported = session.exec(
            select(ExactAccount).where(ExactAccount.id == str(account["ID"]))
        ).one()
    assert imported.name.startswith("Exact")
    env = {
        **{k: v for k, v in os.environ.items() if k.startswith("EXACT_TUI_")},
        "EXACT_TUI_SECRET_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    db = ["--db", xw.store.url]
    for args in (
        ["status"],
        ["jobs"],
        ["link", "5", str(imported.code), "--division", str(NL)],
    ):
        run = run_cli([*db, *args], env)
        assert run.code == 0, run.stderr
        assert_plain(run)
