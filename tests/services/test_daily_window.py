"""Daily imports spread over the night (docs/worker.md §Tenants): each tenant at `daily_at`
plus an offset of its own within `night_window_hours`, taken from its code the same way in
every process; its keep-alive at the same moment."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from exact_tui.secret_store import open_secret_store
from exact_tui.services.export import ExportOptions
from exact_tui.services.runtime import LinkOptions, WorkerSetup, build_worker
from exact_tui.services.worker import WorkerOptions, daily_offset, last_daily_slot, next_daily_slot
from exact_tui.store.engine import Store
from exact_tui.store.models import SyncRequest, Tenant
from tests.connection.kit import secret_env

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
CODES = ("default", "bee", "cee")


class SteppedClock:
    def __init__(self, now: dt.datetime) -> None:
        self.current = now

    def now(self) -> dt.datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.current += dt.timedelta(seconds=seconds)


def test_an_offset_is_the_same_in_every_process_and_falls_in_the_window() -> None:
    codes = [f"tenant-{n}" for n in range(200)]
    here = [daily_offset(code, 3).total_seconds() for code in codes]
    # Python's own hash() of a string changes with PYTHONHASHSEED: the offset must not.
    script = (
        "from exact_tui.services.worker import daily_offset\n"
        f"print([daily_offset(c, 3).total_seconds() for c in {codes!r}])"
    )
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", script],
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out.strip() == str(here)
    assert all(0 <= s < 3 * 3600 for s in here)
    # Spread over the window, not bunched: every half hour of it has some.
    assert {int(s // 1800) for s in here} == set(range(6))
    assert daily_offset("acme", 0) == dt.timedelta(0)


def test_slots_follow_the_local_time_and_the_offset() -> None:
    offset = dt.timedelta(hours=2, minutes=30)
    # 23:00 + 2h30 is 01:30 the next day: at 00:30 the last slot is the night before's.
    now = dt.datetime(2026, 11, 22, 0, 30, tzinfo=AMSTERDAM)
    last = last_daily_slot(now, dt.time(23, 0), "Europe/Amsterdam", offset)
    following = next_daily_slot(now, dt.time(23, 0), "Europe/Amsterdam", offset)
    assert last.astimezone(AMSTERDAM) == dt.datetime(2026, 11, 21, 1, 30, tzinfo=AMSTERDAM)
    assert following.astimezone(AMSTERDAM) == dt.datetime(2026, 11, 22, 1, 30, tzinfo=AMSTERDAM)


def _requests(store: Store) -> dict[int, int]:
    with store.all_tenants().read() as session:
        counts: dict[int, int] = {}
        for tenant in session.exec(
            select(SyncRequest.tenant_id).where(col(SyncRequest.trigger) == "daily")
        ):
            counts[tenant] = counts.get(tenant, 0) + 1
        return counts


def _done(store: Store) -> None:
    """Every import request has run."""
    with store.all_tenants().write() as session:
        for request in session.exec(select(SyncRequest)):
            request.state = "done"
            session.add(request)


def test_each_tenant_is_imported_at_its_own_moment_of_the_night(store: Store) -> None:
    with store.write() as session:
        session.add(Tenant(code="bee", name="Bee"))
        session.add(Tenant(code="cee", name="Cee"))
        disabled = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        session.add(Tenant(code="dee", name="Dee", disabled_at=disabled))
    ids = {t.code: t.id for t in store.tenants()}
    clock = SteppedClock(dt.datetime(2026, 11, 21, 10, 0, tzinfo=AMSTERDAM))
    options = WorkerOptions(daily_at=dt.time(3, 0), night_window_hours=3)
    setup = WorkerSetup(link=LinkOptions(), export=ExportOptions(), worker=options)
    secrets = open_secret_store("env", environ=secret_env())
    worker, _ = build_worker(store, secrets, setup, clock=clock)
    worker.schedule_daily()
    # Today's slots had all passed unseen: one request each, none for the disabled tenant.
    assert _requests(store) == {ids[c]: 1 for c in CODES}
    _done(store)
    night = dt.datetime(2026, 11, 22, 3, 0, tzinfo=AMSTERDAM)
    moments = sorted((night + daily_offset(code, 3), code) for code in CODES)
    assert moments[0][0] < moments[-1][0], "not all at once"
    expected = {ids[c]: 1 for c in CODES}
    for moment, code in moments:
        clock.current = moment - dt.timedelta(seconds=1)
        worker._daily_due()
        assert _requests(store) == expected, f"{code} asked for before its moment"
        clock.current = moment
        worker._daily_due()
        worker._daily_due()
        expected[ids[code]] += 1
        assert _requests(store) == expected, f"{code} not asked for once at its moment"
        # Its keep-alive is due then too.
        assert worker._keep_alive_due[-1] == ids[code]


def test_a_tenant_that_cannot_import_gets_one_daily_request_not_one_a_day(store: Store) -> None:
    """A tenant waiting for a Reconnect (or not connected yet) runs no import: its daily
    request waits. The next nights add none beside it, or the Reconnect would set off an
    import for every day it waited."""
    with store.write() as session:
        session.add(Tenant(code="bee", name="Bee"))
    clock = SteppedClock(dt.datetime(2026, 11, 21, 10, 0, tzinfo=AMSTERDAM))
    options = WorkerOptions(daily_at=dt.time(3, 0), night_window_hours=3)
    setup = WorkerSetup(link=LinkOptions(), export=ExportOptions(), worker=options)
    secrets = open_secret_store("env", environ=secret_env())
    worker, _ = build_worker(store, secrets, setup, clock=clock)
    worker.schedule_daily()
    assert set(_requests(store).values()) == {1}
    for day in range(22, 26):
        clock.current = dt.datetime(2026, 11, day, 7, 0, tzinfo=AMSTERDAM)
        worker._daily_due()
        if day == 24:
            # A worker started meanwhile asks for none either.
            restarted, _ = build_worker(store, secrets, setup, clock=clock)
            restarted.schedule_daily()
    assert set(_requests(store).values()) == {1}
    # Once its request has run, the next night asks again.
    _done(store)
    clock.current = dt.datetime(2026, 11, 26, 7, 0, tzinfo=AMSTERDAM)
    worker._daily_due()
    assert set(_requests(store).values()) == {2}


def test_a_worker_restarted_mid_window_on_a_dst_night_asks_for_no_second_import(
    store: Store,
) -> None:
    """The night clocks go back (Europe/Amsterdam, 25 October 2026): a worker stops half-way
    through the window and another starts; each tenant is asked for once that night."""
    codes = [f"t-{n}" for n in range(12)]
    with store.write() as session:
        for code in codes:
            session.add(Tenant(code=code, name=code))
    clock = SteppedClock(dt.datetime(2026, 10, 24, 12, 0, tzinfo=AMSTERDAM))
    options = WorkerOptions(daily_at=dt.time(2, 30), night_window_hours=3)
    setup = WorkerSetup(link=LinkOptions(), export=ExportOptions(), worker=options)
    secrets = open_secret_store("env", environ=secret_env())
    worker, _ = build_worker(store, secrets, setup, clock=clock)
    worker.schedule_daily()
    before = _requests(store)
    _done(store)
    night = dt.datetime(2026, 10, 25, 0, 0, tzinfo=dt.UTC)
    half = night + dt.timedelta(hours=2)
    while clock.current < half:
        clock.current += dt.timedelta(minutes=5)
        worker._daily_due()
    restarted, _ = build_worker(store, secrets, setup, clock=clock)
    restarted.schedule_daily()
    while clock.current < night + dt.timedelta(hours=8):
        clock.current += dt.timedelta(minutes=5)
        restarted._daily_due()
    after = _requests(store)
    assert {t: after[t] - before.get(t, 0) for t in after} == {t: 1 for t in after}
    assert len(after) == len(codes) + 1


def test_a_tenant_added_as_another_tenants_moment_passes_loses_no_import(store: Store) -> None:
    """The heartbeat reads the tenants again when one is added (or disabled): a tenant whose
    moment had just come, not yet looked at by the poll, is still asked for that night."""
    with store.write() as session:
        session.add(Tenant(code="bee", name="Bee"))
    ids = {t.code: t.id for t in store.tenants()}
    clock = SteppedClock(dt.datetime(2026, 11, 21, 10, 0, tzinfo=AMSTERDAM))
    options = WorkerOptions(daily_at=dt.time(3, 0), night_window_hours=3)
    setup = WorkerSetup(link=LinkOptions(), export=ExportOptions(), worker=options)
    secrets = open_secret_store("env", environ=secret_env())
    worker, _ = build_worker(store, secrets, setup, clock=clock)
    worker.schedule_daily()
    _done(store)
    moment = dt.datetime(2026, 11, 22, 3, 0, tzinfo=AMSTERDAM) + daily_offset("bee", 3)
    clock.current = moment + dt.timedelta(seconds=1)
    with store.write() as session:
        session.add(Tenant(code="new", name="New"))
    worker._read_tenants()  # the heartbeat, before the poll looked at bee's moment
    worker._daily_due()
    assert _requests(store)[ids["bee"]] == 2, "bee's import of the night asked for"
