"""Fault drill (docs/architecture.md §Numbers): documents exported through a storm, the worker
killed -9 at random.

    .venv/bin/python tests/benchmarks/fault_drill.py [--docs 1000] [--kills 20] [--seed 1]
    scripts/with-postgres .venv/bin/python tests/benchmarks/fault_drill.py --workers 4
    .venv/bin/python tests/benchmarks/fault_drill.py --tenants 4

`exact-tui sandbox` runs as a process with every fault kind of its fault plan active (latency,
5xx before and after committing, commit-then-hang past the client's timeout, connection resets
before and after committing, 429 storms, token revocation, a lost token answer). `exact-tui
worker` runs as a process on the shared SQLite store and is killed with SIGKILL at random
moments, then started again, while invoices, payments and write-offs (for customers Exact knows
and new ones) are ingested. With `--workers N` (on PostgreSQL) N workers share the store, and
each kill hits one of them while the others go on. When the connection needs a new consent
(revoked tokens), the drill reconnects, as an operator would. After the kills the storm passes,
the queue drains, and the drill compares the store with the sandbox's ledger. It prints:

- duplicates in Exact (must be 0): documents with more than one entry, accounts created twice;
- documents lost (0): posted without an entry in Exact, or in Exact while the store says not;
- documents not in a named final or waiting state (0);
- posts without a lookup after an ambiguous attempt (0), from every job's event log;
- conflicts settled as posted (0): posted jobs whose recorded entry is another document's.

The storm also holds requests Exact commits seconds after the client gave up (`commit_late`),
With `--tenants N` the documents are spread over N tenants of one store, each connected as its
own Exact user of the sandbox (`exact-tui sandbox --users N`) with divisions of its own; the
worker processes serve every tenant (`exact-tui worker`, no `--tenant`), and each kill hits one
of them. The figures are summed over the tenants; reconciliation runs for the first.

documents whose references collide unless they are made unique as Exact compares them (invoice
numbers that differ only in case; 64-character settlement numbers sharing their first 60), and
workers stopped (SIGSTOP) past their lease while another takes over, then let go on (SIGCONT).
Afterwards `exact-tui reconcile` reads the day back from Exact: it must find nothing; then one
posted entry is deleted and another booked twice through the sandbox's control API, and it must
find both, with the calls it spent.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import datetime as dt
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlmodel import col, select
from stdnum import iban as stdnum_iban
from stdnum.nl import btw

from exact_tui.domain.reconciliation import collated
from exact_tui.domain.states import Category, ConnectionStatus, DocumentKind, JobState, MappingKind
from exact_tui.exact import entries
from exact_tui.sandbox import CLIENT_ID, REDIRECT_URI, facts_for
from exact_tui.sandbox import division_number as numbered
from exact_tui.secret_store import open_secret_store
from exact_tui.services.audit import Actor
from exact_tui.services.connection import (
    ConnectError,
    ConnectionService,
    connect_settings,
    prepare_connect,
)
from exact_tui.services.export.documents import load_documents
from exact_tui.services.ingest import ingest_bytes
from exact_tui.services.intents import Intents
from exact_tui.services.tenants import add_tenant, remove_tenant
from exact_tui.store.engine import Store, open_store
from exact_tui.store.models import (
    ExactAccount,
    ExactConnection,
    ExportEvent,
    ExportJob,
    WorkerHeartbeat,
)
from exact_tui.store.scoping import tenant_key

NL, BE = 101001, 101002
BANKS = {NL: ("NL67INGB0006543210", "20"), BE: ("BE57734001234535", "200")}
SETTINGS = {
    NL: {"sales_journal": "70", "general_journal": "90", "receivables_gl": "1300",
         "write_off_gl": "4700", "collection_costs_gl": "8900"},
    BE: {"sales_journal": "700", "general_journal": "900", "receivables_gl": "400000",
         "write_off_gl": "634000", "collection_costs_gl": "746000"},
}  # fmt: skip
MAPPINGS = {
    NL: [(MappingKind.GL, "REV", "8010"), (MappingKind.GL, "REV-CC", "8000"),
         (MappingKind.VAT, "21", "2"), (MappingKind.VAT, "9", "1"),
         (MappingKind.COST_CENTER, "HQ", "AMS-C")],
    BE: [(MappingKind.GL, "REV", "700100"), (MappingKind.GL, "REV-CC", "700000"),
         (MappingKind.VAT, "21", "21"), (MappingKind.VAT, "9", "6"),
         (MappingKind.COST_CENTER, "HQ", "GENT")],
}  # fmt: skip
#: States a job may end the drill in: final ones and the named waits for a person.
SETTLED = {JobState.POSTED, JobState.SKIPPED, JobState.FAILED, JobState.NEEDS_MAPPING}
OPEN = (JobState.PENDING, JobState.RETRY_WAIT, JobState.UNKNOWN, JobState.IN_FLIGHT)
ENTRY_KEYS = ("SalesEntryLines", "BankEntryLines", "GeneralJournalEntryLines")
ACTOR = Actor("drill", "cli")
#: How long after the client gave up a late commit lands (compressed: the real one was 75 s
#: against a 30 s timeout).
LATE_COMMIT_SECONDS = 3.0
#: Colliding references: every so many invoices one gets a twin whose number differs only in
#: case, and every so many payments is a settlement whose long number shares its first 60
#: characters with every other.
CASE_TWIN_EVERY = 12
#: Every so many kills the worker is first stopped past its lease (SIGSTOP, SIGCONT).
STALL_EVERY = 4
#: The drill's lease: short, so a stopped worker loses its claims within the drill.
LEASE_SECONDS = 5
SETTLEMENT_EVERY = 6
#: What a job's event says when Exact gives a new access token only minutes from now.
TOKEN_WAIT = "new access token only from"
SETTLEMENT = "SETTLEMENT-ADYEN-MERCHANTACCOUNT-FLEXWERK-2026-12-04-BATCH-"


def fault_plan(seed: int, *, hang_seconds: float) -> dict[str, Any]:
    """Every fault kind the sandbox knows, on the endpoints the pipeline uses."""
    writes = "*Entries"
    return {
        "seed": seed,
        "faults": [
            {"endpoint": "*", "kind": "latency", "ms": 40, "probability": 0.1},
            # Each lost-answer kind once for sure, whatever the draw: the storm is never mild.
            {"endpoint": writes, "kind": "error_after_commit", "count": 1, "skip": 3},
            {"endpoint": writes, "kind": "commit_then_hang", "seconds": hang_seconds,
             "count": 1, "skip": 6},
            {"endpoint": writes, "method": "POST", "kind": "commit_late",
             "seconds": LATE_COMMIT_SECONDS, "count": 1, "skip": 9},
            {"endpoint": writes, "method": "POST", "kind": "commit_late",
             "seconds": LATE_COMMIT_SECONDS, "probability": 0.02},
            {"endpoint": writes, "kind": "error_before_commit", "probability": 0.04},
            {"endpoint": writes, "kind": "error_after_commit", "probability": 0.04},
            {"endpoint": writes, "kind": "commit_then_hang", "seconds": hang_seconds,
             "probability": 0.02},
            {"endpoint": writes, "kind": "connection_reset", "after_commit": True,
             "probability": 0.02},
            {"endpoint": "*", "kind": "connection_reset", "probability": 0.01},
            {"endpoint": "*Lines", "kind": "error_after_commit", "probability": 0.05},
            {"endpoint": "crm/Accounts", "kind": "error_after_commit", "probability": 0.08},
            {"endpoint": "crm/Accounts", "method": "POST", "kind": "commit_then_hang",
             "seconds": hang_seconds, "probability": 0.05},
            # A new customer's account committed after the client gave up, as entries are.
            {"endpoint": "crm/Accounts", "method": "POST", "kind": "commit_late",
             "seconds": LATE_COMMIT_SECONDS, "probability": 0.1},
            {"endpoint": "*", "kind": "rate_limit_storm", "probability": 0.01},
            {"endpoint": "oauth2/token", "kind": "error_after_commit", "count": 1},
            {"endpoint": writes, "kind": "revoke_tokens", "count": 2, "skip": 40},
        ],
    }  # fmt: skip


@dataclass
class DrillReport:
    documents: int
    kills: int
    duplicates: int
    lost: int
    unnamed: int
    unsafe_posts: int
    accounts_twice: int
    reconnects: int
    elapsed: float
    workers: int = 1
    tenants: int = 1
    states: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    posts: int = 0
    lookups: int = 0
    #: Posted jobs whose recorded entry is another document's (a conflict settled as posted).
    wrong_settles: int = 0
    #: Jobs held as conflicts (loud, for a person): none expected in the drill.
    conflicts: int = 0
    #: Workers stopped (SIGSTOP) past their lease and let go on (SIGCONT), and the requests
    #: the fence kept from leaving.
    stalls: int = 0
    fenced: int = 0
    case_twins: int = 0
    settlements: int = 0
    #: Reconciliation after the drain, and after damage planted in the books.
    reconciled: dict[str, int] = field(default_factory=dict)
    damaged: dict[str, int] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not (
            self.duplicates or self.lost or self.unnamed or self.unsafe_posts or self.wrong_settles
        )

    def lines(self) -> list[str]:
        return [
            f"documents                     {self.documents}",
            f"tenants (own Exact user each) {self.tenants}",
            f"workers at once               {self.workers} (each serving every tenant)",
            f"worker kills (SIGKILL)        {self.kills}",
            f"reconnects after revocation   {self.reconnects}",
            f"faults fired                  {json.dumps(self.faults, sort_keys=True)}",
            f"final states                  {json.dumps(self.states, sort_keys=True)}",
            f"entry POSTs / lookups         {self.posts} / {self.lookups}",
            f"duplicates in Exact           {self.duplicates}",
            f"accounts created twice        {self.accounts_twice}",
            f"documents lost                {self.lost}",
            f"conflicts settled as posted   {self.wrong_settles}",
            f"conflicts held for a person   {self.conflicts}",
            f"not in a named state          {self.unnamed}",
            f"posts without lookup after ambiguous attempt  {self.unsafe_posts}",
            f"colliding references          {self.case_twins} case twins, "
            f"{self.settlements} long settlement numbers",
            f"workers stopped past lease    {self.stalls} (requests fenced: {self.fenced})",
            f"reconciliation after drill    {_found(self.reconciled)}",
            f"reconciliation after damage   {_found(self.damaged)} "
            "(planted: 1 entry deleted, 1 booked twice)",
            f"elapsed                       {self.elapsed:.1f} s",
        ]


def _found(run: dict[str, int]) -> str:
    if not run:
        return "not run"
    return (
        f"{run['duplicates']} duplicates / {run['missing']} missing / "
        f"{run['unrecorded']} unrecorded, {run['calls']} calls"
    )


# ---------------------------------------------------------------- processes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def drill_env(home: Path, db_url: str, *, timeout: float) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("EXACT_TUI_")}
    return {
        **keep,
        "EXACT_TUI_CONFIG_DIR": str(home / "config"),
        "EXACT_TUI_DATA_DIR": str(home / "data"),
        "EXACT_TUI_STATE_DIR": str(home / "state"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "EXACT_TUI_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(),
        "EXACT_TUI_CLIENT_SECRET": "sandbox-secret",
        "EXACT_TUI_DB_URL": db_url,
        # Compressed time: the client gives up on a hung answer after `timeout` seconds, and
        # backoffs and the lookup safety delay are short, so a drill takes a minute, not a day.
        "EXACT_TUI_EXACT_TIMEOUT_SECONDS": str(timeout),
        "EXACT_TUI_EXPORT_LOOKUP_SAFETY_DELAY_SECONDS": "0.5",
        # Past the latest late commit of the storm (LATE_COMMIT_SECONDS), with room to spare.
        "EXACT_TUI_EXPORT_SETTLE_HORIZON_SECONDS": str(2 * LATE_COMMIT_SECONDS),
        "EXACT_TUI_EXPORT_LEASE_SECONDS": str(LEASE_SECONDS),
        # A stopped worker's divisions move after the same lease (docs/worker.md).
        "EXACT_TUI_WORKER_HEARTBEAT_SECONDS": "1",
        "EXACT_TUI_WORKER_LEASE_SECONDS": str(LEASE_SECONDS),
        "EXACT_TUI_EXPORT_BACKOFF_BASE_SECONDS": "0.2",
        "EXACT_TUI_EXPORT_BACKOFF_CAP_SECONDS": "2",
        "EXACT_TUI_LOG_LEVEL": "WARNING",
    }


@contextlib.contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """This process uses the same secrets and store as its children while the drill runs."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Processes:
    """The drill's children (sandbox, workers), each logging to its own file."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.children: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{len(self.children) + 1:03d}-{args[0]}.log").open("wb") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "exact_tui", *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.children.append(child)
        return child

    def stop_all(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.kill()
                child.wait()


def _wait_for(base_url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base_url}/_sandbox/clock", timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the sandbox process did not start") from None
            time.sleep(0.05)


def connect(store: Store, base_url: str, user: str | None = None) -> None:
    """What an operator does on `exact-tui connect`: log in as `user` on the sandbox's login
    page (docs/sandbox.md §Users), consent (auto-approved), paste back."""
    settings = connect_settings(
        region="nl", base_url=base_url, client_id=CLIENT_ID, redirect_uri=REDIRECT_URI
    )
    prepared = prepare_connect(open_secret_store("auto"), settings)
    service = ConnectionService(store)
    attempt = service.begin(prepared)
    login = f"&username={user}" if user else ""
    answer = httpx.get(attempt.authorize_url + "&auto_approve=1" + login, follow_redirects=False)
    if not answer.is_redirect:  # the consent page is in the storm too (a 429, a 503)
        answer.raise_for_status()
        raise httpx.HTTPStatusError("no redirect", request=answer.request, response=answer)
    asyncio.run(service.complete(prepared, attempt, answer.headers["location"], ACTOR))


def _status(store: Store) -> ConnectionStatus | None:
    with store.read() as session:
        conn = session.get(ExactConnection, tenant_key(session))
    return conn.status if conn else None


# ---------------------------------------------------------------- documents


def _vat(rng: random.Random) -> str:
    while True:
        number = f"NL{rng.randrange(10**9):09d}B{rng.randrange(1, 100):02d}"
        if btw.is_valid(number):
            return number


def documents(
    rng: random.Random,
    count: int,
    known: dict[int, list[ExactAccount]],
    day: dt.date,
    divisions: tuple[int, ...] = (NL, BE),
) -> list[dict[str, Any]]:
    """`count` documents in both divisions, as ingest files of ~25 documents each: about half
    invoices (some needing a mapping nobody made), a third payments, the rest write-offs and
    collection costs; customers Exact knows (by code and by VAT number) and new ones."""
    customers: dict[str, dict[str, Any]] = {}
    files: list[dict[str, Any]] = []
    invoices: list[tuple[str, str, str]] = []  # number, customer, iban
    payments = 0
    who_settles = "ADYEN"
    current: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    nl, be = divisions[:2]
    banks = {nl: BANKS[NL], be: BANKS[BE]}

    def customer_for(division: int) -> str:
        roll = rng.random()
        if roll < 0.3:
            number = str(rng.randrange(1, 120))
            customers.setdefault(number, {"number": number, "name": f"Bekend {number}"})
        elif roll < 0.5 and known[division]:
            account = rng.choice(known[division])
            number = f"V-{division}-{account.code}"
            customers.setdefault(
                number, {"number": number, "name": account.name, "vat_number": account.vat_number}
            )
        else:
            number = f"N-{rng.randrange(count // 3 + 10):05d}"
            if number not in customers:
                record = {"number": number, "name": f"Nieuw {number}", "country": "NL"}
                if rng.random() < 0.7:
                    record["vat_number"] = _vat(rng)
                customers[number] = record
        return number

    for n in range(count):
        division = nl if rng.random() < 0.6 else be
        iban = banks[division][0]
        roll = rng.random()
        if roll < 0.5 or not invoices:
            number = f"INV-{n:05d}"
            who = customer_for(division)
            lines = [
                {"amount": f"{rng.randrange(100, 90000) / 100:.2f}", "gl_code": "REV",
                 "vat_code": rng.choice(["21", "9"])}
                for _ in range(rng.randrange(1, 4))
            ]  # fmt: skip
            if rng.random() < 0.2:
                lines.append(
                    {"amount": "25.00", "gl_code": "REV-CC", "vat_code": "21", "cost_center": "HQ"}
                )
            if rng.random() < 0.02:
                lines[0]["vat_code"] = "21-EU"  # nobody mapped it: waits for a person
            record = {"number": number, "date": day.isoformat(), "customer": who,
                      "bank_account": iban, "lines": lines}  # fmt: skip
            current["invoices"].append(record)
            if len(invoices) % CASE_TWIN_EVERY == 0:
                # A twin whose number differs only in case: the same customer, lines and date,
                # so only the reference can tell the two apart in Exact.
                current["invoices"].append({**record, "number": number.lower()})
            invoices.append((number, who, iban))
        elif roll < 0.8:
            invoice, who, iban = rng.choice(invoices)
            amount = f"{rng.randrange(100, 50000) / 100:.2f}"
            record = {"number": f"PAY-{n:05d}", "date": day.isoformat(), "customer": who,
                      "bank_account": iban, "amount": amount}  # fmt: skip
            if rng.random() < 0.8:
                record["invoice"] = invoice
            payments += 1
            if payments % SETTLEMENT_EVERY == 1:
                # A settlement: a 64-character number sharing its first 60 with every other,
                # the same customer and amount.
                record = {**record, "number": f"{SETTLEMENT}{n:05d}", "amount": "25.00",
                          "customer": who_settles, "bank_account": banks[nl][0]}  # fmt: skip
                record.pop("invoice", None)
                customers.setdefault(who_settles, {"number": who_settles, "name": "Adyen"})
            current["payments"].append(record)
        else:
            invoice, _who, _iban = rng.choice(invoices)
            current["write_offs"].append(
                {"number": f"WO-{n:05d}", "date": day.isoformat(), "invoice": invoice,
                 "amount": f"{rng.randrange(100, 5000) / 100:.2f}",
                 "kind": rng.choice(["write_off", "collection_costs"])}
            )  # fmt: skip
        if (n + 1) % 25 == 0 or n == count - 1:
            files.append(dict(current))
            current = collections.defaultdict(list)
    # Each file carries the customers it refers to (ingest checks references per file).
    for payload in files:
        used = {d["customer"] for key in ("invoices", "payments") for d in payload.get(key, [])}
        payload["customers"] = [customers[c] for c in sorted(used)]
    return files


# ---------------------------------------------------------------- checks


def unsafe_posts(events: list[ExportEvent]) -> int:
    """Entry requests sent after an ambiguous (or interrupted) attempt without the lookups that
    prove the entry is not in Exact: one empty lookup, then the second (`not_in_exact`)."""
    unsafe = 0
    open_ = False
    empty = 0
    for event in events:
        request = event.request
        if open_ and isinstance(request, dict) and any(k in request for k in ENTRY_KEYS):
            unsafe += 1
        if event.outcome in ("unknown", "recovered"):
            open_, empty = True, 0
        elif event.outcome == "lookup" and open_ and event.http_status == 200:
            empty += 1
        elif event.outcome == "not_in_exact" and open_ and empty >= 1:
            open_ = False
        elif event.outcome == "posted" and request is None:
            open_ = False  # found by a lookup
    return unsafe


def _reference(job: ExportJob, documents: dict[tuple[DocumentKind, int], Any]) -> str:
    """The reference the job's entry carries: from the request sent, else the document."""
    sent = entries.reference_of_request(job.sent_request)
    if sent is not None:
        return sent
    if job.document_kind is DocumentKind.INVOICE:
        return entries.reference(job.document_number)
    document = documents.get((job.document_kind, job.document_id))
    return entries.line_reference(
        job.document_number, document.invoice_number if document else None
    )


