"""Pilot tests: real keys, and what the screens show after the store changes."""

from __future__ import annotations

import os

from sqlmodel import select

from exact_tui.domain.states import JobState
from exact_tui.services.console import ActionRefused, ConsoleActions
from exact_tui.services.jobs import JobFilter
from exact_tui.store.engine import Store
from exact_tui.store.models import ExactConnection, ExportJob
from exact_tui.ui.app import ConsoleApp, terminal_present
from exact_tui.ui.screens.export_log import ExportLogScreen
from exact_tui.ui.screens.help import HelpScreen
from exact_tui.ui.screens.job_detail import JobDetailScreen
from exact_tui.ui.screens.status import StatusScreen
from tests.console_seed import MAPPING_CAUSE, add_event, beat
from tests.ui.conftest import AppFactory, open_log_filter, screen_text, settle, wait_for

SIZE = (120, 36)


async def test_status_shows_connection_divisions_and_a_missing_worker(
    make_app: AppFactory, seeded: Store
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "Demo NL BV" in screen_text(app))
        text = screen_text(app)
        assert isinstance(app.screen, StatusScreen)
        assert "✔ Connected" in text and "user Jan Jansen" in text
        assert "activated 2026-01-05" in text
        assert "access token expires in 8 min" in text
        assert "refresh token expires in 29 days" in text
        assert "1 pending" in text and "1 failed" in text and "2 blocked" in text
        assert "12 of 60 used · resets in 32 s" in text
        assert "1,900 of 5,000 used" in text and "2 of 8 used" in text
        assert "last sync 3 min ago" in text
        assert "⛔ no access: NoDivisionAccess" in text
        assert "1 document not routed to a division" in text
        assert "No worker is running" in text and "exact-tui worker" in text
        beat(seeded)
        await wait_for(pilot, lambda: "✔ running on ops-1 (pid 4242)" in screen_text(app))
        assert "No worker is running" not in screen_text(app)


async def test_status_follows_the_connection(make_app: AppFactory, seeded: Store) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "✔ Connected" in screen_text(app))
        with seeded.write() as s:
            conn = s.get(ExactConnection, 1)
            assert conn is not None
            conn.status, conn.reason = "reconnect", "Old refresh token used"
            conn.exports_paused, conn.paused_reason = True, "refresh token refused"
            s.add(conn)
        await wait_for(pilot, lambda: "🔄 Reconnect" in screen_text(app))
        text = screen_text(app)
        assert "Old refresh token used" in text
        assert "⏸ exports paused: refresh token refused" in text


async def test_log_shows_new_events_without_a_keypress(make_app: AppFactory, seeded: Store) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0004" in screen_text(app))
        assert isinstance(app.screen, ExportLogScreen)
        assert "posted as entry 26001" in screen_text(app)
        add_event(seeded, 6, "posted as entry 26003", state=JobState.POSTED)
        await wait_for(pilot, lambda: "posted as entry 26003" in screen_text(app))
        lines = screen_text(app).splitlines()
        newest = next(i for i, line in enumerate(lines) if "26003" in line)
        older = next(i for i, line in enumerate(lines) if "26002" in line)
        assert newest < older  # newest first
        assert "✔ posted" in lines[newest]


async def test_rows_on_screen_follow_their_job_state(make_app: AppFactory, seeded: Store) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0004" in screen_text(app))
        with seeded.write() as s:
            job = s.get(ExportJob, 4)
            assert job is not None
            job.state = JobState.RETRY_WAIT
            s.add(job)
        row = lambda: next(  # noqa: E731
            line for line in screen_text(app).splitlines() if "INV-2026-0004" in line
        )
        await wait_for(pilot, lambda: "↻ retry wait" in row())


async def test_filter_bar_filters_by_text_and_escape_clears(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "PAY-2026-0001" in screen_text(app))
        await open_log_filter(pilot)
        await pilot.press(*"0004", "enter")
        # The filtered list and the bar saying so are drawn apart: wait for all of it.
        await wait_for(
            pilot,
            lambda: (
                "PAY-2026-0001" not in (text := screen_text(app))
                and "INV-2026-0004" in text
                and "text “0004”" in text
            ),
        )
        assert app.log_filter == JobFilter(text="0004")
        await pilot.press("escape")
        await wait_for(pilot, lambda: "PAY-2026-0001" in screen_text(app))
        assert app.log_filter.is_empty


async def test_groups_by_cause_and_enter_filters_on_one(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0004" in screen_text(app))
        await pilot.press("g")
        await wait_for(pilot, lambda: MAPPING_CAUSE in screen_text(app))
        mapping = next(line for line in screen_text(app).splitlines() if MAPPING_CAUSE in line)
        assert mapping.split()[0] == "2" and "2 blocked" in mapping
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                "INV-2026-0001" not in (text := screen_text(app))
                and "INV-2026-0002" in text
                and "INV-2026-0003" in text
            ),
        )
        assert app.log_filter.cause == MAPPING_CAUSE


