"""Operator intents, shared by the CLI and the console (docs/architecture.md §Parts: the database is
the bus).

Each intent checks its input against the store (only valid targets from the imported master
data), refuses with a reason that changes nothing, or writes its change in one transaction with
an audit row and moves the jobs it unblocks back to pending, saying how many. None calls Exact:
the worker acts on what they write.

One module per feature: `retry`, `mappings`, `bindings`, `links`, `division_settings` and
`pause`; what they share is in `base`.
"""

from __future__ import annotations

from exact_tui.services.intents.base import IntentRefused, IntentResult
from exact_tui.services.intents.bindings import BindingIntents
from exact_tui.services.intents.division_settings import SettingsIntents, current_settings
from exact_tui.services.intents.links import LinkIntents
from exact_tui.services.intents.mappings import MappingIntents
from exact_tui.services.intents.pause import PauseIntents
from exact_tui.services.intents.retry import RetryIntents


class Intents(
    RetryIntents, MappingIntents, BindingIntents, LinkIntents, SettingsIntents, PauseIntents
):
    """Every operator intent, for one actor: `Intents(store, actor).map(...)`."""


__all__ = ["IntentRefused", "IntentResult", "Intents", "current_settings"]
