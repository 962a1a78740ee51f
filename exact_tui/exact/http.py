"""The Exact Online REST client: one async httpx client per connection.

Every call goes through one path: the endpoint's error budget is checked, the division's rate
budget paced, the bearer token fetched from a `TokenSource`, the answer's rate-limit headers
recorded, one line written to the request log, and any failure turned into a typed outcome by
`exact.errors`. One division's calls are sequential; divisions run concurrently.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import ssl
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Protocol

import httpx

from exact_tui.exact import odata
from exact_tui.exact.errors import (
    ErrorBudgetSpent,
    RateLimited,
    classify_response,
    classify_transport,
    classify_unreadable,
)
from exact_tui.exact.odata import Page, Query
from exact_tui.exact.ratelimit import (
    COUNTED_STATUSES,
    BudgetRecorder,
    MemoryBudgetRecorder,
    RateState,
    after_response,
    endpoint_key,
    error_budget_until,
    pace,
    parse_rate_headers,
    server_offset,
    spend,
)

NowFn = Callable[[], dt.datetime]
Sleep = Callable[[float], Awaitable[None]]
#: Called right before a request leaves (after pacing and the token): the caller's last word
#: on whether it may (the export's fencing); it raises to stop it.
BeforeSend = Callable[[], Awaitable[None]]
#: Runs right before each request to a division leaves that has no `before_send` of its own,
#: with the division's number; raises (`Fenced`) to keep the request from leaving. A worker's
#: guard lets a request leave only while the worker holds the division (docs/worker.md
#: §Several workers).
DivisionGuard = Callable[[int], Awaitable[None]]

request_log = logging.getLogger("exact_tui.requests")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class TokenSource(Protocol):
    """Where the client gets its bearer token (the service layer's token manager)."""

    async def access_token(self) -> str:
        """A token valid now, refreshed first when it is due."""
        ...

    async def after_unauthorized(self, rejected: str) -> str:
        """A token to try once more after Exact answered 401 to `rejected`: one that another
        process saved meanwhile, or one refresh."""
        ...


def log_call(
    method: str, url: httpx.URL | str, status: int | None, ms: float, state: RateState | None
) -> None:
    """One line per call: method, path without the query string, status, time, budgets."""
    path = httpx.URL(str(url)).path
    budgets = ""
    if state is not None:
        if state.minutely is not None:
            budgets += f" minutely {state.minutely.remaining}/{state.minutely.limit or '?'}"
        if state.daily is not None:
            budgets += f" daily {state.daily.remaining}/{state.daily.limit or '?'}"
    request_log.info(
        "%s %s %s %dms%s", method, path, status if status is not None else "---", ms, budgets
    )


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS settings of every client to Exact in this process, built once: httpx's own
    (the CA bundle it would load, SSL_CERT_FILE honoured), shared instead of loaded again for
    each client. A worker holds a client per tenant (docs/worker.md §Tenants), and each copy
    costs about 0.9 MB and 40 ms."""
    return httpx.create_ssl_context()


class ExactClient:
    """Calls to one Exact host on behalf of one connection."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenSource,
        *,
        recorder: BudgetRecorder | None = None,
        error_threshold: int = 8,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: NowFn = utc_now,
        sleep: Sleep = asyncio.sleep,
        max_wait: float = 90.0,
        reserve: int = 5,
        margin: float = 1.0,
        guard: DivisionGuard | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._origin = _origin(httpx.URL(self.base_url))
        self._tokens = tokens
        self._recorder: BudgetRecorder = recorder or MemoryBudgetRecorder()
        self._threshold = error_threshold
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait
        self._reserve = reserve
        self._margin = margin
        self._guard = guard
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            verify=tls_context(),
            headers={"Accept": "application/json"},
            follow_redirects=False,
        )
        self._states: dict[int, RateState] = {}
        #: Divisions whose budget is read from the recorder again before their next call.
        self._stale: set[int] = set()
        self._locks: dict[int, asyncio.Lock] = {}
        #: Seconds Exact's clock is ahead of ours, as its `Date` headers say (rate-limit resets
        #: are its times).
        self.clock_offset = 0.0
        #: Requests sent per division (0 for calls outside a division), for run records and
        #: the benchmarks' call counts.
        self.calls: Counter[int] = Counter()

    async def __aenter__(self) -> ExactClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def rate_state(self, division: int) -> RateState:
        return self._states.get(division, RateState())

    def forget_rate(self, division: int) -> None:
        """Read the division's budget from the recorder again before its next request: another
        process may have spent it since (a division that moved between workers). A call
        already under way keeps the state it has; the next one reads it again."""
        self._stale.add(division)

    # ------------------------------------------------------------ the calls

    async def current_me(self) -> dict[str, Any]:
        """`current/Me`: the user the tokens belong to."""
        page = odata.unwrap(await self.send("GET", None, "/api/v1/current/Me"))
        if not page.rows:
            raise odata.ODataError("current/Me returned no user")
        return page.rows[0]

    async def get_page(self, division: int, path: str, query: Query | None = None) -> Page:
        body = await self.send("GET", division, _path(division, path), params=_params(query))
        return odata.unwrap(body)

    async def iter_rows(
        self, division: int, path: str, query: Query | None = None, *, max_pages: int = 10_000
    ) -> AsyncIterator[dict[str, Any]]:
        """Every row, following `d.__next` verbatim until Exact sends none."""
        page = await self.get_page(division, path, query)
        pages = 1
        while True:
            for row in page.rows:
                yield row
            if not page.next_url:
                return
            if pages >= max_pages:
                raise odata.ODataError(f"{path}: more than {max_pages} pages")
            page = odata.unwrap(await self.send("GET", division, self._next(page.next_url)))
            pages += 1

    async def get_all(
        self, division: int, path: str, query: Query | None = None
    ) -> list[dict[str, Any]]:
        return [row async for row in self.iter_rows(division, path, query)]

    async def post(
        self,
        division: int,
        path: str,
        body: Mapping[str, Any],
        *,
        before_send: BeforeSend | None = None,
    ) -> dict[str, Any]:
        """Create an entity; Exact answers 201 with it (`Prefer: return=representation`).
        `before_send` runs right before each time the request leaves."""
        answer = await self.send(
            "POST",
            division,
            _path(division, path),
            body=odata.dumps(body),
            before_send=before_send,
        )
        rows = odata.unwrap(answer).rows
        return rows[0] if rows else {}

    async def send(
        self,
        method: str,
        division: int | None,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        before_send: BeforeSend | None = None,
    ) -> Any:
        """One call with its budgets, token and outcome; returns the decoded JSON (None when
        the answer has no body). Right before the request leaves (each time, a retry too),
        `before_send` runs, or else the client's division guard."""
        key = division if division is not None else 0
        endpoint = endpoint_key(httpx.URL(url).path)
        async with self._locks.setdefault(key, asyncio.Lock()):
            if key not in self._states or key in self._stale:
                self._stale.discard(key)
                saved = await asyncio.to_thread(self._recorder.load_rate, key)
                self._states[key] = saved or RateState()
            refreshed = rate_limited = False
            while True:
                await self._check_error_budget(key, endpoint)
                await self._wait_for_budget(key)
                token = await self._tokens.access_token()
                if before_send is not None:
                    await before_send()
                elif self._guard is not None and division is not None:
                    await self._guard(division)
                response = await self._send_once(method, key, url, params, body, token)
                status = response.status_code
                if status in COUNTED_STATUSES:
                    await asyncio.to_thread(
                        self._recorder.record_error, key, endpoint, status, self._clock()
                    )
                if status == 401 and not refreshed:
                    # One refresh and the same request (docs/exact-api.md §OAuth); a second 401 is
                    # final.
                    refreshed = True
                    await self._tokens.after_unauthorized(token)
                    continue
                if status == 429 and not rate_limited:
                    # The 429 set blocked_until; the pacing waits for it, or refuses if too long.
                    rate_limited = True
                    continue
                error = classify_response(
                    method,
                    status,
                    response.headers,
                    response.text,
                    rate_limit_until=self._states[key].blocked_until or self._clock(),
                )
                if error is not None:
                    raise error
                return _decode(method, response)

    # ------------------------------------------------------------ the parts of a call

    async def _send_once(
        self,
        method: str,
        key: int,
        url: str,
        params: Mapping[str, str] | None,
        body: bytes | None,
        token: str,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if method.upper() == "POST":
            # Without it Exact answers a POST with most fields null
            # (docs/exact-api.md §Requests and answers).
            headers["Prefer"] = "return=representation"
        sent_at = self._clock()
        self._states[key] = spend(self._states[key], now=sent_at)
        self.calls[key] += 1
        started = time.perf_counter()
        try:
            response = await self._http.request(
                method, url, params=params, content=body, headers=headers
            )
        except httpx.TransportError as exc:
            log_call(method, url, None, (time.perf_counter() - started) * 1000, None)
            raise classify_transport(method, exc) from exc
        elapsed = (time.perf_counter() - started) * 1000
        received_at = self._clock()
        offset = server_offset(response.headers, sent_at=sent_at, received_at=received_at)
        # `Date` has whole seconds: a new estimate within a second of the last is noise.
        if offset is not None and abs(offset - self.clock_offset) > 1.0:
            self.clock_offset = offset
        state = after_response(
            self._states[key],
            parse_rate_headers(response.headers, offset=self.clock_offset),
            status=response.status_code,
            now=received_at,
        )
        self._states[key] = state
        if key:
            await asyncio.to_thread(self._recorder.save_rate, key, state)
        log_call(method, response.request.url, response.status_code, elapsed, state)
        return response

    async def _check_error_budget(self, key: int, endpoint: str) -> None:
        now = self._clock()
        errors = await asyncio.to_thread(
            self._recorder.recent_errors, key, endpoint, now - dt.timedelta(hours=1)
        )
        until = error_budget_until(errors, now=now, threshold=self._threshold)
        if until is not None:
            raise ErrorBudgetSpent(
                endpoint, until=until, count=len(errors), threshold=self._threshold
            )

    async def _wait_for_budget(self, key: int) -> None:
        now = self._clock()
        decision = pace(self._states[key], now=now, reserve=self._reserve, margin=self._margin)
        if decision.daily_until is not None:
            raise RateLimited(
                f"the daily budget of calls to division {key} is spent until "
                f"{decision.daily_until:%Y-%m-%d %H:%M} UTC",
                until=decision.daily_until,
                scope="daily",
            )
        if decision.wait > self._max_wait:
            until = now + dt.timedelta(seconds=decision.wait)
            raise RateLimited(
                f"{decision.why}: no calls to division {key} until {until:%H:%M:%S} UTC",
                until=until,
                scope="minutely",
            )
        if decision.wait > 0:
            await self._sleep(decision.wait)

    def _next(self, url: str) -> str:
        # `__next` is absolute; follow it only on our own host so the bearer token never
        # goes anywhere else.
        if _origin(httpx.URL(url)) != self._origin:
            raise odata.ODataError(f"__next points to another host: {httpx.URL(url).host}")
        return url


def _decode(method: str, response: httpx.Response) -> Any:
    if not response.content.strip():
        return None
    try:
        return odata.loads(response.content)
    except odata.ODataError:
        raise classify_unreadable(method, response.status_code) from None


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host.lower(), url.port)


def _path(division: int, path: str) -> str:
    return f"/api/v1/{int(division)}/{path.lstrip('/')}"


def _params(query: Query | None) -> dict[str, str] | None:
    return query.params() if query is not None else None
