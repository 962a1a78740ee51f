"""Console fixtures: a seeded store at a frozen time, and the app built as the CLI builds it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import Input

from exact_tui.services.console import ConsoleActions, ConsoleServices
from exact_tui.store.engine import Store
from exact_tui.ui.app import ConsoleApp, build_app
from tests.console_seed import FrozenClock, seed

AppFactory = Callable[..., ConsoleApp]


@pytest.fixture
def seeded(store: Store) -> Store:
    seed(store)
    return store


@pytest.fixture
def make_app(seeded: Store) -> AppFactory:
    def make(
        *,
        actions: ConsoleActions | None = None,
        read_only: bool = False,
        live: bool = True,
        **kwargs: Any,
    ) -> ConsoleApp:
        services = ConsoleServices(
            seeded, timezone="Europe/Amsterdam", clock=FrozenClock(), actions=actions
        )
        # Live tests poll fast; snapshots poll too slowly for a second read to land.
        speed = {"poll_seconds": 0.05, "tail_seconds": 0.05} if live else {}
        return build_app(services, read_only=read_only, **speed, **kwargs)

    return make


def screen_text(app: ConsoleApp) -> str:
    """What the terminal shows now, as plain lines.

    The one place the tests read Textual's private compositor: Textual offers the screen only as an
    SVG picture (`export_screenshot`), and the pilot tests read words, not pictures."""
    # The one place the tests reach into Textual's internals: Textual has no public way to read
    # the screen as text (`App.export_screenshot()` renders SVG from this same compositor).
    # Textual is pinned in pyproject.toml, so an upgrade that moves it fails here, loudly.
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def settle(pilot: Any) -> None:
    """Let the app handle every message already sent and finish every worker already started:
    after this, nothing the keys pressed so far set off is still on its way."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def hold_cursors(pilot: Any) -> None:
    """A text field's cursor blinks on a timer: hold every one shown, as at the moment of typing,
    so a snapshot never depends on when it was taken."""
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


def flat(app: ConsoleApp) -> str:
    """The screen's words as one line: a sentence may wrap at 80 columns."""
    return " ".join(screen_text(app).split())


async def wait_for(pilot: Any, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app run until `predicate()` holds (workers and timers included)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out; the screen shows:\n{screen_text(pilot.app)}")
        await pilot.pause(0.02)


@pytest.fixture
def make_admin_app(admin_store: Store) -> AppFactory:
    """The console over the admin seed, its write actions wired to the operator intents as
    the CLI wires them."""
    from exact_tui.services.audit import Actor
    from exact_tui.services.console import intent_actions
    from exact_tui.services.intents import Intents

    def make(*, read_only: bool = False, live: bool = True, **kwargs: Any) -> ConsoleApp:
        clock = FrozenClock()
        actions = intent_actions(Intents(admin_store, Actor("tester", "tui"), clock=clock))
        services = ConsoleServices(
            admin_store, timezone="Europe/Amsterdam", clock=clock, actions=actions
        )
        # The admin screens read on demand: the status poll and the log's tail can be slower.
        speed = {"poll_seconds": 1.0, "tail_seconds": 0.2} if live else {}
        return build_app(services, read_only=read_only, **speed, **kwargs)

    return make


async def open_log_filter(pilot: Any) -> None:
    """`/` on the Export log, then wait for its filter bar's text field to have the focus: the
    bar is mounted when first opened, and keys pressed before it has the focus go to the list
    under it."""
    await pilot.press("slash")
    await wait_for(pilot, lambda: getattr(pilot.app.focused, "id", None) == "filter-text")
