"""A disabled tenant (docs/tenants.md §Operating tenants): the worker sends nothing of it, and
sends again once it is enabled."""

from __future__ import annotations

from exact_tui.domain.states import JobState
from exact_tui.services.audit import Actor
from exact_tui.services.tenants import set_disabled
from tests.export.kit import NL, ExportWorld, customer, invoice


async def test_nothing_of_a_disabled_tenant_is_sent_until_it_is_enabled(xw: ExportWorld) -> None:
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-1", "5")])
    actor = Actor("ops", "cli")
    set_disabled(xw.store.root, "default", actor, disabled=True, reason="contract ended")
    reason = xw.service.paused_reason()
    assert reason is not None and "disabled: contract ended" in reason
    assert await xw.service.process_next(NL, "w") is False
    await xw.run()
    assert xw.job("INV-1").attempts == 0
    assert xw.ledger()["sales_entries"] == []
    set_disabled(xw.store.root, "default", actor, disabled=False)
    assert xw.service.paused_reason() is None
    await xw.run()
    assert xw.job("INV-1").state is JobState.POSTED