def check(store: Store, ledger: dict[str, Any], report: DrillReport) -> None:
    """Compare the store with the ledger, by reference as Exact compares it and by EntryID."""
    found: dict[tuple[str, str], dict[str, dict[str, Any]]] = collections.defaultdict(dict)
    by_id: dict[str, tuple[str, str]] = {}
    accounts: collections.Counter[str] = collections.Counter()
    sections = {
        "sales_entries": ("invoice", "YourRef"),
        "bank_entries": ("payment", None),
        "general_journal_entries": ("write_off", None),
    }
    for division_number, division in ledger["divisions"].items():
        for section, (kind, field_name) in sections.items():
            for entry in division[section]:
                text = entry[field_name] if field_name else entry["lines"][0]["Description"]
                key = (kind, collated(str(text)))
                found[key][str(entry["EntryID"]).lower()] = entry
                by_id[str(entry["EntryID"]).lower()] = key
        for account in division["accounts"]:
            accounts[f"{division_number} {account['SearchCode']}"] += 1
    report.duplicates = sum(1 for entries_ in found.values() if len(entries_) > 1)
    report.accounts_twice = sum(1 for n in accounts.values() if n > 1)
    states: collections.Counter[str] = collections.Counter()
    lost = unnamed = unsafe = wrong = 0
    with store.read() as session:
        jobs = list(session.exec(select(ExportJob)))
        documents = load_documents(session, [(j.document_kind, j.document_id) for j in jobs])
        for job in jobs:
            states[job.state.value] += 1
            key = (job.document_kind.value, collated(_reference(job, documents)))
            entry_id = (job.exact_entry_id or "").lower()
            if job.state is JobState.POSTED:
                if entry_id not in by_id:
                    lost += 1  # posted here, no such entry in Exact
                elif by_id[entry_id] != key:
                    wrong += 1  # settled on another document's entry
            elif key in found:
                lost += 1  # in Exact while the store says otherwise
            if job.category is Category.CONFLICT:
                report.conflicts += 1
            if job.state not in SETTLED:
                unnamed += 1
            events = list(
                session.exec(
                    select(ExportEvent)
                    .where(col(ExportEvent.job_id) == job.id)
                    .order_by(col(ExportEvent.id))
                )
            )
            unsafe += unsafe_posts(events)
            report.posts += sum(
                1
                for e in events
                if isinstance(e.request, dict) and any(k in e.request for k in ENTRY_KEYS)
            )
            report.lookups += sum(1 for e in events if e.outcome in ("lookup", "not_in_exact"))
            report.fenced += sum(1 for e in events if e.outcome == "fenced")
        report.case_twins = sum(
            1 for job in jobs if job.document_number != job.document_number.upper()
        )
        report.settlements = sum(1 for job in jobs if job.document_number.startswith(SETTLEMENT))
    report.lost = lost + max(report.documents - len(jobs), 0)
    report.wrong_settles = wrong
    report.unnamed = unnamed
    report.unsafe_posts = unsafe
    report.states = dict(states)


