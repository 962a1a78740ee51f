"""The top line of every screen: where you are, and the connection's status with its mark."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from exact_tui.services.status import StatusReport
from exact_tui.ui.render import Palette, connection_text, join


def header_status(
    report: StatusReport | None, palette: Palette, read_only: bool, tenant: str | None = None
) -> Text:
    parts: list[Text | str] = []
    if tenant is not None:
        parts.append(Text(f"tenant {tenant}", style=palette.strong))
    if read_only:
        parts.append(Text("read-only", style=palette.warning))
    if report is not None:
        if not report.worker_running:
            parts.append(Text("⚠ no worker", style=palette.warning))
        connection = report.connection
        if connection is not None and connection.exports_paused:
            parts.append(Text("⏸ exports paused", style=palette.warning))
        parts.append(connection_text(connection.status if connection else None, palette))
    return join(*parts, separator="  ·  ")


class ConsoleHeader(Horizontal):
    DEFAULT_CSS = """
    ConsoleHeader {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
        #header-title { width: 1fr; text-style: bold; padding: 0 1; }
        #header-status { width: auto; padding: 0 1; }
    }
    """

    def __init__(self, title: str) -> None:
        super().__init__()
        self._title = title

    def compose(self) -> ComposeResult:
        yield Static(f"exact-tui  ›  {self._title}", id="header-title", markup=False)
        yield Static("", id="header-status")

    def show(self, status: Text) -> None:
        self.query_one("#header-status", Static).update(status)
