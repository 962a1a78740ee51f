"""Connect or reconnect over SSH: the console shows where an Exact user allows access (and
copies it, where the terminal allows), the user logs in on their own machine and pastes back
the address the browser ends on, or just the code."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from exact_tui.domain.text import cut
from exact_tui.services.console import ConnectFlow
from exact_tui.ui.actions import Action, Acts, bindings
from exact_tui.ui.render import Palette, plain
from exact_tui.ui.workers import Reads


class ConnectScreen(Acts, Reads, ModalScreen[str | None]):
    """Dismissed with what happened, in words, after a connect; None when cancelled.

    The dialog has no side borders: a long address wraps from the screen's edge to its edge,
    so that a mouse selection copies the address and nothing of the frame."""

    ACTIONS: ClassVar[tuple[Action[ConnectScreen], ...]] = (
        Action(
            "connect.cancel",
            "escape",
            "Cancel",
            "Leave the connection as it was",
            run=lambda screen: screen.dismiss(None),
            palette=False,
        ),
        Action(
            "connect.again",
            "ctrl+n",
            "New address",
            "Start over with a new address",
            run=lambda screen: screen.again(),
            palette=False,
        ),
    )
    BINDINGS = bindings(ACTIONS)

    def __init__(
        self, start: Callable[[], ConnectFlow], palette: Palette, *, reconnect: bool = False
    ) -> None:
        super().__init__()
        self._start = start
        self._palette = palette
        self._reconnect = reconnect
        self.flow: ConnectFlow | None = None

    def compose(self) -> ComposeResult:
        title = "Reconnect to Exact Online" if self._reconnect else "Connect to Exact Online"
        with Vertical(id="connect-box", classes="dialog"):
            yield Static(Text(title, style="bold"), id="connect-title")
            yield Static(
                "1. Open this address in a browser where you can log in to Exact, log in and "
                "allow access:",
                classes="hint",
            )
            yield Static("Asking for an address…", id="connect-url")
            yield Static("", id="connect-copied", classes="hint")
            yield Static(
                "2. Paste the address the browser ends on (it may say it cannot be reached: "
                "that is fine), or just the code, and press enter:",
                classes="hint",
            )
            yield Input(
                placeholder="http://localhost:8765/callback?code=…",
                id="connect-paste",
                compact=True,
            )
            yield Static("", id="connect-message")
            yield Static("enter connects · ctrl+n a new address · escape cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#connect-paste", Input).focus()
        self._begin()

    def _begin(self) -> None:
        self.flow = None
        self.query_one("#connect-url", Static).update("Asking for an address…")
        self.read("start the connect", self._start, self._show_address, refused=self._no_address)

    def _no_address(self, reason: str) -> None:
        # A refusal stays in the dialog, so the user can start over.
        self._say(cut(reason, 500))
        self.query_one("#connect-url", Static).update(
            plain("No address: see below.", self._palette.muted)
        )

    def again(self) -> None:
        self._say("")
        self._begin()

    @on(Input.Submitted, "#connect-paste")
    def _go(self) -> None:
        flow = self.flow
        pasted = self.query_one("#connect-paste", Input).value
        if flow is None:
            self._say("Wait for the address first (or press ctrl+n for a new one).")
            return
        if not pasted.strip():
            self._say("Paste the address the browser ends on, or the code.")
            return
        self._say("Exchanging the code with Exact…", error=False)
        self.read(
            "finish the connect",
            lambda: flow.finish(pasted),
            self.dismiss,
            refused=lambda reason: self._say(cut(reason, 500)),
        )

    def _say(self, message: str, *, error: bool = True) -> None:
        style = self._palette.error if error else self._palette.muted
        self.query_one("#connect-message", Static).update(plain(message, style))

    def _show_address(self, flow: ConnectFlow) -> None:
        self.flow = flow
        self.query_one("#connect-url", Static).update(plain(flow.authorize_url))
        # OSC 52: terminals that allow it put the address on the user's own clipboard, also
        # over SSH; others ignore it.
        self.app.copy_to_clipboard(flow.authorize_url)
        self.query_one("#connect-copied", Static).update(
            "(also sent to your clipboard, where the terminal allows it)"
        )
