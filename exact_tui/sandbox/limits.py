"""Rate limits per client id and division, and the block after too many errors per endpoint.

Windows are aligned to multiples of their length on the sandbox clock (whole minutes and UTC
midnight by default), and every length is configurable so drills can run on compressed time.
"""

from __future__ import annotations

import collections
import math
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime

from exact_tui.sandbox import assumptions
from exact_tui.sandbox.clock import SandboxClock
from exact_tui.sandbox.errors import ApiError

BudgetKey = tuple[str, int | None]  # (client id, division; None for current/Me)
# (client id, user key, division, endpoint): Exact's error budget is per app, user, division
# and endpoint (docs/exact-api.md §Error budget); the user is "" when the token tells none.
ErrorKey = tuple[str, str, int | None, str]
#: Minutes of history kept per budget for the control API's `minutes` (a day of whole minutes).
MINUTES_KEPT = 1440


@dataclass
class LimitSettings:
    minutely: int = 60
    daily: int = 5000
    minute_window: float = 60.0
    day_window: float = 86400.0
    error_threshold: int = 10
    error_window: float = 3600.0
    block_seconds: float = 3600.0
    token_calls_daily: int = 200

    def update(self, changes: dict[str, float]) -> None:
        known = {f.name: f.type for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown limit setting {name!r}")
            if value <= 0:
                raise ValueError(f"{name} must be positive")
            current = getattr(self, name)
            setattr(self, name, type(current)(value))

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class _Usage:
    minute: int = -1
    minute_count: int = 0
    day: int = -1
    day_count: int = 0


@dataclass
class RateLimiter:
    clock: SandboxClock
    settings: LimitSettings = field(default_factory=LimitSettings)
    usage: dict[BudgetKey, _Usage] = field(default_factory=dict)
    errors: dict[ErrorKey, collections.deque[float]] = field(default_factory=dict)
    blocked_until: dict[ErrorKey, float] = field(default_factory=dict)
    #: Calls let through per budget and minute window (by index): what a benchmark reads to
    #: tell how much of each minute's budget a client used (the control API's `minutes`).
    history: dict[BudgetKey, dict[int, int]] = field(default_factory=dict)

    def window(self, length: float) -> tuple[int, int]:
        """(window index, reset in epoch milliseconds) for a window length in seconds."""
        index = math.floor(self.clock.timestamp() / length)
        return index, round((index + 1) * length * 1000)

    def consume(self, key: BudgetKey) -> dict[str, str]:
        """Counts one call; returns the six headers, or raises the 429 Exact would send."""
        s = self.settings
        minute, minute_reset = self.window(s.minute_window)
        day, day_reset = self.window(s.day_window)
        usage = self.usage.setdefault(key, _Usage())
        spent = self.history.setdefault(key, {})
        if usage.minute != minute:
            usage.minute, usage.minute_count = minute, 0
            for old in [m for m in spent if m <= minute - MINUTES_KEPT]:
                del spent[old]
        if usage.day != day:
            usage.day, usage.day_count = day, 0
        minutely = {
            "X-RateLimit-Minutely-Limit": str(s.minutely),
            "X-RateLimit-Minutely-Remaining": str(max(s.minutely - usage.minute_count, 0)),
            "X-RateLimit-Minutely-Reset": str(minute_reset),
        }
        daily = {
            "X-RateLimit-Limit": str(s.daily),
            "X-RateLimit-Remaining": str(max(s.daily - usage.day_count, 0)),
            "X-RateLimit-Reset": str(day_reset),
        }
        if usage.day_count >= s.daily:
            raise ApiError(429, assumptions.RATE_LIMIT_MESSAGE, headers={**daily, **minutely})
        if usage.minute_count >= s.minutely:
            # A minutely 429 carries only the minutely headers (PQ README).
            raise ApiError(429, assumptions.RATE_LIMIT_MESSAGE, headers=minutely)
        usage.minute_count += 1
        usage.day_count += 1
        spent[minute] = spent.get(minute, 0) + 1
        daily["X-RateLimit-Remaining"] = str(s.daily - usage.day_count)
        minutely["X-RateLimit-Minutely-Remaining"] = str(s.minutely - usage.minute_count)
        return {**daily, **minutely}

    def storm(self) -> dict[str, str]:
        """The headers of a 429 from a rate-limit storm: this minute is spent."""
        _, reset = self.window(self.settings.minute_window)
        return {
            "X-RateLimit-Minutely-Limit": str(self.settings.minutely),
            "X-RateLimit-Minutely-Remaining": "0",
            "X-RateLimit-Minutely-Reset": str(reset),
        }

    def check_block(self, key: ErrorKey) -> None:
        until = self.blocked_until.get(key)
        if until is None:
            return
        if self.clock.timestamp() >= until:
            del self.blocked_until[key]
            return
        moment = datetime.fromtimestamp(until, tz=UTC).isoformat()
        raise ApiError(
            assumptions.ERROR_BLOCK_STATUS,
            assumptions.ERROR_BLOCK_MESSAGE.format(
                threshold=self.settings.error_threshold, until=moment
            ),
        )

    def record(self, key: ErrorKey, status: int) -> None:
        """Counts an answer toward the error budget; more than the threshold blocks."""
        if status not in assumptions.ERROR_BLOCK_COUNTED_STATUSES:
            return
        now = self.clock.timestamp()
        recent = self.errors.setdefault(key, collections.deque())
        recent.append(now)
        while recent and recent[0] <= now - self.settings.error_window:
            recent.popleft()
        if len(recent) > self.settings.error_threshold:
            self.blocked_until[key] = now + self.settings.block_seconds
            recent.clear()

    def clear(self) -> None:
        self.usage.clear()
        self.history.clear()
        self.errors.clear()
        self.blocked_until.clear()

    def snapshot(self) -> dict[str, object]:
        now = self.clock.timestamp()
        return {
            "settings": self.settings.as_dict(),
            "usage": [
                {
                    "client_id": client,
                    "division": division,
                    "minute_count": usage.minute_count,
                    "day_count": usage.day_count,
                }
                for (client, division), usage in sorted(self.usage.items(), key=_budget_order)
            ],
            "minutes": [
                {
                    "client_id": client,
                    "division": division,
                    "minute": minute,
                    "start_ms": round(minute * self.settings.minute_window * 1000),
                    "calls": calls,
                }
                for (client, division), spent in sorted(self.history.items(), key=_budget_order)
                for minute, calls in sorted(spent.items())
            ],
            "errors": [
                {"client_id": c, "user": u, "division": d, "endpoint": e, "count": len(times)}
                for (c, u, d, e), times in self.errors.items()
                if times
            ],
            "blocked": [
                {
                    "client_id": c,
                    "user": u,
                    "division": d,
                    "endpoint": e,
                    "seconds_left": until - now,
                }
                for (c, u, d, e), until in self.blocked_until.items()
                if until > now
            ],
        }


def _budget_order(item: tuple[BudgetKey, object]) -> tuple[str, int]:
    (client, division), _ = item
    return client, division or 0
