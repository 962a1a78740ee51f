"""Text from the data is shown as text: markup is not parsed, escapes never reach the terminal,
and clicking around fires nothing it smuggled in."""

from __future__ import annotations

import pytest

from exact_tui.services.console import ConsoleActions, ConsoleServices
from exact_tui.services.jobs import JobFilter
from exact_tui.store.engine import Store
from exact_tui.ui.app import build_app
from exact_tui.ui.screens.job_detail import JobDetailScreen
from tests.console_seed import FrozenClock, seed
from tests.ui.conftest import screen_text, wait_for

HOSTILE = " [@click=app.quit]x [/bold] Jansen \x1b[2J \x1b]8;;http://x\x07y\x1b]8;;\x07 \u202eevil"


@pytest.fixture
def hostile(store: Store) -> Store:
    seed(store, customer_name="Klant", text=HOSTILE)
    return store


async def test_hostile_text_is_shown_plainly_and_fires_nothing(hostile: Store) -> None:
    fired: list[str] = []
    actions = ConsoleActions(retry_filtered=lambda flt: fired.append("retry all") or "done")
    services = ConsoleServices(hostile, clock=FrozenClock(), actions=actions)
    app = build_app(services, poll_seconds=0.05, tail_seconds=0.05)
    shots: list[str] = []
    async with app.run_test(size=(120, 36)) as pilot:

        async def look() -> None:
            await pilot.pause(0.1)
            # The header, where the connection and user text sit.
            screen = app.screen
            for x, y in ((2, 0), (40, 0), (110, 0)):
                await pilot.click(offset=(x, y))
            await pilot.pause(0.05)
            assert app.screen is screen
            shots.append(app.export_screenshot())
            assert app.is_running and app.return_code is None

        await wait_for(pilot, lambda: "Demo NL BV" in screen_text(app))
        text = screen_text(app)
        assert "[@click=app.quit]x [/bold] Jansen" in text  # the user name, literally
        assert "NoDivisionAccess [@click=app.quit]x" in text
        await look()
        await pilot.press("l")
        await wait_for(pilot, lambda: "Grootboekrekening" in screen_text(app))
        assert "inv INV-2026-0004 [@" in screen_text(app)
        assert "Klant [@click=app." in screen_text(app)
        await look()
        app.log_filter = JobFilter(text="Jansen")
        await wait_for(pilot, lambda: "text “Jansen”" in screen_text(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: "PAY-2026-0001" in screen_text(app))
        await pilot.press("j", "j", "j", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        await wait_for(pilot, lambda: "revenue account [@click=app.quit]x" in screen_text(app))
        await look()
        await pilot.press("escape", "g")
        await wait_for(pilot, lambda: "vat 21-EU missing" in screen_text(app))
        assert "in division 100001 [@click=app" in screen_text(app)
        await look()
        await pilot.press("question_mark")
        await look()
        assert app.is_running and app.return_code is None
    assert fired == []
    assert len(shots) == 5
    for shot in shots:
        assert "\x1b" not in shot and "\x07" not in shot and "\u202e" not in shot
