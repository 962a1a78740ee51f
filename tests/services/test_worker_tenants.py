"""What a worker builds for a tenant (its link to Exact with the tokens it holds, its export
pipeline) belongs to that tenant: a tenant removed and another added under the same id (SQLite
gives the highest id again once its row is gone) gets parts of its own, never the removed one's."""

from __future__ import annotations

import asyncio

from exact_tui.secret_store import open_secret_store
from exact_tui.services.audit import Actor
from exact_tui.services.export import ExportOptions
from exact_tui.services.runtime import LinkOptions, WorkerSetup, build_worker
from exact_tui.services.tenants import add_tenant, remove_tenant
from exact_tui.services.worker import WorkerOptions
from exact_tui.store.engine import Store
from tests.connection.kit import secret_env

OPS = Actor("ops", "cli", None)


async def test_a_tenant_added_under_a_removed_tenants_id_gets_parts_of_its_own(
    store: Store,
) -> None:
    setup = WorkerSetup(link=LinkOptions(), export=ExportOptions(), worker=WorkerOptions())
    worker, links = build_worker(store, open_secret_store("env", environ=secret_env()), setup)
    add_tenant(store, "old", "Old B.V.", OPS)
    worker._read_tenants()
    old_id = next(t for t, code in worker.tenants.items() if code == "old")
    old = links.parts(old_id)
    assert old is not None and old.store.code == "old"
    # Removed and another added between two heartbeats of the worker.
    remove_tenant(store, "old", OPS)
    add_tenant(store, "new", "New B.V.", OPS)
    worker._read_tenants()
    await asyncio.gather(*worker._background)
    new_id = next(t for t, code in worker.tenants.items() if code == "new")
    new = links.parts(new_id)
    assert new is not None and new.store.code == "new"
    assert new is not old and new.link is not old.link and new.export is not old.export
    await links.close()
