"""`?`: every key of the screen below, what it does, and when one that does not apply now does.

Read from the same declarations as the bindings (`ui.actions`): the screen's actions, those of
the list it shows, and the ones that work everywhere. A key that does not apply now is dimmed,
with when it does; a write action is left out in read-only mode (and until it is wired).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from exact_tui.ui.actions import Action, Acts, bindings

if TYPE_CHECKING:
    from exact_tui.ui.app import ConsoleApp


def declared_everywhere() -> Iterator[Action[Any]]:
    """Every action the console declares (the ids `[keys]` may name)."""
    from exact_tui.ui.app import APP_ACTIONS, MODES
    from exact_tui.ui.screens.confirm import ConfirmScreen
    from exact_tui.ui.screens.connect import ConnectScreen
    from exact_tui.ui.screens.fleet_failures import FleetFailuresScreen
    from exact_tui.ui.screens.job_detail import JobDetailScreen
    from exact_tui.ui.screens.picker import PickerScreen
    from exact_tui.ui.widgets.filter_bar import FilterBar
    from exact_tui.ui.widgets.scope_bar import ScopeBar
    from exact_tui.ui.widgets.table import ConsoleTable

    yield from APP_ACTIONS
    nodes: list[type[Any]] = [
        *MODES.values(),
        JobDetailScreen,
        FleetFailuresScreen,
        ConsoleTable,
        FilterBar,
        ScopeBar,
        ConfirmScreen,
        PickerScreen,
        ConnectScreen,
        HelpScreen,
    ]
    seen: set[str] = {action.id for action in APP_ACTIONS}
    for node in nodes:
        for action in cast(Sequence[Action[Any]], getattr(node, "ACTIONS", ())):
            if action.id not in seen:
                seen.add(action.id)
                yield action


def _section(
    app: ConsoleApp, node: Acts, heading: str, shown: set[str], hidden: list[str]
) -> Table | None:
    """The node's actions as a grid: key, then what it does (wrapped in its own column);
    one that does not apply now dimmed, with when it does."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", no_wrap=True, min_width=7)
    grid.add_column(ratio=1)
    rows = 0
    for action in node.ACTIONS:
        if action.id in shown:
            continue
        shown.add(action.id)
        if not node.offered(action):
            if action.writes is not None and app.read_only:
                hidden.append(action.label)
            continue
        now = node.applies(action)
        words = Text(end="")
        words.append(node.label_of(action), style="bold" if now else "dim")
        words.append(f"  {action.help}", style="" if now else "dim")
        if not now and action.when:
            words.append(f"  — {action.when}", style="dim italic")
        grid.add_row(Text(app.key_of(action), style="bold" if now else "dim"), words)
        rows += 1
    if not rows:
        return None
    return grid


def help_text(app: ConsoleApp, screen: Screen[Any]) -> Group:
    title = getattr(screen, "TITLE", None) or app.TITLE
    parts: list[RenderableType] = [Text(f"Keys on {title}", style="bold"), Text("")]
    shown: set[str] = set()
    hidden: list[str] = []
    nodes: list[tuple[str, Acts]] = []
    if isinstance(screen, Acts):
        nodes.append(("This screen", screen))
    for widget in screen.query("*"):
        if isinstance(widget, Acts) and widget.display and widget.ACTIONS:
            nodes.append(("In a list" if widget.can_focus else "Here", widget))
    nodes.append(("Everywhere", app))
    for heading, node in nodes:
        grid = _section(app, node, heading, shown, hidden)
        if grid is not None:
            parts.append(Text(heading, style="bold underline"))
            parts.append(grid)
            parts.append(Text(""))
    footer = Text(
        "↑ ↓ pgup pgdn move in a list · tab moves between fields · ctrl+p finds every screen, "
        "filter and action by name",
        style="dim",
    )
    if hidden:
        footer.append(f"\nread-only: {', '.join(sorted(set(hidden)))} not offered", style="dim")
    parts.append(footer)
    return Group(*parts)


class HelpScreen(Acts, ModalScreen[None]):
    ACTIONS: ClassVar[tuple[Action[HelpScreen], ...]] = (
        Action(
            "help.close",
            "escape,question_mark,q",
            "Close",
            "Close the help",
            run=lambda screen: screen.dismiss(),
            palette=False,
        ),
    )
    BINDINGS = bindings(ACTIONS)

    def __init__(self, below: Screen[Any]) -> None:
        super().__init__()
        self._below = below

    def compose(self) -> ComposeResult:
        from exact_tui.ui.app import ConsoleApp

        app = cast(ConsoleApp, self.app)
        with Vertical(id="help-box", classes="dialog"):
            with VerticalScroll():
                yield Static(help_text(app, self._below), id="help-keys")
            yield Static("↑ ↓ scroll · escape closes", classes="hint")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
