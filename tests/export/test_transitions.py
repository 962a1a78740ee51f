"""The export state machine's decisions, without a store or a network."""

from __future__ import annotations

import datetime as dt

import pytest

from exact_tui.domain.states import Category, JobState
from exact_tui.domain.transitions import (
    EventOutcome,
    FoundEntry,
    JobFacts,
    Outcome,
    OutcomeKind,
    Policy,
    RetryAction,
    Transition,
    after_attempt,
    after_lookup,
    backoff_delay,
    interrupted,
    is_history,
    lookup_failed,
    retry_decision,
    stale_created,
)

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
POLICY = Policy(backoff_base=5, backoff_cap=60, lookup_safety_delay=30)
IN_FLIGHT = JobFacts(JobState.IN_FLIGHT, attempts=1)
UNKNOWN = JobFacts(JobState.UNKNOWN, attempts=1, category=Category.AMBIGUOUS, cause="lost")
UNKNOWN_SENT = JobFacts(
    JobState.UNKNOWN, attempts=1, category=Category.AMBIGUOUS, cause="lost", sent_at=NOW
)


def attempt(outcome: Outcome, job: JobFacts = IN_FLIGHT, jitter: float = 0.0) -> Transition:
    return after_attempt(outcome, job, now=NOW, policy=POLICY, jitter=jitter)


def test_backoff_grows_is_capped_and_jittered_within_half() -> None:
    delays = [backoff_delay(n, base=5, cap=60, jitter=0.0) for n in range(1, 7)]
    assert delays == [2.5, 5.0, 10.0, 20.0, 30.0, 30.0]
    assert backoff_delay(3, base=5, cap=60, jitter=0.999) == pytest.approx(19.99, abs=0.01)
    assert backoff_delay(10_000, base=5, cap=60, jitter=1.0) == 60.0


def test_created_is_posted_with_exacts_numbers() -> None:
    t = attempt(Outcome(OutcomeKind.CREATED, http_status=201, entry_id="e", entry_number=7))
    assert (t.state, t.outcome, t.entry_id, t.entry_number) == (
        JobState.POSTED,
        EventOutcome.POSTED,
        "e",
        7,
    )
    assert t.category is None and t.last_error is None and "entry 7" in t.message


def test_a_refusal_fails_with_exacts_message_and_groups_on_its_first_line() -> None:
    t = attempt(Outcome(OutcomeKind.REFUSED, "Ongeldig: Dagboek\r\nVerplicht: Klant", 500))
    assert (t.state, t.category, t.level) == (JobState.FAILED, Category.VALIDATION, "error")
    assert t.cause == "Ongeldig: Dagboek"
    assert t.last_error == "Ongeldig: Dagboek\r\nVerplicht: Klant" and t.http_status == 500


def test_a_lost_answer_is_unknown_and_looked_up_at_once() -> None:
    t = attempt(Outcome(OutcomeKind.AMBIGUOUS, "timeout", None))
    assert (t.state, t.category, t.next_attempt_at, t.lookups_empty) == (
        JobState.UNKNOWN,
        Category.AMBIGUOUS,
        NOW,
        0,
    )


def test_not_sent_waits_with_backoff_or_until_the_given_time() -> None:
    job = JobFacts(JobState.IN_FLIGHT, attempts=3)
    t = attempt(Outcome(OutcomeKind.NOT_SENT, "503 on a GET", 503), job)
    assert t.state is JobState.RETRY_WAIT and t.category is Category.TRANSIENT
    assert t.next_attempt_at == NOW + dt.timedelta(seconds=10)
    later = NOW + dt.timedelta(minutes=9)
    t = attempt(Outcome(OutcomeKind.NOT_SENT, "token", until=later), job)
    assert t.next_attempt_at == later
    t = attempt(Outcome(OutcomeKind.NOT_SENT, "lost", category=Category.AMBIGUOUS), job)
    assert t.category is Category.AMBIGUOUS


@pytest.mark.parametrize("kind", [OutcomeKind.RATE_LIMITED, OutcomeKind.ERROR_BUDGET])
def test_rate_limits_go_back_to_pending_until_the_reset(kind: OutcomeKind) -> None:
    until = NOW + dt.timedelta(hours=5)
    t = attempt(Outcome(kind, "spent", 429, until=until, cause="budget of 101001"))
    assert (t.state, t.category, t.next_attempt_at, t.cause) == (
        JobState.PENDING,
        Category.RATE_LIMIT,
        until,
        "budget of 101001",
    )