async def test_enter_opens_the_job_with_its_request_and_escape_returns(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0004" in screen_text(app))
        screen = app.screen
        assert isinstance(screen, ExportLogScreen)
        target = _row_of(app, "INV-2026-0004")
        await pilot.press(*["j"] * target, "enter")
        await wait_for(pilot, lambda: '"YourRef": "INV-2026-0004"' in screen_text(app))
        assert isinstance(app.screen, JobDetailScreen)
        text = screen_text(app)
        assert "GL 8000 is not a revenue account" in text
        assert "C0002  De Vries & Zn" in text and "1,210.00 EUR" in text
        assert "(HTTP 400)" in text
        await pilot.press("escape")
        assert app.screen is screen


async def test_help_lists_the_keys_of_this_screen(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0004" in screen_text(app))
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "Keys on Export log" in text
        assert "Filter" in text and "By cause" in text and "^q" in text
        assert "Retry" not in text  # not wired
        await pilot.press("escape")
        assert isinstance(app.screen, ExportLogScreen)


async def test_palette_applies_a_log_filter(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "Demo NL BV" in screen_text(app))
        await pilot.press("ctrl+p", *"Log: now failed")
        await wait_for(pilot, lambda: "Log: now failed" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportLogScreen))
        await wait_for(pilot, lambda: "INV-2026-0004" in screen_text(app))
        assert app.log_filter == JobFilter(state=JobState.FAILED)
        assert "INV-2026-0001" not in screen_text(app)


def _row_of(app: ConsoleApp, number: str) -> int:
    rows = [line for line in screen_text(app).splitlines() if "-2026-00" in line]
    return next(i for i, line in enumerate(rows) if number in line)


def _retry_into(store: Store, calls: list[object]) -> ConsoleActions:
    """Actions as the CLI wires them, writing straight to the store."""

    def retry_job(job_id: int) -> str:
        calls.append(job_id)
        with store.write() as s:
            job = s.get(ExportJob, job_id)
            assert job is not None
            if not job.state.retryable:
                raise ActionRefused(f"job {job_id} is {job.state.value}")
            job.state = JobState.PENDING
            s.add(job)
        return f"job {job_id} queued again"

    def retry_filtered(flt: JobFilter) -> str:
        calls.append(flt)
        return "2 jobs queued again"

    return ConsoleActions(retry_job=retry_job, retry_filtered=retry_filtered)


async def test_wired_retry_moves_the_job(make_app: AppFactory, seeded: Store) -> None:
    calls: list[object] = []
    app = make_app(actions=_retry_into(seeded, calls))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0004" in screen_text(app))
        await pilot.press(*["j"] * _row_of(app, "PAY-2026-0001"))
        await wait_for(pilot, lambda: "Retry" not in screen_text(app).splitlines()[-1])  # posted
        await pilot.press(*["j"] * (_row_of(app, "INV-2026-0004") - _row_of(app, "PAY-2026-0001")))
        await wait_for(pilot, lambda: "r Retry" in screen_text(app).splitlines()[-1])
        await pilot.press("r")
        await wait_for(pilot, lambda: calls == [4])
        with seeded.read() as s:
            assert s.exec(select(ExportJob.state).where(ExportJob.id == 4)).one() == "pending"
        row = lambda: next(  # noqa: E731
            line for line in screen_text(app).splitlines() if "INV-2026-0004" in line
        )
        await wait_for(pilot, lambda: "· pending" in row())
        # Retry all asks first; "n" leaves everything as it was.
        app.log_filter = JobFilter(state=JobState.NEEDS_MAPPING)
        await wait_for(pilot, lambda: "INV-2026-0001" not in screen_text(app))
        await pilot.press("R")
        await wait_for(pilot, lambda: "Retry 3 jobs in this filter" in screen_text(app))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportLogScreen))
        await settle(pilot)
        assert calls == [4]
        await pilot.press("R")
        await wait_for(pilot, lambda: "Retry 3 jobs in this filter" in screen_text(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: len(calls) == 2)
        await settle(pilot)
        assert calls == [4, JobFilter(state=JobState.NEEDS_MAPPING)]


async def test_read_only_offers_no_write_key(make_app: AppFactory, seeded: Store) -> None:
    calls: list[object] = []
    app = make_app(actions=_retry_into(seeded, calls), read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0004" in screen_text(app))
        await pilot.press("j", "j", "j", "j")
        screen = app.screen
        assert isinstance(screen, ExportLogScreen)
        actions = {active.binding.action for active in screen.active_bindings.values()}
        writes = {action.action for action in ExportLogScreen.ACTIONS if action.writes}
        assert writes and not actions & writes
        assert "read-only" in screen_text(app).splitlines()[0]
        await pilot.press("r", "R", "u")
        await settle(pilot)
        assert app.screen is screen  # no confirmation was asked for
        assert calls == []


async def test_a_theme_change_restyles_screens_opened_before_and_after_it(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "✔ Connected" in screen_text(app))
        status = app.screen
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportLogScreen))
        log = app.screen
        dark = log.styles.background
        app.theme = "textual-light"
        await pilot.pause()
        light = log.styles.background
        assert light != dark
        await pilot.press("s")  # opened before the change, shown after it
        await wait_for(pilot, lambda: app.screen is status)
        await pilot.pause()
        assert status.styles.background == light
        await pilot.press("question_mark")  # a screen made after the change
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await pilot.press("d")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "DivisionsScreen")
        await pilot.pause()
        assert app.screen.styles.background == light


def test_a_hung_up_terminal_is_seen_as_gone() -> None:
    main, side = os.openpty()
    with os.fdopen(side, "wb", buffering=0) as terminal:
        assert terminal_present(terminal)
        os.close(main)  # the SSH session or the tmux pane goes away
        assert not terminal_present(terminal)
    assert not terminal_present(terminal)  # closed
    assert not terminal_present(None)
