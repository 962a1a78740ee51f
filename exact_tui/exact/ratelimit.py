"""Exact's rate limits and error budget, per division
(docs/exact-api.md §Rate limits, §Error budget).

Pure parts: reading the six `X-RateLimit-*` headers, deciding how long to wait before the next
call, naming an endpoint, and deciding when its error budget is spent. Persistence goes through
`BudgetRecorder`, which the service layer implements on the store so the console shows the gauges
and several processes share one error count.

Resets are Exact's clock times. Exact's clock and ours may differ by minutes, so the client
learns the offset from the `Date` header of every answer (`server_offset`) and reads resets on
our clock; and whatever a reset says, no wait is longer than the window it belongs to (a minute,
a day): a wrong offset can slow the queue for a window, never stall it (docs/export.md).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final, Protocol

#: Exact blocks an endpoint after 10 errors an hour; these statuses count
#: (docs/exact-api.md §Error budget).
COUNTED_STATUSES: Final = frozenset({400, 401, 403, 404})
ERROR_WINDOW: Final = dt.timedelta(hours=1)
#: When a 429 carries no reset header, wait this long before trying again.
UNKNOWN_RESET_WAIT: Final = dt.timedelta(seconds=60)
#: The windows Exact counts calls in (docs/exact-api.md §Rate limits): no reset is further away than
#: these.
MINUTE_WINDOW: Final = dt.timedelta(minutes=1)
DAY_WINDOW: Final = dt.timedelta(days=1)


@dataclass(frozen=True)
class Window:
    """One budget as the headers last said: `remaining` calls until `reset_at`."""

    limit: int | None
    remaining: int
    reset_at: dt.datetime


@dataclass(frozen=True)
class RateHeaders:
    """What one response said; a window is None when its headers were absent (a minutely 429
    carries no daily headers: absent is not zero)."""

    minutely: Window | None
    daily: Window | None


@dataclass(frozen=True)
class RateState:
    """A division's budgets, the block after a 429, and when the last call went out."""

    minutely: Window | None = None
    daily: Window | None = None
    blocked_until: dt.datetime | None = None
    last_call_at: dt.datetime | None = None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value.strip()
    return None


def _int(value: str | None) -> int | None:
    if value is None or not re.fullmatch(r"-?\d+", value):
        return None
    return int(value)


def server_offset(
    headers: Mapping[str, str], *, sent_at: dt.datetime, received_at: dt.datetime
) -> float | None:
    """Seconds Exact's clock is ahead of ours (negative: behind), from the answer's `Date`
    header, or None without one. `Date` has whole seconds (the server's time truncated), so
    its middle is compared with the middle of our request."""
    value = _header(headers, "Date")
    if not value:
        return None
    try:
        server = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if server.tzinfo is None:
        server = server.replace(tzinfo=dt.UTC)
    ours = sent_at + (received_at - sent_at) / 2
    return (server - ours).total_seconds() + 0.5


def _window(headers: Mapping[str, str], prefix: str, offset: float) -> Window | None:
    remaining = _int(_header(headers, f"{prefix}-Remaining"))
    reset_ms = _int(_header(headers, f"{prefix}-Reset"))
    if remaining is None or reset_ms is None:
        return None
    # Resets are epoch milliseconds (docs/exact-api.md §Rate limits; a client that reads seconds
    # waits for years) of Exact's clock: on ours they come `offset` seconds earlier.
    reset_at = dt.datetime.fromtimestamp(reset_ms / 1000 - offset, tz=dt.UTC)
    return Window(_int(_header(headers, f"{prefix}-Limit")), max(remaining, 0), reset_at)


def parse_rate_headers(headers: Mapping[str, str], *, offset: float = 0.0) -> RateHeaders:
    """The budgets an answer carries, with resets on our clock (`offset`: `server_offset`)."""
    return RateHeaders(
        minutely=_window(headers, "X-RateLimit-Minutely", offset),
        daily=_window(headers, "X-RateLimit", offset),
    )


def after_response(
    state: RateState, headers: RateHeaders, *, status: int, now: dt.datetime
) -> RateState:
    """The state after an answer: windows the headers carry replace ours; a 429 blocks until
    the reset it names (the minutely one, else the daily one, else a minute)."""
    state = replace(
        state,
        minutely=headers.minutely or state.minutely,
        daily=headers.daily or state.daily,
    )
    if status == 429:
        state = replace(state, blocked_until=rate_limit_until(state, headers, now=now))
    return state


def rate_limit_until(state: RateState, headers: RateHeaders, *, now: dt.datetime) -> dt.datetime:
    """When a 429 ends: the reset it names, never further than that window's length."""
    for window, length in ((headers.minutely, MINUTE_WINDOW), (headers.daily, DAY_WINDOW)):
        if window is not None and window.reset_at > now:
            return min(window.reset_at, now + length)
    if state.daily is not None and state.daily.remaining == 0 and state.daily.reset_at > now:
        return min(state.daily.reset_at, now + DAY_WINDOW)
    return now + UNKNOWN_RESET_WAIT


