"""The footer: the keys that work here, drawn as one line of text.

Textual's own footer is a widget per key, rebuilt and restyled whenever a screen's bindings
change — and opening a screen, moving focus or reading a page changes them several times. On a
big store that rebuilding was most of the time a screen switch or a filter took. This footer
only repaints its one line. It reads like Textual's (keys in bold, a binding group's keys
before its one description, the command palette on the right, disabled keys dimmed), and a
click on a key presses it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget


class ConsoleFooter(Widget, can_focus=False):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "console-footer--key",
        "console-footer--description",
        "console-footer--disabled",
    }
    DEFAULT_CSS = """
    ConsoleFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        .console-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .console-footer--description {
            color: $footer-description-foreground;
        }
        .console-footer--disabled {
            text-style: dim;
        }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        #: Where each key is drawn: (start, end, key), for clicks.
        self._spans: list[tuple[int, int, str]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        self.refresh()

    def _entries(self) -> tuple[list[tuple[Binding, bool]], tuple[Binding, bool] | None]:
        """The bindings to show, one per action, and the command palette's."""
        palette: tuple[Binding, bool] | None = None
        shown: dict[str, tuple[Binding, bool]] = {}
        for _, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.action == "app.command_palette" or binding.key == "ctrl+p":
                palette = (binding, enabled)
            elif binding.show:
                shown.setdefault(binding.action, (binding, enabled))
        return list(shown.values()), palette

    def render(self) -> Text:
        key_style = self.get_component_rich_style("console-footer--key", partial=True)
        text_style = self.get_component_rich_style("console-footer--description", partial=True)
        dim = self.get_component_rich_style("console-footer--disabled", partial=True)
        entries, palette = self._entries()
        line = Text(end="", no_wrap=True, overflow="crop")
        spans: list[tuple[int, int, str]] = []

        def key(binding: Binding, enabled: bool, *, grouped: bool = False) -> None:
            start = len(line)
            shown = f" {self.app.get_key_display(binding)}" + ("" if grouped else " ")
            line.append(shown, key_style if enabled else key_style + dim)
            spans.append((start, len(line), binding.key.split(",")[0]))

        index = 0
        while index < len(entries):
            binding, enabled = entries[index]
            group = binding.group
            members = [entries[index]]
            while (
                group is not None
                and index + len(members) < len(entries)
                and entries[index + len(members)][0].group == group
            ):
                members.append(entries[index + len(members)])
            if group is not None and len(members) > 1:
                for member, member_enabled in members:
                    key(member, member_enabled, grouped=True)
                line.append(f" {group.description} ", text_style)
            else:
                key(binding, enabled)
                line.append(f"{binding.description} ", text_style if enabled else text_style + dim)
            index += len(members)
        if palette is not None:
            binding, enabled = palette
            tail = Text(end="")
            tail.append("▏", dim)
            tail.append(self.app.get_key_display(binding), key_style)
            tail.append(f" {binding.description.lower()} ", text_style)
            room = self.size.width - tail.cell_len
            if line.cell_len < room:
                line.append(" " * (room - line.cell_len))
                spans.append((room, self.size.width, binding.key))
                line.append_text(tail)
        self._spans = spans
        return line

    def on_click(self, event: events.Click) -> None:
        for start, end, pressed in self._spans:
            if start <= event.x < end:
                self.app.simulate_key(pressed)
                return