# ---------------------------------------------------------------- the drill


@dataclass
class DrillTenant:
    """One tenant of the drill: its store, the Exact user it connects as, its two divisions
    (Dutch, Belgian) and what its worker processes are told (`--tenant CODE`)."""

    code: str | None  # None: the store's only tenant, named by no flag
    store: Store
    user: str | None
    #: Its divisions: the first is set up as the drill's Dutch one, the second as its Belgian
    #: one, and so on alternately (a sandbox user's generated divisions alternate the same way).
    divisions: tuple[int, ...]
    last_connect: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    documents: int = 0

    @property
    def args(self) -> tuple[str, ...]:
        return ("--tenant", self.code) if self.code else ()


def drill_tenants(store: Store, count: int) -> list[DrillTenant]:
    """The store's tenants for the drill: with one, the store as it is; with several, t1…tN in
    place of its first (empty) one, tenant k connecting as the sandbox's k-th user."""
    if count == 1:
        return [DrillTenant(None, store, None, (NL, BE))]
    for tenant in store.tenants():
        remove_tenant(store, tenant.code, ACTOR)
    users = facts_for("small", count).users
    made = []
    for k in range(1, count + 1):
        code = f"t{k}"
        add_tenant(store, code, f"Tenant {k}", ACTOR)
        made.append(
            DrillTenant(
                code,
                store.tenant(code),
                users[k - 1].user_name,
                (numbered(k, 1), numbered(k, 2)),
            )
        )
    return made