def spend(state: RateState, *, now: dt.datetime) -> RateState:
    """Count a call as it leaves, before its answer brings fresh headers: a failure without
    headers still used a call."""

    def less(window: Window | None) -> Window | None:
        if window is None or window.reset_at <= now:
            return window
        return replace(window, remaining=max(window.remaining - 1, 0))

    return replace(state, minutely=less(state.minutely), daily=less(state.daily), last_call_at=now)


@dataclass(frozen=True)
class Pace:
    """Wait `wait` seconds before the next call; `daily_until` set means: not today at all."""

    wait: float
    why: str = ""
    daily_until: dt.datetime | None = None


def pace(state: RateState, *, now: dt.datetime, reserve: int = 5, margin: float = 1.0) -> Pace:
    """How long to wait before the next call so that no 429 comes in normal operation.

    Calls go out at once while more than `reserve` remain in the minute; the last `reserve` are
    spread evenly over what is left of it, so a call counted elsewhere (another process on the
    same app and division) finds room; at zero the call waits for the reset plus `margin`
    (Exact's clock and ours differ a little). A spent daily budget is not waited out here.
    """
    if state.blocked_until is not None and state.blocked_until > now:
        until = min(state.blocked_until, now + DAY_WINDOW)
        wait = (until - now).total_seconds() + margin
        return Pace(wait, f"rate limited until {until:%H:%M:%S} UTC")
    daily = state.daily
    if daily is not None and daily.remaining <= 0 and daily.reset_at > now:
        return Pace(0.0, "daily budget spent", daily_until=min(daily.reset_at, now + DAY_WINDOW))
    minutely = state.minutely
    if minutely is None or minutely.reset_at <= now:
        return Pace(0.0)
    # A minute ends within a minute, whatever a reset read on a wrong clock says.
    reset_at = min(minutely.reset_at, now + MINUTE_WINDOW)
    left = (reset_at - now).total_seconds()
    if minutely.remaining <= 0:
        return Pace(left + margin, "minutely budget spent")
    if minutely.remaining > reserve:
        return Pace(0.0)
    start = state.last_call_at if state.last_call_at and state.last_call_at < now else now
    span = (reset_at - start).total_seconds()
    next_at = start + dt.timedelta(seconds=span / (minutely.remaining + 1))
    wait = max((next_at - now).total_seconds(), 0.0)
    return Pace(wait, "spreading the last calls of the minute" if wait else "")


# ---------------------------------------------------------------- the error budget

_API_PREFIX = re.compile(r"^/?api/v1/(?:\d+/)?", re.IGNORECASE)
_KEY = re.compile(r"\([^)]*\)")


def endpoint_key(path: str) -> str:
    """The endpoint an error counts against: the path template, without the host, division,
    query string or entity keys (`salesentry/SalesEntries`). The method is left out on purpose:
    Exact's rule speaks of endpoints, and counting GET and POST together can only stop earlier
    than Exact, never later."""
    path = path.split("?", 1)[0]
    if "://" in path:
        path = "/" + path.split("://", 1)[1].split("/", 1)[-1]
    return _KEY.sub("", _API_PREFIX.sub("", path).lstrip("/")).rstrip("/")


def error_budget_until(
    errors_at: Sequence[dt.datetime], *, now: dt.datetime, threshold: int
) -> dt.datetime | None:
    """When calls to an endpoint may resume, or None while fewer than `threshold` errors fell
    in the last hour. `threshold` stays below Exact's 10 so its block never comes."""
    recent = sorted(at for at in errors_at if at > now - ERROR_WINDOW)
    if len(recent) < threshold:
        return None
    # Calls resume when enough of the oldest errors have left the hour.
    return recent[len(recent) - threshold] + ERROR_WINDOW


class BudgetRecorder(Protocol):
    """Where budgets and errors are kept (the store, in the service layer). Methods are plain
    blocking calls; the client runs them off the event loop."""

    def load_rate(self, division: int) -> RateState | None: ...

    def save_rate(self, division: int, state: RateState) -> None: ...

    def record_error(self, division: int, endpoint: str, status: int, at: dt.datetime) -> None: ...

    def recent_errors(
        self, division: int, endpoint: str, since: dt.datetime
    ) -> list[dt.datetime]: ...


class MemoryBudgetRecorder:
    """A recorder that keeps everything in this process (tests and one-off calls)."""

    def __init__(self) -> None:
        self.rates: dict[int, RateState] = {}
        self.errors: list[tuple[int, str, int, dt.datetime]] = []

    def load_rate(self, division: int) -> RateState | None:
        return self.rates.get(division)

    def save_rate(self, division: int, state: RateState) -> None:
        self.rates[division] = state

    def record_error(self, division: int, endpoint: str, status: int, at: dt.datetime) -> None:
        self.errors.append((division, endpoint, status, at))

    def recent_errors(self, division: int, endpoint: str, since: dt.datetime) -> list[dt.datetime]:
        return [
            at
            for d, e, _status, at in self.errors
            if d == division and e == endpoint and at > since
        ]
