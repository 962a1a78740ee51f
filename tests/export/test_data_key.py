"""A worker whose data key does not open the stored tokens (a wrong or rotated key) sends
nothing and changes no job: the connection shows Error with the reason, found before any
claim, instead of jobs turned "unknown" as if something had been sent."""

from __future__ import annotations

import base64
import os

import pytest
from sqlmodel import select

from exact_tui.domain.states import ConnectionStatus, JobState
from exact_tui.exact.oauth import TokenSet
from exact_tui.secret_store import TokenCipher, open_secret_store
from exact_tui.services.export import ExportOptions
from exact_tui.services.runtime import LinkOptions, WorkerSetup, build_worker
from exact_tui.services.tokens import KEY_REASON, save_token
from exact_tui.services.worker import WorkerOptions
from exact_tui.store.models import ExactConnection, ExportEvent, OAuthToken
from exact_tui.store.scoping import tenant_key
from tests.export.kit import ExportWorld, customer, invoice


async def test_a_key_that_does_not_open_the_tokens_changes_no_job(
    xw: ExportWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-1", "5")])
    xw.service.prepare()
    before = xw.job("INV-1")
    monkeypatch.setenv("EXACT_TUI_SECRET_KEY", base64.b64encode(os.urandom(32)).decode())
    setup = WorkerSetup(LinkOptions(), ExportOptions(), WorkerOptions())
    worker, link = build_worker(
        xw.store, open_secret_store("auto"), setup, clock=xw.world, transport=xw.world.transport
    )
    try:
        await worker.run(until_idle=True)
    finally:
        await link.close()
    job = xw.job("INV-1")
    assert (job.state, job.attempts, job.updated_at) == (
        JobState.PENDING,
        0,
        before.updated_at,
    )
    with xw.store.read() as session:
        assert list(session.exec(select(ExportEvent))) == []
        conn = session.get(ExactConnection, tenant_key(session))
    assert conn is not None
    assert conn.status is ConnectionStatus.ERROR
    assert conn.reason is not None
    assert "the data key does not open the stored tokens" in conn.reason
    assert xw.calls() == 0


async def test_tokens_the_key_stops_opening_mid_run_send_the_job_back_untouched(
    xw: ExportWorld,
) -> None:
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-1", "5"), invoice("INV-2", "5")])
    await xw.step()
    assert xw.job("INV-1").state is JobState.POSTED
    # Someone reconnected with another data key: the tokens are now sealed with it.
    other = TokenCipher(os.urandom(32))
    with xw.store.write() as session:
        row = session.get(OAuthToken, tenant_key(session))
        assert row is not None
        tokens = TokenSet("a", "r", row.issued_at, row.expires_at, row.refresh_expires_at)
        assert save_token(session, other, tokens, expected_version=row.version)
    await xw.run()
    job = xw.job("INV-2")
    assert job.state is JobState.PENDING  # nothing was sent: not "unknown"
    assert xw.calls("salesentry/SalesEntries", method="POST") == 1
    with xw.store.read() as session:
        conn = session.get(ExactConnection, tenant_key(session))
    assert conn is not None and conn.status is ConnectionStatus.ERROR
    assert conn.reason is not None and conn.reason.startswith(KEY_REASON)