def run_drill(
    *,
    docs: int = 1000,
    kills: int = 20,
    seed: int = 1,
    workdir: Path | None = None,
    timeout: float = 1.0,
    drain_seconds: float = 180.0,
    say: Any = print,
    db_url: str | None = None,
    workers: int = 1,
    tenants: int = 1,
) -> DrillReport:
    """The drill on the store at `db_url` (empty or just migrated; by default a new SQLite
    file in `workdir`), every process of it started with that URL. With several `tenants`
    the documents are spread over them, each its own Exact user with its own workers."""
    started = time.monotonic()
    home = Path(workdir or tempfile.mkdtemp(prefix="exact-tui-drill-"))
    (home / "logs").mkdir(parents=True, exist_ok=True)
    db_url = db_url or f"sqlite:///{home / 'store.db'}"
    env = drill_env(home, db_url, timeout=timeout)
    procs = Processes(env, home / "logs")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    rng = random.Random(seed)
    users = ("--users", str(tenants)) if tenants > 1 else ()
    sandbox = procs.start("sandbox", "--port", str(port), "--seed", str(seed), *users)
    report = DrillReport(docs, 0, 0, 0, 0, 0, 0, 0, 0.0, workers, tenants)
    try:
        _wait_for(base_url, sandbox)
        control = httpx.Client(base_url=base_url, timeout=10)
        # A compressed minute (5 s) with room for the drill's pace; the day never runs out.
        control.post(
            "/_sandbox/limits", json={"minutely": 250, "minute_window": 5, "daily": 10**7}
        ).raise_for_status()
        with environment(env):
            store = open_store(db_url)
            try:
                _drill(
                    store,
                    drill_tenants(store, tenants),
                    procs,
                    control,
                    base_url,
                    rng,
                    report,
                    kills,
                    say,
                    drain_seconds,
                    workers,
                )
            finally:
                store.dispose()
    finally:
        procs.stop_all()
    report.elapsed = time.monotonic() - started
    return report


