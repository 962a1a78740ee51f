"""What an Exact client failure means for a job, in the state machine's terms."""

from __future__ import annotations

from exact_tui.domain.states import Category
from exact_tui.domain.transitions import Outcome, OutcomeKind
from exact_tui.exact.errors import (
    AccessDenied,
    Ambiguous,
    ConnectionUnusable,
    ErrorBudgetSpent,
    ExactError,
    Fenced,
    RateLimited,
    ReconnectNeeded,
    Refused,
    Transient,
)
from exact_tui.exact.ratelimit import RateState


def outcome_of(exc: ExactError, *, division: int, entry_sent: bool) -> Outcome:
    """An Exact client failure in the state machine's terms. `entry_sent`: the entry's POST
    was on its way (before that, a lost answer concerned the live check or the account)."""
    status = exc.status
    if isinstance(exc, Fenced):
        return Outcome(OutcomeKind.FENCED, exc.message)
    if isinstance(exc, ReconnectNeeded):
        return Outcome(OutcomeKind.RECONNECT, exc.message, status)
    if isinstance(exc, ConnectionUnusable):
        return Outcome(OutcomeKind.UNUSABLE, exc.message, status, cause=exc.message[:300])
    if isinstance(exc, AccessDenied):
        return Outcome(
            OutcomeKind.ACCESS_DENIED,
            exc.message,
            status,
            cause=f"no access to division {division}: {exc.message}",
        )
    if isinstance(exc, ErrorBudgetSpent):
        return Outcome(
            OutcomeKind.ERROR_BUDGET,
            exc.message,
            status,
            until=exc.until,
            cause=f"calls to {exc.endpoint} in division {division} stopped: too many "
            "refused calls in the last hour",
        )
    if isinstance(exc, RateLimited):
        words = "daily API budget" if exc.scope == "daily" else "API rate limit"
        return Outcome(
            OutcomeKind.RATE_LIMITED,
            exc.message,
            status,
            until=exc.until,
            cause=f"{words} of division {division} spent: waits for the reset",
        )
    if isinstance(exc, Refused):
        return Outcome(OutcomeKind.REFUSED, exc.message, status)
    if isinstance(exc, Ambiguous):
        if entry_sent:
            return Outcome(OutcomeKind.AMBIGUOUS, exc.message, status)
        return Outcome(
            OutcomeKind.NOT_SENT,
            f"the new customer account may have been created ({exc.message}); it is looked "
            "up before it is created again",
            status,
            category=Category.AMBIGUOUS,
        )
    if isinstance(exc, Transient) and exc.retry_at is not None:
        # Only the token manager names a time: Exact refused the access token and gives a
        # new one from then (its 570-second rule). Every call would be refused until then.
        return Outcome(
            OutcomeKind.AUTH_WAIT,
            exc.message,
            status,
            until=exc.retry_at,
            cause=f"Exact refused the access token: a new one from {exc.retry_at:%H:%M:%S} "
            "UTC, or reconnect now",
        )
    return Outcome(OutcomeKind.NOT_SENT, exc.message, status)


def budgets_of(state: RateState) -> tuple[int | None, int | None]:
    """The division's remaining minutely and daily calls, for the event."""
    return (
        state.minutely.remaining if state.minutely else None,
        state.daily.remaining if state.daily else None,
    )
