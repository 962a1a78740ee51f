"""The one place that turns values into what the console draws.

Anything that came from data (names, document numbers, causes, Exact's messages) goes through
`plain()`: stripped of escape sequences and control characters again (whatever ingest did) and
wrapped in a `Text`, which is never parsed as markup. Styles come from the running theme's
colours (`Palette`), so `--ansi` and every theme work without a colour written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.color import Color, ColorParseError

from exact_tui.domain.states import ConnectionStatus, JobState
from exact_tui.domain.text import clean_text


@dataclass(frozen=True)
class Palette:
    """Rich styles made from the theme's variables."""

    error: Style
    warning: Style
    success: Style
    accent: Style
    muted: Style
    strong: Style

    @classmethod
    def from_theme(cls, variables: Mapping[str, str]) -> Palette:
        def colour(name: str) -> Style:
            try:
                return Style(color=Color.parse(variables[name]).rich_color)
            except (KeyError, ColorParseError):
                return Style()

        return cls(
            error=colour("error") + Style(bold=True),
            warning=colour("warning"),
            success=colour("success"),
            accent=colour("accent"),
            muted=Style(dim=True),
            strong=Style(bold=True),
        )

    @classmethod
    def plain(cls) -> Palette:
        """No colours at all (before a theme is known)."""
        return cls(Style(), Style(), Style(), Style(), Style(dim=True), Style(bold=True))


def plain(value: object, style: Style | str = "", *, multiline: bool = False) -> Text:
    """Untrusted text as a `Text`: control characters stripped, markup left literal."""
    text = "" if value is None else clean_text(str(value), multiline=multiline)
    return Text(text, style=style, end="")


def join(*parts: Text | str, separator: str = "") -> Text:
    """Join parts into one `Text`; bare strings are our own words, never data."""
    result = Text(end="")
    for index, part in enumerate(parts):
        if index and separator:
            result.append(separator)
        result.append(part)
    return result


def state_style(state: JobState, palette: Palette) -> Style:
    if state in (JobState.FAILED, JobState.UNKNOWN):
        return palette.error
    if state in (JobState.NEEDS_MAPPING, JobState.RETRY_WAIT):
        return palette.warning
    if state is JobState.POSTED:
        return palette.success
    if state is JobState.SKIPPED:
        return palette.muted
    return Style()


def state_text(state: JobState, palette: Palette) -> Text:
    return Text(f"{state.mark} {state.label}", style=state_style(state, palette))


def level_style(level: str, palette: Palette) -> Style:
    """An event's level: errors loud, warnings marked, the rest plain and strong."""
    styles = {"error": palette.error, "warning": palette.warning}
    return styles.get(level, palette.strong)


def level_text(level: str, palette: Palette) -> Text:
    return plain(level, level_style(level, palette) if level != "info" else palette.muted)


def connection_text(status: ConnectionStatus | None, palette: Palette) -> Text:
    """The statuses users know, with their marks: ✔ Connected · 🔄 Reconnect · ⛔ Error ·
    ⚫ Inactive (no connection yet reads as Inactive)."""
    status = status or ConnectionStatus.INACTIVE
    styles = {
        ConnectionStatus.CONNECTED: palette.success,
        ConnectionStatus.RECONNECT: palette.warning,
        ConnectionStatus.ERROR: palette.error,
        ConnectionStatus.INACTIVE: palette.muted,
    }
    return Text(f"{status.mark} {status.label}", style=styles[status])


def usage_bar(
    used: int, limit: int, palette: Palette, width: int = 10, *, fresh: bool = False
) -> Text:
    """How much of a budget is used, the way htop shows a meter: empty is idle, full is
    spent; green, then yellow past half, red past four fifths."""
    share = max(0.0, min(1.0, used / limit)) if limit else 1.0
    filled = round(share * width)
    if used and not filled:
        filled = 1
    style = palette.error if share >= 0.8 else palette.warning if share >= 0.5 else palette.success
    return join(
        Text("█" * filled, style=style),
        Text("░" * (width - filled), style=palette.muted),
        f"  {used:,} of {limit:,} used",
        Text(" (a fresh budget)", style=palette.muted) if fresh else "",
    )


def budget_bar(used: int, threshold: int, palette: Palette, width: int = 10) -> Text:
    """Refusals this hour against the threshold at which the worker stops calling."""
    return join(
        usage_bar(used, threshold, palette, width),
        Text(f" · calls stop at {threshold}", style=palette.muted),
    )
