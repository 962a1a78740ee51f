"""The README's walk-through, keys pressed as it says, on the demo's world: bind the Rabobank
account (`d`), map REV-EVENT and EU-SERV (`m`), link customer P-1003 (`a`), and the refused
invoice: unblock its account in Exact, Retrieve data (`r` on Status), retry it (`r`).

After each step the worker runs until idle, and every view of a job must agree with the store
without a keypress: the Export log's rows, a job's detail, the Status screen's queue counts and
the blocked counts of the Divisions and Mappings screens. At the end every demo document is in
its documented final state: posted, but the two dated before the activation (skipped).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select
from textual.widgets import Input, Static

from exact_tui.demo import data
from exact_tui.demo.world import DemoWorld, build_world
from exact_tui.domain.states import Category, JobState
from exact_tui.services.audit import Actor
from exact_tui.services.console import ConsoleServices, operator_actions
from exact_tui.services.jobs import JobFilter
from exact_tui.store.models import ExportJob
from exact_tui.ui.app import ConsoleApp, build_app
from exact_tui.ui.screens.accounts import AccountsScreen
from exact_tui.ui.screens.confirm import ConfirmScreen
from exact_tui.ui.screens.divisions import DivisionsScreen
from exact_tui.ui.screens.export_log import ExportLogScreen
from exact_tui.ui.screens.job_detail import JobDetailScreen
from exact_tui.ui.screens.mappings import MappingsScreen
from exact_tui.ui.screens.picker import PickerScreen
from exact_tui.ui.screens.status import StatusScreen
from exact_tui.ui.widgets.fit_table import FitTable
from tests.ui.conftest import flat, screen_text, wait_for

pytestmark = pytest.mark.slow
DIVISION = 101001
#: How long a view may take to show the new truth (it polls; nothing is pressed).
SETTLE = 10.0


async def _drain(world: DemoWorld) -> None:
    worker, link = world.worker(poll_seconds=0.05)
    try:
        await worker.run(until_idle=True)
    finally:
        await link.close()


def _jobs(world: DemoWorld) -> list[ExportJob]:
    with world.store.read() as s:
        return list(s.exec(select(ExportJob)))


def _by_number(world: DemoWorld) -> dict[str, ExportJob]:
    return {job.document_number: job for job in _jobs(world)}


def _shown(state: JobState) -> str:
    return f"{state.mark} {state.label}"


# ---------------------------------------------------------------- the views, read back


def _log_disagrees(app: ConsoleApp, world: DemoWorld) -> list[str]:
    """Rows of the Export log whose Now is not their job's state in the store."""
    screen = app.screen
    assert isinstance(screen, ExportLogScreen)
    jobs = {job.id: job for job in _jobs(world)}
    table = screen.query_one("#events", FitTable)
    wrong = []
    for index, event in enumerate(screen._events[: table.row_count]):
        now = str(table.get_row_at(index)[3])
        expected = _shown(jobs[event.job_id].state)
        if now != expected:
            wrong.append(f"{event.number}: row says {now!r}, the store {expected!r}")
    return wrong


def _status_disagrees(app: ConsoleApp, world: DemoWorld) -> list[str]:
    """Divisions whose queue line on Status is not their jobs' states in the store."""
    screen = app.screen
    assert isinstance(screen, StatusScreen)
    counts: dict[int, Counter[str]] = {}
    for job in _jobs(world):
        if job.division is not None:
            counts.setdefault(job.division, Counter())[job.state.label] += 1
    wrong = []
    unrouted = sum(1 for job in _jobs(world) if job.division is None and not job.state.is_final)
    said = 0
    for panel in screen.query("#divisions Static"):
        text = str(panel.content)
        if "not routed to a division" in text:
            said = int(text.split()[0].replace(",", ""))
            continue
        head = text.split()[0] if text else ""
        if not head.isdigit():
            continue
        queue = next(line for line in text.splitlines() if line.strip().startswith("queue"))
        shown = Counter(
            {
                " ".join(part.split()[1:]): int(part.split()[0].replace(",", ""))
                for part in queue.split("queue", 1)[1].split("·")
                if part.strip() and part.strip() != "empty"
            }
        )
        expected = counts.get(int(head), Counter())
        if shown != expected:
            wrong.append(f"{head}: Status says {dict(shown)}, the store {dict(expected)}")
    if said != unrouted:
        wrong.append(f"Status says {said} documents not routed, the store {unrouted}")
    return wrong


