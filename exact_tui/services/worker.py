"""`exact-tui worker`: the processes that call Exact (docs/architecture.md §Parts).

A worker keeps a heartbeat, turns sync requests and export jobs into work, serves several
divisions at once while keeping each division's requests in sequence (one lane per division),
and stops cleanly: on SIGTERM/SIGINT no new request starts, what is in flight finishes, its
divisions are released and the heartbeat says it stopped. Several workers, on several hosts,
share one store (docs/worker.md §Several workers): each exports only the divisions whose lease
it holds (`services.ownership`), a fair share of the busy ones, renewed with each heartbeat.
A worker whose heartbeat went stale (a kill -9, a lost host) is dead to the others: its
divisions are taken over once their leases run out, and its claims are handed to the export
state machine (in_flight → unknown), which settles them by lookup before re-sending.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from exact_tui.domain.text import cut
from exact_tui.services import ownership
from exact_tui.services.clock import Clock, SystemClock
from exact_tui.store.engine import Store
from exact_tui.store.failures import StorageFailure, store_failure
from exact_tui.store.models import SyncRequest, WorkerHeartbeat, width

log = logging.getLogger("exact_tui.worker")


@dataclass(frozen=True)
class WorkerOptions:
    poll_seconds: float = 0.5
    #: How often the worker writes its heartbeat and renews (and rebalances) its divisions.
    heartbeat_seconds: float = 5.0
    #: How long a division's lease holds without renewal; a worker whose heartbeat is older
    #: than this is dead to the others (docs/worker.md §Several workers).
    lease_seconds: float = 30.0
    daily_at: dt.time = dt.time(3, 0)
    timezone: str = "Europe/Amsterdam"
    #: After a storage error (full disk, read-only or damaged store) the worker waits this long,
    #: doubling up to the cap, before it tries again.
    storage_backoff_seconds: float = 5.0
    storage_backoff_cap_seconds: float = 300.0


class StorageUnavailable(Exception):
    """`--until-idle` stopped because the store cannot be written; the message says why."""


class SyncInterrupted(Exception):
    """The worker is stopping: the import stopped between two steps, consistent, and its
    request goes back to the queue."""


@dataclass(frozen=True)
class SyncRequestInfo:
    id: int
    division: int | None
    trigger: str
    requested_by: str


class Lanes:
    """One lock per division: a division's requests go out one at a time, whatever asks."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}

    def lock(self, division: int) -> asyncio.Lock:
        return self._locks.setdefault(division, asyncio.Lock())


class SyncRunner(Protocol):
    def ready(self) -> bool:
        """Whether imports can run now (connected); requests wait until then."""
        ...

    async def run(self, request: SyncRequestInfo, lanes: Lanes, stop: asyncio.Event) -> str:
        """Import what the request asks for; return a one-line result. Raises on failure, and
        `SyncInterrupted` when `stop` was set before it finished."""
        ...


@dataclass(frozen=True)
class WorkLeft:
    """Why jobs are still open when the worker goes idle. `blocked`: nothing moves until a
    person acts (exports paused, the connection unusable); otherwise they wait for a time."""

    message: str
    blocked: bool = False


class ExportRunner(Protocol):
    def recover(self, dead_owners: set[str]) -> int:
        """Jobs claimed by workers that died: hand them to the state machine (→ unknown)."""
        ...

    def prepare(self) -> None:
        """The local part of the pipeline, in batches: routing, history, preflight."""
        ...

    def due_divisions(self) -> list[int]:
        """Divisions with jobs that may be sent now (nothing when exports are paused)."""
        ...

    def busy_divisions(self) -> list[int]:
        """Divisions with open jobs, due now or later: those worth owning."""
        ...

    def division_taken(self, division: int) -> None:
        """This worker now holds `division`: its rate state is to be read again."""
        ...

    async def process_next(self, division: int, owner: str) -> bool:
        """Claim and send one due job of the division; False when there was none."""
        ...

    def work_left(self) -> WorkLeft | None:
        """Why open jobs are not due now, or None when there are none."""
        ...


