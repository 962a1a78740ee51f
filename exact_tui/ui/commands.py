"""The command palette (ctrl+p): the declared actions (`ui.actions`) and the console's data
(log filters, divisions, lists, customers waiting for a link), one provider per area.

Every entry is the console's own: Textual's stock entries (screenshot, theme, keys) are left
out, so nothing answers with an error of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from exact_tui.domain.states import Category, DocumentKind, JobState, MappingKind
from exact_tui.domain.text import clean_text, counted
from exact_tui.services.admin.accounts import HeldCustomer
from exact_tui.services.admin.masterdata import MasterList
from exact_tui.services.jobs import JobFilter
from exact_tui.ui.actions import Action, Acts

if TYPE_CHECKING:
    from exact_tui.ui.app import ConsoleApp

Command = tuple[str, str, Callable[[], object]]


class _Commands(Provider):
    """A provider whose commands are a list of (name, help, callback)."""

    @property
    def console(self) -> ConsoleApp:
        from exact_tui.ui.app import ConsoleApp

        return cast(ConsoleApp, self.app)

    def commands(self) -> Iterable[Command]:
        raise NotImplementedError

    async def discover(self) -> Hits:
        for name, help_text, callback in self.commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self.commands():
            score = matcher.match(f"{name} {help_text}")
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


def _help(console: ConsoleApp, action: Action[Any]) -> str:
    return f"{action.help} ({console.key_of(action)})"


class ActionsProvider(_Commands):
    """Every declared action on offer: this screen's that apply now, the ones that work
    everywhere, and other screens' that depend on no selection (they open their screen)."""

    def commands(self) -> Iterable[Command]:
        from exact_tui.ui.app import MODES

        console = self.console
        screen = self.screen
        here: set[str] = set()
        if isinstance(screen, Acts):
            for action in screen.ACTIONS:
                if action.palette and screen.offered(action) and screen.applies(action):
                    here.add(action.id)
                    yield (
                        screen.label_of(action),
                        _help(console, action),
                        partial(screen.run_declared, action.id),
                    )
        for action in console.ACTIONS:
            if action.palette and console.offered(action) and action.id not in here:
                yield action.label, _help(console, action), partial(console.run_declared, action.id)
        for mode, screen_class in MODES.items():
            if isinstance(screen, screen_class):
                continue
            title = str(getattr(screen_class, "TITLE", mode))
            live = console.mode_screens.get(mode)
            for action in cast(tuple[Action[Any], ...], getattr(screen_class, "ACTIONS", ())):
                if not (action.anywhere and action.palette and console.offered(action)):
                    continue
                if live is not None and not live.applies(action):
                    continue
                label = live.label_of(action) if live is not None else action.label
                yield (
                    f"{title}: {label}",
                    _help(console, action),
                    partial(console.run_elsewhere, mode, action.id),
                )


class JobFiltersProvider(_Commands):
    def commands(self) -> Iterable[Command]:
        show = self.console.show_log
        yield "Log: everything", "Clear the log's filter", partial(show, JobFilter())
        yield (
            "Log: failures by cause",
            "Jobs waiting on something, grouped by cause (g on the log)",
            partial(show, None, grouped=True),
        )
        for state in JobState:
            yield (
                f"Log: now {state.label}",
                f"Events of jobs that are {state.label} now",
                partial(show, JobFilter(state=state)),
            )
        for category in Category:
            yield (
                f"Log: category {category.label}",
                f"Events of jobs blocked or failing on {category.label}",
                partial(show, JobFilter(category=category)),
            )
        for kind in DocumentKind:
            yield (
                f"Log: {kind.label}s",
                f"Events of {kind.label}s only",
                partial(show, JobFilter(kind=kind)),
            )
        report = self.console.report
        for division in report.divisions if report else []:
            yield (
                f"Log: division {division.code}",
                f"Events of jobs routed to division {division.code}",
                partial(show, JobFilter(division=division.code)),
            )


def _divisions(console: ConsoleApp) -> list[tuple[int, str]]:
    report = console.report
    return [(d.code, d.description) for d in report.divisions] if report else []


class MappingsProvider(_Commands):
    def commands(self) -> Iterable[Command]:
        console = self.console
        for code, description in _divisions(console):
            yield (
                f"Mappings: division {code}",
                f"Mappings and settings of {clean_text(description)}",
                partial(console.show_mappings, code),
            )
        for kind in MappingKind:
            yield (
                f"Mappings: {kind.plural}",
                f"Only the {kind.plural} of the division shown",
                partial(console.show_mappings, None, kind.value),
            )


class AccountsProvider(_Commands):
    """Exact accounts per division, and the customers waiting for a person to link them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held: list[HeldCustomer] = []

    async def startup(self) -> None:
        # A bounded read, in a thread: the palette never waits on the store in the event loop.
        self._held = await asyncio.to_thread(self.console.services.held_customers)

    def commands(self) -> Iterable[Command]:
        console = self.console
        yield (
            "Link a customer to an Exact account",
            "Exact accounts: type a customer number to see the accounts that may be theirs (a)",
            partial(console.find_customer, None),
        )
        for held in self._held:
            name = clean_text(held.name)
            yield (
                f"Link customer {clean_text(held.number)} {name}",
                f"{counted(held.waiting, 'document')} {'waits' if held.waiting == 1 else 'wait'}"
                f" for its link in division {held.division}: choose its Exact account",
                partial(console.find_customer, held),
            )
        for code, description in _divisions(console):
            yield (
                f"Exact accounts: division {code}",
                f"The Exact Accounts Overview of {clean_text(description)}",
                partial(console.show_division, "accounts", code),
            )


class MasterDataProvider(_Commands):
    def commands(self) -> Iterable[Command]:
        for which in MasterList:
            yield (
                f"Master data: {which.label}",
                f"The imported {which.noun}, read-only",
                partial(self.console.show_master, which),
            )
