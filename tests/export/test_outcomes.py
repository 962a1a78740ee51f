"""What each answer (or lack of one) from Exact does to a job, and beyond it: refreshes,
rate limits, refusals, the error budget, pauses and disconnects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import select

from exact_tui.domain.states import Category, ConnectionStatus, JobState
from exact_tui.services.audit import Actor
from exact_tui.services.connection import ConnectionService
from exact_tui.services.export.api import ExactApi
from exact_tui.services.intents import Intents
from exact_tui.store.models import Customer, Division, ExactConnection
from exact_tui.store.scoping import tenant_key
from tests.connection.kit import World
from tests.export.kit import (
    BE,
    IBAN_BE,
    NL,
    ExportWorld,
    customer,
    export_world,
    invoice,
)

SALES = "salesentry/SalesEntries"


def _connection(xw: ExportWorld) -> ExactConnection:
    with xw.store.read() as session:
        conn = session.get(ExactConnection, tenant_key(session))
    assert conn is not None
    return conn


async def test_a_401_mid_batch_gets_one_refresh_and_the_batch_goes_on(world: World) -> None:
    # Our clock runs 40 s behind Exact's: for us the token still lives when Exact refuses it.
    async with export_world(world, lag=40) as xw:
        xw.ingest(customers=[customer("5")], invoices=[invoice(f"INV-{n}", "5") for n in (1, 2)])
        await xw.run()
        xw.sandbox.advance(605)
        xw.ingest(invoices=[invoice(f"INV-{n}", "5") for n in (3, 4)])
        await xw.run()
        assert set(xw.states().values()) == {JobState.POSTED}
        assert xw.calls(SALES, status=401) == 1 and xw.calls(SALES, status=201) == 4
        assert world.token_calls(200) == 1
        assert xw.ledger()["duplicate_your_refs"] == []


async def test_a_429_waits_for_the_reset_inside_the_attempt(xw: ExportWorld) -> None:
    xw.sandbox.set_faults({"faults": [{"endpoint": SALES, "kind": "rate_limit_storm", "count": 1}]})
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-1", "5")])
    await xw.run()
    assert xw.job("INV-1").state is JobState.POSTED
    assert xw.calls(SALES, status=429) == 1 and xw.calls(SALES, status=201) == 1


async def test_429s_that_go_on_send_the_job_back_to_pending_until_the_reset(
    xw: ExportWorld,
) -> None:
    xw.sandbox.set_faults({"faults": [{"endpoint": SALES, "kind": "rate_limit_storm", "count": 2}]})
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-1", "5"), invoice("INV-2", "5")])
    await xw.run()
    job = xw.job("INV-1")
    assert (job.state, job.category, job.last_http_status) == (
        JobState.PENDING,
        Category.RATE_LIMIT,
        429,
    )
    assert job.next_attempt_at is not None and job.next_attempt_at > xw.world.now()
    # The division waits as a whole: the second invoice was not tried.
    assert xw.job("INV-2").attempts == 0 and xw.service.due_divisions() == []
    xw.sandbox.advance((job.next_attempt_at - xw.world.now()).total_seconds())
    await xw.run()
    assert set(xw.states().values()) == {JobState.POSTED}
    assert xw.calls(SALES, status=429) == 2


async def test_a_refusal_fails_with_exacts_message_and_is_not_tried_again(
    xw: ExportWorld,
) -> None:
    xw.sandbox.block_gl_account(NL, "8010")  # blocked in Exact after the import
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-1", "5")])
    await xw.run(advance=600)
    job = xw.job("INV-1")
    assert (job.state, job.category, job.last_http_status) == (
        JobState.FAILED,
        Category.VALIDATION,
        500,
    )
    assert job.last_error == "Ongeldig: Grootboekrekening (Geblokkeerd)"
    (failed,) = [e for e in xw.events("INV-1") if e.outcome == "failed"]
    assert failed.level == "error" and failed.request is not None
    assert xw.calls(SALES) == 1


async def test_the_error_budget_stops_an_endpoint_and_not_the_others(world: World) -> None:
    async with export_world(world, error_threshold=3) as xw:
        numbers = [f"BAD-{n}" for n in range(4)]
        xw.ingest(
            customers=[customer(n) for n in [*numbers, "5"]],
            invoices=[invoice(f"INV-{n}", n) for n in numbers],
        )
        with xw.store.write() as session:
            for row in session.exec(select(Customer).where(Customer.number.in_(numbers))):  # type: ignore[attr-defined]
                row.vat_number = row.vat_normalised = "NL123456789B99"
                session.add(row)
        await xw.run()
        states = {n: xw.job(f"INV-{n}") for n in numbers}
        assert [states[n].state for n in numbers] == [JobState.FAILED] * 3 + [JobState.PENDING]
        stopped = states["BAD-3"]
        assert stopped.category is Category.RATE_LIMIT
        assert stopped.cause == (
            "calls to crm/Accounts in division 101001 stopped: too many refused calls in the "
            "last hour"
        )
        assert stopped.next_attempt_at is not None
        assert xw.calls("crm/Accounts", status=400) == 3
        assert xw.calls("crm/Accounts") == 6  # three live checks and three refusals, no more
        # Other endpoints carry on.
        xw.ingest(invoices=[invoice("INV-OK", "5")])
        await xw.run()
        assert xw.job("INV-OK").state is JobState.POSTED


async def test_a_spent_daily_budget_pauses_that_division_until_the_reset(
    xw: ExportWorld,
) -> None:
    xw.sandbox.set_limits(daily=2)
    xw.ingest(
        customers=[customer("5")],
        invoices=[
            *(invoice(f"INV-{n}", "5") for n in range(3)),
            invoice("INV-BE", "5", bank_account=IBAN_BE),
        ],
    )
    await xw.run()
    job = xw.job("INV-2")
    assert (job.state, job.category) == (JobState.PENDING, Category.RATE_LIMIT)
    assert job.cause == "daily API budget of division 101001 spent: waits for the reset"
    assert job.next_attempt_at is not None
    assert job.next_attempt_at.date() > xw.world.now().date() or job.next_attempt_at.hour == 0
    assert xw.job("INV-BE").state is JobState.POSTED  # BE's budget is its own
    assert NL not in xw.service.due_divisions()
    assert xw.calls(SALES, division=NL) == 2


async def test_refused_tokens_pause_exports_until_a_reconnect(xw: ExportWorld) -> None:
    xw.ingest(customers=[customer("5")], invoices=[invoice("INV-1", "5"), invoice("INV-2", "5")])
    xw.sandbox.revoke_tokens()
    xw.sandbox.advance(600)  # the access token is due for a refresh, which Exact refuses
    await xw.run()
    job = xw.job("INV-1")
    assert (job.state, job.category) == (JobState.PENDING, Category.AUTH)
    assert xw.job("INV-2").attempts == 0
    conn = _connection(xw)
    assert conn.status is ConnectionStatus.RECONNECT
    assert xw.service.paused_reason() is not None and xw.service.due_divisions() == []
    assert await xw.service.process_next(NL, "w") is False
    assert xw.ledger()["sales_entries"] == []


async def test_no_access_to_a_division_stops_it_until_a_person_retries(
    xw: ExportWorld,
) -> None:
    xw.sandbox.withdraw_consent(BE)
    xw.ingest(
        customers=[customer("5")],
        invoices=[
            invoice("BE-1", "5", bank_account=IBAN_BE),
            invoice("BE-2", "5", bank_account=IBAN_BE),
        ],
    )
    await xw.run()
    job = xw.job("BE-1")
    assert (job.state, job.category, job.last_http_status) == (
        JobState.FAILED,
        Category.ACCESS,
        403,
    )
    assert xw.job("BE-2").state is JobState.PENDING and xw.job("BE-2").attempts == 0
    with xw.store.read() as session:
        division = session.get(Division, tenant_key(session, BE))
    assert division is not None and not division.accessible
    assert BE not in xw.service.due_divisions()
    xw.sandbox.set_consent([NL, BE])
    Intents(xw.store, Actor("ops", "cli"), clock=xw.world).retry(job.id or 0)
    await xw.run()
    assert xw.states() == {"BE-1": JobState.POSTED, "BE-2": JobState.POSTED}


class _DisconnectOnPost:
    """The operator disconnects while a job is claimed, before its request leaves."""

    def __init__(self, inner: ExactApi, store: Any, clock: Any) -> None:
        self.inner = inner
        self.service = ConnectionService(store, clock=clock)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def post(
        self, division: int, path: str, body: Mapping[str, Any], **kw: Any
    ) -> dict[str, Any]:
        self.service.disconnect(Actor("ops", "tui"))
        return await self.inner.post(division, path, body, **kw)


async def test_disconnect_stops_exports_at_once(xw: ExportWorld) -> None:
    xw.ingest(customers=[customer("5")], invoices=[invoice(f"INV-{n}", "5") for n in range(3)])
    xw.client = _DisconnectOnPost(xw.session.client, xw.store, xw.world.now)  # type: ignore[assignment]
    await xw.run()
    job = xw.job("INV-0")
    # Claimed when the tokens went: nothing was sent, the job waits; nothing else was claimed.
    assert (job.state, job.category) == (JobState.PENDING, Category.AUTH)
    assert [xw.job(f"INV-{n}").attempts for n in range(3)] == [1, 0, 0]
    assert xw.sandbox.calls.count() == 0
    assert _connection(xw).status is ConnectionStatus.INACTIVE
    assert xw.service.due_divisions() == []
    assert await xw.service.process_next(NL, "w") is False


async def test_a_refused_young_token_holds_every_division_until_a_reconnect(
    xw: ExportWorld,
) -> None:
    xw.ingest(
        customers=[customer("5")],
        invoices=[
            invoice("NL-1", "5"),
            invoice("NL-2", "5"),
            invoice("BE-1", "5", bank_account=IBAN_BE),
        ],
    )
    # Exact refuses the access token but not the grant, and gives no new token before its
    # 570 s mark.
    for record in xw.sandbox.oauth.access.values():
        record.revoked = True
    await xw.run()
    job = xw.job("NL-1")
    assert (job.state, job.category, job.next_attempt_at) == (JobState.PENDING, Category.AUTH, None)
    assert job.cause is not None and "or reconnect now" in job.cause
    # One refused call and one early refresh, not one per job: the error budget is spared.
    assert xw.sandbox.calls.count(status=401) == 1
    assert xw.world.token_calls(400) == 1
    assert xw.service.due_divisions() == []
    await xw.world.connect()  # the operator reconnects: a new token in the store
    await xw.run()
    assert set(xw.states().values()) == {JobState.POSTED}


async def test_a_revoked_grant_asks_for_a_reconnect_and_the_jobs_wait_for_it(
    xw: ExportWorld,
) -> None:
    xw.ingest(customers=[customer("5")], invoices=[invoice("NL-1", "5"), invoice("NL-2", "5")])
    xw.sandbox.revoke_tokens()  # consent withdrawn in Exact
    await xw.run()
    assert _connection(xw).status is ConnectionStatus.RECONNECT
    assert xw.service.paused_reason() is not None
    assert set(xw.states().values()) == {JobState.PENDING}
    assert xw.sandbox.calls.count(status=401) == 1 and xw.world.token_calls(400) == 1
    await xw.world.connect()
    await xw.run()
    assert set(xw.states().values()) == {JobState.POSTED}
