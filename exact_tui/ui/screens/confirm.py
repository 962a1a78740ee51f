"""Yes or no before a risky action (unlink, unbind, link, retry all, a retry into the same
refusal)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from exact_tui.ui.actions import Action, Acts, bindings


class ConfirmScreen(Acts, ModalScreen[bool]):
    ACTIONS: ClassVar[tuple[Action[ConfirmScreen], ...]] = (
        Action(
            "confirm.yes",
            "y",
            "Yes",
            "Go ahead",
            run=lambda screen: screen.dismiss(True),
            palette=False,
        ),
        Action(
            "confirm.no",
            "n,escape,q",
            "No",
            "Leave everything as it is",
            run=lambda screen: screen.dismiss(False),
            palette=False,
        ),
    )
    BINDINGS = bindings(ACTIONS)

    def __init__(self, question: Text, yes_label: str) -> None:
        super().__init__()
        self._question = question
        self._yes_label = yes_label

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="dialog"):
            with VerticalScroll(id="confirm-scroll"):
                yield Static(self._question, id="confirm-question")
            with Horizontal(classes="buttons"):
                yield Button(f"{self._yes_label} (y)", id="yes", variant="warning")
                yield Button("Cancel (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
