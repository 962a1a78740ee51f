"""Scale-out (docs/worker.md §Several workers): 1, 2 and 4 workers on one PostgreSQL store.

    scripts/with-postgres .venv/bin/python tests/benchmarks/scale_out.py \
        [--tenants 1] [--divisions 2] [--known 400] [--window 10] [--size small]

`exact-tui sandbox` runs as a process at Exact's limits, 60 calls a minute per division, on a
compressed clock (a `--window`-second minute). `exact-tui worker` processes share one PostgreSQL
store, each serving every tenant; each runs in a UTS namespace of its own where `unshare` allows
(its own host name), so they know one another only through the store, as on separate hosts.

The store holds `--tenants` companies, each with `--divisions` divisions (a bank account bound to
each) and connected as an Exact user of its own (with the defaults, the store's one tenant and
the sandbox's first user, with its Dutch and Belgian divisions). Every run exports the same
documents, per tenant: 40 new customers with 10 invoices each (each customer is created in Exact
once, by its division's holder) and `--known` invoices of customers Exact knows, spread over the
tenant's divisions. A sampler reads the store every 0.1 s. Printed for 1, 2 and 4 workers:

- entries twice, accounts created twice, documents lost (bar 0 each), 429s received (bar 0);
- the most workers seen in flight in one division at a sampled moment (bar 1);
- the share of the allowed calls used while work was queued (bar ≥ 95 %): over every whole
  sandbox minute in which a division had work queued from its start to its end, the calls the
  sandbox let through in that division (its per-minute history, `/_sandbox/limits`) against
  60 a minute;
- throughput (documents a second) and its ratio to one worker's.

Then four workers, one of them killed (SIGKILL) while it holds a division with work queued: the
seconds until another worker holds each of its divisions (bar: the lease and one heartbeat),
and again duplicates and lost documents (0 / 0). Last, four workers while the PostgreSQL server
is restarted (`pg_ctl restart`, when the server is the one `scripts/with-postgres` started):
the workers still running afterwards (bar: all), duplicates and lost documents (0 / 0).
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from exact_tui.domain.states import JobState
from exact_tui.sandbox import facts_for
from exact_tui.sandbox.seed import Size
from exact_tui.services.ingest import ingest_bytes
from exact_tui.services.tenants import add_tenant, remove_tenant
from exact_tui.store.engine import Store, open_store
from exact_tui.store.models import DivisionLease, ExportJob, WorkerHeartbeat
from tests.benchmarks.fault_drill import (
    ACTOR,
    BE,
    NL,
    DrillReport,
    DrillTenant,
    Processes,
    _free_port,
    _wait_for,
    bank_accounts,
    check,
    check_tenants,
    drill_env,
    environment,
    prepare_store,
)
from tests.stores import PG_SETTING, stores_for_run

#: Open states: the job is still to be sent or settled.
OPEN = (JobState.PENDING, JobState.RETRY_WAIT, JobState.IN_FLIGHT, JobState.UNKNOWN)
#: Worker timing of the runs (docs/worker.md: a dead worker's divisions move within the lease
#: and one heartbeat).
HEARTBEAT = 1.0
LEASE = 3.0
MINUTELY = 60
NEW_CUSTOMERS = 40
INVOICES_EACH = 10
SAMPLE = 0.1


#: A division of one tenant: (tenant id, division).
Key = tuple[int, int]


@dataclass(frozen=True)
class Shape:
    """The fleet a run serves: tenants, and divisions per tenant."""

    tenants: int = 1
    divisions: int = 2
    #: The sandbox's size: "small", or "large" (20,000 accounts and 2,000 GL accounts in each
    #: of its first user's divisions; docs/sandbox.md).
    size: Size = "small"

    @property
    def plain(self) -> bool:
        """The store's one tenant as it is, with the sandbox's first user (NL and BE)."""
        return (self.tenants, self.divisions) == (1, 2)


@dataclass
class Run:
    workers: int
    documents: int = 0
    report: DrillReport | None = None
    rejected: int = 0
    most_in_flight: int = 0
    used: int = 0
    allowed: int = 0
    #: Whole sandbox minutes counted, over every division.
    minutes: int = 0
    seconds: float = 0.0
    takeover: float | None = None
    fault: str | None = None
    restarted: float | None = None
    alive_after: int = 0
    hosts: int = 0
    owners: dict[Key, set[str]] = field(default_factory=lambda: collections.defaultdict(set))

    @property
    def throughput(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


def _documents(known: int, ibans: list[str]) -> dict[str, list[dict[str, Any]]]:
    """One tenant's documents, their bank accounts (so their divisions) taken in turn."""
    customers = [{"number": str(n), "name": f"Bekend {n}"} for n in range(1, 21)]
    invoices = []
    for n in range(NEW_CUSTOMERS):
        number = f"SCALE-{n:03d}"
        customers.append({"number": number, "name": f"Nieuw {number}", "country": "NL"})
        iban = ibans[(n + 1) % len(ibans)]
        for k in range(INVOICES_EACH):
            invoices.append(_invoice(f"S-{n:03d}-{k}", number, iban))
    for n in range(known):
        iban = ibans[(n + 1) % len(ibans)]
        invoices.append(_invoice(f"K-{n:05d}", str(1 + n % 20), iban))
    return {"customers": customers, "invoices": invoices}


