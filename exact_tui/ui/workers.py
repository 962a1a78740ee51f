"""Blocking service calls run in thread workers; every outcome comes back through one handler.

A screen (or the app) calls `fetch(self, name, call)` and implements `fetched(name, result)` and
`settled(name)`; its `on_worker_state_changed` hands the event to `dispatch()`, which reports
failures to the operator in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Protocol, TypeVar

from textual.app import App
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from exact_tui.domain.text import clean_text

T = TypeVar("T")


class Fetcher(Protocol):
    def fetched(self, name: str, result: Any) -> None:
        """A worker named `name` returned `result`."""

    def settled(self, name: str) -> None:
        """A worker named `name` finished, whatever its outcome (schedule the next poll here)."""


def fetch(node: Widget | App[Any], name: str, call: Callable[[], T]) -> Worker[T]:
    """Run `call` in a thread; a newer fetch of the same name supersedes an older one."""
    return node.run_worker(
        call, name=name, group=name, thread=True, exclusive=True, exit_on_error=False
    )


def running(node: Widget, names: Collection[str]) -> bool:
    """Whether a worker of `node` named one of `names` is still under way."""
    return any(
        worker.node is node and worker.name in names and not worker.is_finished
        for worker in node.app.workers
    )


def dispatch(node: Widget | App[Any], host: Fetcher, event: Worker.StateChanged) -> None:
    worker = event.worker
    if event.state is WorkerState.SUCCESS:
        host.fetched(worker.name, worker.result)
    elif event.state is WorkerState.ERROR:
        detail = clean_text(str(worker.error) or type(worker.error).__name__)
        node.notify(detail[:300], title=f"Could not {worker.name}", severity="error", markup=False)
    if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
        host.settled(worker.name)
