"""The footer: the keys that work here, drawn as one line of text.

Textual's own footer is a widget per key, rebuilt and restyled whenever a screen's bindings
change — and opening a screen, moving focus or reading a page changes them several times. On a
big store that rebuilding was most of the time a screen switch or a filter took. This footer
only repaints its one line. It reads like Textual's (keys in bold, a binding group's keys
before its one description), shows only the keys valid now (with the words a declared action
has for the moment: "Resume exports"), keeps help and the command palette on the right at any
width, and a click on a key presses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

from exact_tui.ui.actions import Acts


@dataclass
class _Piece:
    """One key (or one group of keys) as drawn, with where each key is, for clicks."""

    text: Text
    spans: list[tuple[int, int, str]]
    #: Left out when the line is too short for it.
    optional: bool


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

    def _entries(self) -> tuple[list[tuple[Binding, str, bool]], list[tuple[Binding, str]]]:
        """The keys valid here, one per action, in the order they are declared, with the words
        for each and whether they may be left off; and the keys kept at the right whatever
        the width (help and the command palette)."""
        right: list[tuple[Binding, str]] = []
        shown: dict[str, tuple[Binding, str, bool]] = {}
        order: dict[str, tuple[int, int]] = {}
        nodes: list[object] = []
        for node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.action == "app.command_palette" or binding.key == "ctrl+p":
                right.append((binding, binding.description.lower()))
                continue
            if not enabled or not binding.show:
                continue
            label, tight, rank = binding.description, False, 0
            if isinstance(node, Acts) and binding.id:
                declared = node.declared(binding.id)
                if declared is not None:
                    label, tight = node.label_of(declared), declared.tight
                    rank = node.ACTIONS.index(declared)
            if binding.id == "app.help":
                right.insert(0, (binding, label.lower()))
            elif binding.action not in shown:
                if node not in nodes:
                    nodes.append(node)
                shown[binding.action] = (binding, label, tight)
                order[binding.action] = (nodes.index(node), rank)
        entries = sorted(shown.items(), key=lambda item: order[item[0]])
        return [entry for _, entry in entries], right

    def render(self) -> Text:
        key_style = self.get_component_rich_style("console-footer--key", partial=True)
        text_style = self.get_component_rich_style("console-footer--description", partial=True)
        dim = self.get_component_rich_style("console-footer--disabled", partial=True)
        entries, right = self._entries()

        def piece(
            members: list[Binding], label: str, *, grouped: bool, tight: bool = False
        ) -> _Piece:
            text = Text(end="")
            spans: list[tuple[int, int, str]] = []
            for binding in members:
                start = len(text)
                text.append(
                    f" {self.app.get_key_display(binding)}" + ("" if grouped else " "), key_style
                )
                spans.append((start, len(text), binding.key.split(",")[0]))
            text.append(f" {label} " if grouped else f"{label} ", text_style)
            return _Piece(text, spans, optional=grouped or tight)

        pieces: list[_Piece] = []
        index = 0
        while index < len(entries):
            binding, label, tight = entries[index]
            group = binding.group
            members = [binding]
            while (
                group is not None
                and index + len(members) < len(entries)
                and entries[index + len(members)][0].group == group
            ):
                members.append(entries[index + len(members)][0])
            if group is not None and len(members) > 1:
                pieces.append(piece(members, group.description, grouped=True))
            else:
                pieces.append(piece([binding], label, grouped=False, tight=tight))
            index += len(members)
        tail = _Piece(Text(end=""), [], optional=False)
        for binding, label in right:
            tail.text.append("▏", dim)
            start = len(tail.text)
            tail.text.append(self.app.get_key_display(binding), key_style)
            tail.spans.append((start, len(tail.text), binding.key.split(",")[0]))
            tail.text.append(f" {label} ", text_style)
        room = self.size.width - tail.text.cell_len
        # What this screen does comes first; the keys to other screens (a group) only where
        # they fit whole: they are one `?` away, and help and the palette always show.
        needed = sum(p.text.cell_len for p in pieces if not p.optional)
        chosen = [p for p in pieces if not p.optional]
        spare = room - needed
        for extra in (p for p in pieces if p.optional):
            if extra.text.cell_len <= spare:
                spare -= extra.text.cell_len
                chosen.append(extra)
        chosen.sort(key=pieces.index)
        line = Text(end="", no_wrap=True, overflow="crop")
        spans: list[tuple[int, int, str]] = []
        for part in chosen:
            offset = len(line)
            line.append_text(part.text)
            spans.extend((offset + a, offset + b, pressed) for a, b, pressed in part.spans)
        if line.cell_len > room:
            line.truncate(max(0, room - 1))
            line.append("…", dim)
            spans = [span for span in spans if span[1] <= room - 1]
        line.append(" " * max(0, room - line.cell_len))
        offset = len(line)
        spans.extend((offset + a, offset + b, pressed) for a, b, pressed in tail.spans)
        line.append_text(tail.text)
        self._spans = spans
        return line

    def on_click(self, event: events.Click) -> None:
        for start, end, pressed in self._spans:
            if start <= event.x < end:
                self.app.simulate_key(pressed)
                return
