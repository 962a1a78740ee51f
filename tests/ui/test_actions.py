"""The action declarations: one per key, the source of bindings, help, the palette, read-only
mode and user keymaps."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import pytest
from sqlmodel import select

from exact_tui.config import ConfigError, load_settings
from exact_tui.domain.states import (
    Category,
    ConnectionStatus,
    DocumentKind,
    JobState,
    LinkMethod,
    MappingKind,
    WriteOffKind,
    labelled,
)
from exact_tui.domain.transitions import EventOutcome
from exact_tui.services.console import ConsoleActions
from exact_tui.services.jobs import JobFilter
from exact_tui.store.engine import Store
from exact_tui.store.models import ExportJob
from exact_tui.ui.actions import Action
from exact_tui.ui.app import KeymapError
from exact_tui.ui.screens.export_log import ExportLogScreen
from exact_tui.ui.screens.help import HelpScreen, declared_everywhere
from tests.ui.conftest import AppFactory, screen_text, wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_every_member_of_every_enum_has_its_own_label() -> None:
    for enum in (
        JobState,
        Category,
        DocumentKind,
        WriteOffKind,
        MappingKind,
        LinkMethod,
        ConnectionStatus,
        EventOutcome,
    ):
        labels = [member.label for member in enum]
        assert all(labels) and len(set(labels)) == len(labels), enum


def test_a_label_table_that_misses_a_member_is_refused() -> None:
    class Colour(StrEnum):
        RED = "red"
        BLUE = "blue"

    with pytest.raises(TypeError, match="Colour: no label for blue"):
        labelled(Colour, {Colour.RED: "red"})


def test_an_outcome_this_version_does_not_know_is_shown_as_written() -> None:
    assert EventOutcome.label_of("account_created") == "customer created"
    assert EventOutcome.label_of("renamed_later") == "renamed_later"


def test_ids_are_unique_and_no_node_binds_one_key_twice() -> None:
    actions = list(declared_everywhere())
    ids = [action.id for action in actions]
    assert len(ids) == len(set(ids))
    from exact_tui.ui.app import ConsoleApp

    # Two declarations on one key would be lost to a keymap that remaps one of them
    # (Textual drops every binding of the old key): one key, one declaration.
    for node in (ConsoleApp, ExportLogScreen, *_screens()):
        keys = [key for action in node.ACTIONS for key in action.key.split(",")]
        assert len(keys) == len(set(keys)), node


def _screens() -> list[type]:
    from exact_tui.ui.app import MODES
    from exact_tui.ui.screens.job_detail import JobDetailScreen

    return [*MODES.values(), JobDetailScreen]


def test_the_console_page_lists_every_action_id() -> None:
    page = (ROOT / "docs" / "console.md").read_text(encoding="utf-8")
    missing = [action.id for action in declared_everywhere() if f"`{action.id}`" not in page]
    assert missing == []


def test_config_keys_are_read_and_an_empty_key_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[keys]\n"job.retry" = "ctrl+r"\n', encoding="utf-8")
    assert load_settings(config, environ={}).keys == {"job.retry": "ctrl+r"}
    config.write_text('[keys]\n"job.retry" = " "\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"keys: .*job.retry: no key given"):
        load_settings(config, environ={})


def test_a_keymap_naming_no_action_is_refused(make_app: AppFactory) -> None:
    with pytest.raises(KeymapError, match=r"no action has the id log\.retyr"):
        make_app(keymap={"log.retyr": "x"})


def _retry_into(store: Store, calls: list[int]) -> ConsoleActions:
    def retry_job(job_id: int) -> str:
        calls.append(job_id)
        with store.write() as s:
            job = s.get(ExportJob, job_id)
            assert job is not None
            job.state = JobState.PENDING
            s.add(job)
        return "queued again"

    return ConsoleActions(retry_job=retry_job)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_a_remapped_key_runs_the_action_and_the_old_key_does_not(
    make_app: AppFactory, seeded: Store, size: tuple[int, int]
) -> None:
    calls: list[int] = []
    app = make_app(actions=_retry_into(seeded, calls), keymap={"job.retry": "ctrl+r"})
    app.log_filter = JobFilter(state=JobState.NEEDS_MAPPING)
    async with app.run_test(size=size) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "INV-2026-0002" in screen_text(app))
        await wait_for(pilot, lambda: "^r Retry" in screen_text(app).splitlines()[-1])
        assert " r Retry" not in screen_text(app).splitlines()[-1]
        await pilot.press("r")
        await pilot.press("question_mark")  # a key after r, so that r has surely been handled
        await wait_for(pilot, lambda: "Keys on Export log" in screen_text(app))
        assert calls == []
        assert "^r" in screen_text(app)  # help shows the user's key
        await pilot.press("escape")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(calls) == 1)
    with seeded.read() as s:
        assert s.exec(select(ExportJob.state).where(ExportJob.id == calls[0])).one() == "pending"


async def test_help_lists_every_key_and_says_when_a_dimmed_one_applies(
    make_app: AppFactory, seeded: Store
) -> None:
    app = make_app(actions=_retry_into(seeded, []))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "PAY-2026-0001" in screen_text(app))
        screen = app.screen
        assert isinstance(screen, ExportLogScreen)
        posted = next(i for i, e in enumerate(screen._events) if e.number == "PAY-2026-0001")
        await pilot.press(*["j"] * posted)
        await wait_for(pilot, lambda: "Retry" not in screen_text(app).splitlines()[-1])
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: "Keys on Export log" in screen_text(app))
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        # Retry does not apply to a posted job, but help lists it, and says when it does.
        assert "r Retry" in text and "failed, blocked or waiting job" in text
        assert "Go to blocker" in text and "First row" in text
        assert "log.retry" not in text and "(job.retry)" not in text
        # Not wired: not offered at all.
        assert "Settle unknown" not in text


def test_every_write_action_names_a_console_action() -> None:
    from exact_tui.services.fleet import FleetServices

    fields = set(ConsoleActions.__dataclass_fields__) | set(FleetServices.WRITES)
    writes = {action.writes for action in declared_everywhere() if action.writes}
    assert writes and writes <= fields


def test_an_action_string_names_its_id() -> None:
    action: Action[object] = Action("x.y", "z", "Z", "zed", run=lambda node: None)
    assert action.binding().action == "act('x.y')" and action.binding().id == "x.y"


def _failing(error: Exception) -> ConsoleActions:
    def retry_job(job_id: int) -> str:
        raise error

    return ConsoleActions(retry_job=retry_job)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_a_defect_in_a_worker_is_logged_with_its_traceback_and_shown_as_an_error(
    make_app: AppFactory, size: tuple[int, int], caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(actions=_failing(RuntimeError("the disk is on fire")))
    app.log_filter = JobFilter(state=JobState.NEEDS_MAPPING)
    async with app.run_test(size=size) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "r Retry" in screen_text(app).splitlines()[-1])
        await pilot.press("r")
        await wait_for(pilot, lambda: "✖ Could not retry" in screen_text(app))
        assert "RuntimeError: the disk is on fire" in screen_text(app)
        assert "Refused" not in screen_text(app)
    record = next(r for r in caplog.records if r.name == "exact_tui.console")
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    assert "could not retry" in record.getMessage()


async def test_a_refusal_is_an_answer_not_a_defect(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    from exact_tui.services.console import ActionRefused

    app = make_app(actions=_failing(ActionRefused("the division is paused")))
    app.log_filter = JobFilter(state=JobState.NEEDS_MAPPING)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("l")
        await wait_for(pilot, lambda: "r Retry" in screen_text(app).splitlines()[-1])
        await pilot.press("r")
        await wait_for(pilot, lambda: "⚠ Refused: the division is paused" in screen_text(app))
    assert not [r for r in caplog.records if r.name == "exact_tui.console"]