def _invoice(number: str, who: str, iban: str) -> dict[str, Any]:
    day = time.strftime("%Y-%m-%d")
    line = {"amount": "121.00", "gl_code": "REV", "vat_code": "21"}
    return {"number": number, "date": day, "customer": who, "bank_account": iban, "lines": [line]}


def _start_worker(procs: Processes, host: str, namespaces: bool) -> subprocess.Popen[bytes]:
    """A worker process; in a UTS namespace named `host` when namespaces are available."""
    command = [sys.executable, "-m", "exact_tui", "worker"]
    if namespaces:
        command = ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', host, *command]
    with (procs.logs / f"{len(procs.children) + 1:03d}-{host}.log").open("wb") as log:
        child = subprocess.Popen(command, env=procs.env, stdout=log, stderr=subprocess.STDOUT)
    procs.children.append(child)
    return child


def _namespaces() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--uts", "sh", "-c", "hostname probe"], capture_output=True, check=False
    )
    return probe.returncode == 0


@dataclass
class Sample:
    at: float
    open_by_division: dict[Key, int]
    in_flight_owners: dict[Key, set[str]]
    holders: dict[Key, str | None]


def _sample(store: Store) -> Sample:
    open_by: collections.Counter[Key] = collections.Counter()
    flying: dict[Key, set[str]] = collections.defaultdict(set)
    with store.all_tenants().read() as session:
        for tenant, division, state, owner in session.exec(
            select(
                ExportJob.tenant_id, ExportJob.division, ExportJob.state, ExportJob.lease_owner
            ).where(col(ExportJob.state).in_(OPEN))
        ):
            key = (tenant, division or 0)
            open_by[key] += 1
            if state is JobState.IN_FLIGHT and owner and division is not None:
                flying[key].add(owner)
        holders = {
            (lease.tenant_id, lease.division): lease.owner
            for lease in session.exec(select(DivisionLease))
        }
    return Sample(time.time(), dict(open_by), dict(flying), holders)


def _beating(store: Store) -> dict[str, tuple[int, str]]:
    """The live workers: id -> (pid, host)."""
    since = time.time() - LEASE
    with store.all_tenants().read() as session:
        return {
            beat.worker_id: (beat.pid, beat.host)
            for beat in session.exec(
                select(WorkerHeartbeat).where(col(WorkerHeartbeat.state) == "running")
            )
            if beat.beat_at.timestamp() >= since
        }


def _tenants(store: Store, procs: Processes, base_url: str, shape: Shape) -> list[DrillTenant]:
    """The fleet, set up as an operator would: each tenant connected as its own Exact user
    (the sandbox's second, third… user: the first keeps its seeded divisions), imported, its
    bank accounts bound, settings and mappings made."""
    if shape.plain:
        prepare_store(store, procs, base_url)
        return [DrillTenant(None, store, None, (NL, BE))]
    for tenant in store.tenants():
        remove_tenant(store, tenant.code, ACTOR)
    users = facts_for(shape.size, shape.tenants + 1, shape.divisions).users
    made = []
    for k in range(1, shape.tenants + 1):
        code = f"t{k}"
        add_tenant(store, code, f"Tenant {k}", ACTOR)
        user = users[k]
        tenant = DrillTenant(code, store.tenant(code), user.user_name, user.divisions)
        prepare_store(tenant.store, procs, base_url, tenant)
        made.append(tenant)
    return made


def one_run(
    db_url: str, workers: int, known: int, window: float, fault: str | None, shape: Shape
) -> Run:
    home = Path(tempfile.mkdtemp(prefix="exact-tui-scale-"))
    (home / "logs").mkdir()
    env = drill_env(home, db_url, timeout=2.0)
    env.update(
        EXACT_TUI_WORKER_HEARTBEAT_SECONDS=str(HEARTBEAT), EXACT_TUI_WORKER_LEASE_SECONDS=str(LEASE)
    )
    procs = Processes(env, home / "logs")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    run = Run(workers, fault=fault)
    users = () if shape.plain else (
        "--users", str(shape.tenants + 1), "--divisions-per-user", str(shape.divisions)
    )  # fmt: skip
    sandbox = procs.start(
        "sandbox", "--port", str(port), "--seed", "5", "--size", shape.size, *users
    )
    try:
        _wait_for(base_url, sandbox)
        control = httpx.Client(base_url=base_url, timeout=10)
        with environment(env):
            store = open_store(db_url)
            try:
                tenants = _tenants(store, procs, base_url, shape)
                _measure(store, tenants, procs, control, run, known, window, db_url)
            finally:
                store.dispose()
    finally:
        procs.stop_all()
        shutil.rmtree(home, ignore_errors=True)
    return run