def test_reconnect_pauses_and_access_denied_waits_for_a_person() -> None:
    t = attempt(Outcome(OutcomeKind.RECONNECT, "refresh refused", 401))
    assert (t.state, t.category, t.outcome) == (
        JobState.PENDING,
        Category.AUTH,
        EventOutcome.PAUSED,
    )
    t = attempt(Outcome(OutcomeKind.ACCESS_DENIED, "no access", 403))
    assert (t.state, t.category) == (JobState.FAILED, Category.ACCESS)


def test_found_once_is_posted_with_the_found_entry() -> None:
    t = after_lookup([FoundEntry("e1", 26000001)], UNKNOWN, reference="r", now=NOW, policy=POLICY)
    assert (t.state, t.entry_id, t.entry_number) == (JobState.POSTED, "e1", 26000001)


def test_found_twice_fails_loudly_as_a_duplicate() -> None:
    t = after_lookup(
        [FoundEntry("a", 1), FoundEntry("b", 2)], UNKNOWN, reference="r", now=NOW, policy=POLICY
    )
    assert (t.state, t.category, t.level) == (JobState.FAILED, Category.DUPLICATE, "error")
    assert "1, 2" in t.message


def test_not_found_is_looked_up_again_over_the_settling_horizon() -> None:
    sent = UNKNOWN_SENT.sent_at
    assert sent is not None
    first = after_lookup([], UNKNOWN_SENT, reference="r", now=NOW, policy=POLICY)
    assert (first.state, first.lookups_empty, first.last_lookup_at) == (JobState.UNKNOWN, 1, NOW)
    assert first.next_attempt_at == NOW + dt.timedelta(seconds=30)
    after_first = JobFacts(
        JobState.UNKNOWN, attempts=1, lookups_empty=1, last_lookup_at=NOW, cause="lost",
        sent_at=sent,
    )  # fmt: skip
    # Asked again too soon (an operator's retry): it does not count.
    soon = after_lookup(
        [], after_first, reference="r", now=NOW + dt.timedelta(seconds=5), policy=POLICY
    )
    assert (soon.state, soon.lookups_empty, soon.last_lookup_at) == (JobState.UNKNOWN, 1, NOW)
    # Two empty lookups are not enough before the horizon: the gaps grow (30, 120, …) and the
    # last lookup falls on the horizon.
    at = NOW + dt.timedelta(seconds=30)
    second = after_lookup([], after_first, reference="r", now=at, policy=POLICY)
    assert (second.state, second.lookups_empty) == (JobState.UNKNOWN, 2)
    assert second.next_attempt_at == at + dt.timedelta(seconds=120)
    after_second = JobFacts(
        JobState.UNKNOWN, attempts=1, lookups_empty=2, last_lookup_at=at, sent_at=sent
    )
    at = at + dt.timedelta(seconds=120)
    third = after_lookup([], after_second, reference="r", now=at, policy=POLICY)
    assert third.next_attempt_at == sent + dt.timedelta(seconds=POLICY.settle_horizon)
    after_third = JobFacts(
        JobState.UNKNOWN, attempts=1, lookups_empty=3, last_lookup_at=at, sent_at=sent
    )
    assert third.next_attempt_at is not None
    last = after_lookup([], after_third, reference="r", now=third.next_attempt_at, policy=POLICY)
    assert (last.state, last.lookups_empty, last.category) == (JobState.PENDING, 0, None)
    assert last.outcome is EventOutcome.NOT_IN_EXACT


def test_after_the_horizon_two_empty_lookups_are_still_needed() -> None:
    long_ago = JobFacts(
        JobState.UNKNOWN, attempts=1, sent_at=NOW - dt.timedelta(hours=5), cause="lost"
    )
    first = after_lookup([], long_ago, reference="r", now=NOW, policy=POLICY)
    assert (first.state, first.next_attempt_at) == (
        JobState.UNKNOWN,
        NOW + dt.timedelta(seconds=30),
    )


