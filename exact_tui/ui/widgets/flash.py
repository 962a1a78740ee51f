"""The line that says what just happened ("4 jobs back to pending", "Refused: …").

One line above the footer, in the flow of the screen (it pushes the table up rather than
covering a row of it), shown while the app's current message lasts and gone after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rich.text import Text
from textual.widgets import Static

Severity = Literal["information", "warning", "error"]
#: How long a message stays: long enough to read twice, never minutes later.
LASTS: dict[Severity, float] = {"information": 8.0, "warning": 15.0, "error": 30.0}
MARKS: dict[Severity, str] = {"information": "✔ ", "warning": "⚠ ", "error": "✖ "}


@dataclass(frozen=True)
class FlashMessage:
    text: Text
    severity: Severity
    #: Tells two equal messages apart (the second one restarts the line's time).
    serial: int


class FlashLine(Static):
    DEFAULT_CSS = """
    FlashLine {
        height: auto;
        max-height: 3;
        padding: 0 1;
        background: $boost;
        display: none;
        &.-information { color: $text-success; }
        &.-warning { color: $text-warning; }
        &.-error { color: $text-error; text-style: bold; }
    }
    """

    def show(self, message: FlashMessage | None) -> None:
        self.remove_class("-information", "-warning", "-error")
        if message is None:
            self.display = False
            return
        self.add_class(f"-{message.severity}")
        self.update(Text(MARKS[message.severity], end="") + message.text)
        self.display = True
