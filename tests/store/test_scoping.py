"""Tenant scoping (docs/tenants.md §Isolation): what a session of one tenant reads, changes and
adds; a session without a tenant fails loudly; `get` takes the natural key."""

from __future__ import annotations

import pytest
from sqlalchemy import func, update
from sqlmodel import col, select

from exact_tui.store.engine import Store
from exact_tui.store.models import Budget, Customer, Division, Tenant
from exact_tui.store.scoping import UnscopedSession


def _two(store: Store) -> tuple[Store, Store]:
    with store.write() as session:
        session.add(Tenant(code="b", name="B"))
    a, b = store.tenant("default"), store.tenant("b")
    for scoped, name in ((a, "A"), (b, "B")):
        with scoped.write() as session:
            session.add(Customer(number="C1", name=name, content_hash="h"))
            session.add(Division(code=100001, description=name))
            session.add(Budget(division=100001, daily_remaining=7 if name == "A" else 9))
    return a, b


def test_each_tenant_reads_counts_gets_and_changes_its_own_rows(store: Store) -> None:
    a, b = _two(store)
    with a.read() as session:
        assert [c.name for c in session.exec(select(Customer)).all()] == ["A"]
        assert session.exec(select(func.count()).select_from(Customer)).one() == 1
        budget = session.get(Budget, 100001)  # the natural key, completed with the tenant
        assert budget is not None and budget.daily_remaining == 7
        division = session.get(Division, (a.tenant_id, 100001))  # or the whole key
        assert division is not None and division.description == "A"
        assert session.get(Division, (b.tenant_id, 100001)) is None
    with b.write() as session:
        changed = session.execute(update(Customer).values(name="B2"))
        assert changed.rowcount == 1  # type: ignore[attr-defined]
    with a.read() as session:
        assert session.exec(select(Customer.name)).one() == "A"
    with store.all_tenants().read() as session:
        names = session.exec(select(Customer.name).order_by(col(Customer.tenant_id))).all()
    assert names == ["A", "B2"]


def test_a_session_without_a_tenant_fails_loudly(store: Store) -> None:
    _two(store)
    from exact_tui.store.engine import open_store

    several = open_store(store.engine.url.render_as_string(hide_password=False))
    try:
        with pytest.raises(UnscopedSession), several.read() as session:
            session.exec(select(Customer)).all()
        with pytest.raises(UnscopedSession), several.write() as session:
            session.add(Customer(number="C9", name="?", content_hash="h"))
    finally:
        several.dispose()


def test_a_row_of_another_tenant_is_refused_in_a_tenants_session(store: Store) -> None:
    a, b = _two(store)
    with pytest.raises(UnscopedSession, match="of tenant"), a.write() as session:
        session.add(Customer(tenant_id=b.tenant_id, number="C2", name="?", content_hash="h"))
    with store.all_tenants().read() as session:
        assert session.exec(select(Customer).where(col(Customer.number) == "C2")).all() == []
