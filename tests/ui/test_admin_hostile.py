"""Hostile text on the admin screens: names of customers, Exact accounts, organizations and
master data are shown as text, never parsed as markup, and clicking around fires nothing."""

from __future__ import annotations

from typing import Any

from exact_tui.services.console import ConsoleActions, ConsoleServices
from exact_tui.store.engine import Store
from exact_tui.ui.app import build_app
from exact_tui.ui.screens.accounts import AccountsScreen
from exact_tui.ui.screens.picker import PickerScreen
from tests.admin_seed import seed_admin
from tests.console_seed import FrozenClock, seed
from tests.ui.conftest import screen_text, wait_for
from tests.ui.test_hostile_text import HOSTILE


def _recording(fired: list[str]) -> ConsoleActions:
    def record(name: str) -> Any:
        return lambda *args: fired.append(name) or "done"

    return ConsoleActions(
        bind_bank_account=record("bind"),
        bind_division=record("bind division"),
        save_mapping=record("map"),
        save_setting=record("setting"),
        link_customer=record("link"),
        unlink_customer=record("unlink"),
    )


async def test_hostile_names_on_the_admin_screens(store: Store) -> None:
    seed(store, customer_name="Klant", text=HOSTILE)
    seed_admin(store, text=HOSTILE)
    fired: list[str] = []
    services = ConsoleServices(store, clock=FrozenClock(), actions=_recording(fired))
    app = build_app(services, poll_seconds=1.0, tail_seconds=0.2)
    shots: list[str] = []
    async with app.run_test(size=(120, 36)) as pilot:

        async def look(*, rows: tuple[int, ...] = (0, 2, 3)) -> None:
            await pilot.pause(0.1)
            screen = app.screen
            for y in rows:  # the header and the summary: never a row, an option or a select
                for x in (3, 100):
                    await pilot.click(offset=(x, y))
            await pilot.pause(0.05)
            assert app.screen is screen
            shots.append(app.export_screenshot())
            assert app.is_running and app.return_code is None

        await pilot.press("d")
        await wait_for(pilot, lambda: "ING Bank [@click=app.quit]" in screen_text(app))
        await look(rows=(0, 2))
        await pilot.press("shift+tab", "enter")  # bind division 100001: the organizations
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await wait_for(pilot, lambda: "Coworking Gent [@click=app.quit]x" in screen_text(app))
        await look(rows=(0,))
        await pilot.press("escape", "m")
        await wait_for(pilot, lambda: "BTW hoog [@click=app.quit]x [/" in screen_text(app))
        assert "Demo NL BV [@click=app.quit]x [/bold] Jansen  y evil" in screen_text(app)
        await look()
        await pilot.press("a")
        await wait_for(pilot, lambda: "6 Exact accounts" in screen_text(app))
        await pilot.press(*"jjjjj")  # Jansen BV, last by name: its detail line
        await wait_for(pilot, lambda: "Jansen BV [@click=app.quit]x [/bold]" in screen_text(app))
        assert "linked  C0001 Klant [@click=app.quit]x" in screen_text(app)
        await look()
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0007" in screen_text(app))
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountsScreen))
        await wait_for(
            pilot, lambda: "Drukkerij Hendriks Holding [@click=app.quit]x" in screen_text(app)
        )
        await look()
        await pilot.press("escape", "j", "j", "j", "enter")  # link account 3: the suggestions
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await wait_for(pilot, lambda: "Holding [@click=app.quit]x" in screen_text(app))
        await look(rows=(0,))
        await pilot.press("escape", "t")
        await wait_for(pilot, lambda: "Omzet vergaderruimtes [@click" in screen_text(app))
        await look()
        assert app.is_running and app.return_code is None
    assert fired == []
    assert len(shots) == 7
    for shot in shots:
        assert "\x1b" not in shot and "\x07" not in shot and "\u202e" not in shot
