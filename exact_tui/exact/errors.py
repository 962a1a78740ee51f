"""The one place that turns what Exact (or the network) answered into a typed outcome.

Every failure of a call ends as one of a few exceptions, each with a category the export state
machine understands (docs/export.md §The state machine) and a message in words an operator can act
on. The functions that decide are pure: they take a status, headers and a body, or a transport
exception.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Final

import httpx

from exact_tui.domain.states import Category

#: Exact's `Reason` header on 403s (docs/exact-api.md §Errors), and on early token refreshes.
REASONS: Final[Mapping[str, str]] = {
    "NoDivisionAccess": (
        "no access to this division: the Exact user did not grant it or lacks rights"
    ),
    "DivisionBlocked": "the division is blocked in Exact (for example during a backup, restore "
    "or conversion)",
    "BlockedUser": "the Exact user who connected is blocked",
    "InactiveUser": "the Exact user who connected is no longer active",
    "BlockedCustomer": "the Exact subscription of this customer is blocked",
    "LicenseExpired": "the Exact licence has expired",
    "TooEarlyToRefreshTokens": "Exact refuses a new access token within 570 s of the last one",
}


def reason_in_words(reason: str) -> str:
    return REASONS.get(reason, f"Exact refused access ({reason})")


class ExactError(Exception):
    """A call to Exact did not succeed; `category` says what kind of waiting it needs."""

    category: Category = Category.TRANSIENT

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ReconnectNeeded(ExactError):
    """The tokens are gone, refused or expired: a person must connect again."""

    category = Category.AUTH


class ConnectionUnusable(ExactError):
    """The stored connection cannot be used by this process (the data key does not open the
    stored tokens): nothing was sent, and nothing will be until a person acts."""

    category = Category.AUTH


class Fenced(ExactError):
    """The request was not sent: the job's claim moved on to another worker while this one
    was stalled (checked right before the request leaves)."""

    category = Category.AMBIGUOUS


class AccessDenied(ExactError):
    """Exact refuses this user or division (403); `reason` is Exact's `Reason` header."""

    category = Category.ACCESS

    def __init__(self, message: str, *, status: int | None = 403, reason: str | None = None):
        super().__init__(message, status=status)
        self.reason = reason


class RateLimited(ExactError):
    """No calls until `until`: the minutely or daily budget is spent, or Exact answered 429."""

    category = Category.RATE_LIMIT

    def __init__(
        self, message: str, *, until: dt.datetime, scope: str, status: int | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.until = until
        self.scope = scope


class ErrorBudgetSpent(RateLimited):
    """We stopped calling an endpoint ourselves, before Exact's block at 10 errors an hour."""

    def __init__(self, endpoint: str, *, until: dt.datetime, count: int, threshold: int) -> None:
        super().__init__(
            f"{count} refused calls to {endpoint} in the last hour (limit {threshold}): "
            f"calls to it wait until {until:%H:%M:%S} UTC so Exact does not block the app",
            until=until,
            scope="errors",
        )
        self.endpoint = endpoint
        self.count = count


class Refused(ExactError):
    """Exact refused the request itself (validation, unknown resource): retrying will not help
    until something changes. `message` is Exact's own text."""

    category = Category.VALIDATION


class NotFound(Refused):
    """404: the entity or endpoint does not exist."""


class Transient(ExactError):
    """Nothing was processed (or a read failed): safe to try again later."""

    category = Category.TRANSIENT

    def __init__(
        self, message: str, *, status: int | None = None, retry_at: dt.datetime | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_at = retry_at


class Ambiguous(ExactError):
    """A write may or may not have been processed: look it up before sending it again."""

    category = Category.AMBIGUOUS


# ---------------------------------------------------------------- deciding

_WRITES: Final = frozenset({"POST", "PUT", "PATCH", "DELETE", "MERGE"})
_GATEWAY: Final = frozenset({502, 503, 504})


def error_message(body: str) -> str | None:
    """Exact's `error.message.value` (or an OAuth `error_description`), if the body has one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, dict):
            value = message.get("value")
            return value.strip() if isinstance(value, str) and value.strip() else None
        if isinstance(message, str) and message.strip():
            return message.strip()
        return None
    description = data.get("error_description")
    if isinstance(description, str) and description.strip():
        return description.strip()
    return None


def _looks_like_html(body: str) -> bool:
    head = body.lstrip()[:200].lower()
    return head.startswith("<!doctype html") or head.startswith("<html") or "<body" in head


def describe_body(status: int, body: str) -> str:
    """Exact's message, or what kind of answer came when it carries none."""
    message = error_message(body)
    if message:
        return message
    if _looks_like_html(body):
        return f"Exact answered HTTP {status} with an HTML page instead of JSON"
    if not body.strip():
        return f"Exact answered HTTP {status} with an empty body"
    return f"Exact answered HTTP {status}"


def classify_response(
    method: str,
    status: int,
    headers: Mapping[str, str],
    body: str,
    *,
    rate_limit_until: dt.datetime,
) -> ExactError | None:
    """The outcome of an answer, or None for a success.

    `rate_limit_until` is when a 429 ends, as the rate-limit state worked out from the headers.
    """
    if status < 400:
        return None
    writes = method.upper() in _WRITES
    message = error_message(body)
    if status == 401:
        return ReconnectNeeded(
            f"Exact refused the access token ({describe_body(status, body)})", status=status
        )
    if status == 403:
        reason = _header(headers, "Reason")
        if reason:
            return AccessDenied(reason_in_words(reason), status=status, reason=reason)
        return AccessDenied(f"Exact refused access: {describe_body(status, body)}", status=status)
    if status == 429:
        return RateLimited(
            f"Exact's rate limit: no calls until {rate_limit_until:%H:%M:%S} UTC"
            + (f" ({message})" if message else ""),
            until=rate_limit_until,
            scope="429",
            status=status,
        )
    if status == 404:
        return NotFound(describe_body(status, body), status=status)
    if status < 500:
        return Refused(describe_body(status, body), status=status)
    # Business validation often comes back as 500 with a message (docs/exact-api.md §Errors): a
    # refusal.
    if status == 500 and message:
        return Refused(message, status=status)
    words = describe_body(status, body)
    if writes and (status in _GATEWAY or status == 500):
        return Ambiguous(
            f"{words}: the entry may have been created; it is looked up before any new attempt",
            status=status,
        )
    return Transient(words, status=status)


def classify_transport(method: str, exc: httpx.TransportError) -> ExactError:
    """A call that got no answer. Before the request left (connect errors, a full pool) nothing
    can have happened; after it left, a write may have been processed."""
    not_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    kind = type(exc).__name__
    if not_sent:
        return Transient(f"could not reach Exact ({kind})")
    if method.upper() in _WRITES:
        return Ambiguous(
            f"no answer from Exact after sending ({kind}): the entry may have been created; "
            "it is looked up before any new attempt"
        )
    return Transient(f"no answer from Exact ({kind})")


def classify_unreadable(method: str, status: int) -> ExactError:
    """A success whose body is not JSON (a proxy's HTML page): after a write the entry may
    exist without our knowing its key."""
    words = f"Exact answered HTTP {status} with a body that is not JSON"
    if method.upper() in _WRITES:
        return Ambiguous(f"{words}: the entry may have been created", status=status)
    return Transient(words, status=status)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value.strip() or None
    return None
