"""A tenant's console opened from the Fleet (docs/tenants.md §Fleet): a key to switch tenant
(or go back to the Fleet), the failures by cause of every tenant from the Export log, and views
that agree after a retry across tenants. A console pinned with --tenant has neither."""

from __future__ import annotations

from typing import Any

import pytest

from exact_tui.services.audit import Actor
from exact_tui.services.console import ConsoleServices, intent_actions
from exact_tui.services.fleet import fleet_services
from exact_tui.services.intents import Intents
from exact_tui.store.engine import Store
from exact_tui.ui.app import ConsoleApp, build_app
from exact_tui.ui.screens.export_log import ExportLogScreen
from exact_tui.ui.screens.fleet_failures import FleetFailuresScreen
from exact_tui.ui.screens.picker import PickerScreen
from tests.console_seed import FrozenClock
from tests.fleet_seed import REFUSAL, seed_fleet
from tests.ui.conftest import flat, hold_cursors, screen_text, wait_for

SIZES = [(80, 24), (120, 36)]


@pytest.fixture
def fleet(store: Store) -> Store:
    seed_fleet(store)
    return store


def _console(store: Store, code: str = "acme", *, pinned: bool = False) -> ConsoleApp:
    clock = FrozenClock()
    tenant = store.tenant(code)
    actor = Actor("tester", "tui")
    services = ConsoleServices(
        tenant,
        timezone="Europe/Amsterdam",
        clock=clock,
        actions=intent_actions(Intents(tenant, actor, clock=clock)),
        tenant=code,
        fleet=None
        if pinned
        else fleet_services(store, actor, clock=clock, timezone="Europe/Amsterdam"),
    )
    return build_app(services, poll_seconds=0.2, tail_seconds=0.2)


async def _switch(pilot: Any) -> None:
    await wait_for(pilot, lambda: "tenant acme" in screen_text(pilot.app))
    await pilot.press("w")
    await wait_for(pilot, lambda: "Fleet: every tenant" in screen_text(pilot.app))
    await wait_for(pilot, lambda: "corvo" in screen_text(pilot.app))


@pytest.mark.parametrize("size", SIZES)
async def test_switch_opens_another_tenant(fleet: Store, size: tuple[int, int]) -> None:
    app = _console(fleet)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: "tenant acme" in screen_text(app))
        assert "Switch tenant" in flat(app) or size[0] < 100
        await _switch(pilot)
        assert "shown now" in screen_text(app)  # acme itself, not to be taken
        await pilot.press("b", "o", "l", "t")
        await wait_for(pilot, lambda: "corvo" not in screen_text(app))
        await pilot.press("enter")
        await pilot.pause()
    assert app.return_value == "bolt"


async def test_switch_back_to_the_fleet(fleet: Store) -> None:
    app = _console(fleet)
    async with app.run_test(size=(120, 36)) as pilot:
        await _switch(pilot)
        await pilot.press("enter")  # the first choice: the Fleet
        await pilot.pause()
        assert not app.is_running
    assert app.return_value is None


async def test_switch_cancelled_stays(fleet: Store) -> None:
    app = _console(fleet)
    async with app.run_test(size=(80, 24)) as pilot:
        await _switch(pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, PickerScreen))
        assert app.is_running and "tenant acme" in screen_text(app)


async def test_a_pinned_console_offers_no_switch_and_no_fleet(fleet: Store) -> None:
    app = _console(fleet, pinned=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: "tenant acme" in screen_text(app))
        assert "Switch tenant" not in screen_text(app)
        await pilot.press("w")
        await pilot.pause()
        assert not isinstance(app.screen, PickerScreen)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportLogScreen))
        await wait_for(pilot, lambda: "Events, newest first" in screen_text(app))
        assert "Every tenant" not in screen_text(app)
        await pilot.press("F")
        await pilot.pause()
        assert not isinstance(app.screen, FleetFailuresScreen)


@pytest.mark.parametrize("size", SIZES)
async def test_every_tenants_failures_from_the_log_and_views_that_agree_after_a_retry(
    fleet: Store, size: tuple[int, int]
) -> None:
    app = _console(fleet)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: "tenant acme" in screen_text(app))
        await pilot.press("l")
        await wait_for(pilot, lambda: "Events, newest first" in screen_text(app))
        await pilot.press("g")
        await wait_for(pilot, lambda: "503" in screen_text(app) and REFUSAL in screen_text(app))
        await pilot.press("F")
        await wait_for(pilot, lambda: "6 jobs in 3 tenants" in flat(app))
        await pilot.press("R")
        await wait_for(pilot, lambda: "Retry 6 jobs in 3 tenants?" in flat(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: "6 jobs in 3 tenants retried" in flat(app))
        await wait_for(pilot, lambda: "503" not in screen_text(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportLogScreen))
        # The tenant's own grouping agrees: its refusal is left, the outage is gone.
        await wait_for(pilot, lambda: "503" not in (text := screen_text(app)) and REFUSAL in text)


async def test_a_cause_s_tenant_opens_from_the_console(fleet: Store) -> None:
    app = _console(fleet)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: "tenant acme" in screen_text(app))
        await pilot.press("l")
        await wait_for(pilot, lambda: "Events, newest first" in screen_text(app))
        await pilot.press("F")
        await wait_for(pilot, lambda: "6 jobs in 3 tenants" in flat(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Tenants of" in flat(app) and "corvo" in screen_text(app))
        await pilot.press("end", "enter")
        await pilot.pause()
    assert app.return_value == "corvo"


@pytest.mark.parametrize("size", SIZES)
def test_switch_snapshot(snap_compare: Any, fleet: Store, size: tuple[int, int]) -> None:
    async def switching(pilot: Any) -> None:
        await _switch(pilot)
        await hold_cursors(pilot)

    assert snap_compare(_console(fleet), terminal_size=size, run_before=switching)
