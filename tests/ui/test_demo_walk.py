"""The demo's blocked documents walked to posted through the admin screens alone: bind the
unbound bank account, map the missing GL and VAT codes, link the ambiguous customer; the
worker then posts them all in the sandbox's ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select
from textual.widgets import Input

from exact_tui.demo import data
from exact_tui.demo.world import build_world
from exact_tui.domain.states import JobState
from exact_tui.services.audit import Actor
from exact_tui.services.console import ConsoleServices, intent_actions
from exact_tui.services.intents import Intents
from exact_tui.store.models import ExportJob
from exact_tui.ui.app import build_app
from exact_tui.ui.screens.accounts import AccountsScreen
from exact_tui.ui.screens.confirm import ConfirmScreen
from exact_tui.ui.screens.divisions import DivisionsScreen
from exact_tui.ui.screens.mappings import MappingsScreen
from exact_tui.ui.screens.picker import PickerScreen
from tests.ui.conftest import screen_text, wait_for

pytestmark = pytest.mark.slow
DIVISION = 101001


async def _drain(world: Any) -> None:
    worker, link = world.worker(poll_seconds=0.05)
    try:
        await worker.run(until_idle=True)
    finally:
        await link.close()


def _held(world: Any) -> dict[str, str]:
    """Documents waiting for an admin: number → category."""
    with world.store.read() as s:
        rows = s.exec(
            select(ExportJob.document_number, ExportJob.category).where(
                col(ExportJob.state) == JobState.NEEDS_MAPPING
            )
        ).all()
    return {number: str(category) for number, category in rows}


async def _pick(pilot: Any, text: str, key: str) -> None:
    """Search a picker for `text` and take the choice `key`, which must come first."""
    app = pilot.app
    await wait_for(
        pilot, lambda: isinstance(app.focused, Input) and app.focused.id == "picker-search"
    )
    picker = app.screen
    assert isinstance(picker, PickerScreen)
    await pilot.press(*text)
    await wait_for(pilot, lambda: picker.takeable[:1] == [key])
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.screen is not picker)


async def _map(pilot: Any, code: str, search: str, target: str) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, MappingsScreen) and screen.view is not None
    row = next(i for i, r in enumerate(screen.view.rows) if r.platform_code == code)
    current = screen.query_one("#mappings").cursor_row  # type: ignore[attr-defined]
    await pilot.press(*(["j"] * (row - current) if row >= current else ["k"] * (current - row)))
    await pilot.press("enter")
    await _pick(pilot, search, target)
    await wait_for(
        pilot, lambda: f"→ {target} in division {DIVISION} saved" in screen_text(pilot.app)
    )


async def test_the_demo_walked_to_posted_through_the_admin_screens(tmp_path: Path) -> None:
    world = await build_world(tmp_path)
    await _drain(world)
    held = _held(world)
    assert set(held.values()) == {"binding", "mapping", "customer"}
    assert len(held) == 11
    actions = intent_actions(Intents(world.store, Actor("admin", "tui"), clock=world.clock))
    services = ConsoleServices(world.store, timezone="Europe/Amsterdam", actions=actions)
    app = build_app(services, poll_seconds=1.0, tail_seconds=0.2)
    async with app.run_test(size=(120, 36)) as pilot:
        # Bind the Rabobank account: division 101001, its own bank journal.
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DivisionsScreen))
        await wait_for(pilot, lambda: "⚠ 1 not bound, holding up 4 documents" in screen_text(app))
        await pilot.press("enter")
        await _pick(pilot, str(DIVISION), str(DIVISION))
        await _pick(pilot, "rabo", "21")
        await wait_for(pilot, lambda: "4 jobs back to pending" in screen_text(app))

        # Map the platform's event GL code and its EU services VAT code.
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MappingsScreen))
        await wait_for(pilot, lambda: "REV-EVENT" in screen_text(app))
        await _map(pilot, "REV-EVENT", "8010", "8010")
        await _map(pilot, "EU-SERV", "intracom", "7")

        # Link the ambiguous customer, from its job in the Export log.
        await pilot.press("l", "slash", *"2026-0014", "enter")
        await wait_for(pilot, lambda: "b Go to blocker" in screen_text(app).splitlines()[-1])
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountsScreen))
        await wait_for(pilot, lambda: f"Customer {data.AMBIGUOUS_CUSTOMER}" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: "1 job back to pending" in screen_text(app))

        await _drain(world)
    assert _held(world) == {}
    with world.store.read() as s:
        posted = set(
            s.exec(select(ExportJob.document_number).where(col(ExportJob.state) == JobState.POSTED))
        )
    assert set(held) <= posted
    ledger = world.sandbox.ledger(DIVISION)
    entries = {e["YourRef"] for e in ledger["divisions"][str(DIVISION)]["sales_entries"]}
    assert {n for n in held if n.startswith("2026-")} <= entries
