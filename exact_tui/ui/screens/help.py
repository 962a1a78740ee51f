"""`?`: the keys that work on the screen below, with what they do and their ids (for keymaps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


@dataclass(frozen=True)
class KeyHelp:
    key: str
    description: str
    binding_id: str | None


def help_text(title: str, keys: list[KeyHelp]) -> Text:
    text = Text(end="")
    text.append(f"{title}\n\n", style="bold")
    width = max((len(k.key) for k in keys), default=0)
    for item in keys:
        text.append(f"  {item.key:>{width}}  ", style="bold")
        text.append(item.description)
        if item.binding_id:
            text.append(f"  ({item.binding_id})", style="dim")
        text.append("\n")
    text.append("\n  ↑ ↓ pgup pgdn home end move in a list, tab moves between fields")
    text.append("\n  ctrl+p  the command palette: every screen, filter and action by name")
    return text


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close", id="help.close"),
    ]

    def __init__(self, title: str, keys: list[KeyHelp]) -> None:
        super().__init__()
        self._title = title
        self._keys = keys

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="dialog"):
            with VerticalScroll():
                yield Static(help_text(self._title, self._keys), id="help-keys")
            yield Static("escape closes", classes="hint")
