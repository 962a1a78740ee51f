"""One place turns Exact's answers into outcomes: every branch of it."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from exact_tui.domain.states import Category
from exact_tui.exact.errors import (
    AccessDenied,
    Ambiguous,
    ExactError,
    NotFound,
    RateLimited,
    ReconnectNeeded,
    Refused,
    Transient,
    classify_response,
    classify_transport,
    classify_unreadable,
    describe_body,
)

UNTIL = dt.datetime(2026, 1, 1, 12, 1, tzinfo=dt.UTC)


def _exact_error(message: str) -> str:
    return json.dumps({"error": {"code": "", "message": {"lang": "", "value": message}}})


def classify(method: str, status: int, body: str = "", **headers: str) -> ExactError | None:
    return classify_response(method, status, headers, body, rate_limit_until=UNTIL)


def test_success_is_no_error() -> None:
    assert classify("POST", 201, "{}") is None
    assert classify("GET", 204) is None


def test_a_500_with_a_message_is_a_refusal_not_transient() -> None:
    outcome = classify("POST", 500, _exact_error("Ongeldig: Dagboek"))
    assert isinstance(outcome, Refused)
    assert outcome.message == "Ongeldig: Dagboek"
    assert outcome.category is Category.VALIDATION


def test_validation_messages_keep_exact_words() -> None:
    outcome = classify("POST", 400, _exact_error("Verplicht: Factuur voor\r\nVerplicht: Besteld"))
    assert isinstance(outcome, Refused) and not isinstance(outcome, NotFound)
    assert outcome.message == "Verplicht: Factuur voor\r\nVerplicht: Besteld"


def test_write_failures_without_an_answer_are_ambiguous_reads_transient() -> None:
    html = "<html><body><h1>503 Service Error</h1></body></html>"
    for status in (500, 502, 503, 504):
        post = classify("POST", status, html)
        assert isinstance(post, Ambiguous), status
        assert post.category is Category.AMBIGUOUS
        assert "HTML page" in post.message
        get = classify("GET", status, html)
        assert isinstance(get, Transient), status
    assert isinstance(classify("POST", 501), Transient)


def test_403_reason_in_words() -> None:
    outcome = classify(
        "GET", 403, _exact_error("Forbidden - WrongDivision"), Reason="NoDivisionAccess"
    )
    assert isinstance(outcome, AccessDenied)
    assert outcome.reason == "NoDivisionAccess"
    assert outcome.message == (
        "no access to this division: the Exact user did not grant it or lacks rights"
    )
    assert outcome.category is Category.ACCESS
    blocked = classify("GET", 403, "", reason="DivisionBlocked")
    assert isinstance(blocked, AccessDenied) and "blocked" in blocked.message
    unknown = classify("GET", 403, "", Reason="SomethingNew")
    assert isinstance(unknown, AccessDenied) and "SomethingNew" in unknown.message
    scope = classify("GET", 403, _exact_error("Forbidden - Application Scope Violated"))
    assert isinstance(scope, AccessDenied) and "Scope Violated" in scope.message


def test_401_and_429_and_404() -> None:
    auth = classify("GET", 401, "<html><body>Object moved</body></html>")
    assert isinstance(auth, ReconnectNeeded) and auth.category is Category.AUTH
    limited = classify("POST", 429, _exact_error("API rate limit exceeded."))
    assert isinstance(limited, RateLimited)
    assert limited.until == UNTIL and limited.category is Category.RATE_LIMIT
    missing = classify("GET", 404, _exact_error("Resource not found for the segment 'X'."))
    assert isinstance(missing, NotFound) and "segment" in missing.message


def test_bodies_without_a_message_are_described() -> None:
    assert describe_body(502, "") == "Exact answered HTTP 502 with an empty body"
    assert describe_body(500, "plain text") == "Exact answered HTTP 500"
    oauth = json.dumps({"error": "invalid_grant", "error_description": "Old refresh token used."})
    assert describe_body(401, oauth) == "Old refresh token used."


@pytest.mark.parametrize(
    ("exc", "method", "kind"),
    [
        (httpx.ConnectError("refused"), "POST", Transient),
        (httpx.ConnectTimeout("slow"), "POST", Transient),
        (httpx.PoolTimeout("busy"), "POST", Transient),
        (httpx.ReadTimeout("no answer"), "POST", Ambiguous),
        (httpx.RemoteProtocolError("reset"), "POST", Ambiguous),
        (httpx.ReadTimeout("no answer"), "GET", Transient),
    ],
)
def test_transport_errors(exc: httpx.TransportError, method: str, kind: type[ExactError]) -> None:
    outcome = classify_transport(method, exc)
    assert type(outcome) is kind
    assert type(exc).__name__ in outcome.message


def test_an_unreadable_success_is_not_a_success() -> None:
    assert isinstance(classify_unreadable("POST", 201), Ambiguous)
    assert isinstance(classify_unreadable("GET", 200), Transient)
