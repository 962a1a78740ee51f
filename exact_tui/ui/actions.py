"""One declaration per operator action, from which everything else about it is derived.

An `Action` says which key does it (and the id a user's keymap names it by), what it is called
and does, whether it writes, when it applies and what it calls. The Textual bindings, the
footer, `?` help, the command palette and read-only mode all read the same declarations:

- a node (the app, a screen, a table) that mixes in `Acts` binds each of its `ACTIONS` as
  `act('<id>')`; `action_act` runs the declaration's `run`, and `check_action` hides a write
  that is not on offer (read-only mode, or not wired) and dims one that does not apply now;
- help lists every action of the screen, dimmed with its `when` where it does not apply now;
- the palette offers the screen's actions that apply, and those of other screens marked
  `anywhere` (they do not depend on a selection);
- `config.toml` `[keys]` remaps an action by its id (Textual's keymap: `App.set_keymap`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.dom import DOMNode

if TYPE_CHECKING:
    from exact_tui.ui.app import ConsoleApp

N = TypeVar("N")


@dataclass(frozen=True)
class Action(Generic[N]):
    """One thing an operator can do, on the node `N` that declares it."""

    #: The binding id: `[keys]` in config.toml names the action by it ("log.retry").
    id: str
    #: The default key(s), in Textual's names ("r", "R", "slash", "ctrl+q"; "a,b" for two).
    key: str
    #: The name on the footer and in the palette (`describe` may say it for the moment).
    label: str
    #: One line for help and the palette: what it does.
    help: str
    #: What it calls.
    run: Callable[[N], object]
    #: The `ConsoleActions` field it calls: a write, so hidden in read-only mode and until wired.
    writes: str | None = None
    #: Offered only where this holds of the node (e.g. a console opened from the Fleet);
    #: elsewhere hidden, as a write that is not wired is.
    needs: Callable[[N], bool] | None = None
    #: When it applies, for a node in its current state (None: always).
    applies: Callable[[N], bool] | None = None
    #: When it applies, in words, for help to say beside a key that does not apply now.
    when: str = ""
    #: Shown on the footer (help and the palette show every action).
    show: bool = True
    #: Left off the footer when the line is too short for every key (an obvious one).
    tight: bool = False
    #: Offered in the command palette.
    palette: bool = True
    #: The palette may run it from another screen (it depends on no selection).
    anywhere: bool = False
    group: Binding.Group | None = None
    priority: bool = False
    #: The name for the node's current state, when one key does one of two things
    #: ("Pause exports" / "Resume exports"): one key, one id, one declaration.
    describe: Callable[[N], str] | None = None

    @property
    def action(self) -> str:
        """The Textual action string every binding of a declaration runs."""
        return f"act({self.id!r})"

    def binding(self) -> Binding:
        return Binding(
            self.key,
            self.action,
            self.label,
            show=self.show,
            id=self.id,
            group=self.group,
            priority=self.priority,
        )


def bindings(actions: Iterable[Action[Any]]) -> list[BindingType]:
    return [action.binding() for action in actions]


class Acts:
    """Mixed into a Textual node (app, screen, widget) whose keys are `ACTIONS`.

    Subclasses set `ACTIONS` and `BINDINGS = bindings(ACTIONS)`; a subclass that adds actions
    lists its parent's too.
    """

    ACTIONS: ClassVar[Sequence[Action[Any]]] = ()

    def declared(self, action_id: str) -> Action[Any] | None:
        return next((a for a in self.ACTIONS if a.id == action_id), None)

    @property
    def _console_app(self) -> ConsoleApp:
        from exact_tui.ui.app import ConsoleApp

        node = cast(DOMNode, self)
        return cast(ConsoleApp, node.app)

    def label_of(self, action: Action[Any]) -> str:
        if action.describe is None:
            return action.label
        try:
            return action.describe(self)
        except NoMatches:
            return action.label

    def offered(self, action: Action[Any]) -> bool:
        """Whether the action exists here at all: a write needs to be wired and not read-only,
        and what the action `needs` must hold."""
        if action.needs is not None and not action.needs(self):
            return False
        return action.writes is None or self._console_app.offers(action.writes)

    def applies(self, action: Action[Any]) -> bool:
        """Whether the action makes sense now (on the selected row, in this state). Before
        the node has composed its widgets nothing that depends on them applies."""
        if action.applies is None:
            return True
        try:
            return bool(action.applies(self))
        except NoMatches:
            return False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Textual's question: False hides the key, None shows it disabled."""
        if action != "act" or not parameters:
            inherited = getattr(super(), "check_action", None)
            return inherited(action, parameters) if inherited is not None else True
        declared = self.declared(str(parameters[0]))
        if declared is None or not self.offered(declared):
            return False
        return True if self.applies(declared) else None

    async def action_act(self, action_id: str) -> None:
        await self.run_declared(action_id)

    async def run_declared(self, action_id: str) -> bool:
        """Run an action by id if it is offered and applies here; whether it ran."""
        declared = self.declared(action_id)
        if declared is None or not self.offered(declared) or not self.applies(declared):
            return False
        result = declared.run(self)
        if inspect.isawaitable(result):
            await result
        return True

    def action_states(self) -> tuple[tuple[bool | None, str], ...]:
        """What `check_action` answers for each action, and its words now: when these change,
        the footer changes."""
        return tuple(
            (self.check_action("act", (action.id,)), self.label_of(action))
            for action in self.ACTIONS
        )
