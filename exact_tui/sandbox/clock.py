"""The sandbox clock: drives token expiry, the refresh rules and the rate-limit windows.

It runs with real time from a start instant (the default, for the demo and drills) or stands
still (`frozen=True`, for tests); either way `advance()` jumps it forward, so time rules are
tested without sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SandboxClock:
    """UTC time that can be frozen and advanced."""

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("the clock start must be timezone-aware")
        self._start = (start or datetime.now(UTC)).astimezone(UTC)
        self._frozen = frozen
        self._mono_start = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def frozen(self) -> bool:
        return self._frozen

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.elapsed())

    def timestamp(self) -> float:
        """Seconds since the epoch."""
        return self.now().timestamp()

    def epoch_ms(self) -> int:
        return int(self.timestamp() * 1000)

    def elapsed(self) -> float:
        """Seconds since the start, including every advance."""
        with self._lock:
            running = 0.0 if self._frozen else time.monotonic() - self._mono_start
            return running + self._offset

    def advance(self, seconds: float) -> datetime:
        """Jump forward; returns the new now."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()
