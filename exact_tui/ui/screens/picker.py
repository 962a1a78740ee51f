"""Choose one of a list fetched from the store, with a search: a division, a bank journal, an
organization, an Exact target for a mapping or setting, a customer to link.

Typing searches (in a thread, the newest search wins); ↑ ↓ move in the list while the search
keeps the focus; enter takes the highlighted choice, escape takes none. Choices that cannot
be taken are shown dimmed with the reason, so the list explains itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from exact_tui.ui.actions import Action, Acts, bindings
from exact_tui.ui.workers import Reads

#: How long typing pauses before the search runs.
TYPING_PAUSE = 0.2


@dataclass(frozen=True)
class Choice:
    """One line (or two) of a picker. `label` and `detail` are built with `render.plain()`."""

    key: str
    label: Text
    detail: Text | None = None
    #: Why it cannot be taken; None when it can.
    refused: Text | None = None


Search = Callable[[str], Sequence[Choice]]


class PickerScreen(Acts, Reads, ModalScreen[str | None]):
    ACTIONS: ClassVar[tuple[Action[PickerScreen], ...]] = (
        Action(
            "picker.cancel",
            "escape",
            "Cancel",
            "Choose nothing",
            run=lambda screen: screen.dismiss(None),
            palette=False,
        ),
        Action(
            "picker.down",
            "down",
            "Next",
            "The next choice",
            run=lambda screen: screen.move(1),
            show=False,
            palette=False,
        ),
        Action(
            "picker.up",
            "up",
            "Previous",
            "The previous choice",
            run=lambda screen: screen.move(-1),
            show=False,
            palette=False,
        ),
    )
    BINDINGS = bindings(ACTIONS)

    def __init__(
        self,
        title: Text | str,
        hint: Text | str,
        search: Search,
        *,
        searchable: bool = True,
        placeholder: str = "type to search",
        empty: str = "Nothing to choose from.",
    ) -> None:
        super().__init__()
        self._title = title
        self._hint = hint
        self._search = search
        self._searchable = searchable
        self._placeholder = placeholder
        self._empty = empty
        self._choices: list[Choice] = []
        self._typing: Timer | None = None
        #: The search the list shows the answer to.
        self._shown_for: str | None = None
        #: Enter came before the answer to the last keystrokes: take the answer's first choice.
        self._take_next = False

    @property
    def takeable(self) -> list[str]:
        """The keys of the choices that can be taken now."""
        return [choice.key for choice in self._choices if choice.refused is None]

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box", classes="dialog"):
            yield Static(self._title, id="picker-title")
            yield Static(self._hint, id="picker-hint", classes="hint")
            if self._searchable:
                yield Input(placeholder=self._placeholder, id="picker-search", compact=True)
            yield OptionList(id="picker-options", markup=False)
            yield Static("", id="picker-empty", classes="hint")
            yield Static("↑ ↓ choose · enter takes it · escape cancels", classes="hint")

    def on_mount(self) -> None:
        if self._searchable:
            self.query_one("#picker-search", Input).focus()
        else:
            self.query_one("#picker-options", OptionList).focus()
        self._run("")

    def _run(self, text: str) -> None:
        search = self._search
        self.read("find the choices", lambda: (text, list(search(text))), self._found)

    def _found(self, found: tuple[str, list[Choice]]) -> None:
        self._show(*found)

    def _show(self, text: str, choices: list[Choice]) -> None:
        self._shown_for = text
        self._choices = choices
        options = self.query_one("#picker-options", OptionList)
        options.clear_options()
        options.add_options([self._option(choice) for choice in choices])
        first = next((i for i, c in enumerate(choices) if c.refused is None), None)
        options.highlighted = first
        self.query_one("#picker-empty", Static).update("" if choices else self._empty)
        if self._take_next and text == self._text():
            self._take_next = False
            self._take(first)

    def _text(self) -> str:
        if not self._searchable:
            return ""
        return self.query_one("#picker-search", Input).value.strip()

    @staticmethod
    def _option(choice: Choice) -> Option:
        prompt = Text(end="")
        prompt.append_text(choice.label)
        if choice.detail is not None:
            prompt.append("\n  ")
            prompt.append_text(choice.detail)
        if choice.refused is not None:
            prompt.append("\n  ")
            prompt.append_text(choice.refused)
        return Option(prompt, id=choice.key, disabled=choice.refused is not None)

    @on(Input.Changed, "#picker-search")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if self._typing is not None:
            self._typing.stop()
        text = event.value.strip()
        self._typing = self.set_timer(TYPING_PAUSE, lambda: self._run(text))

    @on(Input.Submitted, "#picker-search")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = self._text()
        if text != self._shown_for:
            # The list still answers older keystrokes: search now, take what it finds.
            if self._typing is not None:
                self._typing.stop()
            self._take_next = True
            self._run(text)
            return
        self._take(self.query_one("#picker-options", OptionList).highlighted)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._take(event.option_index)

    def _take(self, index: int | None) -> None:
        if index is None or not 0 <= index < len(self._choices):
            return
        choice = self._choices[index]
        if choice.refused is None:
            self.dismiss(choice.key)

    def move(self, step: int) -> None:
        options = self.query_one("#picker-options", OptionList)
        if step > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()
