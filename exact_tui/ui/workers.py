"""Blocking service calls run in thread workers, and each result comes back typed.

A node (the app, a screen, a dialog) that mixes in `Reads` calls
`self.read(name, call, then)`: `call` runs in a thread, and its result goes to `then`, whose
parameter type is the call's return type (mypy checks the pair where they are written; no
result travels by name or as `Any`). A newer read of the same name supersedes an older one,
whose result is dropped. Failures are handled in one place: an `ActionRefused` is an answer
(the operator is told why, or the caller's `refused` shows it); anything else is a defect,
logged with its traceback and shown as an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from textual.dom import DOMNode
from textual.worker import Worker, WorkerState

from exact_tui.domain.text import clean_text, cut
from exact_tui.services.console import ActionRefused

if TYPE_CHECKING:
    from exact_tui.ui.app import ConsoleApp

T = TypeVar("T")
log = logging.getLogger("exact_tui.console")


@dataclass(frozen=True)
class _Then(Generic[T]):
    then: Callable[[T], object]
    refused: Callable[[str], object] | None
    done: Callable[[], object] | None


def report_failure(node: DOMNode, what: str, error: BaseException) -> None:
    """A worker failed unexpectedly: the traceback goes to the log, the operator sees an error."""
    log.error("console: could not %s", what, exc_info=error)
    detail = cut(clean_text(f"{type(error).__name__}: {error}"), 200)
    console = cast("ConsoleApp", node.app)
    say = getattr(console, "say", None)
    message = f"Could not {what}: {detail} (details in the log)"
    if say is not None:
        say(message, severity="error")
    else:  # pragma: no cover - every node lives in the console app
        node.app.notify(message, severity="error", markup=False)


class Reads:
    """Mixed into the app, every screen and every dialog that reads or writes in a thread."""

    def _continuations(self) -> dict[Worker[Any], _Then[Any]]:
        pending: dict[Worker[Any], _Then[Any]] | None = getattr(self, "_read_continuations", None)
        if pending is None:
            pending = {}
            self._read_continuations = pending
        return pending

    def read(
        self,
        name: str,
        call: Callable[[], T],
        then: Callable[[T], object],
        *,
        refused: Callable[[str], object] | None = None,
        done: Callable[[], object] | None = None,
    ) -> Worker[T]:
        """Run `call` in a thread and hand its result to `then`. `refused` gets the reason of
        an `ActionRefused` (default: the operator is told); `done` runs after any outcome
        (schedule the next poll there). `name` says what it does, for the error line."""
        node = cast(DOMNode, self)
        worker: Worker[T] = node.run_worker(
            call, name=name, group=name, thread=True, exclusive=True, exit_on_error=False
        )
        self._continuations()[worker] = _Then(then, refused, done)
        return worker

    def reading(self, names: Collection[str]) -> bool:
        """Whether a read of one of `names` is still under way."""
        return any(
            worker.name in names and not worker.is_finished for worker in self._continuations()
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        pending = self._continuations().pop(worker, None)
        if pending is None:
            return
        if event.state is WorkerState.SUCCESS:
            pending.then(worker.result)
        elif event.state is WorkerState.ERROR and worker.error is not None:
            error = worker.error
            if isinstance(error, ActionRefused):
                reason = clean_text(str(error)) or "refused"
                if pending.refused is not None:
                    pending.refused(reason)
                else:
                    console = cast("ConsoleApp", cast(DOMNode, self).app)
                    console.say(f"Refused: {reason}", severity="warning")
            else:
                report_failure(cast(DOMNode, self), worker.name, error)
        if pending.done is not None:
            pending.done()
        self.after_read(worker.name)

    def after_read(self, name: str) -> None:
        """A read named `name` finished, whatever its outcome (its continuation has run)."""
