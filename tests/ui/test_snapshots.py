"""Every screen and dialog at fixed sizes, from a seeded store at a frozen time."""

from __future__ import annotations

from typing import Any

import pytest

from exact_tui.services.console import ConsoleActions
from exact_tui.ui.widgets.filter_bar import TYPING_PAUSE
from tests.ui.conftest import AppFactory, hold_cursors


async def _settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def _keys_then_settle(*keys: str) -> Any:
    async def run(pilot: Any) -> None:
        await _settle(pilot)
        for key in keys:
            await pilot.press(key)
            await _settle(pilot)
        # Text typed into a bar is applied after a pause in typing: wait it out, then let the
        # search it starts draw, so the picture never depends on how fast the keys went.
        await pilot.pause(TYPING_PAUSE * 2)
        await _settle(pilot)
        await hold_cursors(pilot)

    return run


SIZES = [(80, 24), (120, 36)]


@pytest.mark.parametrize("size", SIZES)
def test_status(snap_compare: Any, make_app: AppFactory, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(live=False), terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("size", SIZES)
def test_export_log(snap_compare: Any, make_app: AppFactory, size: tuple[int, int]) -> None:
    app = make_app(live=False)
    assert snap_compare(app, terminal_size=size, run_before=_keys_then_settle("l"))


def test_failures_by_cause(snap_compare: Any, make_app: AppFactory) -> None:
    app = make_app(live=False)
    assert snap_compare(app, terminal_size=(120, 36), run_before=_keys_then_settle("l", "g"))


def test_filter_bar(snap_compare: Any, make_app: AppFactory) -> None:
    app = make_app(live=False)
    run = _keys_then_settle("l", "slash", "2", "1", "-", "E", "U")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run)


@pytest.mark.parametrize("size", SIZES)
def test_job_detail(snap_compare: Any, make_app: AppFactory, size: tuple[int, int]) -> None:
    app = make_app(live=False)
    run = _keys_then_settle("l", "j", "j", "j", "enter")
    assert snap_compare(app, terminal_size=size, run_before=run)


def test_help(snap_compare: Any, make_app: AppFactory) -> None:
    app = make_app(live=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_keys_then_settle("question_mark"))


def test_confirm_retry_all(snap_compare: Any, make_app: AppFactory) -> None:
    app = make_app(live=False, actions=ConsoleActions(retry_filtered=lambda flt: "queued"))
    run = _keys_then_settle("l", "g", "enter", "R")
    assert snap_compare(app, terminal_size=(120, 36), run_before=run)


def test_read_only_ansi(snap_compare: Any, make_app: AppFactory) -> None:
    app = make_app(live=False, read_only=True, ansi=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_settle)


class _FixedFlow:
    """A connect attempt with a fixed address, so the dialog draws the same every time."""

    authorize_url = (
        "https://start.exactonline.nl/api/oauth2/auth?client_id=8d1c…&redirect_uri="
        "https%3A%2F%2Fintegration.example%2Fexact%2Fcallback&response_type=code&state=Zm9v"
    )

    def finish(self, pasted: str) -> str:
        return "✔ Connected"


@pytest.mark.parametrize("size", SIZES)
def test_connect_dialog(snap_compare: Any, make_app: AppFactory, size: tuple[int, int]) -> None:
    app = make_app(live=False, actions=ConsoleActions(connect=_FixedFlow))
    assert snap_compare(app, terminal_size=size, run_before=_keys_then_settle("c"))


def test_confirm_unlink(snap_compare: Any, make_app: AppFactory) -> None:
    app = make_app(live=False, actions=ConsoleActions(disconnect=lambda: "unlinked"))
    assert snap_compare(app, terminal_size=(80, 24), run_before=_keys_then_settle("x"))