def _blocked(world: DemoWorld, category: Category) -> int:
    return sum(
        1
        for job in _jobs(world)
        if job.state is JobState.NEEDS_MAPPING and job.category is category
    )


def _summary(app: ConsoleApp, selector: str) -> str:
    return " ".join(str(app.screen.query_one(selector, Static).content).split())


def _divisions_disagree(app: ConsoleApp, world: DemoWorld) -> list[str]:
    held = _blocked(world, Category.BINDING)
    summary = _summary(app, "#divisions-summary")
    expected = f"holding up {held} document" if held else "every bank account bound"
    return [] if expected in summary else [f"Divisions says {summary!r}; expected {expected!r}"]


def _mappings_disagree(app: ConsoleApp, world: DemoWorld) -> list[str]:
    held = sum(
        1
        for job in _jobs(world)
        if job.state is JobState.NEEDS_MAPPING
        and job.category is Category.MAPPING
        and job.division == DIVISION
    )
    summary = _summary(app, "#mappings-summary")
    expected = (
        f"{held} document{'' if held == 1 else 's'} wait for one"
        if held
        else "✔ nothing waits for a mapping"
    )
    return [] if expected in summary else [f"Mappings says {summary!r}; expected {expected!r}"]


async def _agree(pilot: Any, world: DemoWorld, detail: str) -> None:
    """Every view of the jobs shows what the store holds, without a key but the one that
    opens the view: the log (and the detail of document `detail`), Status, the blocked counts."""
    app = pilot.app
    app.log_filter = JobFilter()
    await pilot.press("l")
    await wait_for(pilot, lambda: isinstance(app.screen, ExportLogScreen))
    await wait_for(pilot, lambda: not _log_disagrees(app, world), timeout=SETTLE)

    screen = app.screen
    assert isinstance(screen, ExportLogScreen)
    row = next(i for i, event in enumerate(screen._events) if event.number == detail)
    table = screen.query_one("#events", FitTable)
    await pilot.press("home", *["j"] * row, "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
    expected = _shown(_by_number(world)[detail].state)
    await wait_for(pilot, lambda: expected in screen_text(app), timeout=SETTLE)
    await pilot.press("escape")
    await wait_for(pilot, lambda: isinstance(app.screen, ExportLogScreen))
    assert table.cursor_row == row

    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(app.screen, StatusScreen))
    await wait_for(pilot, lambda: not _status_disagrees(app, world), timeout=SETTLE)
    await pilot.press("d")
    await wait_for(pilot, lambda: isinstance(app.screen, DivisionsScreen))
    await wait_for(pilot, lambda: not _divisions_disagree(app, world), timeout=SETTLE)
    await pilot.press("m")
    await wait_for(pilot, lambda: isinstance(app.screen, MappingsScreen))
    await wait_for(pilot, lambda: not _mappings_disagree(app, world), timeout=SETTLE)


# ---------------------------------------------------------------- the keys of the walk-through


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
    current = screen.query_one("#mappings", FitTable).cursor_row
    await pilot.press(*(["j"] * (row - current) if row >= current else ["k"] * (current - row)))
    await pilot.press("enter")
    await _pick(pilot, search, target)
    await wait_for(pilot, lambda: f"→ {target} in division {DIVISION} saved" in flat(pilot.app))


