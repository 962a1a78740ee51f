"""The fleet over a big store: 1,000 tenants, 2,000 divisions, 200,000 jobs and 1,000,000
events (docs/tenants.md §Fleet; figures in the README's performance table).

    .venv/bin/python tests/benchmarks/fleet_scale.py [--keep DIR] [--runs N]
    scripts/with-postgres .venv/bin/python tests/benchmarks/fleet_scale.py    (PostgreSQL)

Builds the store with bulk inserts (SQLite, or PostgreSQL when TEST_PG_URL names a server, as
the suite's stores do), then runs the console headless in a child process, `--runs` times
(default 3), and prints the median of each figure: the Fleet screen's first paint from the
process start (bar ≤ 1.5 s), opening a tenant from the key to its Status screen drawn (bar
≤ 0.3 s), the all-tenants failure grouping (bar ≤ 0.5 s) and the console's peak RSS (bar
≤ 300 MB).
"""

from __future__ import annotations

import time

#: Taken before anything heavy is imported: the first paint is timed from the process start.
STARTED = time.perf_counter()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import compileall  # noqa: E402
import datetime as dt  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Callable, Iterable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TENANTS = 1_000
DIVISIONS_EACH = 2
JOBS_EACH = 200
EVENTS_EACH = 5  # per job: 1,000,000 in all
CUSTOMERS_EACH = 20
BARS = {"fleet first paint": 1.5, "open tenant": 0.3, "failure grouping": 0.5, "rss_mb": 300.0}
CHUNK = 20_000
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
OPENED = "t0007"  # the tenant the child opens (a troubled one: it has failures)
CAUSES = (
    "503 from Exact: service unavailable",
    "Ongeldig: Klant (Geblokkeerd)",
    "Ongeldig: Grootboekrekening (Geblokkeerd)",
)


