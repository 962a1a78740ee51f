"""The console an on-call engineer reads once and acts on: every view of a job live, 80×24
that works, keys people bring from k9s and lazygit, refusals explained, counted words.

Each test presses the keys an operator would, at 80×24 and at 120×36, and checks what the
screen and the store hold afterwards.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlmodel import col, select

from exact_tui.domain.states import Category, JobState
from exact_tui.services.audit import Actor
from exact_tui.services.console import ConsoleActions, intent_actions
from exact_tui.services.intents import Intents
from exact_tui.services.jobs import JobFilter
from exact_tui.store.engine import Store
from exact_tui.store.models import Budget, ExportEvent, ExportJob, SyncRun
from exact_tui.store.scoping import tenant_key
from exact_tui.ui.app import ConsoleApp
from exact_tui.ui.screens.confirm import ConfirmScreen
from exact_tui.ui.screens.export_log import ExportLogScreen
from exact_tui.ui.screens.job_detail import JobDetailScreen
from exact_tui.ui.screens.status import StatusScreen
from exact_tui.ui.widgets.fit_table import FitTable
from exact_tui.ui.widgets.table import ConsoleTable
from tests.console_seed import MAPPING_CAUSE, NOW, FrozenClock, add_event
from tests.ui.conftest import AppFactory, open_log_filter, screen_text, wait_for

SIZES = [(80, 24), (120, 36)]
pytestmark = pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x36"])


def _intents(store: Store) -> ConsoleActions:
    """The console's write actions as the CLI wires them (the operator intents)."""
    return intent_actions(Intents(store, Actor("tester", "tui"), clock=FrozenClock()))


def _footer(app: ConsoleApp) -> str:
    return screen_text(app).splitlines()[-1]


def _log(app: ConsoleApp) -> ExportLogScreen:
    screen = app.screen
    assert isinstance(screen, ExportLogScreen)
    return screen


async def _to_row(pilot: Any, number: str) -> None:
    """The log's cursor on the newest event of document `number`."""
    screen = _log(pilot.app)
    table = screen.query_one("#events", FitTable)
    row = next(i for i, event in enumerate(screen._events) if event.number == number)
    step = "j" if row > table.cursor_row else "k"
    await pilot.press(*[step] * abs(row - table.cursor_row))
    await wait_for(pilot, lambda: screen.selected_job() is not None)
    selected = screen.selected_job()
    assert selected is not None and selected.number == number


def _state(store: Store, job_id: int) -> JobState:
    with store.read() as s:
        job = s.get(ExportJob, job_id)
        assert job is not None
        return job.state


# ---------------------------------------------------------------- 1. every view of a job is live


async def test_a_job_detail_follows_its_job_without_a_key(
    make_app: AppFactory, seeded: Store, size: tuple[int, int]
) -> None:
    app = make_app(actions=_intents(seeded))
    async with app.run_test(size=size) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0002" in screen_text(app))
        await _to_row(pilot, "INV-2026-0002")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        await wait_for(pilot, lambda: "⚠ blocked" in screen_text(app))
        await wait_for(pilot, lambda: "r Retry" in _footer(app))
        # The worker posts it meanwhile (someone fixed the mapping elsewhere).
        add_event(seeded, 2, "posted as entry 26009", state=JobState.POSTED)
        await wait_for(pilot, lambda: "✔ posted" in screen_text(app))
        detail = app.screen
        assert isinstance(detail, JobDetailScreen)
        attempts = detail.query_one("#attempts", ConsoleTable)
        assert "posted as entry 26009" in str(attempts.get_row_at(0)[-1])
        await wait_for(pilot, lambda: "Retry" not in _footer(app))
        # `l` on a job opened from the log is the log itself, showing the same truth.
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportLogScreen))
        row = next(line for line in screen_text(app).splitlines() if "INV-2026-0002" in line)
        assert "✔ posted" in row


async def test_a_retry_from_the_detail_shows_where_the_job_is_now(
    make_app: AppFactory, seeded: Store, size: tuple[int, int]
) -> None:
    app = make_app(actions=_intents(seeded))
    async with app.run_test(size=size) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0003" in screen_text(app))
        await _to_row(pilot, "INV-2026-0003")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "r Retry" in _footer(app))
        await pilot.press("r")
        await wait_for(pilot, lambda: "· pending" in screen_text(app))
        assert _state(seeded, 3) is JobState.PENDING
        detail = app.screen
        assert isinstance(detail, JobDetailScreen)
        attempts = detail.query_one("#attempts", ConsoleTable)
        await wait_for(pilot, lambda: "back to pending" in str(attempts.get_row_at(0)[-1]))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportLogScreen))
        await wait_for(
            pilot,
            lambda: (
                "· pending"
                in next(line for line in screen_text(app).splitlines() if "INV-2026-0003" in line)
            ),
        )