def _measure(
    store: Store,
    tenants: list[DrillTenant],
    procs: Processes,
    control: httpx.Client,
    run: Run,
    known: int,
    window: float,
    db_url: str,
) -> None:
    namespaces = _namespaces()
    children = [
        _start_worker(procs, f"worker-host-{n + 1}", namespaces) for n in range(run.workers)
    ]
    deadline = time.monotonic() + 60
    while len(_beating(store)) < run.workers:
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not start: see their logs")
        time.sleep(0.1)
    run.hosts = len({host for _, host in _beating(store).values()})
    control.post(
        "/_sandbox/limits", json={"minutely": MINUTELY, "minute_window": window, "daily": 10**7}
    ).raise_for_status()
    control.delete("/_sandbox/calls").raise_for_status()
    sandbox_now = control.get("/_sandbox/clock").json()["epoch_ms"] / 1000
    offset = sandbox_now - time.time()
    batches = []
    for tenant in tenants:
        documents = _documents(known, list(bank_accounts(tenant.divisions).values()))
        tenant.documents = len(documents["invoices"])
        batches.append((tenant.store, json.dumps(documents).encode()))
    run.documents = sum(tenant.documents for tenant in tenants)
    started = time.time()
    for tenant_store, batch in batches:
        ingest_bytes(tenant_store, "scale.json", batch)
    first_open: dict[Key, float] = {}
    last_open: dict[Key, float] = {}
    victim: str | None = None
    killed_at = 0.0
    victim_divisions: set[Key] = set()
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        try:
            sample = _sample(store)
        except OperationalError:  # the server restarting: the next sample reconnects
            time.sleep(SAMPLE)
            continue
        for division, count in sample.open_by_division.items():
            if count:
                first_open.setdefault(division, sample.at)
                last_open[division] = sample.at
        for division, owners in sample.in_flight_owners.items():
            run.most_in_flight = max(run.most_in_flight, len(owners))
            run.owners[division] |= owners
        if run.fault == "restart" and run.restarted is None and _posted_share(store) >= 0.3:
            run.restarted = _restart_postgres(db_url)
        if run.fault == "kill" and victim is None and _posted_share(store) >= 0.3:
            victim, victim_divisions = _kill_one(store, children, sample)
            killed_at = time.time()
        if victim is not None and run.takeover is None:
            holders = {sample.holders.get(d) for d in victim_divisions}
            if None not in holders and victim not in holders:
                run.takeover = sample.at - killed_at
        if not any(sample.open_by_division.values()):
            break
        time.sleep(SAMPLE)
    finished = max(last_open.values(), default=started)
    run.seconds = finished - started
    run.alive_after = sum(1 for child in children if child.poll() is None)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        child.wait(60)
    calls = control.get("/_sandbox/calls").json()["calls"]
    run.rejected = sum(row["count"] for row in calls if row["status"] == 429)
    # The sandbox's minutes are aligned to its clock. A division's whole minutes with work
    # queued: from the first that began after its first job was routed to it, up to the one in
    # which its queue ran dry (not counted: it ends early by nature).
    spent = {
        (row["division"], row["minute"]): row["calls"]
        for row in control.get("/_sandbox/limits").json()["minutes"]
    }
    for key, first in first_open.items():
        start = math.ceil((first + offset) / window)
        end = math.floor((last_open[key] + offset) / window)
        for minute in range(start, end):
            run.used += spent.get((key[1], minute), 0)
            run.allowed += MINUTELY
            run.minutes += 1
    run.report = DrillReport(run.documents, 0, 0, 0, 0, 0, 0, 0, 0.0)
    ledger = control.get("/_sandbox/ledger").json()
    if len(tenants) == 1 and tenants[0].code is None:
        check(store, ledger, run.report)
    else:
        check_tenants(tenants, ledger, run.report)


def _restart_postgres(db_url: str) -> float:
    """Restart the server `scripts/with-postgres` started (its data directory sits beside the
    socket directory the URL names); the seconds it took, or -1 when it is not that server."""
    host = make_url(db_url).query.get("host")
    data = Path(str(host)).parent / "data" if host else None
    pg_ctl = shutil.which("pg_ctl") or next(
        iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)), None
    )
    if data is None or not data.is_dir() or pg_ctl is None:
        return -1.0
    command = [str(pg_ctl), "-D", str(data), "-m", "fast", "-w", "-l", f"{host}/restart.log"]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    started = time.monotonic()
    subprocess.run([*command, "restart"], check=True, capture_output=True)
    return time.monotonic() - started


