"""The admin screens and their dialogs at fixed sizes, from the admin seed at a frozen time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.ui.conftest import AppFactory, hold_cursors, wait_for

SIZES = [(80, 24), (120, 36)]
#: Workers that wait for a dialog to be answered: a snapshot never waits for them.
FLOWS = {"bind", "map", "link"}


async def _settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.pause()
        busy = [w for w in pilot.app.workers if w.group not in FLOWS and w.is_running]
        # One by one: an empty list would mean every worker, a flow's included.
        await asyncio.gather(*(worker.wait() for worker in busy), return_exceptions=True)
    await pilot.pause()


def _keys(*keys: str, offered: list[str] | None = None) -> Any:
    """Press `keys`; with `offered`, wait until the open picker offers exactly those (it
    searches when typing pauses)."""

    async def run(pilot: Any) -> None:
        await _settle(pilot)
        for key in keys:
            await pilot.press(key)
            await _settle(pilot)
        if offered is not None:
            await wait_for(pilot, lambda: getattr(pilot.app.screen, "takeable", None) == offered)
            await _settle(pilot)
        await hold_cursors(pilot)

    return run


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    ("key", "name"),
    [("d", "divisions"), ("m", "mappings"), ("a", "accounts"), ("t", "master-data")],
)
def test_admin_screen(
    snap_compare: Any, make_admin_app: AppFactory, key: str, name: str, size: tuple[int, int]
) -> None:
    app = make_admin_app(live=False)
    assert snap_compare(app, terminal_size=size, run_before=_keys(key))


def test_bind_picker_bank_journal(snap_compare: Any, make_admin_app: AppFactory) -> None:
    app = make_admin_app(live=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_keys("d", "enter", "enter"))


def test_mapping_target_picker(snap_compare: Any, make_admin_app: AppFactory) -> None:
    app = make_admin_app(live=False)
    run = _keys("m", "enter", "d", "i", "e", offered=["7"])
    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


def test_link_picker_with_suggestions(snap_compare: Any, make_admin_app: AppFactory) -> None:
    app = make_admin_app(live=False)
    run = _keys("a", "j", "j", "j", "enter")
    assert snap_compare(app, terminal_size=(120, 36), run_before=run)


def test_accounts_for_an_ambiguous_customer(snap_compare: Any, make_admin_app: AppFactory) -> None:
    app = make_admin_app(live=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_keys("l", "b"))
