"""The export state machine of design §7, as pure functions.

Each function takes what happened (an attempt's outcome, a lookup's findings, a crash, an
operator's retry) and the job's facts, and says what the job becomes and what the event log
records. The service applies the result; nothing here touches the store or the network.

    pending ─claim─► in_flight ─201─► posted
                         ├─ refused (4xx, 500 with a message) ───────► failed [validation]
                         ├─ 429 / minute or day spent / error budget ─► pending, next = reset
                         ├─ refresh refused ─────────────────────────► pending [auth], paused
                         ├─ 403 ─────────────────────────────────────► failed [access]
                         ├─ failed before anything was processed ─────► retry_wait, backoff
                         └─ answer lost (timeout, reset, 502–504) ────► unknown
    unknown ─lookup─► found 1 → posted · found >1 → failed [duplicate]
                      found 0 → again after the safety delay; 0 twice → pending (sent again)
    crash or lease expired: in_flight → unknown
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from exact_tui.domain.states import Category, JobState

#: Lookups that must both find nothing, a safety delay apart, before an unknown job is re-sent.
EMPTY_LOOKUPS_TO_RESEND = 2
#: Longest text kept as a job's cause (the column's width).
CAUSE_WIDTH = 300


class OutcomeKind(StrEnum):
    """What one attempt (or the customer step before it) came to."""

    CREATED = "created"
    #: Exact refused the request itself: a person must change something first.
    REFUSED = "refused"
    #: The request went out and its answer was lost: the entry may exist.
    AMBIGUOUS = "ambiguous"
    #: Nothing was processed (a read failed, the connection could not be made).
    NOT_SENT = "not_sent"
    RATE_LIMITED = "rate_limited"
    ERROR_BUDGET = "error_budget"
    RECONNECT = "reconnect"
    #: Exact refused the access token and gives no new one yet (or a reconnect brings one).
    AUTH_WAIT = "auth_wait"
    ACCESS_DENIED = "access_denied"
    #: This process cannot use the connection (its data key does not open the tokens):
    #: nothing was sent.
    UNUSABLE = "unusable"


class EventOutcome(StrEnum):
    """The words the event log uses; the fault drill reads them back."""

    POSTED = "posted"
    FAILED = "failed"
    UNKNOWN = "unknown"
    RETRY_WAIT = "retry_wait"
    RATE_LIMITED = "rate_limited"
    PAUSED = "paused"
    NEEDS_MAPPING = "needs_mapping"
    SKIPPED = "skipped"
    WAITING = "waiting"
    LOOKUP = "lookup"
    #: Two lookups a safety delay apart found nothing: the job may be sent again.
    NOT_IN_EXACT = "not_in_exact"
    RECOVERED = "recovered"
    REQUEUED = "requeued"
    LINKED = "linked"
    ACCOUNT_CREATED = "account_created"


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    message: str = ""
    http_status: int | None = None
    #: When calls may resume (rate limits, error budget) or the earliest retry (not sent).
    until: dt.datetime | None = None
    entry_id: str | None = None
    entry_number: int | None = None
    #: Overrides the kind's usual category (e.g. ambiguous for a lost account creation).
    category: Category | None = None
    #: The line that groups alike jobs in the log; the kind's default when None.
    cause: str | None = None


@dataclass(frozen=True)
class JobFacts:
    state: JobState
    attempts: int = 0
    lookups_empty: int = 0
    last_lookup_at: dt.datetime | None = None
    last_error: str | None = None
    last_http_status: int | None = None
    category: Category | None = None
    cause: str | None = None


@dataclass(frozen=True)
class Policy:
    backoff_base: float = 5.0
    backoff_cap: float = 900.0
    lookup_safety_delay: float = 30.0


@dataclass(frozen=True)
class Transition:
    """What the job becomes (every column the state machine governs) and the event to append."""

    state: JobState
    outcome: EventOutcome
    message: str
    level: str = "info"
    category: Category | None = None
    cause: str | None = None
    next_attempt_at: dt.datetime | None = None
    last_error: str | None = None
    http_status: int | None = None
    lookups_empty: int = 0
    last_lookup_at: dt.datetime | None = None
    entry_id: str | None = None
    entry_number: int | None = None


@dataclass(frozen=True)
class FoundEntry:
    """An entry a lookup found in Exact by the document's reference."""

    entry_id: str
    entry_number: int | None


def backoff_delay(attempts: int, *, base: float, cap: float, jitter: float) -> float:
    """Seconds before the next try: exponential in the attempts, capped, with "equal jitter"
    (half fixed, half random) so jobs that failed together do not come back together.
    `jitter` is a number in [0, 1)."""
    exponent = max(attempts - 1, 0)
    # Past 2**30 the cap has long been reached; keep the float finite.
    delay = cap if exponent > 30 else min(cap, base * 2**exponent)
    return delay / 2 + min(max(jitter, 0.0), 1.0) * delay / 2