class ReconcileRunner(Protocol):
    def claim(self, worker_id: str) -> int | None:
        """A waiting reconciliation run, now this worker's; None when none waits."""
        ...

    def release(self, dead: set[str]) -> None:
        """Runs the dead workers left running wait again."""
        ...

    async def run(self, run_id: int, lanes: Lanes, stop: asyncio.Event) -> None:
        """Do the run, in each division's lane; its result is kept with it."""
        ...


def last_daily_slot(now: dt.datetime, at: dt.time, zone: str) -> dt.datetime:
    """The most recent moment (UTC) at or before `now` when the daily import was due."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    slot = dt.datetime.combine(local.date(), at, tzinfo=tz)
    if slot > local:
        slot = dt.datetime.combine(local.date() - dt.timedelta(days=1), at, tzinfo=tz)
    return slot.astimezone(dt.UTC)


@dataclass
class Worker:
    store: Store
    sync: SyncRunner
    export: ExportRunner
    options: WorkerOptions = field(default_factory=WorkerOptions)
    clock: Clock = field(default_factory=SystemClock)
    #: Called once a day (token keep-alive); failures are logged, never fatal.
    daily_maintenance: Callable[[], Awaitable[None]] | None = None
    worker_id: str = ""
    #: Reconciliation runs (asked for, or queued after the daily import), when configured.
    reconcile: ReconcileRunner | None = None

    def __post_init__(self) -> None:
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.started_at = self.clock.now()
        if not self.worker_id:
            self.worker_id = f"{self.host}:{self.pid}:{int(self.started_at.timestamp())}"
        self.lanes = Lanes()
        self._stopping = asyncio.Event()
        self._division_tasks: dict[int, asyncio.Task[None]] = {}
        self._sync_task: asyncio.Task[None] | None = None
        self._reconcile_task: asyncio.Task[None] | None = None
        self._last_maintenance: dt.datetime | None = None
        #: Why the worker is waiting for the store, while it is (shown on the heartbeat).
        self.storage_problem: str | None = None
        self._storage_wait = 0.0
        self._noted_failure: StorageFailure | None = None
        #: The divisions whose lease this worker holds and serves.
        self.owned: set[int] = set()
        #: Held but being given back: released once their lane is idle.
        self._releasing: set[int] = set()
        self._table: dict[int, ownership.Lease] = {}
        self._busy: set[int] = set()
        self._live = 1
        #: Dead workers whose leftovers this worker has taken back already.
        self._handled_dead: set[str] = set()

    # ---------------------------------------------------------------- lifecycle

    def stop(self) -> None:
        """Ask the worker to stop: nothing new starts; what is in flight finishes."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)

    async def run(self, *, until_idle: bool = False) -> WorkLeft | None:
        """Work until stopped (or, with `until_idle`, until nothing is due, returning why jobs
        are left open then, None when none are). A storage error (disk full, store read-only
        or damaged) never ends a long-running worker: it waits, longer each time, says so on
        its heartbeat, and goes on when the store is usable again. With `until_idle` it stops
        at once and raises `StorageUnavailable` with the reason."""
        left: WorkLeft | None = None
        started = False
        beat: asyncio.Task[None] | None = None
        try:
            while not self.stopping:
                try:
                    if not started:
                        self._start()
                        started = True
                        beat = asyncio.create_task(self._heartbeat_loop())
                    busy = await self._tick()
                    self._raise_noted_failure()
                    self._storage_recovered()
                except Exception as exc:
                    failure = store_failure(exc, self.store.url)
                    if failure is None:
                        raise
                    if until_idle:
                        raise StorageUnavailable(str(failure)) from None
                    await self._back_off(failure)
                    continue
                if until_idle and not busy:
                    left = self.export.work_left()
                    break
                await self._pause(self.options.poll_seconds)
        finally:
            self._stopping.set()
            await self._drain()
            if beat is not None:
                beat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beat
            self._final_beat()
        return left

    def _start(self) -> None:
        self._beat("running")
        self._handled_dead = self._dead_owners(recent=False)
        self._look_after_others(self._handled_dead)
        self._rebalance()

    def _look_after_others(self, dead: set[str]) -> None:
        """What stopped or dead workers left: their divisions are free, their imports and
        reconciliation runs wait again, their jobs in flight become unknown (settled by
        lookup)."""
        if not dead:
            return
        with self.store.write() as session:
            # Their divisions are free now, not when their leases run out.
            ownership.release(session, *sorted(dead))
        self._release_sync_requests(dead)
        if self.reconcile is not None:
            self.reconcile.release(dead)
        recovered = self.export.recover(dead)
        if recovered:
            log.warning("%d job(s) left in flight by a stopped worker are now unknown", recovered)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def _final_beat(self) -> None:
        try:
            with self.store.write() as session:
                ownership.release(session, self.worker_id)
            self.owned.clear()
            self._beat("stopped")
        except Exception as exc:
            failure = store_failure(exc, self.store.url)
            if failure is None:
                raise
            # Expected while the store fails: the failure itself was reported.
            log.debug("could not record the stop on the heartbeat: %s", failure)

    # ---------------------------------------------------------------- storage errors

    def _note_failure(self, failure: StorageFailure) -> None:
        """A storage error inside a division or import task: the main loop backs off."""
        self._noted_failure = failure

    def _raise_noted_failure(self) -> None:
        failure, self._noted_failure = self._noted_failure, None
        if failure is not None:
            raise failure

    async def _back_off(self, failure: StorageFailure) -> None:
        """Wait before trying the store again, and say why on the heartbeat (if the store still
        takes that small write) and once per wait in the log, without a traceback."""
        wait = self._storage_wait or self.options.storage_backoff_seconds
        self._storage_wait = min(wait * 2, self.options.storage_backoff_cap_seconds)
        self.storage_problem = f"storage error, retrying in {wait:g} s: {failure}"
        log.warning("%s", self.storage_problem)
        try:
            self._beat("running")
        except Exception as exc:
            if store_failure(exc, self.store.url) is None:
                raise
        await self._pause(wait)

    def _storage_recovered(self) -> None:
        if self.storage_problem is None:
            return
        log.warning("the store is usable again; the worker goes on")
        self.storage_problem = None
        self._storage_wait = 0.0
        # An import interrupted by the storage error could not put its request back.
        if self._sync_task is None or self._sync_task.done():
            self._release_sync_requests({self.worker_id})
        self._beat("running")

    async def _drain(self) -> None:
        tasks = [
            t
            for t in (*self._division_tasks.values(), self._sync_task, self._reconcile_task)
            if t is not None
        ]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # ---------------------------------------------------------------- one pass

    async def _tick(self) -> bool:
        """Start what is due; True while anything is running or due."""
        self.schedule_daily()
        await self._maintenance()
        if (self._sync_task is None or self._sync_task.done()) and self.sync.ready():
            request = self._claim_sync_request()
            if request is not None:
                self._sync_task = asyncio.create_task(self._run_sync(request))
        reconciling = self._start_reconcile()
        # In a thread: routing a large batch must not hold up the heartbeat, or the other
        # workers would take this one for dead.
        await asyncio.to_thread(self.export.prepare)
        due = await asyncio.to_thread(self.export.due_divisions)
        self._take_due(due)
        for division in due:
            if division not in self.owned:
                continue
            task = self._division_tasks.get(division)
            if task is None or task.done():
                self._division_tasks[division] = asyncio.create_task(self._drain_division(division))
        self._release_idle()
        running = [t for t in self._division_tasks.values() if not t.done()]
        sync_running = self._sync_task is not None and not self._sync_task.done()
        return (
            bool(running)
            or sync_running
            or reconciling
            or (self.sync.ready() and self._has_pending_sync())
        )

    def _start_reconcile(self) -> bool:
        """Start a waiting reconciliation run (one at a time, when connected); True while
        one runs."""
        if self.reconcile is None:
            return False
        task = self._reconcile_task
        if (task is None or task.done()) and self.sync.ready():
            run_id = self.reconcile.claim(self.worker_id)
            if run_id is not None:
                runner = self.reconcile
                self._reconcile_task = asyncio.create_task(
                    runner.run(run_id, self.lanes, self._stopping)
                )
        task = self._reconcile_task
        return task is not None and not task.done()

    async def _drain_division(self, division: int) -> None:
        while not self.stopping and division in self.owned:
            async with self.lanes.lock(division):
                try:
                    sent = await self.export.process_next(division, self.worker_id)
                except Exception as exc:
                    failure = store_failure(exc, self.store.url)
                    if failure is not None:
                        self._note_failure(failure)
                    else:
                        log.exception("export in division %s failed unexpectedly", division)
                    return
            if not sent:
                return

    # ---------------------------------------------------------------- sync requests

    def _claim_sync_request(self) -> SyncRequestInfo | None:
        with self.store.write() as session:
            request = session.exec(
                select(SyncRequest)
                .where(SyncRequest.state == "pending")
                .order_by(col(SyncRequest.id))
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if request is None:
                return None
            assert request.id is not None
            request.state = "running"
            request.picked_by = self.worker_id
            request.picked_at = self.clock.now()
            session.add(request)
            return SyncRequestInfo(
                request.id, request.division, request.trigger, request.requested_by
            )

    def _release_sync_requests(self, dead: set[str]) -> None:
        """Requests a dead worker was running go back to the queue (an import is idempotent)."""
        with self.store.write() as session:
            for request in session.exec(
                select(SyncRequest)
                .where(SyncRequest.state == "running")
                .with_for_update(skip_locked=True)
            ):
                if request.picked_by is None or request.picked_by in dead:
                    request.state = "pending"
                    request.picked_by = None
                    session.add(request)

    def _has_pending_sync(self) -> bool:
        with self.store.read() as session:
            return (
                session.exec(
                    select(SyncRequest.id).where(SyncRequest.state == "pending").limit(1)
                ).first()
                is not None
            )

    async def _run_sync(self, request: SyncRequestInfo) -> None:
        try:
            result = await self.sync.run(request, self.lanes, self._stopping)
            state = "done"
        except SyncInterrupted:
            result, state = "interrupted by the worker stopping; queued again", "pending"
        except Exception as exc:
            failure = store_failure(exc, self.store.url)
            if failure is not None:
                self._note_failure(failure)
                result, state = (
                    f"interrupted by a storage error; queued again: {failure}",
                    "pending",
                )
            else:
                log.exception("sync request %d failed", request.id)
                result, state = f"{type(exc).__name__}: {exc}", "failed"
        try:
            self._finish_sync(request, result, state)
        except Exception as exc:
            failure = store_failure(exc, self.store.url)
            if failure is None:
                raise
            self._note_failure(failure)

    def _finish_sync(self, request: SyncRequestInfo, result: str, state: str) -> None:
        with self.store.write() as session:
            row = session.get(SyncRequest, request.id, with_for_update=True)
            # Not ours any more: this worker was taken for dead meanwhile and the request
            # went back to the queue (another worker may be running it).
            if row is not None and row.state == "running" and row.picked_by == self.worker_id:
                row.state = state
                row.result = cut(result, width(SyncRequest.result))
                if state == "pending":
                    row.picked_by = row.picked_at = None
                else:
                    row.finished_at = self.clock.now()
                session.add(row)

    def schedule_daily(self) -> None:
        """Insert the day's import request once, at the configured local time."""
        now = self.clock.now()
        slot = last_daily_slot(now, self.options.daily_at, self.options.timezone)
        with self.store.write() as session:
            # Two workers at the same moment: the store's write lock makes them take turns,
            # so one inserts and the other then sees it.
            seen = session.exec(
                select(SyncRequest.id)
                .where(SyncRequest.trigger.in_(("daily", "initial")))  # type: ignore[attr-defined]
                .where(col(SyncRequest.requested_at) >= slot)
                .limit(1)
            ).first()
            if seen is None:
                session.add(SyncRequest(trigger="daily", requested_by="schedule", requested_at=now))

    async def _maintenance(self) -> None:
        if self.daily_maintenance is None:
            return
        now = self.clock.now()
        if self._last_maintenance and now - self._last_maintenance < dt.timedelta(days=1):
            return
        self._last_maintenance = now
        try:
            await self.daily_maintenance()
        except Exception:
            log.exception("daily maintenance failed")

    # ---------------------------------------------------------------- heartbeat

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.options.heartbeat_seconds)
            try:
                self._beat("running")
                # Each dead worker's leftovers once (it cannot leave more while dead).
                dead = self._dead_owners(recent=True)
                self._look_after_others(dead - self._handled_dead)
                self._handled_dead = dead
                self._rebalance()
            except Exception as exc:
                failure = store_failure(exc, self.store.url)
                if failure is None:
                    raise
                self._note_failure(failure)

    def _beat(self, state: str) -> None:
        with self.store.write() as session:
            row = session.get(WorkerHeartbeat, self.worker_id)
            if row is None:
                row = WorkerHeartbeat(
                    worker_id=self.worker_id,
                    host=self.host,
                    pid=self.pid,
                    started_at=self.started_at,
                )
            row.beat_at = self.clock.now()
            row.state = state
            row.detail = cut(self.storage_problem, width(WorkerHeartbeat.detail)) or None
            session.add(row)

    def _dead_owners(self, *, recent: bool) -> set[str]:
        """Workers that stopped, whose heartbeat went stale (from any host), or, on this host,
        whose process is gone. `recent`: only those heard of in the last day (what the
        heartbeat looks at; an older one's claims have run out and are taken back anyway)."""
        now = self.clock.now()
        within = RECENT if recent else dt.timedelta(days=36500)
        with self.store.read() as session:
            dead = ownership.dead_workers(session, now, self.options.lease_seconds, within=within)
            for beat in session.exec(
                select(WorkerHeartbeat)
                .where(col(WorkerHeartbeat.host) == self.host)
                .where(col(WorkerHeartbeat.state) == ownership.RUNNING)
            ):
                if not _alive(beat.pid):
                    dead.add(beat.worker_id)
        dead.discard(self.worker_id)
        return dead

    # ---------------------------------------------------------------- divisions

    def _rebalance(self) -> None:
        """Renew the leases held, then take free busy divisions up to the fair share among
        the live workers and give back the idle ones and those over it."""
        now = self.clock.now()
        lease = self.options.lease_seconds
        busy = set(self.export.busy_divisions())
        with self.store.write() as session:
            held = ownership.renew(session, self.worker_id, now, lease)
            live = max(len(ownership.live_workers(session, now, lease)), 1)
            table = ownership.leases(session)
            self._releasing &= held
            plan = ownership.plan(
                me=self.worker_id,
                busy=busy,
                held=held - self._releasing,
                table=table,
                live=live,
                now=now,
            )
            owned = held - self._releasing
            for division in plan.take:
                if division in self._releasing:
                    self._releasing.discard(division)
                    owned.add(division)
                elif ownership.take(session, division, self.worker_id, now, lease):
                    owned.add(division)
                    self.export.division_taken(division)
        for division in plan.release:
            owned.discard(division)
            self._releasing.add(division)
        self.owned = owned
        self._busy, self._live, self._table = busy, live, table
        self._release_idle()

    def _take_due(self, due: list[int]) -> None:
        """Due divisions nobody holds are taken at once (up to the share), not at the next
        heartbeat: a lone worker serves new work within a poll."""
        now = self.clock.now()
        free = [
            d
            for d in due
            if d not in self.owned
            and d not in self._releasing
            and (d not in self._table or self._table[d].free(now))
        ]
        if not free:
            return
        share = ownership.fair_share(len(self._busy | set(due)), self._live)
        room = share - len(self.owned & (self._busy | set(due)))
        if room <= 0:
            return
        with self.store.write() as session:
            for division in free[:room]:
                if ownership.take(
                    session, division, self.worker_id, now, self.options.lease_seconds
                ):
                    self.owned.add(division)
                    self.export.division_taken(division)
                else:
                    # Another worker has it: look again at the next heartbeat.
                    until = now + dt.timedelta(seconds=self.options.lease_seconds)
                    self._table[division] = ownership.Lease(division, "another worker", until)

    def _release_idle(self) -> None:
        """Give back the divisions being released whose lane has finished its job."""
        idle = {
            d
            for d in self._releasing
            if (task := self._division_tasks.get(d)) is None or task.done()
        }
        if not idle:
            return
        with self.store.write() as session:
            ownership.release(session, self.worker_id, divisions=idle)
        self._releasing -= idle


#: How far back the heartbeat looks for dead workers to take work back from.
RECENT = dt.timedelta(days=1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