# ---------------------------------------------------------------- 2. retry all keeps the rows


async def test_retry_all_in_a_filter_keeps_its_rows_and_shows_them_move(
    make_app: AppFactory, seeded: Store, size: tuple[int, int]
) -> None:
    app = make_app(actions=_intents(seeded))
    app.log_filter = JobFilter(category=Category.MAPPING, cause=MAPPING_CAUSE)
    async with app.run_test(size=size) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0003" in screen_text(app))
        assert "INV-2026-0001" not in screen_text(app)
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await wait_for(pilot, lambda: "Retry 2 jobs in this filter" in screen_text(app))
        await pilot.press("y")
        await wait_for(pilot, lambda: _state(seeded, 2) is JobState.PENDING)
        # The jobs left the filter (no category, no cause now); their rows stay, and say so.
        await wait_for(
            pilot,
            lambda: all(
                "· pending" in line
                for line in screen_text(app).splitlines()
                if "INV-2026-0002" in line or "INV-2026-0003" in line
            ),
        )
        await wait_for(pilot, lambda: "2 jobs back to pending" in screen_text(app))
        # And their new events arrive in the filtered view.
        await wait_for(
            pilot, lambda: len(_log(app)._events) == 4 and "INV-2026-0001" not in screen_text(app)
        )
        add_event(seeded, 2, "posted as entry 26010", state=JobState.POSTED)
        await wait_for(pilot, lambda: "posted as entry 26010" in screen_text(app))


# ---------------------------------------------------------------- 10. retry all says what it does


async def test_retry_all_counts_what_it_will_do_per_kind_of_job(
    make_app: AppFactory, seeded: Store, size: tuple[int, int]
) -> None:
    calls: list[JobFilter] = []
    app = make_app(actions=ConsoleActions(retry_filtered=lambda flt: calls.append(flt) or "ok"))
    app.log_filter = JobFilter(division=100001)
    async with app.run_test(size=size) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "R Retry all" in _footer(app) or size[0] == 80)
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await wait_for(pilot, lambda: "Retry 4 jobs in this filter" in screen_text(app))
        text = screen_text(app)
        assert "1 failed job: sent again" in text
        assert "2 blocked jobs: checked again" in text
        assert "1 unknown job: looked up in Exact first, never sent blind" in text
        assert "3 other jobs" in text and "left as they are" in text
        assert "sends" not in text.split("Retry 4 jobs")[0]
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportLogScreen))
        assert calls == []
        # A filter with nothing to retry says so instead of asking.
        app.log_filter = JobFilter(state=JobState.POSTED)
        await wait_for(pilot, lambda: "INV-2026-0004" not in screen_text(app))
        await pilot.press("R")
        await wait_for(pilot, lambda: "Nothing to retry in this filter" in screen_text(app))
        assert not isinstance(app.screen, ConfirmScreen) and calls == []


# ---------------------------------------------------------------- 12. what happened, where it is


async def test_a_row_says_what_happened_apart_from_where_its_job_is_now(
    make_app: AppFactory, seeded: Store, size: tuple[int, int]
) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0004" in screen_text(app))
        add_event(seeded, 4, "posted as entry 26011", state=JobState.POSTED)
        await wait_for(pilot, lambda: "posted as entry 26011" in screen_text(app))
        rows = [line for line in screen_text(app).splitlines() if "inv INV-2026-0004" in line]
        assert len(rows) == 2
        newest, refused = rows
        assert "posted as entry" in newest and "✔ posted" in newest
        # The refusal is still a refusal; its job is posted now.
        assert "failed 400" in refused and "✔ posted" in refused
        text = screen_text(app)
        for identifier in ("needs_mapping", "account_created", "retry_wait", "in_flight"):
            assert identifier not in text
        assert "blocked vat 21-EU missing" in text


