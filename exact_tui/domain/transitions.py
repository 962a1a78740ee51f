"""The export state machine (docs/export.md §The state machine), as pure functions.

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
    unknown ─lookup─► the document found once → posted · more than once → failed [duplicate]
                      only entries that carry its reference but are not it → failed [conflict]
                      nothing → looked up again, the gaps growing; nothing at least twice and
                      the settling horizon past since it was sent → pending (sent again)
    crash or lease expired: in_flight → unknown
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from exact_tui.domain.states import Category, JobState, labelled

#: Lookups that must find nothing (the last after the settling horizon) before an unknown job
#: is re-sent.
EMPTY_LOOKUPS_TO_RESEND = 2
#: Each gap between empty lookups is this many times the one before (the first is the safety
#: delay): most lost answers are found at once, a late commit within the horizon.
LOOKUP_GAP_GROWTH = 4
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
    #: The request never left: the claim had moved on to another worker (fencing).
    FENCED = "fenced"
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
    #: A request that never left: the claim had moved on to another worker.
    FENCED = "fenced"
    RECOVERED = "recovered"
    REQUEUED = "requeued"
    #: The document changed (ingest): routed and checked again.
    UPDATED = "updated"
    #: Reconciliation found the posted entry twice in Exact, or not at all.
    RECONCILED = "reconciled"
    LINKED = "linked"
    ACCOUNT_CREATED = "account_created"

    @property
    def label(self) -> str:
        """What happened, in the words the log shows."""
        return _EVENT_OUTCOMES[self]

    @classmethod
    def label_of(cls, value: str) -> str:
        """The label of an outcome read back from the log (a value this version does not know
        is shown as written)."""
        try:
            return cls(value).label
        except ValueError:
            return value


_EVENT_OUTCOMES = labelled(
    EventOutcome,
    {
        EventOutcome.POSTED: "posted",
        EventOutcome.FAILED: "failed",
        EventOutcome.UNKNOWN: "answer lost",
        EventOutcome.RETRY_WAIT: "will retry",
        EventOutcome.RATE_LIMITED: "rate limited",
        EventOutcome.PAUSED: "paused",
        EventOutcome.NEEDS_MAPPING: "blocked",
        EventOutcome.SKIPPED: "skipped",
        EventOutcome.WAITING: "waiting",
        EventOutcome.LOOKUP: "looked up",
        EventOutcome.NOT_IN_EXACT: "not in Exact",
        EventOutcome.FENCED: "not sent (claim moved on)",
        EventOutcome.RECOVERED: "recovered",
        EventOutcome.REQUEUED: "queued again",
        EventOutcome.UPDATED: "document updated",
        EventOutcome.RECONCILED: "reconciled",
        EventOutcome.LINKED: "customer linked",
        EventOutcome.ACCOUNT_CREATED: "customer created",
    },
)


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
    #: When its last request that may have reached Exact left (the settling horizon's start).
    sent_at: dt.datetime | None = None
    entry_id: str | None = None


@dataclass(frozen=True)
class Policy:
    backoff_base: float = 5.0
    backoff_cap: float = 900.0
    #: The first gap between lookups of a job whose answer was lost.
    lookup_safety_delay: float = 30.0
    #: No job whose answer was lost is sent again before this long after it was sent.
    settle_horizon: float = 600.0


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
    sent_at: dt.datetime | None = None
    #: The job goes back to routing (its division is found again): a requeue.
    route_again: bool = False


@dataclass(frozen=True)
class FoundEntry:
    """An entry a lookup found in Exact by the document's reference, and how it differs from
    the document (empty: it is the document)."""

    entry_id: str
    entry_number: int | None
    mismatches: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return str(self.entry_number) if self.entry_number is not None else self.entry_id


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
    """Where an in-flight job goes after its attempt (docs/export.md §The state machine)."""
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
        next_at = _retry_at(outcome, job, now, policy, jitter)
        if outcome.category is Category.AMBIGUOUS:
            # A new customer's account whose answer was lost may be committed late, as an
            # entry may: the live check before creating it again waits for the settling
            # horizon, or it finds nothing and a second account is made (docs/export.md
            # §The settling horizon).
            next_at = max(next_at, now + dt.timedelta(seconds=policy.settle_horizon))
        return Transition(
            JobState.RETRY_WAIT,
            EventOutcome.RETRY_WAIT,
            outcome.message,
            level="warning",
            category=outcome.category or Category.TRANSIENT,
            cause=outcome.cause or _cause(outcome.message),
            next_attempt_at=next_at,
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
    """Settle an unknown job by what a lookup in Exact found under its reference.

    Only an entry that is the document (`FoundEntry.mismatches` empty) counts: one → posted;
    several → a double posting, loud; entries that carry the reference but are not the document
    → a conflict, loud, never posted. Nothing found: looked up again, each gap
    `LOOKUP_GAP_GROWTH` times the one before, and sent again only when at least
    `EMPTY_LOOKUPS_TO_RESEND` lookups found nothing and the last came after the settling
    horizon (counted from when the request was sent): a request Exact commits late is found,
    not sent twice."""
    ours = [entry for entry in found if not entry.mismatches]
    others = [entry for entry in found if entry.mismatches]
    if len(ours) == 1:
        return _found_once(ours[0], others, reference)
    if len(ours) > 1:
        numbers = ", ".join(entry.label for entry in ours)
        message = (
            f"{len(ours)} entries in Exact are this document, by {reference} (entries "
            f"{numbers}): a double posting. Reverse the extra ones in Exact, then retry to look "
            "it up again"
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
    if others:
        differences = "; ".join(
            f"entry {entry.label}: {', '.join(entry.mismatches)}" for entry in others
        )
        message = (
            f"Exact holds {len(others)} entr{'y' if len(others) == 1 else 'ies'} with "
            f"{reference} that {'is' if len(others) == 1 else 'are'} not this document "
            f"({differences}). It is not taken as posted, nor sent again: check the entry in "
            "Exact, then retry to look it up again"
        )
        return Transition(
            JobState.FAILED,
            EventOutcome.FAILED,
            message,
            level="error",
            category=Category.CONFLICT,
            cause=f"another entry carries {reference}"[:CAUSE_WIDTH],
            last_error=message,
        )
    return _not_found(job, reference=reference, now=now, policy=policy)


def _found_once(entry: FoundEntry, others: Sequence[FoundEntry], reference: str) -> Transition:
    number = f" {entry.entry_number}" if entry.entry_number is not None else ""
    message = f"found in Exact by {reference} as entry{number}: it was posted"
    if others:
        labels = ", ".join(other.label for other in others)
        message += f" (entries {labels} carry the same reference but are not this document)"
    return Transition(
        JobState.POSTED,
        EventOutcome.POSTED,
        message,
        level="warning" if others else "info",
        entry_id=entry.entry_id,
        entry_number=entry.entry_number,
    )


def _not_found(job: JobFacts, *, reference: str, now: dt.datetime, policy: Policy) -> Transition:
    delay = dt.timedelta(seconds=policy.lookup_safety_delay)
    since = job.sent_at or job.last_lookup_at or now
    horizon_end = since + dt.timedelta(seconds=policy.settle_horizon)
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
            sent_at=job.sent_at,
        )
    empty += 1
    if empty >= EMPTY_LOOKUPS_TO_RESEND and now >= horizon_end:
        waited = (now - since).total_seconds()
        return Transition(
            JobState.PENDING,
            EventOutcome.NOT_IN_EXACT,
            f"not found in Exact by {reference} in {empty} lookups over {waited:g} s since it "
            "was sent: it was not posted, so it is sent again",
            last_error=job.last_error,
            http_status=job.last_http_status,
        )
    gap = policy.lookup_safety_delay * LOOKUP_GAP_GROWTH ** (empty - 1)
    next_at = now + dt.timedelta(seconds=gap)
    if next_at > horizon_end:
        next_at = max(horizon_end, now + delay)
    wait = (next_at - now).total_seconds()
    return Transition(
        JobState.UNKNOWN,
        EventOutcome.LOOKUP,
        f"not found in Exact by {reference}; checked again in {wait:g} s (it is sent again "
        f"only after {policy.settle_horizon:g} s without a trace of it in Exact)",
        category=Category.AMBIGUOUS,
        cause=job.cause,
        next_attempt_at=next_at,
        last_error=job.last_error,
        http_status=job.last_http_status,
        lookups_empty=empty,
        last_lookup_at=now,
        sent_at=job.sent_at or since,
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
    elif outcome.kind is OutcomeKind.FENCED:
        # Not made: the division is another worker's now, and that worker looks it up.
        next_at = now
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
        sent_at=job.sent_at,
    )


def interrupted(job: JobFacts, *, now: dt.datetime, why: str) -> Transition:
    """An in-flight job whose worker died or whose lease ran out: its request may have reached
    Exact, so it is looked up before anything is sent again (the settling horizon counts from
    now, when the claim was found dead)."""
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
        # Counted from when the claim was found dead, not from the send: a worker that stalled
        # may still be about to send.
        sent_at=now,
    )


def stale_created(outcome: Outcome, job: JobFacts) -> Transition | None:
    """A 201 that came back to an attempt whose claim had moved on (the worker stalled past
    its lease and another took the job over). It is the truth about Exact, so it is applied
    where nobody is sending the job: a job waiting to be sent or looked up becomes posted (no
    second entry follows). Where the job is already posted as another entry, Exact holds it
    twice: a loud duplicate. None: nothing to apply (the same entry, another attempt sending
    right now, or a person already deciding); the caller records the answer as an event."""
    if job.state is JobState.POSTED:
        if job.entry_id is None or job.entry_id == outcome.entry_id:
            return None
        found = [
            FoundEntry(job.entry_id, None),
            FoundEntry(outcome.entry_id or "", outcome.entry_number),
        ]
        message = (
            f"an attempt whose claim had run out posted it as entry "
            f"{found[1].label}, besides entry {job.entry_id} on record: Exact holds it twice. "
            "Reverse the extra one in Exact, then retry to look it up again"
        )
        return Transition(
            JobState.FAILED,
            EventOutcome.FAILED,
            message,
            level="error",
            category=Category.DUPLICATE,
            cause="posted more than once by a worker that had stalled"[:CAUSE_WIDTH],
            last_error=message,
        )
    if job.state is JobState.IN_FLIGHT or job.state is JobState.SKIPPED:
        return None
    if job.state is JobState.FAILED and job.category in (Category.DUPLICATE, Category.CONFLICT):
        return None
    number = f" {outcome.entry_number}" if outcome.entry_number is not None else ""
    return Transition(
        JobState.POSTED,
        EventOutcome.POSTED,
        f"posted as entry{number} by an attempt whose claim had run out meanwhile",
        level="warning",
        http_status=outcome.http_status,
        entry_id=outcome.entry_id,
        entry_number=outcome.entry_number,
    )


def requeued(why: str) -> Transition:
    """Back to pending, to be routed and checked again (an operator's retry, a saved mapping,
    binding or link, a changed document)."""
    return Transition(
        JobState.PENDING, EventOutcome.REQUEUED, f"{why}: back to pending", route_again=True
    )


def reconciled_twice(message: str) -> Transition:
    """Reconciliation found the document more than once in Exact: loud, for a person to
    reverse the extra entries (then a retry looks it up again)."""
    return Transition(
        JobState.FAILED,
        EventOutcome.RECONCILED,
        f"{message}. Reverse the extra ones in Exact, then retry to look it up again",
        level="error",
        category=Category.DUPLICATE,
        cause="posted more than once (found by reconciliation)",
        last_error=message,
    )


def reconciled_missing(message: str, *, now: dt.datetime) -> Transition:
    """Reconciliation did not find the posted entry in Exact (deleted there, or a wrong
    settle): the job is looked up again, and sent again only as any unknown job is."""
    return Transition(
        JobState.UNKNOWN,
        EventOutcome.RECONCILED,
        f"{message}: it is looked up in Exact again",
        level="warning",
        category=Category.AMBIGUOUS,
        cause="posted, but not found in Exact by reconciliation: looked up again",
        next_attempt_at=now,
        last_error=message,
        sent_at=now,
    )


def document_changed(message: str) -> Transition:
    """A document re-ingested with changes while its job was not yet posted (nor possibly
    sent): back to pending, routed and checked again."""
    return Transition(JobState.PENDING, EventOutcome.UPDATED, message, route_again=True)


def lookup_requested(job: JobFacts, *, why: str, now: dt.datetime) -> Transition:
    """An operator asks for a lookup of an unknown job (or one failed as a duplicate or a
    conflict, once the extra entries are dealt with): looked up now, never sent blind. After a
    duplicate or a conflict the lookups are counted afresh."""
    fresh = job.state is JobState.FAILED
    return Transition(
        JobState.UNKNOWN,
        EventOutcome.REQUEUED,
        f"{why}: looked up in Exact before anything is sent",
        category=Category.AMBIGUOUS,
        cause=job.cause if not fresh else "looked up in Exact again",
        next_attempt_at=now,
        last_error=job.last_error,
        http_status=job.last_http_status,
        lookups_empty=0 if fresh else job.lookups_empty,
        last_lookup_at=None if fresh else job.last_lookup_at,
        sent_at=job.sent_at if not fresh else now,
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
    """Documents dated before the activation date are history
    (docs/export.md §What happens to a job)."""
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
    """What an operator's retry does to a job in `state` (docs/export.md §The state machine):
    failed, needs_mapping and retry_wait go back to pending; an unknown job (or a duplicate) is
    looked up in Exact again, never re-sent blind."""
    if state is JobState.UNKNOWN:
        return RetryDecision(RetryAction.LOOKUP, "looked up in Exact before anything is sent")
    if state is JobState.FAILED and category in (Category.DUPLICATE, Category.CONFLICT):
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
