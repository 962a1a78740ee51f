"""What the admin screens (divisions, mappings, accounts, master data) share: the division they
show (one for all of them, `ConsoleApp.division`), reading again whenever the store changed,
and jumps from the Export log to what blocks a job."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from exact_tui.services.admin.blockers import Blocker, BlockerKind
from exact_tui.services.console import DivisionChoice
from exact_tui.services.status import ChangeMark
from exact_tui.ui.screens.base import ConsoleScreen
from exact_tui.ui.widgets.scope_bar import Scope, ScopeBar


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
        self.read("read the divisions", self.services.divisions, self._divisions_read)

    # ------------------------------------------------------------ what subclasses fill in

    def reload(self) -> None:
        """Read what the screen shows again (the division, the scope or the store changed)."""

    def apply_jump(self, blocker: Blocker) -> None:
        """Show and select what blocks a job (only blockers of `JUMPS` come here)."""

    def store_changed(self, before: ChangeMark, after: ChangeMark) -> None:
        # Blocked counts and links follow the worker and other consoles without a keypress.
        self.reload()

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

    def act(
        self, what: str, call: Callable[[], str], *, then: Callable[[], object] | None = None
    ) -> None:
        """A write action: say what it did (or why not), and read the screen again."""
        super().act(what, call, then=then or self.reload)
