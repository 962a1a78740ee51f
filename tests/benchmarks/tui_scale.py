"""The console over a big store (docs/architecture.md §Numbers): 1,000,000 events, 200,000 jobs,
50,000 Exact accounts.

    .venv/bin/python tests/benchmarks/tui_scale.py [--db PATH] [--keep] [--runs N]

Builds the store with bulk inserts (about a minute; `--db` reuses one already built), then runs
the app headless in a child process, `--runs` times (default 3), and prints the median of each
figure: the time from the process start to the first screen (bar ≤ 1.5 s), screen switches and
filters on the Export log and the Exact accounts, each from the key to the result drawn (bar
≤ 0.3 s each), and the app process's peak RSS (bar ≤ 300 MB). The other admin screens' first
opening is printed without a bar.
"""

from __future__ import annotations

import time

#: Taken before anything heavy is imported: the first screen is timed from the process start.
STARTED = time.perf_counter()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import compileall  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Awaitable, Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

EVENTS = 1_000_000
JOBS = 200_000
ACCOUNTS_PER_DIVISION = 25_000
CUSTOMERS = 20_000
DIVISIONS = (101001, 101002)
BARS = {"first screen": 1.5, "switch": 0.3, "filter": 0.3, "rss_mb": 300.0}
CHUNK = 20_000
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
WORDS = [
    "Bakkerij",
    "Drukkerij",
    "Advies",
    "Bouw",
    "Installatie",
    "Techniek",
    "Studio",
    "Kantoor",
    "Zorg",
    "Transport",
    "Media",
    "Groen",
    "Metaal",
    "Hout",
    "Schilders",
    "Consultancy",
    "Logistiek",
    "Design",
    "Catering",
    "Fotografie",
    "Makelaardij",
    "Administratie",
    "Coaching",
    "Vastgoed",
    "Software",
    "Elektro",
    "Tandarts",
    "Fysio",
    "Reclame",
    "Events",
]
SURNAMES = [
    "Jansen",
    "de",
    "Vries",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "Mulder",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "Dekker",
]
CITIES = [
    "Amsterdam",
    "Rotterdam",
    "Utrecht",
    "Eindhoven",
    "Haarlem",
    "Gent",
    "Antwerpen",
    "Leiden",
    "Delft",
]


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def build(path: Path) -> None:
    """The big store, with Core bulk inserts in few transactions."""
    from exact_tui.domain.states import Category, ConnectionStatus, JobState
    from exact_tui.store import models as m
    from exact_tui.store.engine import open_store

    rng = random.Random(15)
    store = open_store(f"sqlite:///{path}")
    started = time.perf_counter()

    def insert(model: Any, rows: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> None:
        table = model.__table__
        with store.engine.begin() as conn:  # one transaction (one sync) per table
            for batch in _chunks(iter(rows)):
                conn.execute(table.insert(), batch)

    insert(
        m.Connection,
        [
            dict(
                id=1,
                region="nl",
                base_url="https://start.exactonline.nl",
                client_id="c",
                redirect_uri="http://localhost:8765/callback",
                user_name="Benchmark",
                status=ConnectionStatus.CONNECTED,
                activated_at=NOW - dt.timedelta(days=400),
                connected_at=NOW,
                updated_at=NOW,
            )
        ],
    )
    insert(
        m.Division,
        [dict(code=d, description=f"Bench {d} B.V.", imported_at=NOW) for d in DIVISIONS],
    )
    insert(m.Organization, [dict(id=1, code="ORG", name="Bench Holding", content_hash="x")])
    ibans = ["NL91ABNA0417164300", "NL67INGB0006543210", "NL44RABO0123456789"]
    insert(
        m.BankAccount,
        [
            dict(id=n + 1, iban=iban, organization_id=1, name=f"bank {n}", content_hash="x")
            for n, iban in enumerate(ibans)
        ],
    )
    insert(m.DivisionBinding, [dict(division=101001, organization_id=1, bound_by="b")])
    insert(
        m.BankAccountBinding,
        [
            dict(bank_account_id=1, division=101001, journal_code="20", bound_by="b"),
            dict(bank_account_id=2, division=101001, journal_code="21", bound_by="b"),
        ],
    )
    for division in DIVISIONS:
        insert(
            m.Journal,
            [
                dict(division=division, id=f"j-{division}-{code}", code=code, description=d, type=t)
                for code, d, t in (("20", "Bank", 12), ("21", "Bank 2", 12), ("70", "Sales", 20),
                                   ("90", "Memo", 90))
            ],
        )  # fmt: skip
        insert(
            m.GLAccount,
            (
                dict(
                    division=division,
                    id=f"g-{division}-{n}",
                    code=str(1000 + n * 4),
                    description=f"{rng.choice(WORDS)} {n}",
                    type=110 if n % 3 else 120,
                )
                for n in range(2_000)
            ),
        )
        insert(
            m.VATCode,
            [
                dict(division=division, id=f"v-{division}-{c}", code=c, description=f"VAT {c}")
                for c in ("0", "1", "2", "7")
            ],
        )
        insert(
            m.ExactAccount,
            (
                dict(
                    division=division,
                    id=f"{division}-{n:08d}-0000-4000-8000-000000000000",
                    code=str(n),
                    search_code=f"C{n:06d}" if n % 2 else None,
                    name=f"{rng.choice(WORDS)} {rng.choice(SURNAMES)} {n % 97} B.V.",
                    vat_number=f"NL{n:09d}B01" if n % 7 else None,
                    vat_normalised=f"NL{n:09d}B01" if n % 7 else None,
                    status="C" if n % 50 else "P",
                    city=rng.choice(CITIES),
                )
                for n in range(1, ACCOUNTS_PER_DIVISION + 1)
            ),
        )
    insert(
        m.Mapping,
        [
            dict(
                division=101001,
                kind="gl",
                platform_code=f"REV-{n}",
                exact_code=str(1004 + n * 12),
                updated_by="b",
                updated_at=NOW,
            )
            for n in range(20)
        ],
    )
    insert(
        m.Customer,
        (
            dict(
                id=n,
                number=f"C{n:06d}",
                name=f"{rng.choice(WORDS)} {rng.choice(SURNAMES)} {n}",
                vat_number=f"NL{n:09d}B01",
                vat_normalised=f"NL{n:09d}B01",
                city=rng.choice(CITIES),
                content_hash="x",
            )
            for n in range(1, CUSTOMERS + 1)
        ),
    )
    insert(
        m.CustomerLink,
        (
            dict(
                customer_id=n,
                division=101001,
                exact_account_id=f"101001-{n:08d}-0000-4000-8000-000000000000",
                method="vat",
                linked_by="worker",
                linked_at=NOW,
            )
            for n in range(1, 15_001)
        ),
    )
    day0 = dt.date(2025, 3, 1)
    insert(
        m.Invoice,
        (
            dict(
                id=n,
                number=f"INV-{n:07d}",
                date=day0 + dt.timedelta(days=n * 365 // JOBS),
                customer_id=1 + n % CUSTOMERS,
                bank_account_id=1 + n % 3,
                description="Services",
                content_hash="x",
            )
            for n in range(1, JOBS + 1)
        ),
    )
    insert(
        m.InvoiceLine,
        (
            dict(
                invoice_id=n,
                position=p,
                amount=100 + p,
                gl_code=f"REV-{(n + p) % 30}",
                vat_code=("HIGH", "LOW", "ZERO", "EU")[(n + p) % 4],
                cost_center="AMS" if p else None,
            )
            for n in range(1, JOBS + 1)
            for p in range(2)
        ),
    )

    def job(n: int) -> dict[str, Any]:
        bucket = n % 100
        row: dict[str, Any] = dict(
            id=n,
            document_kind="invoice",
            document_id=n,
            document_number=f"INV-{n:07d}",
            document_date=day0 + dt.timedelta(days=n * 365 // JOBS),
            division=101001 if n % 3 else 101002,
            state=JobState.POSTED,
            category=None,
            cause=None,
            missing=None,
            last_error=None,
            last_http_status=None,
            attempts=1,
            created_at=NOW - dt.timedelta(seconds=JOBS - n),
            updated_at=NOW - dt.timedelta(seconds=JOBS - n),
        )
        if bucket < 3:  # the unbound bank account
            missing = {"kind": "binding", "code": ibans[2], "detail": "not bound"}
            row.update(state=JobState.NEEDS_MAPPING, category=Category.BINDING, division=None,
                       cause=f"bank account {ibans[2]} is not bound to a division",
                       missing=[missing])  # fmt: skip
        elif bucket < 6:
            code = f"REV-{20 + n % 10}"
            missing = {"kind": "gl", "code": code, "detail": f"GL {code} missing"}
            row.update(state=JobState.NEEDS_MAPPING, category=Category.MAPPING,
                       cause=f"GL {code} missing in division {row['division']}",
                       missing=[missing])  # fmt: skip
        elif bucket < 7:
            row.update(state=JobState.FAILED, category=Category.VALIDATION,
                       cause="Ongeldig: Klant (Geblokkeerd)", last_error="Ongeldig",
                       last_http_status=400)  # fmt: skip
        elif bucket < 9:
            row.update(state=JobState.PENDING)
        return row

    insert(m.ExportJob, (job(n) for n in range(1, JOBS + 1)))
    rounds = EVENTS // JOBS
    insert(
        m.ExportEvent,
        (
            dict(
                job_id=n,
                at=NOW - dt.timedelta(seconds=EVENTS - (r * JOBS + n)),
                level="info",
                outcome=("claimed", "sent", "attempt", "checked", "posted")[r],
                message=f"INV-{n:07d}: step {r}",
                http_status=201 if r == rounds - 1 else None,
            )
            for r in range(rounds)
            for n in range(1, JOBS + 1)
        ),
    )
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    store.dispose()
    print(f"built {path} in {time.perf_counter() - started:.0f} s", flush=True)


# ---------------------------------------------------------------- the measured child


async def measure(path: Path) -> dict[str, float]:
    from textual.widgets import DataTable, Static

    from exact_tui.domain.states import JobState
    from exact_tui.services.console import ConsoleServices
    from exact_tui.services.jobs import JobFilter
    from exact_tui.store.engine import open_store
    from exact_tui.ui.app import build_app
    from exact_tui.ui.screens.accounts import AccountsScreen
    from exact_tui.ui.screens.divisions import DivisionsScreen
    from exact_tui.ui.screens.export_log import ExportLogScreen
    from exact_tui.ui.screens.mappings import MappingsScreen
    from exact_tui.ui.screens.master_data import MasterDataScreen
    from exact_tui.ui.screens.status import StatusScreen
    from exact_tui.ui.widgets import scope_bar

    store = open_store(f"sqlite:///{path}", upgrade=False)
    app = build_app(ConsoleServices(store, timezone="Europe/Amsterdam"))
    figures: dict[str, float] = {}

    async def until(
        pilot: Any, ready: Callable[[], bool], limit: float = 60.0, what: str = "first screen"
    ) -> None:
        deadline = time.perf_counter() + limit
        while not ready():
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{what}: never ready (so far: {figures})")
            await pilot.pause(0.005)

    def rows(selector: str) -> int:
        return app.screen.query_one(selector, DataTable).row_count

    async def shown(
        name: str, act: Callable[[], Awaitable[None]], ready: Callable[[], bool]
    ) -> None:
        """From the operator's act to its result on screen: `ready` is watched while the
        act runs, then the screen's next refresh is awaited. (The pilot's own wait, after a
        key, for the whole process to go idle is not the operator's wait.)"""
        drawn: list[float] = []

        async def watch() -> None:
            deadline = time.perf_counter() + 60
            while not ready():
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"{name}: never ready (so far: {figures})")
                await asyncio.sleep(0.002)
            await app.screen.wait_for_refresh()
            drawn.append(time.perf_counter())

        started = time.perf_counter()
        watcher = asyncio.create_task(watch())
        await act()
        await watcher
        figures[name] = drawn[0] - started

    async def timed(
        name: str, pilot: Any, keys: tuple[str, ...], ready: Callable[[], bool]
    ) -> None:
        await shown(name, lambda: pilot.press(*keys), ready)

    async with app.run_test(size=(120, 36)) as pilot:
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, StatusScreen)
                and "Connected" in str(app.screen.query_one("#connection", Static).content)
            ),
        )
        await pilot.pause()  # drawn
        figures["first screen"] = time.perf_counter() - STARTED
        log = lambda: app.screen if isinstance(app.screen, ExportLogScreen) else None  # noqa: E731
        await timed(
            "switch: Export log",
            pilot,
            ("l",),
            lambda: (screen := log()) is not None and screen._page_ready and rows("#events") > 0,
        )

        async def by_state() -> None:
            app.log_filter = JobFilter(state=JobState.FAILED)

        await shown(
            "filter: Export log by state",
            by_state,
            lambda: (
                (screen := log()) is not None
                and screen._page_ready
                and rows("#events") > 0
                and all(e.state is JobState.FAILED for e in screen._events)
            ),
        )
        await pilot.press("slash", *"INV-0123")
        await timed(
            "filter: Export log by text",
            pilot,
            ("enter",),
            lambda: (
                (screen := log()) is not None
                and screen._page_ready
                and rows("#events") > 0
                and all(e.number.startswith("INV-0123") for e in screen._events)
            ),
        )
        accounts = lambda: app.screen if isinstance(app.screen, AccountsScreen) else None  # noqa: E731

        def accounts_screen() -> AccountsScreen:
            screen = app.screen
            assert isinstance(screen, AccountsScreen)
            return screen

        await timed(
            "switch: Exact accounts",
            pilot,
            ("a",),
            lambda: (screen := accounts()) is not None and len(screen.accounts) > 0,
        )
        # Timed from enter, typed by someone quicker than the bar's typing pause (otherwise
        # the list follows the typing, and enter only leaves the bar).
        scope_bar.TYPING_PAUSE = 60.0
        await pilot.press("slash", *"fotografie smit")
        unfiltered = accounts_screen().accounts
        await timed(
            "filter: Exact accounts",
            pilot,
            ("enter",),
            lambda: (
                accounts_screen().accounts is not unfiltered
                and any("Fotografie Smit" in a.name for a in accounts_screen().accounts)
            ),
        )
        await timed(
            "switch: back to the Export log",
            pilot,
            ("l",),
            lambda: isinstance(app.screen, ExportLogScreen),
        )
        await timed(
            "Divisions & bank accounts",
            pilot,
            ("d",),
            lambda: isinstance(app.screen, DivisionsScreen) and app.screen.overview is not None,
        )
        await timed(
            "Mappings",
            pilot,
            ("m",),
            lambda: isinstance(app.screen, MappingsScreen) and app.screen.view is not None,
        )
        await timed(
            "Master data",
            pilot,
            ("t",),
            lambda: isinstance(app.screen, MasterDataScreen) and bool(app.screen.rows),
        )
    figures["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    store.dispose()
    return figures


def report(figures: dict[str, float], best: dict[str, float], children_rss_mb: float) -> bool:
    """The medians against their bars, with the best run beside them (a shared machine's
    other load only ever adds time)."""
    ok = True
    print(f"{'what':<34} {'median':>8} {'best':>8}  bar")
    for name, value in figures.items():
        if name == "rss_mb":
            continue
        kind = name.split(":")[0]
        bar = BARS.get(kind)
        mark = "" if bar is None else ("✔" if value <= bar else "✖")
        ok &= bar is None or value <= bar
        limit = f"≤ {bar} s {mark}" if bar else ""
        print(f"{name:<34} {value:>6.3f} s {best[name]:>6.3f} s  {limit}")
    rss = max(figures["rss_mb"], children_rss_mb)
    ok &= rss <= BARS["rss_mb"]
    print(
        f"{'peak RSS of the app process':<34} {rss:>7.0f} MB  ≤ 300 MB {'✔' if rss <= 300 else '✖'}"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, help="reuse (or build once into) this store")
    parser.add_argument("--keep", action="store_true", help="keep the temporary store")
    parser.add_argument("--runs", type=int, default=3, help="app runs; the median is shown")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(measure(args.child))))
        return
    directory = Path(tempfile.mkdtemp(prefix="tui-scale-"))
    path = args.db or directory / "scale.db"
    if not path.exists():
        build(path)
    # Byte-compiled as pip leaves an installed package (an editable install, or an environment
    # with PYTHONDONTWRITEBYTECODE, would otherwise compile every module at each start).
    compileall.compile_dir(ROOT / "exact_tui", quiet=1)
    runs: list[dict[str, float]] = []
    for _ in range(args.runs):
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode:
            sys.stderr.write(child.stderr)
            raise SystemExit(child.returncode)
        runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
    figures = {name: statistics.median(run[name] for run in runs) for name in runs[0]}
    best = {name: min(run[name] for run in runs) for name in runs[0]}
    figures["rss_mb"] = max(run["rss_mb"] for run in runs)
    children_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    print(f"median of {len(runs)} runs; load average {load} on {os.cpu_count()} CPUs")
    ok = report(figures, best, children_rss)
    if not args.keep and args.db is None:
        for leftover in directory.iterdir():
            leftover.unlink()
        directory.rmdir()
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
