"""`exact-tui worker`: the processes that call Exact (docs/architecture.md §Parts).

One worker serves every enabled tenant of its store (or the one tenant it was given,
docs/worker.md §Tenants). It keeps a heartbeat, turns sync requests and export jobs into work,
serves several divisions at once while keeping each division's requests in sequence (one lane
per division), and stops cleanly: on SIGTERM/SIGINT no new request starts, what is in flight
finishes, its divisions are released and the heartbeat says it stopped. Several workers, on
several hosts, share one store (docs/worker.md §Several workers): each exports only the
divisions whose lease it holds (`services.ownership`), a fair share of the busy ones, renewed
with each heartbeat. A worker whose heartbeat went stale (a kill -9, a lost host) is dead to the
others: its divisions are taken over once their leases run out, and its claims are handed to
the export state machine (in_flight → unknown), which settles them by lookup before re-sending.

A division is known by its `DivisionKey`, (tenant_id, division): two tenants that both have
division 101 never share a lane, a lease, a budget or a rate state. What is due is found by
queries across tenants that read indexes only, so an idle worker's cost does not grow with the
number of tenants; each tenant's daily import starts at `daily_at` plus a stable offset of its
own within the night window (`daily_offset`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import heapq
import logging
import os
import signal
import socket
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, text
from sqlmodel import Session, col, select

from exact_tui.domain.states import ConnectionStatus, JobState
from exact_tui.domain.text import cut
from exact_tui.exact.errors import Fenced
from exact_tui.services import ownership
from exact_tui.services.clock import Clock, SystemClock
from exact_tui.services.ownership import DivisionKey
from exact_tui.store.engine import Store, TenantStore
from exact_tui.store.failures import StorageFailure, store_failure
from exact_tui.store.models import (
    DivisionLease,
    ExactConnection,
    ExportJob,
    OAuthToken,
    SyncRequest,
    Tenant,
    WorkerHeartbeat,
    width,
)

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
    #: Each tenant's daily import starts within this many hours after `daily_at`, at an
    #: offset of its own (`daily_offset`).
    night_window_hours: float = 3.0
    #: Imports running at once, of different tenants (one at a time per tenant).
    sync_concurrency: int = 2
    #: After a storage error (full disk, read-only or damaged store) the worker waits this long,
    #: doubling up to the cap, before it tries again.
    storage_backoff_seconds: float = 5.0
    storage_backoff_cap_seconds: float = 300.0
    #: On PostgreSQL, the most this host's clock may be off the database server's (compared
    #: with every heartbeat); beyond it the worker serves nothing until the clocks agree.
    #: None: not compared (a clock of the caller's own, as in tests). The worker command sets
    #: one heartbeat (docs/worker.md §Several workers).
    max_clock_skew_seconds: float | None = None


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
    tenant_id: int | None = None


#: What a worker's lanes take before an import or a reconciliation calls a division: the
#: division's lease (docs/worker.md §Several workers).
Hold = Callable[[DivisionKey], AbstractAsyncContextManager[None]]


class Lanes:
    """One lock per (tenant, division): a division's requests go out one at a time, whatever
    asks. `of(tenant)` gives one tenant's view (`lock(division)`), sharing the locks. In a
    worker, `lock(division)` (what imports and reconciliation take) also holds the division's
    lease, so that only its holder calls it."""

    def __init__(
        self,
        tenant: int | None = None,
        locks: dict[tuple[int | None, int], asyncio.Lock] | None = None,
        hold: Hold | None = None,
    ) -> None:
        self._tenant = tenant
        self._locks: dict[tuple[int | None, int], asyncio.Lock] = {} if locks is None else locks
        self._hold = hold

    def of(self, tenant: int) -> Lanes:
        return Lanes(tenant, self._locks, self._hold)

    def lock(self, division: int) -> AbstractAsyncContextManager[None]:
        return self._held(division)

    @contextlib.asynccontextmanager
    async def _held(self, division: int) -> AsyncIterator[None]:
        if self._hold is None or self._tenant is None:
            async with self.key(self._tenant, division):
                yield
            return
        async with self._hold((self._tenant, division)), self.key(self._tenant, division):
            yield

    def key(self, tenant: int | None, division: int) -> asyncio.Lock:
        """The lane's lock alone (the worker's exports, which hold the lease already)."""
        return self._locks.setdefault((tenant, division), asyncio.Lock())


@dataclass(frozen=True)
class ReconcileClaim:
    """A reconciliation run a worker took: its tenant and id."""

    tenant_id: int
    run_id: int


class SyncRunner(Protocol):
    def ready(self) -> bool:
        """Whether this worker imports at all; a request is taken only for a tenant that is
        enabled and connected (the worker's query says which)."""
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
    """The export pipeline across the tenants a worker serves; a division is a DivisionKey."""

    def recover(self, dead_owners: set[str]) -> int:
        """Jobs claimed by workers that died: hand them to the state machine (→ unknown)."""
        ...

    def prepare(self) -> None:
        """The local part of the pipeline, in batches: routing, history, preflight."""
        ...

    def due_divisions(self) -> list[DivisionKey]:
        """Divisions with jobs that may be sent now (none of a tenant whose exports are
        paused or that is disabled)."""
        ...

    def busy_divisions(self) -> list[DivisionKey]:
        """Divisions with open jobs, due now or later: those worth owning."""
        ...

    def division_taken(self, key: DivisionKey) -> None:
        """This worker now holds the division: its rate state is to be read again."""
        ...

    async def process_next(self, key: DivisionKey, owner: str) -> bool:
        """Claim and send one due job of the division; False when there was none."""
        ...

    def work_left(self) -> WorkLeft | None:
        """Why open jobs are not due now, or None when there are none."""
        ...


class ReconcileRunner(Protocol):
    def claim(self, worker_id: str) -> ReconcileClaim | None:
        """A waiting reconciliation run of an enabled, connected tenant, now this worker's;
        None when none waits."""
        ...

    def release(self, dead: set[str]) -> None:
        """Runs the dead workers left running wait again."""
        ...

    async def run(self, claim: ReconcileClaim, lanes: Lanes, stop: asyncio.Event) -> None:
        """Do the run, in each division's lane; its result is kept with it."""
        ...


def daily_offset(code: str, window_hours: float) -> dt.timedelta:
    """How long after `daily_at` a tenant's daily import starts: a fraction of the window
    taken from a SHA-256 of its code, the same in every process and on every host (Python's
    hash() of a string is not), to the second."""
    digest = hashlib.sha256(code.encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return dt.timedelta(seconds=int(fraction * window_hours * 3600))


def last_daily_slot(
    now: dt.datetime, at: dt.time, zone: str, offset: dt.timedelta = dt.timedelta(0)
) -> dt.datetime:
    """The most recent moment (UTC) at or before `now` when the daily import was due: `at`
    local time, plus `offset`."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz).date()
    for back in range(3):
        day = local - dt.timedelta(days=back)
        slot = dt.datetime.combine(day, at, tzinfo=tz).astimezone(dt.UTC) + offset
        if slot <= now:
            return slot
    raise AssertionError("a daily slot is at most two days back")  # pragma: no cover


def next_daily_slot(
    now: dt.datetime, at: dt.time, zone: str, offset: dt.timedelta = dt.timedelta(0)
) -> dt.datetime:
    """The first moment (UTC) after `now` when the daily import is due."""
    tz = ZoneInfo(zone)
    local = last_daily_slot(now, at, zone, offset).astimezone(tz).date()
    for ahead in range(4):
        day = local + dt.timedelta(days=ahead)
        slot = dt.datetime.combine(day, at, tzinfo=tz).astimezone(dt.UTC) + offset
        if slot > now:
            return slot
    raise AssertionError("a daily slot is at most three days ahead")  # pragma: no cover


@dataclass
class Worker:
    store: Store
    sync: SyncRunner
    export: ExportRunner
    options: WorkerOptions = field(default_factory=WorkerOptions)
    clock: Clock = field(default_factory=SystemClock)
    #: Called for each connected tenant once a day at its slot, and at start for a tenant
    #: whose token was not refreshed for a day (the token keep-alive); failures are logged,
    #: never fatal.
    keep_alive: Callable[[int], Awaitable[None]] | None = None
    worker_id: str = ""
    #: Reconciliation runs (asked for, or queued after the daily import), when configured.
    reconcile: ReconcileRunner | None = None
    #: Told the tenants served whenever they change (a tenant added, disabled or removed), so
    #: that what was built for one no longer served is dropped.
    tenants_changed: Callable[[set[int]], Coroutine[Any, Any, None]] | None = None

    def __post_init__(self) -> None:
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.started_at = self.clock.now()
        if not self.worker_id:
            self.worker_id = f"{self.host}:{self.pid}:{int(self.started_at.timestamp())}"
        self.lanes = Lanes(hold=self._hold)
        #: Divisions an import or a reconciliation is calling: kept while they do.
        self._pinned: Counter[DivisionKey] = Counter()
        #: Tenants with an import or a reconciliation waiting for a division another worker
        #: holds: how many divisions each waits for.
        self._waiting: Counter[int] = Counter()
        #: Every query across tenants goes through this store; `only` is the one tenant
        #: served when the worker was given a tenant's store.
        self._fleet = self.store.root.all_tenants()
        self.only: int | None = (
            self.store.tenant_id if isinstance(self.store, TenantStore) else None
        )
        #: The tenants served (enabled): id → code. Read at start and with each heartbeat.
        self.tenants: dict[int, str] = {}
        self._stopping = asyncio.Event()
        self._division_tasks: dict[DivisionKey, asyncio.Task[None]] = {}
        #: Imports running, one per tenant at most.
        self._sync_tasks: dict[int, asyncio.Task[None]] = {}
        self._reconcile_task: asyncio.Task[None] | None = None
        self._keep_alive_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        #: Tenants whose keep-alive is due, waiting for the keep-alive task.
        self._keep_alive_due: list[int] = []
        #: (next daily slot, tenant): the earliest is all an idle poll looks at.
        self._slots: list[tuple[dt.datetime, int]] = []
        #: Why the worker is waiting for the store, while it is (shown on the heartbeat).
        self.storage_problem: str | None = None
        #: Why the worker serves nothing, while this host's clock is off the database's.
        self.clock_problem: str | None = None
        self._storage_wait = 0.0
        self._noted_failure: StorageFailure | None = None
        #: The divisions whose lease this worker holds and serves.
        self.owned: set[DivisionKey] = set()
        #: Held but being given back: released once their lane is idle.
        self._releasing: set[DivisionKey] = set()
        self._table: dict[DivisionKey, ownership.Lease] = {}
        self._busy: set[DivisionKey] = set()
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
                        if not self._start():
                            # This host's clock is off: nothing is taken back or served.
                            if until_idle:
                                raise StorageUnavailable(self.clock_problem or "")
                            await self._pause(self.options.heartbeat_seconds)
                            continue
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
                await self._pause(self._wait())
        finally:
            self._stopping.set()
            await self._drain()
            if beat is not None:
                beat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beat
            self._final_beat()
        return left

    def _start(self) -> bool:
        """The start: False (and nothing done but the heartbeat) while this host's clock is
        off the database's, for then it would take live workers for dead."""
        self._beat("running")
        if self.clock_problem is not None:
            return False
        self._read_tenants()
        self._handled_dead = self._dead_owners(recent=False)
        self._look_after_others(self._handled_dead)
        self._forget_gone()
        self._rebalance()
        self.schedule_daily()
        self._keep_alive_due.extend(self._idle_tokens())
        return True

    def _look_after_others(self, dead: set[str]) -> None:
        """What stopped or dead workers left: their divisions are free, their imports and
        reconciliation runs wait again, their jobs in flight become unknown (settled by
        lookup)."""
        if not dead:
            return
        # Named in statements only those that still hold something: at start every worker
        # that ever stopped is dead (a cron run each minute leaves half a million a year, more
        # than a statement may name).
        holding = self._holding(dead)
        if holding:
            with self._fleet.write() as session:
                # Their divisions are free now, not when their leases run out.
                ownership.release(session, *sorted(holding))
        self._release_sync_requests(dead)
        if self.reconcile is not None:
            self.reconcile.release(dead)
        recovered = self.export.recover(holding)
        if recovered:
            log.warning("%d job(s) left in flight by a stopped worker are now unknown", recovered)

    def _forget_gone(self) -> None:
        """Workers gone for a week that hold nothing are forgotten (their heartbeats deleted),
        so the table stays small however many workers ran before."""
        with self._fleet.write() as session:
            gone = ownership.forget_gone(session, self.clock.now() - FORGOTTEN_AFTER)
        if gone:
            log.info("forgot %d worker(s) gone for more than a week", gone)

    def _holding(self, dead: set[str]) -> set[str]:
        """Those of `dead` that hold a division or a claimed job (the owners of either are
        few, whatever the number of workers that ran before)."""
        with self._fleet.read() as session:
            owners: set[str | None] = set(
                session.exec(
                    select(col(DivisionLease.owner))
                    .where(col(DivisionLease.owner).is_not(None))
                    .distinct()
                )
            )
            owners.update(
                session.exec(
                    select(col(ExportJob.lease_owner))
                    .where(col(ExportJob.state).in_((JobState.IN_FLIGHT, JobState.UNKNOWN)))
                    .where(col(ExportJob.lease_owner).is_not(None))
                    .distinct()
                )
            )
        return {owner for owner in owners if owner in dead}

    def _wait(self) -> float:
        """Until the next poll, or the next daily slot if that comes first."""
        wait = self.options.poll_seconds
        if self._slots:
            until = (self._slots[0][0] - self.clock.now()).total_seconds()
            wait = min(wait, max(until, 0.0))
        return wait

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def _final_beat(self) -> None:
        try:
            with self._fleet.write() as session:
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
        if all(task.done() for task in self._sync_tasks.values()):
            self._release_sync_requests({self.worker_id})
        self._beat("running")

    async def _drain(self) -> None:
        tasks = [
            t
            for t in (
                *self._division_tasks.values(),
                *self._sync_tasks.values(),
                self._reconcile_task,
                self._keep_alive_task,
            )
            if t is not None
        ]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # ---------------------------------------------------------------- one pass

    async def _tick(self) -> bool:
        """Start what is due; True while anything is running or due."""
        if self.clock_problem is not None:
            # Nothing starts while this host's clock is off; what runs stops at its next
            # request (the divisions are given back).
            running = [t for t in self._division_tasks.values() if not t.done()]
            return bool(running)
        self._daily_due()
        self._start_keep_alive()
        sync_running = self._start_syncs()
        reconciling = self._start_reconcile()
        # In a thread: routing a large batch must not hold up the heartbeat, or the other
        # workers would take this one for dead.
        await asyncio.to_thread(self.export.prepare)
        due = await asyncio.to_thread(self.export.due_divisions)
        self._take_due(due)
        for key in due:
            if key not in self.owned:
                continue
            task = self._division_tasks.get(key)
            if task is None or task.done():
                self._division_tasks[key] = asyncio.create_task(self._drain_division(key))
        self._release_idle()
        running = [t for t in self._division_tasks.values() if not t.done()]
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
            claim = self.reconcile.claim(self.worker_id)
            if claim is not None:
                runner = self.reconcile
                self._reconcile_task = asyncio.create_task(
                    runner.run(claim, self.lanes, self._stopping)
                )
        task = self._reconcile_task
        return task is not None and not task.done()

    async def _drain_division(self, key: DivisionKey) -> None:
        while not self.stopping and key in self.owned:
            async with self.lanes.key(*key):
                try:
                    sent = await self.export.process_next(key, self.worker_id)
                except Exception as exc:
                    failure = store_failure(exc, self.store.url)
                    if failure is not None:
                        self._note_failure(failure)
                    else:
                        log.exception(
                            "export in division %s of tenant %s failed unexpectedly",
                            key[1],
                            self.tenants.get(key[0], key[0]),
                        )
                    return
            if not sent:
                return

    # ---------------------------------------------------------------- tenants

    def _read_tenants(self) -> None:
        """The enabled tenants served (one query); what was built for the others is dropped."""
        with self._fleet.read() as session:
            query = select(Tenant.id, Tenant.code).where(col(Tenant.disabled_at).is_(None))
            if self.only is not None:
                query = query.where(col(Tenant.id) == self.only)
            tenants = {tenant: code for tenant, code in session.exec(query) if tenant is not None}
        if tenants == self.tenants:
            return
        self.tenants = tenants
        # A tenant still served keeps its slot (one whose moment has just come, not yet looked
        # at by the poll, is still asked for); a new one gets its next.
        kept = {t: slot for slot, t in self._slots if t in tenants}
        now = self.clock.now()
        self._slots = [(kept.get(t) or self._next_slot(t, now), t) for t in tenants]
        heapq.heapify(self._slots)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # called outside the worker's loop (a test): nothing was built yet
        if self.tenants_changed is not None:
            # Closing what a tenant no longer served had open must not hold up the heartbeat.
            task = loop.create_task(self.tenants_changed(set(tenants)))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            task.add_done_callback(_log_failure)

    def _served(self, query: Any, tenant_column: Any) -> Any:
        """`query` limited to enabled tenants (and to the one tenant served, if so)."""
        query = query.join(Tenant, col(Tenant.id) == tenant_column).where(
            col(Tenant.disabled_at).is_(None)
        )
        if self.only is not None:
            query = query.where(tenant_column == self.only)
        return query

    # ---------------------------------------------------------------- sync requests

    def _start_syncs(self) -> bool:
        """Start waiting imports, of different tenants, up to `sync_concurrency`; True while
        one runs."""
        self._sync_tasks = {t: task for t, task in self._sync_tasks.items() if not task.done()}
        while self.sync.ready():
            # An import waiting for a division another worker holds (for as long as that one
            # is busy there) takes no place: the other tenants' imports go on meanwhile.
            active = [t for t in self._sync_tasks if not self._waiting[t]]
            if len(active) >= max(self.options.sync_concurrency, 1):
                break
            request = self._claim_sync_request(set(self._sync_tasks))
            if request is None:
                break
            assert request.tenant_id is not None
            self._sync_tasks[request.tenant_id] = asyncio.create_task(self._run_sync(request))
        return bool(self._sync_tasks)

    def _ready_requests(self, busy: set[int]) -> Any:
        """Pending import requests of enabled, connected tenants not importing already, oldest
        first (the (state, id) index)."""
        query = self._served(
            select(SyncRequest)
            .join(ExactConnection, col(ExactConnection.tenant_id) == SyncRequest.tenant_id)
            .where(col(SyncRequest.state) == "pending")
            .where(col(ExactConnection.status) == ConnectionStatus.CONNECTED),
            col(SyncRequest.tenant_id),
        )
        if busy:
            query = query.where(col(SyncRequest.tenant_id).not_in(sorted(busy)))
        return query.order_by(col(SyncRequest.id)).limit(1)

    def _claim_sync_request(self, busy: set[int] | None = None) -> SyncRequestInfo | None:
        with self._fleet.read() as session:
            if session.exec(self._ready_requests(busy or set())).first() is None:
                return None  # the usual case: no write transaction on an idle poll
        with self._fleet.write() as session:
            request = session.exec(
                self._ready_requests(busy or set()).with_for_update(
                    skip_locked=True, of=SyncRequest
                )
            ).first()
            if request is None:
                return None
            assert request.id is not None
            request.state = "running"
            request.picked_by = self.worker_id
            request.picked_at = self.clock.now()
            session.add(request)
            return SyncRequestInfo(
                request.id,
                request.division,
                request.trigger,
                request.requested_by,
                request.tenant_id,
            )

    def _release_sync_requests(self, dead: set[str]) -> None:
        """Requests a dead worker was running go back to the queue (an import is idempotent)."""
        with self._fleet.write() as session:
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
        with self._fleet.read() as session:
            return session.exec(self._ready_requests(set(self._sync_tasks))).first() is not None

    async def _run_sync(self, request: SyncRequestInfo) -> None:
        try:
            result = await self.sync.run(request, self.lanes, self._stopping)
            state = "done"
        except SyncInterrupted:
            result, state = "interrupted by the worker stopping; queued again", "pending"
        except Fenced as exc:
            # The division moved to another worker while this one stalled: the import stopped
            # between two calls (what it wrote is consistent) and is done again.
            result, state = f"interrupted: {exc.message}; queued again", "pending"
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
        with self._fleet.write() as session:
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

    # ---------------------------------------------------------------- the daily schedule

    def _offset(self, tenant: int) -> dt.timedelta:
        return daily_offset(self.tenants.get(tenant, ""), self.options.night_window_hours)

    def _next_slot(self, tenant: int, now: dt.datetime) -> dt.datetime:
        options = self.options
        return next_daily_slot(now, options.daily_at, options.timezone, self._offset(tenant))

    def _last_slot(self, tenant: int, now: dt.datetime) -> dt.datetime:
        options = self.options
        return last_daily_slot(now, options.daily_at, options.timezone, self._offset(tenant))

    def schedule_daily(self) -> None:
        """Insert each served tenant's import request for its last daily slot, unless one was
        asked for (daily, or the initial one after a connect) since or one still waits. Two
        queries across tenants, then one insert per tenant missing its request."""
        if not self.tenants:
            self._read_tenants()
        now = self.clock.now()
        with self._fleet.write() as session:
            # Two workers at the same moment: the store's write lock makes them take turns,
            # so one inserts and the other then sees it.
            latest = dict(
                session.exec(
                    self._served(
                        select(SyncRequest.tenant_id, func.max(SyncRequest.requested_at))
                        .where(col(SyncRequest.trigger).in_(("daily", "initial")))
                        .group_by(col(SyncRequest.tenant_id)),
                        col(SyncRequest.tenant_id),
                    )
                ).all()
            )
            waiting = set(
                session.exec(
                    self._served(
                        select(SyncRequest.tenant_id)
                        .where(col(SyncRequest.state) == "pending")
                        .where(col(SyncRequest.trigger).in_(("daily", "initial")))
                        .distinct(),
                        col(SyncRequest.tenant_id),
                    )
                ).all()
            )
            for tenant in sorted(self.tenants):
                seen = latest.get(tenant)
                if tenant in waiting:
                    continue  # one waits already (a tenant that cannot import now)
                if seen is None or _utc(seen) < self._last_slot(tenant, now):
                    session.add(_daily_request(tenant, now))

    def _daily_due(self) -> None:
        """The tenants whose daily slot has come: their import is asked for (once, whichever
        worker comes first) and their keep-alive is due. An idle poll looks at the earliest
        slot only."""
        now = self.clock.now()
        while self._slots and self._slots[0][0] <= now:
            slot, tenant = heapq.heappop(self._slots)
            if tenant not in self.tenants:
                continue
            heapq.heappush(self._slots, (self._next_slot(tenant, now), tenant))
            with self._fleet.write() as session:
                seen = session.exec(
                    select(SyncRequest.id)
                    .where(col(SyncRequest.tenant_id) == tenant)
                    .where(col(SyncRequest.trigger).in_(("daily", "initial")))
                    # One still waiting (a tenant that cannot import now, e.g. waiting for a
                    # Reconnect) is enough: not one more each night it waits.
                    .where(
                        or_(
                            col(SyncRequest.requested_at) >= slot,
                            col(SyncRequest.state) == "pending",
                        )
                    )
                    .limit(1)
                ).first()
                if seen is None:
                    session.add(_daily_request(tenant, now))
            self._keep_alive_due.append(tenant)

    def _idle_tokens(self) -> list[int]:
        """Connected tenants whose token was not refreshed for a day (this worker was not
        running at their slot): their keep-alive is due now. One query across tenants."""
        if self.keep_alive is None:
            return []
        since = self.clock.now() - dt.timedelta(days=1)
        with self._fleet.read() as session:
            return sorted(
                int(tenant)
                for tenant in session.exec(
                    self._served(
                        select(OAuthToken.tenant_id)
                        .join(
                            ExactConnection,
                            col(ExactConnection.tenant_id) == OAuthToken.tenant_id,
                        )
                        .where(col(ExactConnection.status) == ConnectionStatus.CONNECTED)
                        .where(col(OAuthToken.issued_at) < since),
                        col(OAuthToken.tenant_id),
                    )
                )
            )

    def _start_keep_alive(self) -> None:
        """Keep-alives due go out one tenant after another, beside the rest of the work."""
        if self.keep_alive is None or not self._keep_alive_due:
            self._keep_alive_due.clear()
            return
        if self._keep_alive_task is not None and not self._keep_alive_task.done():
            return
        due, self._keep_alive_due = self._keep_alive_due, []
        self._keep_alive_task = asyncio.create_task(self._keep_alive(self.keep_alive, due))

    async def _keep_alive(
        self, keep_alive: Callable[[int], Awaitable[None]], due: list[int]
    ) -> None:
        for tenant in dict.fromkeys(due):
            if self.stopping:
                return
            if tenant not in self.tenants:
                continue
            try:
                await keep_alive(tenant)
            except Exception:
                log.exception("daily keep-alive of tenant %s failed", self.tenants.get(tenant))

    # ---------------------------------------------------------------- heartbeat

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.options.heartbeat_seconds)
            try:
                self._beat("running")
                if self.clock_problem is not None:
                    continue
                self._read_tenants()
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
        with self._fleet.write() as session:
            now = self.clock.now()
            if state == "running":
                now = self._check_clock(session, now)
            row = session.get(WorkerHeartbeat, self.worker_id)
            if row is None:
                row = WorkerHeartbeat(
                    worker_id=self.worker_id,
                    host=self.host,
                    pid=self.pid,
                    started_at=self.started_at,
                )
            row.beat_at = now
            row.state = state
            problem = self.clock_problem or self.storage_problem
            row.detail = cut(problem, width(WorkerHeartbeat.detail)) or None
            session.add(row)
        if self.clock_problem is not None:
            self.owned.clear()
            self._releasing.clear()

    def _check_clock(self, session: Session, now: dt.datetime) -> dt.datetime:
        """Compare this host's clock with the database server's (PostgreSQL): beyond
        `max_clock_skew_seconds` the worker gives back its divisions and serves nothing (its
        leases, claims and settling horizons would be wrong by that much: a clock ahead takes
        live workers for dead, one behind settles too early), and beats on the database's
        time so that the others see it rightly. The moment to beat at."""
        limit = self.options.max_clock_skew_seconds
        if limit is None or session.get_bind().dialect.name != "postgresql":
            return now
        # Read right around the query (not from before the write lock was waited for).
        before = self.clock.now()
        server = _utc(session.execute(text("SELECT clock_timestamp()")).scalar_one())
        after = self.clock.now()
        skew = ((before + (after - before) / 2) - server).total_seconds()
        if abs(skew) <= limit:
            if self.clock_problem is not None:
                log.warning("this host's clock agrees with the database's again; serving")
                self.clock_problem = None
            return after
        problem = (
            f"this host's clock is {skew:+.1f} s off the database server's (more than "
            f"{limit:g} s): serving nothing until they agree (keep the hosts' clocks in step, NTP)"
        )
        if self.clock_problem is None:
            log.error("%s", problem)
        self.clock_problem = problem
        ownership.release(session, self.worker_id)
        return server

    def _dead_owners(self, *, recent: bool) -> set[str]:
        """Workers that stopped, whose heartbeat went stale (from any host), or, on this host,
        whose process is gone. `recent`: only those heard of in the last day (what the
        heartbeat looks at; an older one's claims have run out and are taken back anyway)."""
        now = self.clock.now()
        within = RECENT if recent else dt.timedelta(days=36500)
        with self._fleet.read() as session:
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
        busy = set(self.export.busy_divisions()) | set(+self._pinned)
        with self._fleet.write() as session:
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
            for key in plan.take:
                if key in self._releasing:
                    self._releasing.discard(key)
                    owned.add(key)
                elif ownership.take(session, key, self.worker_id, now, lease):
                    owned.add(key)
                    self.export.division_taken(key)
        for key in plan.release:
            owned.discard(key)
            self._releasing.add(key)
        self.owned = owned
        self._busy, self._live, self._table = busy, live, table
        self._release_idle()

    @contextlib.asynccontextmanager
    async def _hold(self, key: DivisionKey) -> AsyncIterator[None]:
        """Hold the division's lease while an import or a reconciliation calls it: taken if
        free (and kept until they are done), waited for while another worker holds it. Stopping
        meanwhile interrupts the import (it is queued again)."""
        await self._wait_for(key)
        self._pinned[key] += 1
        try:
            yield
        finally:
            self._pinned[key] -= 1

    async def _wait_for(self, key: DivisionKey) -> None:
        """Until this worker holds the division. While it waits, its tenant is counted as
        waiting: an import waiting here takes none of the imports' places (`_start_syncs`)."""
        waiting = False
        try:
            while key not in self.owned or key in self._releasing:
                if key in self._releasing:
                    self._releasing.discard(key)
                    self.owned.add(key)
                    break
                if await asyncio.to_thread(self._take, key):
                    self.owned.add(key)
                    self.export.division_taken(key)
                    break
                if self.stopping:
                    raise SyncInterrupted(f"stopped while division {key[1]} was held by another")
                if not waiting:
                    waiting = True
                    self._waiting[key[0]] += 1
                await self._pause(self.options.heartbeat_seconds)
        finally:
            if waiting:
                self._waiting[key[0]] -= 1

    async def guard(self, tenant: int, division: int) -> None:
        """Right before a request to one of the tenant's divisions leaves without a fence of
        its own (an import's or a reconciliation's reads, an export's lookups): it leaves only
        while this worker holds the division. One that stalled past its lease (SIGSTOP, a host
        suspended) and finds another holding the division sends nothing more there; a lease
        that ran out with no one taking it is taken again first.
        (docs/worker.md §Several workers)"""
        key = (tenant, division)
        if not await asyncio.to_thread(self._holds, key):
            # Not ours: an import waiting for it takes it again (or waits) through `_take`.
            self.owned.discard(key)
            raise Fenced(
                f"division {division} is held by another worker now (this one stalled past "
                "its lease): nothing more is sent there from here"
            )

    def _holds(self, key: DivisionKey) -> bool:
        if self.clock_problem is not None:
            return False
        now = self.clock.now()
        with self._fleet.read() as session:
            if ownership.holds(session, key, self.worker_id, now):
                return True
        return self._take(key)

    def _take(self, key: DivisionKey) -> bool:
        if self.clock_problem is not None:
            return False
        with self._fleet.write() as session:
            now = self.clock.now()
            return ownership.take(session, key, self.worker_id, now, self.options.lease_seconds)

    def _take_due(self, due: list[DivisionKey]) -> None:
        """Due divisions nobody holds are taken at once (up to the share), not at the next
        heartbeat: a lone worker serves new work within a poll."""
        now = self.clock.now()
        free = [
            d
            for d in due
            if d not in self.owned
            and d not in self._releasing
            and (d not in self._table or self._table[d].free(now) or self._mine(d))
        ]
        if not free:
            return
        share = ownership.fair_share(len(self._busy | set(due)), self._live)
        room = share - len(self.owned & (self._busy | set(due)))
        if room <= 0:
            return
        with self._fleet.write() as session:
            for key in free[:room]:
                if ownership.take(session, key, self.worker_id, now, self.options.lease_seconds):
                    self.owned.add(key)
                    self.export.division_taken(key)
                else:
                    # Another worker has it: look again at the next heartbeat.
                    until = now + dt.timedelta(seconds=self.options.lease_seconds)
                    self._table[key] = ownership.Lease(key, "another worker", until)

    def _release_idle(self) -> None:
        """Give back the divisions being released whose lane has finished its job."""
        idle = {
            d
            for d in self._releasing
            if ((task := self._division_tasks.get(d)) is None or task.done())
            and not self._pinned[d]
        }
        if not idle:
            return
        with self._fleet.write() as session:
            ownership.release(session, self.worker_id, divisions=idle)
        self._releasing -= idle
        # Free now: new work there is taken at the next poll, not the next heartbeat.
        for key in idle:
            self._table.pop(key, None)

    def _mine(self, key: DivisionKey) -> bool:
        return self._table[key].owner == self.worker_id


#: How far back the heartbeat looks for dead workers to take work back from.
RECENT = dt.timedelta(days=1)
#: Workers gone this long and holding nothing are forgotten at the next worker's start.
FORGOTTEN_AFTER = dt.timedelta(days=7)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _daily_request(tenant: int, now: dt.datetime) -> SyncRequest:
    return SyncRequest(tenant_id=tenant, trigger="daily", requested_by="schedule", requested_at=now)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("dropping what a tenant no longer served had open failed: %r", task.exception())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