def prepare_store(
    store: Store, procs: Processes, base_url: str, tenant: DrillTenant | None = None
) -> dict[int, list[ExactAccount]]:
    """What an operator does before exports run: connect, the initial import (a worker run
    until idle), the organization and its bank accounts, bindings, settings and mappings of
    both divisions. Returns, per division, customer accounts Exact knows with a VAT number.
    A `tenant` of several has divisions of its own, set up as the drill's two are."""
    tenant = tenant or DrillTenant(None, store, None, (NL, BE))
    # Its divisions, each with the drill's division of the same chart (Dutch, Belgian), and
    # the bank account bound to it (the drill's own for the first two).
    template = {d: (NL, BE)[n % 2] for n, d in enumerate(tenant.divisions)}
    ibans = bank_accounts(tenant.divisions)
    connect(store, base_url, tenant.user)
    # The initial import, before any document.
    initial = procs.start("worker", *tenant.args, "--until-idle")
    if initial.wait(120) != 0:
        raise RuntimeError("the initial import failed: see the worker's log")
    intents = Intents(store, ACTOR)
    ingest_bytes(
        store,
        "organization.json",
        json.dumps(
            {
                "organizations": [{"code": "ORG", "name": "Flexwerk"}],
                "bank_accounts": [{"iban": iban, "organization": "ORG"} for iban in ibans.values()],
            }
        ).encode(),
    )
    for division, like in template.items():
        intents.bind_bank_account(ibans[division], division, BANKS[like][1])
        intents.set_settings(division, **SETTINGS[like])
        for kind, platform, exact in MAPPINGS[like]:
            intents.map(division, kind, platform, exact)
    with store.read() as session:
        return {
            division: list(
                session.exec(
                    select(ExactAccount)
                    .where(col(ExactAccount.division) == division)
                    .where(col(ExactAccount.status) == "C")
                    .where(col(ExactAccount.vat_number).is_not(None))
                    .order_by(col(ExactAccount.code))
                    .limit(60)
                )
            )
            for division in template
        }