def _cause(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else text
    return first[:CAUSE_WIDTH]


def _retry_at(
    outcome: Outcome, job: JobFacts, now: dt.datetime, policy: Policy, jitter: float
) -> dt.datetime:
    delay = backoff_delay(
        job.attempts, base=policy.backoff_base, cap=policy.backoff_cap, jitter=jitter
    )
    at = now + dt.timedelta(seconds=delay)
    return max(at, outcome.until) if outcome.until is not None else at


def after_attempt(
    outcome: Outcome, job: JobFacts, *, now: dt.datetime, policy: Policy, jitter: float
) -> Transition:
    """Where an in-flight job goes after its attempt (design §7)."""
    kind = outcome.kind
    status = outcome.http_status
    if kind is OutcomeKind.CREATED:
        number = f" {outcome.entry_number}" if outcome.entry_number is not None else ""
        return Transition(
            JobState.POSTED,
            EventOutcome.POSTED,
            outcome.message or f"posted as entry{number}",
            http_status=status,
            entry_id=outcome.entry_id,
            entry_number=outcome.entry_number,
        )
    if kind is OutcomeKind.REFUSED:
        return Transition(
            JobState.FAILED,
            EventOutcome.FAILED,
            outcome.message,
            level="error",
            category=outcome.category or Category.VALIDATION,
            cause=outcome.cause or _cause(outcome.message),
            last_error=outcome.message,
            http_status=status,
        )
    if kind is OutcomeKind.AMBIGUOUS:
        return Transition(
            JobState.UNKNOWN,
            EventOutcome.UNKNOWN,
            outcome.message,
            level="warning",
            category=Category.AMBIGUOUS,
            cause=outcome.cause or "sent, but the answer was lost: looked up in Exact first",
            next_attempt_at=now,
            last_error=outcome.message,
            http_status=status,
        )
    if kind is OutcomeKind.NOT_SENT:
        return Transition(
            JobState.RETRY_WAIT,
            EventOutcome.RETRY_WAIT,
            outcome.message,
            level="warning",
            category=outcome.category or Category.TRANSIENT,
            cause=outcome.cause or _cause(outcome.message),
            next_attempt_at=_retry_at(outcome, job, now, policy, jitter),
            last_error=outcome.message,
            http_status=status,
        )
    if kind in (OutcomeKind.RATE_LIMITED, OutcomeKind.ERROR_BUDGET):
        return Transition(
            JobState.PENDING,
            EventOutcome.RATE_LIMITED,
            outcome.message,
            level="warning",
            category=Category.RATE_LIMIT,
            cause=outcome.cause or _cause(outcome.message),
            next_attempt_at=outcome.until or now,
            last_error=outcome.message,
            http_status=status,
        )
    if kind in (OutcomeKind.RECONNECT, OutcomeKind.AUTH_WAIT, OutcomeKind.UNUSABLE):
        # No next_attempt_at: the job goes as soon as the connection can (the service holds
        # every division until then).
        default = {
            OutcomeKind.RECONNECT: "exports paused: the connection needs a reconnect",
            OutcomeKind.AUTH_WAIT: "waits for a new access token from Exact",
            OutcomeKind.UNUSABLE: "exports stopped: the connection is in error",
        }[kind]
        return Transition(
            JobState.PENDING,
            EventOutcome.PAUSED,
            outcome.message,
            level="warning",
            category=Category.AUTH,
            cause=outcome.cause or default,
            last_error=outcome.message,
            http_status=status,
        )
    return Transition(
        JobState.FAILED,
        EventOutcome.FAILED,
        outcome.message,
        level="error",
        category=Category.ACCESS,
        cause=outcome.cause or _cause(outcome.message),
        last_error=outcome.message,
        http_status=status,
    )


def after_lookup(
    found: Sequence[FoundEntry],
    job: JobFacts,
    *,
    reference: str,
    now: dt.datetime,
    policy: Policy,
) -> Transition:
    """Settle an unknown job by what a lookup in Exact found under its reference."""
    if len(found) == 1:
        entry = found[0]
        number = f" {entry.entry_number}" if entry.entry_number is not None else ""
        return Transition(
            JobState.POSTED,
            EventOutcome.POSTED,
            f"found in Exact by {reference} as entry{number}: it was posted",
            entry_id=entry.entry_id,
            entry_number=entry.entry_number,
        )
    if len(found) > 1:
        numbers = ", ".join(str(e.entry_number) for e in found)
        message = (
            f"{len(found)} entries in Exact carry {reference} (entries {numbers}): a double "
            "posting. Reverse the extra ones in Exact, then retry to look it up again"
        )
        return Transition(
            JobState.FAILED,
            EventOutcome.FAILED,
            message,
            level="error",
            category=Category.DUPLICATE,
            cause=f"posted more than once: {reference}"[:CAUSE_WIDTH],
            last_error=message,
        )
    delay = dt.timedelta(seconds=policy.lookup_safety_delay)
    empty = job.lookups_empty
    if empty >= 1 and job.last_lookup_at is not None and now < job.last_lookup_at + delay:
        # Too soon after the last empty lookup to count: it proves nothing new.
        return Transition(
            JobState.UNKNOWN,
            EventOutcome.LOOKUP,
            f"not found in Exact by {reference}; checked again after the safety delay",
            category=Category.AMBIGUOUS,
            cause=job.cause,
            next_attempt_at=job.last_lookup_at + delay,
            last_error=job.last_error,
            http_status=job.last_http_status,
            lookups_empty=empty,
            last_lookup_at=job.last_lookup_at,
        )
    empty += 1
    if empty >= EMPTY_LOOKUPS_TO_RESEND:
        return Transition(
            JobState.PENDING,
            EventOutcome.NOT_IN_EXACT,
            f"not found in Exact by {reference} in {empty} lookups "
            f"{policy.lookup_safety_delay:g} s apart: it was not posted, so it is sent again",
            last_error=job.last_error,
            http_status=job.last_http_status,
        )
    return Transition(
        JobState.UNKNOWN,
        EventOutcome.LOOKUP,
        f"not found in Exact by {reference}; checked once more in "
        f"{policy.lookup_safety_delay:g} s before it is sent again",
        category=Category.AMBIGUOUS,
        cause=job.cause,
        next_attempt_at=now + delay,
        last_error=job.last_error,
        http_status=job.last_http_status,
        lookups_empty=empty,
        last_lookup_at=now,
    )


def lookup_failed(
    outcome: Outcome, job: JobFacts, *, now: dt.datetime, policy: Policy, jitter: float
) -> Transition:
    """A lookup that could not be made: the job stays unknown (never re-sent blind) and the
    lookup is tried again later."""
    if outcome.kind in (OutcomeKind.RATE_LIMITED, OutcomeKind.ERROR_BUDGET):
        next_at = outcome.until or now
    elif outcome.kind in (OutcomeKind.RECONNECT, OutcomeKind.AUTH_WAIT, OutcomeKind.UNUSABLE):
        next_at = None
    else:
        next_at = _retry_at(outcome, job, now, policy, jitter)
    refused = outcome.kind in (OutcomeKind.REFUSED, OutcomeKind.ACCESS_DENIED)
    return Transition(
        JobState.UNKNOWN,
        EventOutcome.LOOKUP,
        f"the lookup in Exact failed ({outcome.message}); tried again later",
        level="error" if refused else "warning",
        category=Category.AMBIGUOUS,
        cause=job.cause,
        next_attempt_at=next_at,
        last_error=outcome.message,
        http_status=outcome.http_status,
        lookups_empty=job.lookups_empty,
        last_lookup_at=job.last_lookup_at,
    )


def interrupted(job: JobFacts, *, now: dt.datetime, why: str) -> Transition:
    """An in-flight job whose worker died or whose lease ran out: its request may have reached
    Exact, so it is looked up before anything is sent again."""
    return Transition(
        JobState.UNKNOWN,
        EventOutcome.RECOVERED,
        f"{why}: the entry may have been created; it is looked up before any new attempt",
        level="warning",
        category=Category.AMBIGUOUS,
        cause="interrupted while sending: looked up in Exact first",
        next_attempt_at=now,
        last_error=job.last_error,
        http_status=job.last_http_status,
    )


def blocked(category: Category, cause: str, message: str | None = None) -> Transition:
    """Preflight (or the customer rules) found something missing: a person must map, bind or
    link it; saving that moves the job back to pending."""
    return Transition(
        JobState.NEEDS_MAPPING,
        EventOutcome.NEEDS_MAPPING,
        message or cause,
        level="warning",
        category=category,
        cause=cause[:CAUSE_WIDTH],
    )


def skipped_as_history(document_date: dt.date, activated_on: dt.date) -> Transition:
    return Transition(
        JobState.SKIPPED,
        EventOutcome.SKIPPED,
        f"dated {document_date.isoformat()}, before the connection was activated on "
        f"{activated_on.isoformat()}: history is never exported",
    )


def is_history(document_date: dt.date, activated_on: dt.date) -> bool:
    """Documents dated before the activation date are history (design §7 step 2)."""
    return document_date < activated_on


class RetryAction(StrEnum):
    REQUEUE = "requeue"
    LOOKUP = "lookup"
    NONE = "none"


@dataclass(frozen=True)
class RetryDecision:
    action: RetryAction
    why: str


def retry_decision(state: JobState, category: Category | None) -> RetryDecision:
    """What an operator's retry does to a job in `state` (design §7): failed, needs_mapping
    and retry_wait go back to pending; an unknown job (or a duplicate) is looked up in Exact
    again, never re-sent blind."""
    if state is JobState.UNKNOWN:
        return RetryDecision(RetryAction.LOOKUP, "looked up in Exact before anything is sent")
    if state is JobState.FAILED and category is Category.DUPLICATE:
        return RetryDecision(RetryAction.LOOKUP, "looked up in Exact again")
    if state.retryable:
        return RetryDecision(RetryAction.REQUEUE, "back to pending")
    reasons = {
        JobState.POSTED: "already posted",
        JobState.SKIPPED: "history (dated before activation): never exported",
        JobState.IN_FLIGHT: "being sent right now",
        JobState.PENDING: "already waiting to be sent",
    }
    return RetryDecision(RetryAction.NONE, reasons.get(state, state.value))
