"""The command palette (ctrl+p): one provider per area, each built on the same little base."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from exact_tui.domain.states import Category, DocumentKind, JobState, MappingKind
from exact_tui.domain.text import clean_text
from exact_tui.services.admin.masterdata import MasterList
from exact_tui.services.export_log import LogFilter
from exact_tui.ui.render import state_label
from exact_tui.ui.screens.base import ConsoleScreen

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
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


class ScreensProvider(_Commands):
    def commands(self) -> Iterable[Command]:
        console = self.console
        yield (
            "Status",
            "Connection, divisions, queues, budgets, worker (s)",
            partial(console.switch_mode, "status"),
        )
        yield "Export log", "The live log of exports (l)", partial(console.show_log, None)
        yield (
            "Failures by cause",
            "Jobs waiting on something, grouped (g on the log)",
            partial(console.show_log, None, grouped=True),
        )
        yield (
            "Divisions & bank accounts",
            "Which organization each division belongs to; bind bank accounts (d)",
            partial(console.switch_mode, "divisions"),
        )
        yield (
            "Mappings",
            "Platform codes → Exact codes and division settings (m)",
            partial(console.switch_mode, "mappings"),
        )
        yield (
            "Exact accounts",
            "The Exact Accounts Overview: link and unlink customers (a)",
            partial(console.switch_mode, "accounts"),
        )
        yield (
            "Master data",
            "What was imported from Exact, read-only (t)",
            partial(console.switch_mode, "masterdata"),
        )
        yield "Keys", "The keys of this screen (?)", console.action_help


class LogFiltersProvider(_Commands):
    def commands(self) -> Iterable[Command]:
        show = self.console.show_log
        yield "Log: everything", "Clear the log's filter", partial(show, LogFilter())
        for state in JobState:
            yield (
                f"Log: {state_label(state)}",
                f"Events of jobs that are {state_label(state)} now",
                partial(show, LogFilter(state=state)),
            )
        for category in Category:
            label = category.value.replace("_", " ")
            yield (
                f"Log: category {label}",
                f"Events of jobs blocked or failing on {label}",
                partial(show, LogFilter(category=category)),
            )
        for kind in DocumentKind:
            label = kind.value.replace("_", " ")
            yield f"Log: {label}s", f"Events of {label}s only", partial(show, LogFilter(kind=kind))
        report = self.console.report
        for division in report.divisions if report else []:
            yield (
                f"Log: division {division.code}",
                f"Events of jobs routed to division {division.code}",
                partial(show, LogFilter(division=division.code)),
            )


def _divisions(console: ConsoleApp) -> list[tuple[int, str]]:
    report = console.report
    return [(d.code, d.description) for d in report.divisions] if report else []


class DivisionsProvider(_Commands):
    def commands(self) -> Iterable[Command]:
        yield (
            "Bank accounts: bind one",
            "Where a bank account's documents go: a division and a bank journal",
            partial(self.console.switch_mode, "divisions"),
        )


class MappingsProvider(_Commands):
    def commands(self) -> Iterable[Command]:
        console = self.console
        for code, description in _divisions(console):
            yield (
                f"Mappings: division {code}",
                f"Mappings and settings of {clean_text(description)}",
                partial(console.show_mappings, code),
            )
        words = {
            MappingKind.GL: "GL codes",
            MappingKind.VAT: "VAT codes",
            MappingKind.COST_CENTER: "cost centers",
            MappingKind.COST_UNIT: "cost units",
        }
        for kind, label in words.items():
            yield (
                f"Mappings: {label}",
                f"Only the {label} of the division shown",
                partial(console.show_mappings, None, kind.value),
            )


class AccountsProvider(_Commands):
    def commands(self) -> Iterable[Command]:
        console = self.console
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


class ActionsProvider(_Commands):
    """The write actions that work here and now: read-only mode and unwired actions offer none."""

    def commands(self) -> Iterable[Command]:
        screen = self.screen
        if not isinstance(screen, ConsoleScreen):
            return
        for active in screen.active_bindings.values():
            action = active.binding.action
            if action in screen.WRITE_ACTIONS and active.enabled:
                yield (
                    active.binding.description,
                    f"{active.binding.description} ({active.binding.key})",
                    partial(screen.run_action, action),
                )