def _posted_share(store: Store) -> float:
    with store.all_tenants().read() as session:
        states = list(session.exec(select(ExportJob.state)))
    return sum(1 for s in states if s is JobState.POSTED) / max(len(states), 1)


def _kill_one(
    store: Store, children: list[subprocess.Popen[bytes]], sample: Sample
) -> tuple[str, set[Key]]:
    """SIGKILL a worker that holds a division with work queued; (its id, its divisions)."""
    pids = _beating(store)
    for division, owner in sorted(sample.holders.items()):
        if owner in pids and sample.open_by_division.get(division):
            held = {d for d, o in sample.holders.items() if o == owner}
            pid = pids[owner][0]
            for child in children:
                # The worker is the child itself, or (in its namespace) the child's exec.
                if child.pid == pid or _parent(pid) == child.pid:
                    child.kill()
                    child.wait()
                    return owner, held
            os.kill(pid, signal.SIGKILL)
            return owner, held
    raise RuntimeError("no worker holds a division with work queued")


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _say(run: Run, base: Run | None, window: float) -> None:
    report = run.report
    assert report is not None
    share = run.used / run.allowed if run.allowed else 0.0
    ratio = f"{run.throughput / base.throughput:.2f}" if base and base.throughput else "1.00"
    print(
        f"{run.workers} worker{'s' if run.workers > 1 else ''} ({run.hosts} host names): "
        f"{run.documents} documents in {run.seconds:.1f} s, {run.throughput:.1f}/s "
        f"(ratio {ratio}); entries twice {report.duplicates}, accounts twice "
        f"{report.accounts_twice}, lost {report.lost}, not in a named state {report.unnamed}; "
        f"429s {run.rejected}; most in flight in one division {run.most_in_flight}; "
        f"{share:.1%} of the allowed calls used ({run.used} of {run.allowed} in "
        f"{run.minutes} whole division-minutes with work queued, {MINUTELY} a {window:g}-second "
        "minute)"
    )
    if run.fault == "restart":
        if run.restarted is None or run.restarted < 0:
            print("  PostgreSQL restart: not measured (not a server scripts/with-postgres started)")
        else:
            print(
                f"  PostgreSQL restarted mid-run ({run.restarted:.1f} s): "
                f"{run.alive_after} of {run.workers} workers went on"
            )
    if run.takeover is not None:
        print(
            f"  kill -9 of a division holder: its divisions held by another worker after "
            f"{run.takeover:.1f} s (bar: lease {LEASE:g} s + one heartbeat {HEARTBEAT:g} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tenants", type=int, default=1, help="Tenants, each its own Exact user (default 1)."
    )
    parser.add_argument(
        "--divisions", type=int, default=2, help="Divisions per tenant (default 2)."
    )
    parser.add_argument(
        "--known", type=int, default=400, help="Invoices of known customers, per tenant."
    )
    parser.add_argument(
        "--size", choices=("small", "large"), default="small", help="The sandbox's size."
    )
    parser.add_argument(
        "--window", type=float, default=10.0, help="Seconds in a sandbox minute (default 10)."
    )
    parser.add_argument(
        "--runs", default="1,2,4,kill,restart", help="Which runs, of 1,2,4,kill,restart."
    )
    args = parser.parse_args()
    if args.tenants < 1 or args.divisions < 1:
        parser.error("--tenants and --divisions must be at least 1")
    shape = Shape(args.tenants, args.divisions, cast(Size, args.size))
    if not os.environ.get(PG_SETTING):
        print(
            "scale_out: skipped: several workers share a PostgreSQL store; run "
            "scripts/with-postgres .venv/bin/python tests/benchmarks/scale_out.py"
        )
        return
    with tempfile.TemporaryDirectory() as tmp:
        stores = stores_for_run(Path(tmp))
        try:
            base: Run | None = None
            runs = {"1": (1, None), "2": (2, None), "4": (4, None), "kill": (4, "kill")}
            runs["restart"] = (4, "restart")
            plan = [runs[name] for name in args.runs.split(",")]
            for n, (workers, fault) in enumerate(plan):
                url = stores.copy(stores.migrated, Path(tmp) / f"run-{n}")
                try:
                    run = one_run(url, workers, args.known, args.window, fault, shape)
                finally:
                    try:
                        stores.drop(url)
                    except OperationalError:  # a connection the restart cut: once more
                        stores.drop(url)
                _say(run, base, args.window)
                base = base or run
        finally:
            stores.close()


if __name__ == "__main__":
    main()