async def test_the_readme_walk_through_ends_with_every_document_where_it_says(
    tmp_path: Path,
) -> None:
    size = (80, 24)  # the narrow terminal: what holds there holds wider
    world = await build_world(tmp_path)
    await _drain(world)
    held = {
        job.document_number: job.category
        for job in _jobs(world)
        if job.state is JobState.NEEDS_MAPPING
    }
    assert set(held.values()) == {Category.BINDING, Category.MAPPING, Category.CUSTOMER}
    refused = _by_number(world)["2026-0015"]
    assert (refused.state, refused.category) == (JobState.FAILED, Category.VALIDATION)
    actions = operator_actions(
        world.store,
        Actor("admin", "tui"),
        open_secrets=lambda: world.secrets,
        connect_settings=world.connect_settings(),
        transport=world.transport,
        clock=world.clock,
    )
    services = ConsoleServices(world.store, timezone="Europe/Amsterdam", actions=actions)
    app = build_app(services, poll_seconds=0.3, tail_seconds=0.2)
    async with app.run_test(size=size) as pilot:
        await _agree(pilot, world, "2026-0016")

        # `d`: bind the Rabobank account to division 101001 and its own bank journal.
        await pilot.press("d")
        await wait_for(pilot, lambda: "holding up 4 documents" in flat(app))
        await pilot.press("enter")
        await _pick(pilot, str(DIVISION), str(DIVISION))
        await _pick(pilot, "rabo", "21")
        await wait_for(pilot, lambda: "4 jobs back to pending" in flat(app))
        await _drain(world)
        await _agree(pilot, world, "2026-0016")

        # `m`: map the event GL code and the EU services VAT code.
        await pilot.press("m")
        await wait_for(pilot, lambda: "REV-EVENT" in flat(app))
        await _map(pilot, "REV-EVENT", "8010", "8010")
        await _map(pilot, "EU-SERV", "intracom", "7")
        await _drain(world)
        await _agree(pilot, world, "2026-0012")

        # `a`: link customer P-1003 (typed where links are made) to one of its two accounts.
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountsScreen))
        await pilot.press("slash", *data.AMBIGUOUS_CUSTOMER, "enter")
        await wait_for(pilot, lambda: f"Customer {data.AMBIGUOUS_CUSTOMER}" in flat(app))
        accounts = app.screen
        assert isinstance(accounts, AccountsScreen)
        await wait_for(pilot, lambda: app.focused is accounts.query_one("#accounts"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: "1 job back to pending" in flat(app))
        await _drain(world)
        await _agree(pilot, world, "2026-0014")

        # The refused invoice: its account is blocked in Exact. The log says so, and how.
        await pilot.press("l")
        log = app.screen
        assert isinstance(log, ExportLogScreen)
        row = next(i for i, e in enumerate(log._events) if e.number == "2026-0015")
        await pilot.press("home", *["j"] * row)
        await wait_for(pilot, lambda: "is blocked in Exact" in flat(app))
        account = next(
            a
            for a in world.sandbox.division(DIVISION).accounts.values()
            if a.get("SearchCode") == data.STALE_BLOCKED_CUSTOMER
        )
        world.sandbox.update_account(DIVISION, str(account["Code"]).strip(), Blocked=False)
        await pilot.press("s")
        await wait_for(pilot, lambda: "r Retrieve data" in flat(app).splitlines()[-1])
        await pilot.press("r")
        await wait_for(pilot, lambda: "import" in flat(app))
        await _drain(world)  # the import: the account is no longer blocked in the cache
        await pilot.press("l", "home", *["j"] * row)
        await wait_for(pilot, lambda: "r Retry" in flat(app).splitlines()[-1])
        await pilot.press("r")  # something changed since the refusal: no question
        await wait_for(pilot, lambda: "back to pending" in flat(app))
        assert not isinstance(app.screen, ConfirmScreen)
        await _drain(world)
        await _agree(pilot, world, "2026-0015")

    final = _by_number(world)
    skipped = {number for number, job in final.items() if job.state is JobState.SKIPPED}
    assert skipped == {"2025-0901", "2025-0902"}
    others = {number: job.state for number, job in final.items() if number not in skipped}
    assert others and set(others.values()) == {JobState.POSTED}, others
    # The lost answer was settled by a lookup: one entry in Exact, not two.
    ledger = world.sandbox.ledger(DIVISION)["divisions"][str(DIVISION)]["sales_entries"]
    references = Counter(entry["YourRef"] for entry in ledger)
    assert references[data.HANGING_INVOICE] == 1
    assert all(count == 1 for count in references.values())
    with world.store.read() as s:
        posted = set(
            s.exec(select(ExportJob.document_number).where(col(ExportJob.state) == "posted"))
        )
    assert set(held) | {"2026-0015"} <= posted
