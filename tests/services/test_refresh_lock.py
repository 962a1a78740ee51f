"""The token refresh lock is per tenant (services/tokens.py): two tenants refresh side by side,
while two refreshers of one tenant still take turns, on SQLite (a lock file per tenant) and on
PostgreSQL (an advisory lock per tenant)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from exact_tui.services.tokens import refresh_lock_for
from exact_tui.store.engine import Store
from exact_tui.store.models import Tenant

#: Real seconds a holder keeps its lock while another tries: a chance for a broken lock to let
#: the other in, never a limit anything is measured against.
HOLD = 0.3
#: Only ends a hung test (a lock that waits for another tenant's).
GUARD = 60.0


def _two_tenants(store: Store) -> tuple[Store, Store]:
    with store.write() as session:
        session.add(Tenant(code="bee", name="Bee"))
    return store.tenant("default"), store.tenant("bee")


async def test_two_tenants_refresh_side_by_side(store: Store) -> None:
    default, bee = _two_tenants(store)
    order: list[str] = []
    async with refresh_lock_for(default).hold():
        order.append("default holds")
        # Taken while default's is held: if it waited for default's, this would never end.
        await asyncio.wait_for(_take(bee, order, "bee"), GUARD)
        order.append("default lets go")
    assert order == ["default holds", "bee holds", "bee lets go", "default lets go"]


async def test_two_refreshers_of_one_tenant_take_turns(store: Store) -> None:
    default, _ = _two_tenants(store)
    order: list[str] = []
    first_holds = asyncio.Event()

    async def first() -> None:
        async with refresh_lock_for(default).hold():
            order.append("first holds")
            first_holds.set()
            await asyncio.sleep(HOLD)
            order.append("first lets go")

    async def second() -> None:
        await first_holds.wait()
        await _take(default, order, "second")

    await asyncio.wait_for(asyncio.gather(first(), second()), GUARD)
    assert order == ["first holds", "first lets go", "second holds", "second lets go"]


async def test_waiting_for_a_refresh_lock_keeps_no_thread_of_the_worker(store: Store) -> None:
    """One worker serves every tenant from one pool of threads (its store calls). Refreshers
    waiting for a tenant's lock (another process refreshes it, Exact's token endpoint slow)
    must not take those threads, or every tenant's work would wait with them."""
    default, _ = _two_tenants(store)
    pool = ThreadPoolExecutor(max_workers=2)
    asyncio.get_running_loop().set_default_executor(pool)
    order: list[str] = []
    try:
        async with refresh_lock_for(default).hold():
            waiters = [asyncio.create_task(_take(default, order, f"w{n}")) for n in range(3)]
            await asyncio.sleep(HOLD)  # they are waiting now
            # A store call of another tenant meanwhile: if the waiters held the two threads,
            # this would wait until the lock is let go (never, here).
            assert await asyncio.wait_for(asyncio.to_thread(lambda: "served"), GUARD) == "served"
            assert order == []
        await asyncio.wait_for(asyncio.gather(*waiters), GUARD)
    finally:
        pool.shutdown(wait=False)
    assert sorted(order) == sorted(
        f"w{n} {what}" for n in range(3) for what in ("holds", "lets go")
    )


async def _take(store: Store, order: list[str], name: str) -> None:
    async with refresh_lock_for(store).hold():
        order.append(f"{name} holds")
        await asyncio.sleep(0)
        order.append(f"{name} lets go")