def bank_accounts(divisions: tuple[int, ...]) -> dict[int, str]:
    """The bank account (IBAN) bound to each division: the drill's two for the first two,
    made-up Dutch ones with valid check digits for any further."""
    ibans = {}
    for n, division in enumerate(divisions):
        if n < 2:
            ibans[division] = BANKS[(NL, BE)[n]][0]
        else:
            bban = f"INGB{7_000_000_000 + n:010d}"
            ibans[division] = f"NL{stdnum_iban.calc_check_digits('NL00' + bban)}{bban}"
    return ibans


def _drill(
    store: Store,
    tenants: list[DrillTenant],
    procs: Processes,
    control: httpx.Client,
    base_url: str,
    rng: random.Random,
    report: DrillReport,
    kills: int,
    say: Any,
    drain_seconds: float,
    workers: int = 1,
) -> None:
    known = {id(t): prepare_store(t.store, procs, base_url, t) for t in tenants}
    day = dt.datetime.now(ZoneInfo("Europe/Amsterdam")).date()
    each = max(1, report.documents // len(tenants))
    per_tenant = [documents(rng, each, known[id(t)], day, t.divisions) for t in tenants]
    # The tenants' files in turn, so every tenant's documents arrive all through the drill.
    files: list[tuple[DrillTenant, dict[str, Any]]] = []
    for round_ in range(max(len(batches) for batches in per_tenant)):
        for tenant, batches in zip(tenants, per_tenant, strict=True):
            if round_ < len(batches):
                files.append((tenant, batches[round_]))
    for tenant, batches in zip(tenants, per_tenant, strict=True):
        tenant.documents = sum(
            len(b.get(k, [])) for b in batches for k in ("invoices", "payments", "write_offs")
        )
    report.documents = sum(t.documents for t in tenants)
    control.post(
        "/_sandbox/faults", json=fault_plan(rng.randrange(10**6), hang_seconds=3)
    ).raise_for_status()
    shown = f" over {len(tenants)} tenants" if len(tenants) > 1 else ""
    say(f"{report.documents} documents in {len(files)} files{shown}; the storm starts")
    fleet = store.all_tenants()

    def feed(count: int) -> None:
        for _ in range(count):
            if files:
                tenant, batch = files.pop(0)
                ingest_bytes(tenant.store, "batch.json", json.dumps(batch).encode())

    def reconnect_if_asked() -> None:
        """What an operator does when a tenant's status says Reconnect, or its jobs wait for
        a token Exact refused (revoked), or for a new one Exact gives only minutes from now
        (its 570-second rule, after a token answer was lost: "or reconnect now"), since its
        last connect."""
        for tenant in tenants:
            with tenant.store.read() as session:
                refused = session.exec(
                    select(ExportJob.id)
                    .where(col(ExportJob.category) == Category.AUTH)
                    .where(col(ExportJob.updated_at) > tenant.last_connect)
                    .limit(1)
                ).first()
                refused = (
                    refused
                    or session.exec(
                        select(ExportEvent.id)
                        .where(col(ExportEvent.at) > tenant.last_connect)
                        .where(col(ExportEvent.message).contains(TOKEN_WAIT))
                        .limit(1)
                    ).first()
                )
            if refused is None and _status(tenant.store) is not ConnectionStatus.RECONNECT:
                continue
            for _ in range(5):
                try:
                    tenant.last_connect = dt.datetime.now(dt.UTC)
                    connect(tenant.store, base_url, tenant.user)
                    report.reconnects += 1
                    break
                except (ConnectError, httpx.HTTPError):
                    time.sleep(0.5)  # the OAuth endpoints are in the storm too: try again

    def started(worker: subprocess.Popen[bytes]) -> None:
        """Wait until the worker beats (it has imported everything and recovered)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and worker.poll() is None:
            with store.read() as session:
                beat = session.exec(
                    select(WorkerHeartbeat.worker_id).where(WorkerHeartbeat.pid == worker.pid)
                ).first()
            if beat is not None:
                return
            time.sleep(0.05)

    per_kill = max(1, len(files) // (kills + 1))
    feed(per_kill)
    # `workers` worker processes, each serving every tenant.
    pool = [(t, procs.start("worker")) for t in tenants[:1] for _ in range(workers)]
    for n in range(kills):
        for _, each_worker in pool:
            started(each_worker)
        # With several workers, one of them (the others go on serving their divisions).
        index = rng.randrange(len(pool)) if len(pool) > 1 else 0
        tenant, worker = pool[index]
        time.sleep(rng.uniform(0.1, 2.0))
        if n % STALL_EVERY == 1:
            # Stopped (as by a frozen VM) past its lease, while another worker takes over its
            # claims; then it goes on where it was, and only then is it killed.
            worker.send_signal(signal.SIGSTOP)
            other = procs.start("worker")
            time.sleep(LEASE_SECONDS + 2)
            worker.send_signal(signal.SIGCONT)
            time.sleep(1.5)
            report.stalls += 1
        else:
            other = None
        worker.send_signal(signal.SIGKILL)
        worker.wait()  # reaped, so its pid is seen dead by the next worker
        report.kills += 1
        reconnect_if_asked()
        feed(per_kill)
        pool[index] = (tenant, other or procs.start("worker"))
        if (n + 1) % 5 == 0:
            say(f"  {n + 1} kills")
    feed(len(files))
    # The storm goes on until every document has been tried at least once.
    deadline = time.monotonic() + drain_seconds / 2
    while time.monotonic() < deadline:
        reconnect_if_asked()
        with fleet.read() as session:
            untried = session.exec(
                select(ExportJob.id)
                .where(col(ExportJob.state) == JobState.PENDING, col(ExportJob.attempts) == 0)
                .limit(1)
            ).first()
        if untried is None:
            break
        time.sleep(0.5)
    control.delete("/_sandbox/faults").raise_for_status()
    say("the storm passes; draining")
    deadline = time.monotonic() + drain_seconds
    while time.monotonic() < deadline:
        reconnect_if_asked()
        with fleet.read() as session:
            waiting = session.exec(
                select(ExportJob.id).where(col(ExportJob.state).in_(OPEN)).limit(1)
            ).first()
        if waiting is None:
            break
        time.sleep(0.5)
    for _, worker in pool:
        worker.send_signal(signal.SIGTERM)
    for _, worker in pool:
        worker.wait(60)
    calls = control.get("/_sandbox/calls").json()
    report.faults = {k: v for k, v in calls["faults"].items() if v}
    ledger = control.get("/_sandbox/ledger").json()
    if len(tenants) == 1:
        check(tenants[0].store, ledger, report)
    else:
        check_tenants(tenants, ledger, report)
    say("reconciliation: after the drill, then after damage planted in Exact")
    first = tenants[0]
    worker = procs.start("worker")
    started(worker)
    report.reconciled = reconcile_run(procs, day, first.args)
    plant_damage(first.store, control)
    report.damaged = reconcile_run(procs, day, first.args)
    worker.send_signal(signal.SIGTERM)
    worker.wait(60)


def check_tenants(tenants: list[DrillTenant], ledger: dict[str, Any], report: DrillReport) -> None:
    """`check` for each tenant against its own divisions of the ledger, summed."""
    states: collections.Counter[str] = collections.Counter()
    summed = ("duplicates", "accounts_twice", "lost", "wrong_settles", "unnamed",
              "unsafe_posts", "conflicts", "posts", "lookups", "fenced", "case_twins",
              "settlements")  # fmt: skip
    for field_name in summed:
        setattr(report, field_name, 0)
    for tenant in tenants:
        own = {k: v for k, v in ledger["divisions"].items() if int(k) in tenant.divisions}
        part = DrillReport(tenant.documents, 0, 0, 0, 0, 0, 0, 0, 0.0)
        check(tenant.store, {"divisions": own}, part)
        for field_name in summed:
            setattr(report, field_name, getattr(report, field_name) + getattr(part, field_name))
        states.update(part.states)
    # Nothing of one tenant may be in another tenant's divisions: every entry of the ledger
    # is in the divisions of the tenant that posted it (each tenant's check found its own).
    report.states = dict(states)


def reconcile_run(procs: Processes, day: dt.date, tenant: tuple[str, ...] = ()) -> dict[str, int]:
    """`exact-tui reconcile --json` over the drill's day, done by the running worker."""
    args = ("--since", day.isoformat(), "--json", "--timeout", "120")
    child = procs.start("reconcile", *tenant, *args)
    child.wait(180)
    log = sorted(procs.logs.glob("*-reconcile.log"))[-1].read_text()
    report = json.loads(log[log.index("{") :])
    return {key: int(report[key]) for key in ("duplicates", "missing", "unrecorded", "calls")}


def plant_damage(store: Store, control: httpx.Client) -> None:
    """What someone might do in Exact: delete one posted invoice's entry, and book another
    posted invoice's entry a second time (through the sandbox's control API)."""
    with store.read() as session:
        posted = list(
            session.exec(
                select(ExportJob)
                .where(col(ExportJob.state) == JobState.POSTED)
                .where(col(ExportJob.document_kind) == DocumentKind.INVOICE)
                .order_by(col(ExportJob.id))
                .limit(2)
            )
        )
    deleted, copied = posted
    control.delete(
        f"/_sandbox/divisions/{deleted.division}/entries/{deleted.exact_entry_id}"
    ).raise_for_status()
    control.post(
        f"/_sandbox/divisions/{copied.division}/entries/{copied.exact_entry_id}/copy"
    ).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="Keep the store and logs here.")
    parser.add_argument(
        "--workers", type=int, default=1, help="Workers at once (several: on PostgreSQL)."
    )
    parser.add_argument(
        "--tenants",
        type=int,
        default=1,
        help="Spread the documents over this many tenants, each its own Exact user.",
    )
    args = parser.parse_args()
    if args.tenants < 1:
        sys.exit(f"fault_drill: --tenants must be at least 1, not {args.tenants}")
    db_url = os.environ.get("TEST_PG_URL") if args.workers > 1 else None
    if args.workers > 1 and not db_url:
        sys.exit(
            "fault_drill: several workers share a PostgreSQL store: "
            "scripts/with-postgres .venv/bin/python tests/benchmarks/fault_drill.py --workers 4"
        )
    report = run_drill(
        docs=args.docs,
        kills=args.kills,
        seed=args.seed,
        workdir=args.workdir,
        db_url=db_url,
        workers=args.workers,
        tenants=args.tenants,
    )
    for line in report.lines():
        print(line)
    sys.exit(0 if report.clean else 1)


if __name__ == "__main__":
    main()