async def test_the_log_filters_as_you_type(
    make_app: AppFactory, seeded: Store, size: tuple[int, int]
) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "PAY-2026-0001" in screen_text(app))
        await open_log_filter(pilot)
        await pilot.press(*"0004")  # no enter
        await wait_for(
            pilot,
            lambda: "PAY-2026-0001" not in screen_text(app) and "INV-2026-0004" in screen_text(app),
        )
        assert app.log_filter == JobFilter(text="0004")
        # The text box is on the screen whole, at 80 columns too.
        box = app.screen.query_one("#filter-text")
        region = box.region
        assert region.x >= 0 and region.right <= size[0] and region.width >= 14
        assert app.focused is box


# ---------------------------------------------------------------- 13. keys people bring


async def test_home_and_end_go_to_the_first_and_last_row_and_new_rows_are_marked(
    make_app: AppFactory, seeded: Store, size: tuple[int, int]
) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0001" in screen_text(app))
        table = _log(app).query_one("#events", FitTable)
        await pilot.press("end")
        assert table.cursor_row == table.row_count - 1
        assert table.scroll_x == 0
        add_event(seeded, 6, "posted as entry 26012", state=JobState.POSTED)
        await wait_for(pilot, lambda: "▲ 1 new event above" in screen_text(app))
        assert table.cursor_row == table.row_count - 1  # the cursor stayed where it was
        await pilot.press("home")
        assert table.cursor_row == 0
        await wait_for(pilot, lambda: "new event above" not in screen_text(app))
        selected = _log(app).selected_job()
        assert selected is not None and selected.number == "INV-2026-0006"


async def test_q_leaves_a_job_then_quits(
    make_app: AppFactory, seeded: Store, size: tuple[int, int]
) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0001" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportLogScreen))
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_code is not None or not app.is_running)


# ---------------------------------------------------------------- 6. refusals explained


def _refused(store: Store, message: str) -> None:
    """Job 4 refused by Exact with `message` two minutes ago (after the last import)."""
    with store.write() as s:
        job = s.get(ExportJob, 4)
        assert job is not None
        job.last_error = message
        job.cause = message
        s.add(job)
        event = s.exec(select(ExportEvent).where(col(ExportEvent.job_id) == 4)).one()
        event.message, event.at = message, NOW - dt.timedelta(minutes=2)
        s.add(event)


async def test_a_refusal_says_its_cause_and_fix_and_a_retry_into_it_asks_first(
    make_app: AppFactory, seeded: Store, size: tuple[int, int]
) -> None:
    _refused(seeded, "Ongeldig: Klant (Geblokkeerd)")
    app = make_app(actions=_intents(seeded))
    async with app.run_test(size=size) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0004" in screen_text(app))
        await _to_row(pilot, "INV-2026-0004")
        await wait_for(pilot, lambda: "is blocked in Exact" in screen_text(app))
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: "fix" in screen_text(app) and "unblock it" in screen_text(app)
        )
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await wait_for(pilot, lambda: "Nothing has changed since" in screen_text(app))
        assert "Retry anyway" in screen_text(app)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        assert _state(seeded, 4) is JobState.FAILED
        # An import of the division since the refusal: something may be fixed in Exact.
        with seeded.write() as s:
            s.add(
                SyncRun(
                    division=100001,
                    entity="accounts",
                    trigger="manual",
                    started_at=NOW - dt.timedelta(minutes=1),
                    finished_at=NOW - dt.timedelta(seconds=30),
                )
            )
        await pilot.press("r")
        await wait_for(pilot, lambda: _state(seeded, 4) is JobState.PENDING)
        assert not isinstance(app.screen, ConfirmScreen)


async def test_an_english_refusal_is_explained_too(
    make_app: AppFactory, seeded: Store, size: tuple[int, int]
) -> None:
    _refused(seeded, "Mandatory: Cost center")
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0004" in screen_text(app))
        await _to_row(pilot, "INV-2026-0004")
        await wait_for(pilot, lambda: "requires a cost center" in screen_text(app))


# ---------------------------------------------------------------- 3. 80×24 first; 11. what happened


async def test_help_and_the_palette_stay_on_the_footer_of_every_screen(
    make_app: AppFactory, size: tuple[int, int]
) -> None:
    app = make_app(actions=_intents_stub())
    async with app.run_test(size=size) as pilot:
        for key in ("s", "l", "d", "m", "a", "t"):
            await pilot.press(key)
            await wait_for(pilot, lambda: "? help" in _footer(app) and "^p palette" in _footer(app))


