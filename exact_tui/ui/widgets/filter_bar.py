"""The export log's filter bar (`/`): text first (it filters as you type), then state,
category, kind and division, all on one line that fits 80 columns."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Select

from exact_tui.domain.states import Category, DocumentKind, JobState
from exact_tui.domain.text import clean_text, cut
from exact_tui.services.console import DivisionChoice
from exact_tui.services.jobs import JobFilter
from exact_tui.ui.actions import Action, Acts, bindings

#: How long typing pauses before the log follows it.
TYPING_PAUSE = 0.25


class FilterBar(Acts, Horizontal):
    DEFAULT_CSS = """
    FilterBar {
        height: 1;
        display: none;
        &.-shown { display: block; }
        Input { width: 1fr; min-width: 14; margin-right: 1; }
        Select { margin-right: 1; }
        #filter-state { width: 14; }
        #filter-category { width: 15; }
        #filter-kind { width: 12; }
        #filter-division { width: 17; margin-right: 0; }
    }
    """

    ACTIONS: ClassVar[tuple[Action[FilterBar], ...]] = (
        Action(
            "filter.close",
            "escape",
            "Close filter",
            "Back to the list (the filter stays)",
            run=lambda bar: bar.close(),
            palette=False,
        ),
    )
    BINDINGS = bindings(ACTIONS)

    class Changed(Message):
        def __init__(self, flt: JobFilter) -> None:
            super().__init__()
            self.filter = flt

    class Closed(Message):
        """The operator left the bar (the filter stays)."""

    def __init__(self, flt: JobFilter) -> None:
        super().__init__()
        self._filter = flt
        self._typing: Timer | None = None

    def compose(self) -> ComposeResult:
        flt = self._filter
        yield Input(
            flt.text or "",
            placeholder="document, cause or error",
            id="filter-text",
            compact=True,
        )
        yield Select(
            [(state.label, state) for state in JobState],
            prompt="any state",
            value=flt.state or Select.NULL,
            id="filter-state",
            compact=True,
        )
        yield Select(
            [(category.label, category) for category in Category],
            prompt="any category",
            value=flt.category or Select.NULL,
            id="filter-category",
            compact=True,
        )
        yield Select(
            [(kind.label, kind) for kind in DocumentKind],
            prompt="any kind",
            value=flt.kind or Select.NULL,
            id="filter-kind",
            compact=True,
        )
        yield Select[int]([], prompt="any division", id="filter-division", compact=True)

    def set_divisions(self, divisions: list[DivisionChoice], current: int | None) -> None:
        select = self.query_one("#filter-division", Select)
        options = [(cut(clean_text(f"{d.code} {d.description}"), 40), d.code) for d in divisions]
        with self.prevent(Select.Changed):
            select.set_options(options)
            if current is not None and any(code == current for _, code in options):
                select.value = current

    def show_filter(self, flt: JobFilter) -> None:
        """Reflect a filter set elsewhere (the palette, a group) without echoing it back."""
        self._filter = flt
        with self.prevent(Select.Changed, Input.Changed):
            for selector, value in (
                ("#filter-state", flt.state),
                ("#filter-category", flt.category),
                ("#filter-kind", flt.kind),
                ("#filter-division", flt.division),
            ):
                self.query_one(selector, Select).value = Select.NULL if value is None else value
            self.query_one("#filter-text", Input).value = flt.text or ""

    def _post(self) -> None:
        self._typing = None
        self.post_message(self.Changed(self._filter))

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        event.stop()
        value = None if event.value is Select.NULL else event.value
        flt, which = self._filter, event.select.id
        if which == "filter-state":
            flt = replace(flt, state=JobState(str(value)) if value else None)
        elif which == "filter-category":
            flt = replace(flt, category=Category(str(value)) if value else None)
        elif which == "filter-kind":
            flt = replace(flt, kind=DocumentKind(str(value)) if value else None)
        else:
            flt = replace(flt, division=int(str(value)) if value else None)
        self._filter = flt
        self._post()

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self._filter = self._filter.with_text(event.value.strip())
        if self._typing is not None:
            self._typing.stop()
        self._typing = self.set_timer(TYPING_PAUSE, self._post)

    @on(Input.Submitted)
    def _text_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text_now = self._filter.with_text(event.value.strip())
        if self._typing is not None:
            self._typing.stop()
            self._typing = None
            self._filter = text_now
            self._post()
        self.post_message(self.Closed())

    def close(self) -> None:
        if self._typing is not None:
            self._typing.stop()
            self._post()
        self.post_message(self.Closed())