def _chunks(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def division_of(tenant: int, n: int) -> int:
    return 100_000 + 1_000 * tenant + n


def build(url: str) -> None:
    """The big fleet, with Core bulk inserts (each names its tenant: no session scoping)."""
    from exact_tui.domain.states import Category, ConnectionStatus, DocumentKind, JobState
    from exact_tui.store import models as m
    from exact_tui.store.engine import open_store

    store = open_store(url)
    started = time.perf_counter()

    def insert(model: Any, rows: Iterable[dict[str, Any]]) -> None:
        table = model.__table__
        with store.engine.begin() as conn:  # one transaction per table
            for batch in _chunks(rows):
                conn.execute(table.insert(), batch)

    tenants = range(1, TENANTS + 1)
    with store.engine.begin() as conn:  # the store's first tenant makes room for the fleet
        conn.execute(m.Tenant.__table__.delete())
    insert(
        m.Tenant,
        (
            dict(
                id=t,
                code=f"t{t:04d}",
                name=f"Tenant {t:04d} B.V.",
                created_at=NOW - dt.timedelta(days=400),
                disabled_at=NOW - dt.timedelta(days=3) if t % 100 == 50 else None,
                disabled_reason="contract ended" if t % 100 == 50 else None,
            )
            for t in tenants
        ),
    )

    def status(t: int) -> ConnectionStatus:
        if t % 50 == 3:
            return ConnectionStatus.RECONNECT
        if t % 100 == 9:
            return ConnectionStatus.ERROR
        return ConnectionStatus.CONNECTED

    insert(
        m.ExactConnection,
        (
            dict(
                tenant_id=t,
                region="nl",
                base_url="https://start.exactonline.nl",
                client_id="c",
                redirect_uri="https://exact-tui.example/callback",
                user_name=f"user{t}@example.test",
                status=status(t),
                reason="Old refresh token used." if status(t) is not ConnectionStatus.CONNECTED
                else None,
                activated_at=NOW - dt.timedelta(days=400),
                connected_at=NOW - dt.timedelta(days=30),
                updated_at=NOW,
            )
            for t in tenants
        ),
    )  # fmt: skip
    insert(
        m.Division,
        (
            dict(tenant_id=t, code=division_of(t, n), description=f"T{t} {n} B.V.",
                 imported_at=NOW)
            for t in tenants
            for n in range(1, DIVISIONS_EACH + 1)
        ),
    )  # fmt: skip
    insert(
        m.Organization,
        (
            dict(id=(t - 1) * DIVISIONS_EACH + n, tenant_id=t, code=f"ORG-{n}",
                 name=f"T{t} org {n}", content_hash="x")
            for t in tenants
            for n in range(1, DIVISIONS_EACH + 1)
        ),
    )  # fmt: skip
    insert(
        m.BankAccount,
        (
            dict(id=(t - 1) * DIVISIONS_EACH + n, tenant_id=t, iban=f"NL{n:02d}BANK{t:010d}",
                 organization_id=(t - 1) * DIVISIONS_EACH + n, name=f"bank {n}",
                 content_hash="x")
            for t in tenants
            for n in range(1, DIVISIONS_EACH + 1)
        ),
    )  # fmt: skip
    insert(
        m.DivisionBinding,
        (
            dict(tenant_id=t, division=division_of(t, n),
                 organization_id=(t - 1) * DIVISIONS_EACH + n, bound_by="bench")
            for t in tenants
            for n in range(1, DIVISIONS_EACH + 1)
        ),
    )  # fmt: skip
    insert(
        m.BankAccountBinding,
        (
            dict(tenant_id=t, bank_account_id=(t - 1) * DIVISIONS_EACH + n,
                 division=division_of(t, n), journal_code="20", bound_by="bench")
            for t in tenants
            for n in range(1, DIVISIONS_EACH + 1)
        ),
    )  # fmt: skip
    insert(
        m.Customer,
        (
            dict(id=(t - 1) * CUSTOMERS_EACH + c, tenant_id=t, number=f"C{c:03d}",
                 name=f"Klant {c} van T{t}", content_hash="x")
            for t in tenants
            for c in range(1, CUSTOMERS_EACH + 1)
        ),
    )  # fmt: skip
    day0 = dt.date(2025, 3, 1)

    def doc(t: int, j: int) -> int:
        return (t - 1) * JOBS_EACH + j

    insert(
        m.Invoice,
        (
            dict(id=doc(t, j), tenant_id=t, number=f"INV-{j:05d}",
                 date=day0 + dt.timedelta(days=j), customer_id=(t - 1) * CUSTOMERS_EACH + 1
                 + j % CUSTOMERS_EACH, bank_account_id=(t - 1) * DIVISIONS_EACH + 1 + j % 2,
                 description="Services", content_hash="x")
            for t in tenants
            for j in range(1, JOBS_EACH + 1)
        ),
    )  # fmt: skip
    insert(
        m.InvoiceLine,
        (
            dict(tenant_id=t, invoice_id=doc(t, j), position=0, amount=100, gl_code="REV",
                 vat_code="HIGH")
            for t in tenants
            for j in range(1, JOBS_EACH + 1)
        ),
    )  # fmt: skip

    def job(t: int, j: int) -> dict[str, Any]:
        n = doc(t, j)
        at = NOW - dt.timedelta(minutes=(JOBS_EACH - j) * 3)
        row: dict[str, Any] = dict(
            id=n, tenant_id=t, document_kind=DocumentKind.INVOICE, document_id=n,
            document_number=f"INV-{j:05d}", document_date=day0 + dt.timedelta(days=j),
            division=division_of(t, 1 + j % DIVISIONS_EACH), state=JobState.POSTED,
            attempts=1, created_at=at, updated_at=at,
        )  # fmt: skip
        bucket = (n * 7919) % 100
        if t % 10 == 7 and bucket < 15:  # a tenth of the fleet hit by Exact's outage
            row.update(state=JobState.FAILED, category=Category.TRANSIENT, cause=CAUSES[0],
                       last_error=CAUSES[0], last_http_status=503)  # fmt: skip
        elif bucket < 2:
            row.update(state=JobState.FAILED, category=Category.VALIDATION,
                       cause=CAUSES[1 + n % 2], last_error="Ongeldig",
                       last_http_status=500)  # fmt: skip
        elif bucket < 5:
            code = f"REV-{n % 7}"
            row.update(state=JobState.NEEDS_MAPPING, category=Category.MAPPING,
                       cause=f"GL {code} missing in division {row['division']}",
                       missing=[{"kind": "gl", "code": code, "detail": "missing"}])  # fmt: skip
        elif bucket < 8:
            row.update(state=JobState.PENDING)
        return row

    insert(m.ExportJob, (job(t, j) for t in tenants for j in range(1, JOBS_EACH + 1)))
    outcomes = ("claimed", "sent", "attempt", "checked", "posted")
    insert(
        m.ExportEvent,
        (
            dict(tenant_id=t, job_id=doc(t, j), outcome=outcomes[r], level="info",
                 at=NOW - dt.timedelta(minutes=(JOBS_EACH - j) * 3, seconds=-r),
                 message=f"INV-{j:05d}: step {r}")
            for t in tenants
            for j in range(1, JOBS_EACH + 1)
            for r in range(EVENTS_EACH)
        ),
    )  # fmt: skip
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "postgresql":
            for table in ("tenant", "organization", "bank_account", "customer", "invoice",
                          "export_job"):  # fmt: skip
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
    with store.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("ANALYZE")
    store.dispose()
    print(f"built the fleet in {time.perf_counter() - started:.0f} s", flush=True)


# ---------------------------------------------------------------- the measured child


def grouping() -> tuple[str, Callable[[Any], object]]:
    """The all-tenants failure grouping when the console has one, else the Fleet rows query
    (what the Fleet screen groups failures by)."""
    export_log = importlib.import_module("exact_tui.services.export_log")
    for name in ("failures_by_cause_all_tenants",):
        found = getattr(export_log, name, None)
        if callable(found):
            return f"export_log.{name}", found
    from exact_tui.services.tenants import fleet_rows

    return "tenants.fleet_rows (no all-tenants grouping in export_log yet)", fleet_rows


async def measure(url: str) -> dict[str, Any]:
    from textual.widgets import DataTable, Static

    from exact_tui.services.audit import Actor
    from exact_tui.services.console import ConsoleServices
    from exact_tui.services.fleet import fleet_services
    from exact_tui.store.engine import open_store
    from exact_tui.ui.app import build_app
    from exact_tui.ui.fleet import FleetApp
    from exact_tui.ui.screens.status import StatusScreen

    root = open_store(url, upgrade=False)
    figures: dict[str, Any] = {}
    services = fleet_services(root, Actor("bench", "tui"))
    fleet = FleetApp(services.rows, now=lambda: NOW, services=services)
    async with fleet.run_test(size=(120, 36)) as pilot:
        while not fleet.screen.query(DataTable) or fleet.screen.query_one(DataTable).row_count == 0:
            await pilot.pause(0.005)
        await fleet.screen.wait_for_refresh()
        figures["fleet first paint"] = time.perf_counter() - STARTED
        figures["fleet rows"] = fleet.screen.query_one(DataTable).row_count
    # Opening a tenant: its console, from the choice to its Status screen drawn (the Fleet app
    # hands the code to the tenant's console, as `exact-tui` does).
    started = time.perf_counter()
    tenant = root.tenant(OPENED)
    app = build_app(
        ConsoleServices(tenant, timezone="Europe/Amsterdam", tenant=OPENED, fleet=services)
    )
    async with app.run_test(size=(120, 36)) as pilot:
        while not (
            isinstance(app.screen, StatusScreen)
            and "Connected" in str(app.screen.query_one("#connection", Static).content)
        ):
            await pilot.pause(0.002)
        await app.screen.wait_for_refresh()
        figures["open tenant"] = time.perf_counter() - started
    name, group = grouping()
    times = []
    for _ in range(5):
        started = time.perf_counter()
        group(root)
        times.append(time.perf_counter() - started)
    figures["failure grouping"] = statistics.median(times)
    figures["grouping_name"] = name
    figures["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    root.dispose()
    return figures


def report(figures: dict[str, Any], best: dict[str, float], backend: str) -> bool:
    ok = True
    print(f"{'what':<22} {'median':>8} {'best':>8}  bar   ({backend})")
    for name in ("fleet first paint", "open tenant", "failure grouping"):
        bar = BARS[name]
        mark = "✔" if figures[name] <= bar else "✖"
        ok &= figures[name] <= bar
        print(f"{name:<22} {figures[name]:>6.3f} s {best[name]:>6.3f} s  ≤ {bar} s {mark}")
    print(f"  grouping measured: {figures['grouping_name']}")
    rss = figures["rss_mb"]
    ok &= rss <= BARS["rss_mb"]
    mark = "✔" if rss <= BARS["rss_mb"] else "✖"
    print(f"{'console peak RSS':<22} {rss:>6.0f} MB           ≤ 300 MB {mark}")
    return ok


def main() -> None:
    global TENANTS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="build the SQLite store here and keep it")
    parser.add_argument("--runs", type=int, default=3, help="console runs; the median is shown")
    parser.add_argument(
        "--tenants", type=int, default=TENANTS, help="a smaller fleet, to try the script"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    TENANTS = args.tenants
    if args.child:
        print(json.dumps(asyncio.run(measure(args.child))))
        return
    from tests.stores import stores_for_run

    directory = args.keep or Path(tempfile.mkdtemp(prefix="fleet-scale-"))
    directory.mkdir(parents=True, exist_ok=True)
    stores = stores_for_run(directory)
    url = stores.empty(directory / "fleet")
    try:
        build(url)
        # Byte-compiled as pip leaves an installed package.
        compileall.compile_dir(ROOT / "exact_tui", quiet=1)
        runs: list[dict[str, Any]] = []
        for _ in range(args.runs):
            child = subprocess.run(
                [sys.executable, __file__, "--child", url],
                capture_output=True,
                text=True,
                check=False,
            )
            if child.returncode:
                sys.stderr.write(child.stderr)
                raise SystemExit(child.returncode)
            runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
        numbers = [k for k, v in runs[0].items() if isinstance(v, int | float)]
        figures: dict[str, Any] = {k: statistics.median(run[k] for run in runs) for k in numbers}
        best = {k: min(run[k] for run in runs) for k in numbers}
        figures["rss_mb"] = max(run["rss_mb"] for run in runs)
        figures["grouping_name"] = runs[0]["grouping_name"]
        load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
        print(
            f"{TENANTS} tenants, {TENANTS * DIVISIONS_EACH} divisions, "
            f"{TENANTS * JOBS_EACH} jobs, {TENANTS * JOBS_EACH * EVENTS_EACH} events; "
            f"median of {len(runs)} runs; load average {load} on {os.cpu_count()} CPUs"
        )
        ok = report(figures, best, stores.backend)
    finally:
        if args.keep is None:
            stores.drop(url)
            stores.close()
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
