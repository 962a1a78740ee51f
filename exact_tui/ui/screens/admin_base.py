"""What the admin screens (divisions, mappings, accounts, master data) share: the division they
show (one for all of them, `ConsoleApp.division`), the outcome of the last action kept on
screen, and jumps from the Export log to what blocks a job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from exact_tui.domain.text import clean_text
from exact_tui.services.admin.blockers import Blocker, BlockerKind
from exact_tui.services.console import DivisionChoice
from exact_tui.ui.render import join, plain
from exact_tui.ui.screens.base import ConsoleScreen
from exact_tui.ui.widgets.scope_bar import Scope, ScopeBar
from exact_tui.ui.workers import fetch

ACT = "act: "


class AdminScreen(ConsoleScreen):
    #: The blockers this screen is where to fix (a jump from the Export log lands here).
    JUMPS: ClassVar[frozenset[BlockerKind]] = frozenset()
    #: The screen shows one division at a time (the Divisions screen shows them all).
    SCOPED: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__()
        self.division_choices: list[DivisionChoice] = []

    def on_mount(self) -> None:
        self.watch(self.console, "division", self._division_changed, init=False)
        self.watch(self.console, "jump", self._jumped)
        fetch(self, "read the divisions", self.services.divisions)

    # ------------------------------------------------------------ what subclasses fill in

    def reload(self) -> None:
        """Read what the screen shows again (the division, the scope or the store changed)."""

    def apply_jump(self, blocker: Blocker) -> None:
        """Show and select what blocks a job (only blockers of `JUMPS` come here)."""

    def fetched_here(self, name: str, result: Any) -> None:
        """Results of this screen's own workers."""

    # ------------------------------------------------------------ division

    @property
    def division(self) -> int | None:
        return self.console.division

    def _division_changed(self, division: int | None) -> None:
        if self.SCOPED:
            bar = self.query_one(ScopeBar)
            bar.show(Scope(division, bar.scope.choice, bar.scope.text))
            self.reload()

    def _divisions_read(self, choices: list[DivisionChoice]) -> None:
        self.division_choices = choices
        current = self.console.division
        if current not in {choice.code for choice in choices}:
            current = choices[0].code if choices else None
        if self.SCOPED:
            self.query_one(ScopeBar).set_divisions(choices, current)
        if current != self.console.division:
            # Every admin screen follows; a scoped one reloads through its watcher.
            self.console.division = current
            if self.SCOPED:
                return
        self.reload()

    def scope_division(self, division: int | None) -> None:
        """The bar chose a division: every admin screen follows."""
        if division is not None and division != self.console.division:
            self.console.division = division

    # ------------------------------------------------------------ jumps

    def _jumped(self, blocker: Blocker | None) -> None:
        if blocker is None or blocker.kind not in self.JUMPS:
            return
        self.console.jump = None
        self.apply_jump(blocker)

    # ------------------------------------------------------------ actions

    def act(self, what: str, call: Callable[[], str]) -> None:
        """Run a write action in a thread; its outcome (done or refused) stays on screen."""
        self.show_outcome(Text(f"… {what}", style=self.palette.muted))
        fetch(self, f"{ACT}{what}", call)

    def show_outcome(self, outcome: Text) -> None:
        line = self.query_one("#outcome", Static)
        line.update(outcome)
        line.display = bool(outcome.plain)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A refusal stays on screen; `ConsoleScreen`'s handler (Textual calls it next)
        reports it and hands results to `fetched`."""
        name = event.worker.name
        if event.state is WorkerState.ERROR and name.startswith(ACT):
            why = clean_text(str(event.worker.error) or type(event.worker.error).__name__)
            self.show_outcome(join(Text("✖ refused: ", self.palette.error), plain(why)))

    def fetched(self, name: str, result: Any) -> None:
        if name == "read the divisions":
            self._divisions_read(result)
        elif name.startswith(ACT):
            self.show_outcome(join(Text("✔ ", self.palette.success), plain(result)))
            self.notify(clean_text(str(result))[:300], markup=False)
            self.reload()
        else:
            self.fetched_here(name, result)
