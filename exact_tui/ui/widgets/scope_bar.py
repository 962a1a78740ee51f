"""The bar on top of the admin screens: which division, which list or kind, and a search text.

Always visible (these screens are about one division at a time); `/` on the screen focuses the
text. Typing filters after a short pause, enter at once; the bar posts `Changed` either way, once
per new scope (enter after the pause only leaves the bar).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Select

from exact_tui.domain.text import cut
from exact_tui.services.console import DivisionChoice
from exact_tui.ui.actions import Action, Acts, bindings
from exact_tui.ui.render import plain

#: How long typing pauses before the list follows it.
TYPING_PAUSE = 0.25


@dataclass(frozen=True)
class Scope:
    division: int | None
    choice: str | None
    text: str


class ScopeBar(Acts, Horizontal):
    DEFAULT_CSS = """
    ScopeBar {
        height: 1;
        padding: 0 1;
        background: $boost;
        #scope-division { width: 34; margin-right: 1; }
        #scope-choice { width: 18; margin-right: 1; }
        Input { width: 1fr; }
    }
    """

    ACTIONS: ClassVar[tuple[Action[ScopeBar], ...]] = (
        Action(
            "scope.leave",
            "escape",
            "Back to the list",
            "Leave the bar (what it selects stays)",
            run=lambda bar: bar.leave(),
            palette=False,
        ),
    )
    BINDINGS = bindings(ACTIONS)

    class Changed(Message):
        def __init__(self, scope: Scope) -> None:
            super().__init__()
            self.scope = scope

    class Left(Message):
        """The operator left the bar (the scope stays)."""

    def __init__(
        self,
        *,
        placeholder: str,
        divisions: bool = True,
        choices: Sequence[tuple[str, str]] = (),
        choice_prompt: str = "",
        choice: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._divisions = divisions
        self._choices = list(choices)
        self._choice_prompt = choice_prompt
        self._scope = Scope(None, choice, "")
        self._placeholder = placeholder
        self._typing: Timer | None = None
        self._codes: set[int] = set()
        #: The scope the screen was last told of (or shows already): not posted twice.
        self._posted: Scope | None = None

    @property
    def scope(self) -> Scope:
        return self._scope

    def compose(self) -> ComposeResult:
        if self._divisions:
            yield Select[int]([], prompt="division", id="scope-division", compact=True)
        if self._choices:
            yield Select[str](
                self._choices,
                prompt=self._choice_prompt,
                allow_blank=bool(self._choice_prompt),
                value=self._scope.choice or Select.NULL,
                id="scope-choice",
                compact=True,
            )
        yield Input(placeholder=self._placeholder, id="scope-text", compact=True)

    def set_divisions(self, divisions: Sequence[DivisionChoice], current: int | None) -> None:
        select = self.query_one("#scope-division", Select)
        options: list[tuple[Text, int]] = [
            (plain(cut(f"{d.code} {d.description}", 40)), d.code) for d in divisions
        ]
        self._codes = {d.code for d in divisions}
        with self.prevent(Select.Changed):
            select.set_options(options)
            if current in self._codes:
                select.value = current
        self._scope = Scope(current, self._scope.choice, self._scope.text)
        self._posted = self._scope

    def show(self, scope: Scope) -> None:
        """Reflect a scope set elsewhere (a jump, the palette) without echoing it back."""
        self._scope = scope
        self._posted = scope
        with self.prevent(Select.Changed, Input.Changed):
            if self._divisions and scope.division in self._codes:
                self.query_one("#scope-division", Select).value = scope.division
            if self._choices:
                choice = self.query_one("#scope-choice", Select)
                choice.value = Select.NULL if scope.choice is None else scope.choice
            self.query_one("#scope-text", Input).value = scope.text

    def focus_text(self) -> None:
        self.query_one("#scope-text", Input).focus()

    def _post(self) -> None:
        self._typing = None
        if self._scope != self._posted:
            self._posted = self._scope
            self.post_message(self.Changed(self._scope))

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        event.stop()
        value = None if event.value is Select.NULL else event.value
        if event.select.id == "scope-division":
            division = int(str(value)) if value is not None else None
            self._scope = Scope(division, self._scope.choice, self._scope.text)
        else:
            self._scope = Scope(
                self._scope.division, str(value) if value is not None else None, self._scope.text
            )
        self._post()

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self._scope = Scope(self._scope.division, self._scope.choice, event.value.strip())
        if self._typing is not None:
            self._typing.stop()
        self._typing = self.set_timer(TYPING_PAUSE, self._post)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._typing is not None:
            self._typing.stop()
        self._scope = Scope(self._scope.division, self._scope.choice, event.value.strip())
        self._post()
        self.post_message(self.Left())

    def leave(self) -> None:
        self.post_message(self.Left())