def test_only_an_entry_that_is_the_document_settles_it() -> None:
    ours = FoundEntry("e1", 7)
    other = FoundEntry("e2", 8, ("amount 55.00, not 100.00",))
    posted = after_lookup([ours, other], UNKNOWN, reference="r", now=NOW, policy=POLICY)
    assert (posted.state, posted.entry_id, posted.level) == (JobState.POSTED, "e1", "warning")
    conflict = after_lookup([other], UNKNOWN, reference="r", now=NOW, policy=POLICY)
    assert (conflict.state, conflict.category, conflict.level) == (
        JobState.FAILED,
        Category.CONFLICT,
        "error",
    )
    assert conflict.entry_id is None and "amount 55.00, not 100.00" in conflict.message
    twice = after_lookup(
        [ours, FoundEntry("e3", 9)], UNKNOWN, reference="r", now=NOW, policy=POLICY
    )
    assert (twice.state, twice.category) == (JobState.FAILED, Category.DUPLICATE)
    assert retry_decision(JobState.FAILED, Category.CONFLICT).action is RetryAction.LOOKUP


def test_a_late_201_is_applied_where_nobody_is_sending() -> None:
    created = Outcome(OutcomeKind.CREATED, http_status=201, entry_id="e1", entry_number=7)
    for state in (JobState.PENDING, JobState.UNKNOWN, JobState.RETRY_WAIT):
        t = stale_created(created, JobFacts(state))
        assert t is not None and (t.state, t.entry_id) == (JobState.POSTED, "e1")
    assert stale_created(created, JobFacts(JobState.IN_FLIGHT)) is None
    assert stale_created(created, JobFacts(JobState.POSTED, entry_id="e1")) is None
    twice = stale_created(created, JobFacts(JobState.POSTED, entry_id="e0"))
    assert twice is not None and (twice.state, twice.category) == (
        JobState.FAILED,
        Category.DUPLICATE,
    )
    loud = JobFacts(JobState.FAILED, category=Category.CONFLICT)
    assert stale_created(created, loud) is None


def test_a_failed_lookup_keeps_the_job_unknown() -> None:
    job = JobFacts(JobState.UNKNOWN, attempts=2, lookups_empty=1, last_lookup_at=NOW)
    t = lookup_failed(
        Outcome(OutcomeKind.NOT_SENT, "503", 503), job, now=NOW, policy=POLICY, jitter=0
    )
    assert (t.state, t.lookups_empty, t.last_lookup_at) == (JobState.UNKNOWN, 1, NOW)
    assert t.next_attempt_at is not None and t.next_attempt_at > NOW
    t = lookup_failed(
        Outcome(OutcomeKind.REFUSED, "400", 400), job, now=NOW, policy=POLICY, jitter=0
    )
    assert t.state is JobState.UNKNOWN and t.level == "error"


def test_an_interrupted_attempt_is_unknown() -> None:
    t = interrupted(IN_FLIGHT, now=NOW, why="the worker stopped")
    assert (t.state, t.outcome, t.next_attempt_at) == (
        JobState.UNKNOWN,
        EventOutcome.RECOVERED,
        NOW,
    )


@pytest.mark.parametrize(
    ("state", "category", "action"),
    [
        (JobState.FAILED, Category.VALIDATION, RetryAction.REQUEUE),
        (JobState.NEEDS_MAPPING, Category.MAPPING, RetryAction.REQUEUE),
        (JobState.RETRY_WAIT, Category.TRANSIENT, RetryAction.REQUEUE),
        (JobState.UNKNOWN, Category.AMBIGUOUS, RetryAction.LOOKUP),
        (JobState.FAILED, Category.DUPLICATE, RetryAction.LOOKUP),
        (JobState.POSTED, None, RetryAction.NONE),
        (JobState.SKIPPED, None, RetryAction.NONE),
        (JobState.IN_FLIGHT, None, RetryAction.NONE),
        (JobState.PENDING, None, RetryAction.NONE),
    ],
)
def test_retry_never_resends_what_may_be_in_exact(
    state: JobState, category: Category | None, action: RetryAction
) -> None:
    assert retry_decision(state, category).action is action


def test_history_is_what_predates_activation() -> None:
    activated = dt.date(2026, 1, 1)
    assert is_history(dt.date(2025, 12, 31), activated)
    assert not is_history(activated, activated)
