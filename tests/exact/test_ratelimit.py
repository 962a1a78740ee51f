"""Rate-limit headers, pacing and the error budget: the pure decisions."""

from __future__ import annotations

import datetime as dt

import pytest

from exact_tui.exact.ratelimit import (
    RateState,
    Window,
    after_response,
    endpoint_key,
    error_budget_until,
    pace,
    parse_rate_headers,
    rate_limit_until,
    server_offset,
    spend,
)

NOW = dt.datetime(2021, 12, 2, 12, 15, 30, tzinfo=dt.UTC)
MINUTE_RESET = dt.datetime(2021, 12, 2, 12, 16, tzinfo=dt.UTC)

FULL = {
    "X-RateLimit-Limit": "9000",
    "X-RateLimit-Remaining": "8924",
    "X-RateLimit-Reset": "1638489600000",
    "X-RateLimit-Minutely-Limit": "100",
    "X-RateLimit-Minutely-Remaining": "99",
    "X-RateLimit-Minutely-Reset": str(int(MINUTE_RESET.timestamp() * 1000)),
}


def test_headers_are_read_with_resets_in_milliseconds() -> None:
    headers = parse_rate_headers(FULL)
    assert headers.daily == Window(9000, 8924, dt.datetime(2021, 12, 3, tzinfo=dt.UTC))
    assert headers.minutely == Window(100, 99, MINUTE_RESET)
    lower = parse_rate_headers({k.lower(): v for k, v in FULL.items()})
    assert lower == headers


def test_a_minutely_429_without_daily_headers_keeps_the_daily_budget() -> None:
    state = after_response(RateState(), parse_rate_headers(FULL), status=200, now=NOW)
    minutely_only = {k: v for k, v in FULL.items() if "Minutely" in k}
    minutely_only["X-RateLimit-Minutely-Remaining"] = "0"
    after = after_response(state, parse_rate_headers(minutely_only), status=429, now=NOW)
    assert after.daily is not None and after.daily.remaining == 8924  # absent is not zero
    assert after.minutely is not None and after.minutely.remaining == 0
    assert after.blocked_until == MINUTE_RESET
    assert pace(after, now=NOW, margin=1.0).wait == 31.0


def test_a_429_without_any_header_waits_a_minute() -> None:
    after = after_response(RateState(), parse_rate_headers({}), status=429, now=NOW)
    assert after.blocked_until == NOW + dt.timedelta(seconds=60)


def test_pace_bursts_then_spreads_then_waits_for_the_reset() -> None:
    window = Window(60, 30, MINUTE_RESET)
    assert pace(RateState(minutely=window), now=NOW).wait == 0.0
    # Five left and 30 s to go: one call every 5 s (30 / (5 + 1)).
    low = RateState(minutely=Window(60, 5, MINUTE_RESET), last_call_at=NOW)
    decision = pace(low, now=NOW, reserve=5)
    assert decision.wait == 5.0 and "spreading" in decision.why
    assert pace(low, now=NOW + dt.timedelta(seconds=6), reserve=5).wait == 0.0
    spent = RateState(minutely=Window(60, 0, MINUTE_RESET))
    assert pace(spent, now=NOW, margin=0.5).wait == 30.5
    # After the reset the old numbers say nothing any more.
    assert pace(spent, now=MINUTE_RESET + dt.timedelta(seconds=1)).wait == 0.0


def test_a_spent_daily_budget_is_not_waited_out() -> None:
    tomorrow = dt.datetime(2021, 12, 3, tzinfo=dt.UTC)
    state = RateState(daily=Window(5000, 0, tomorrow), minutely=Window(60, 50, MINUTE_RESET))
    decision = pace(state, now=NOW)
    assert decision.daily_until == tomorrow and decision.wait == 0.0


def test_spend_counts_calls_before_their_answers() -> None:
    state = RateState(minutely=Window(60, 2, MINUTE_RESET), daily=Window(5000, 10, MINUTE_RESET))
    state = spend(spend(spend(state, now=NOW), now=NOW), now=NOW)
    assert state.minutely is not None and state.minutely.remaining == 0
    assert state.daily is not None and state.daily.remaining == 7
    assert state.last_call_at == NOW


def test_endpoint_key_drops_host_division_keys_and_query() -> None:
    assert endpoint_key("/api/v1/123456/crm/Accounts") == "crm/Accounts"
    assert (
        endpoint_key(
            "https://start.exactonline.nl/api/v1/1/salesentry/SalesEntries(guid'ab-cd')?$select=ID"
        )
        == "salesentry/SalesEntries"
    )
    assert endpoint_key("/api/v1/current/Me") == "current/Me"
    assert (
        endpoint_key("/api/v1/5/crm/Accounts(guid'x')/BankAccounts") == "crm/Accounts/BankAccounts"
    )


def test_error_budget_stops_at_the_threshold_and_resumes_as_errors_age() -> None:
    errors = [NOW - dt.timedelta(minutes=m) for m in (50, 40, 30, 20, 10, 5, 2)]
    assert error_budget_until(errors, now=NOW, threshold=8) is None
    errors.append(NOW)
    until = error_budget_until(errors, now=NOW, threshold=8)
    # The oldest of the eight leaves the hour ten minutes from now.
    assert until == NOW + dt.timedelta(minutes=10)
    old = [NOW - dt.timedelta(hours=2)] * 20
    assert error_budget_until(old, now=NOW, threshold=8) is None


def test_the_offset_to_exacts_clock_comes_from_the_date_header() -> None:
    sent = dt.datetime(2026, 3, 2, 12, 0, 0, 200000, tzinfo=dt.UTC)
    received = sent + dt.timedelta(milliseconds=200)
    ahead = {"Date": "Mon, 02 Mar 2026 12:09:40 GMT"}
    assert server_offset(ahead, sent_at=sent, received_at=received) == pytest.approx(580.2)
    assert server_offset({}, sent_at=sent, received_at=received) is None
    assert server_offset({"date": "yesterday"}, sent_at=sent, received_at=received) is None


def test_resets_are_read_on_our_clock() -> None:
    headers = parse_rate_headers(FULL, offset=580)
    assert headers.minutely is not None
    assert headers.minutely.reset_at == MINUTE_RESET - dt.timedelta(seconds=580)


def test_no_wait_is_longer_than_its_window() -> None:
    far = MINUTE_RESET + dt.timedelta(minutes=10)  # a reset read on a wrong clock
    spent = RateState(minutely=Window(60, 0, far))
    assert pace(spent, now=NOW, margin=1.0).wait == 61.0
    spreading = RateState(minutely=Window(60, 3, far), last_call_at=NOW)
    assert pace(spreading, now=NOW).wait <= 60 / 4
    blocked = RateState(blocked_until=NOW + dt.timedelta(days=3))
    assert pace(blocked, now=NOW, margin=0).wait == 86400
    headers = parse_rate_headers(FULL, offset=-3600)  # resets an hour later than they are
    assert rate_limit_until(RateState(), headers, now=NOW) == NOW + dt.timedelta(minutes=1)