def _intents_stub() -> ConsoleActions:
    return ConsoleActions(
        sync_now=lambda: "queued",
        pause_exports=lambda: "paused",
        resume_exports=lambda: "resumed",
        retry_job=lambda job_id: "queued",
        retry_filtered=lambda flt: "queued",
        settle_unknown=lambda job_id: "asked",
    )


async def test_what_happened_is_said_beside_the_rows_not_over_them_and_goes(
    make_app: AppFactory, seeded: Store, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from exact_tui.ui.widgets import flash

    monkeypatch.setitem(flash.LASTS, "information", 2.0)
    app = make_app(actions=_intents(seeded))
    async with app.run_test(size=size) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0003" in screen_text(app))
        await _to_row(pilot, "INV-2026-0003")
        before = [line for line in screen_text(app).splitlines() if "-2026-00" in line]
        await pilot.press("r")
        said = "✔ invoice INV-2026-0003: back to pending"
        await wait_for(pilot, lambda: said in screen_text(app))
        during = [line for line in screen_text(app).splitlines() if "-2026-00" in line]
        # Every row shown before is still shown (the line pushed the table, covered nothing).
        numbers = lambda lines: {n for n in _numbers() if any(n in line for line in lines)}  # noqa: E731
        assert numbers(before) <= numbers(during)
        await wait_for(pilot, lambda: said not in screen_text(app), timeout=15)


def _numbers() -> list[str]:
    return [f"INV-2026-{n:04d}" for n in range(1, 7)] + ["PAY-2026-0001", "WO-2026-0001"]


# ---------------------------------------------------------------- 8. the palette finds everything


async def test_the_palette_runs_another_screens_action_and_offers_nothing_of_textuals(
    make_app: AppFactory, seeded: Store, size: tuple[int, int]
) -> None:
    paused: list[bool] = []
    actions = ConsoleActions(
        pause_exports=lambda: paused.append(True) or "exports paused",
        resume_exports=lambda: "resumed",
    )
    app = make_app(actions=actions)
    async with app.run_test(size=size) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0001" in screen_text(app))
        await pilot.press("ctrl+p", *"screenshot")
        await pilot.pause(0.3)
        assert "Screenshot" not in screen_text(app)
        await pilot.press("ctrl+u", *"keys")
        await pilot.pause(0.3)
        assert screen_text(app).count("Keys") <= 1
        await pilot.press("ctrl+u", *"pause")
        await wait_for(pilot, lambda: "Status: Pause exports" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: paused == [True])
        assert isinstance(app.screen, StatusScreen)


# ---------------------------------------------------------------- 9. gauges people can read


async def test_budgets_show_use_and_a_passed_reset_shows_a_fresh_budget(
    make_app: AppFactory, seeded: Store, size: tuple[int, int]
) -> None:
    with seeded.write() as s:
        budget = s.get(Budget, tenant_key(s, 100001))
        assert budget is not None
        budget.minutely_remaining = 0
        budget.minutely_reset_at = NOW - dt.timedelta(minutes=1)
        budget.daily_remaining = 0
        budget.daily_reset_at = NOW + dt.timedelta(hours=3)
        s.add(budget)
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: "calls / minute" in screen_text(app))
        text = screen_text(app)
        minute = next(line for line in text.splitlines() if "calls / minute" in line)
        day = next(line for line in text.splitlines() if "calls / day" in line)
        # The minute's reset has passed: what was read is stale, the budget is fresh.
        assert "0 of 60 used" in minute and "reset 1 min ago" in minute
        assert "░░░░░░░░░░" in minute
        # The day is spent: a full bar, and when it frees.
        assert "5,000 of 5,000 used" in day and "██████████" in day
        assert "resets in 3 h 00 min" in day


# ---------------------------------------------------------------- 15. no worker, in words


async def test_a_stopped_worker_is_not_a_beat_0_s_ago(
    make_app: AppFactory, seeded: Store, size: tuple[int, int]
) -> None:
    from exact_tui.store.models import WorkerHeartbeat

    with seeded.write() as s:
        s.add(
            WorkerHeartbeat(
                worker_id="w1",
                host="ops-1",
                pid=4242,
                started_at=NOW - dt.timedelta(hours=3),
                beat_at=NOW - dt.timedelta(minutes=3),
                state="stopped",
            )
        )
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: "No worker is running" in screen_text(app))
        assert "the last one stopped 3 min ago" in screen_text(app)
        assert "0 s ago" not in screen_text(app)
