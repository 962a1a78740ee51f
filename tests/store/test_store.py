"""The store: migrations from empty, refusal of a newer schema, SQLite settings, file modes,
exact money and UTC times, and writers that wait for each other instead of failing."""

from __future__ import annotations

import datetime as dt
import os
import stat
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from exact_tui.store import migrations
from exact_tui.store.engine import Store, StoreError, open_store
from exact_tui.store.models import (
    BankAccount,
    Customer,
    Invoice,
    InvoiceLine,
    Organization,
    metadata,
)


def test_migrates_from_empty_to_head(empty_db_url: str) -> None:
    store = open_store(empty_db_url)
    info = store.schema()
    assert info.current == migrations.head_revision()
    tables = set(inspect(store.engine).get_table_names())
    assert set(metadata.tables) <= tables
    store.dispose()


def test_migrations_match_the_models(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_newer_schema_is_refused(db_url: str) -> None:
    store = open_store(db_url)
    with store.write() as session:
        session.exec(text("UPDATE alembic_version SET version_num = '9999_future'"))
    store.dispose()
    with pytest.raises(StoreError, match=r"9999_future.*newer version\. Upgrade exact-tui"):
        open_store(db_url)


@pytest.mark.sqlite_only("SQLite's own settings")
def test_sqlite_pragmas(store: Store) -> None:
    with store.read() as session:
        assert session.exec(text("PRAGMA journal_mode")).one()[0] == "wal"
        assert session.exec(text("PRAGMA foreign_keys")).one()[0] == 1
        assert session.exec(text("PRAGMA synchronous")).one()[0] == 2  # FULL
        assert session.exec(text("PRAGMA busy_timeout")).one()[0] >= 5000


@pytest.mark.sqlite_only("a SQLite store is files; a PostgreSQL one lives in the server")
def test_files_are_private_from_the_first_write(tmp_path: Path) -> None:
    directory = tmp_path / "fresh" / "data"
    store = open_store(f"sqlite:///{directory / 'x.db'}")
    with store.write() as session:
        session.add(Organization(code="O1", name="Org", content_hash="h"))
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert {p.name for p in directory.iterdir()} >= {"x.db", "x.db-wal", "x.db-shm"}
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "fresh").stat().st_mode) == 0o700
    store.dispose()


@pytest.mark.sqlite_only("a SQLite store is files; a PostgreSQL one lives in the server")
def test_existing_directory_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)
    store = open_store(f"sqlite:///{shared / 'x.db'}")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert stat.S_IMODE((shared / "x.db").stat().st_mode) == 0o600
    store.dispose()


def test_money_is_exact_and_times_are_utc(store: Store) -> None:
    amount = Decimal("12345678901234.57")
    with store.write() as session:
        org = Organization(code="O", name="O", content_hash="h")
        session.add(org)
        session.flush()
        assert org.id is not None
        bank = BankAccount(iban="NL91ABNA0417164300", organization_id=org.id, content_hash="h")
        customer = Customer(number="C1", name="C", content_hash="h")
        session.add_all([bank, customer])
        session.flush()
        assert bank.id is not None and customer.id is not None
        invoice = Invoice(
            number="I1",
            date=dt.date(2026, 1, 2),
            customer_id=customer.id,
            bank_account_id=bank.id,
            content_hash="h",
        )
        session.add(invoice)
        session.flush()
        assert invoice.id is not None
        session.add(
            InvoiceLine(
                invoice_id=invoice.id, position=1, amount=amount, gl_code="8000", vat_code="21"
            )
        )
    with store.read() as session:
        line = session.exec(select(InvoiceLine)).one()
        created = session.exec(select(Invoice)).one().created_at
    assert line.amount == amount
    assert isinstance(line.amount, Decimal)
    assert created.tzinfo is dt.UTC
    assert abs((dt.datetime.now(dt.UTC) - created).total_seconds()) < 60


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive datetime"), store.write() as session:
        session.add(
            Organization(code="N", name="N", content_hash="h", created_at=dt.datetime(2026, 1, 1))
        )
    with store.read() as session:
        assert session.exec(select(Organization)).all() == []


def test_foreign_keys_are_enforced(store: Store) -> None:
    # SQLite: "FOREIGN KEY constraint failed"; PostgreSQL: "violates foreign key constraint".
    with (
        pytest.raises(IntegrityError, match=r"(?i)foreign key constraint"),
        store.write() as session,
    ):
        session.add(BankAccount(iban="X", organization_id=999, content_hash="h"))


def _counter(session: Session) -> Organization:
    return session.exec(select(Organization).where(Organization.code == "COUNTER")).one()


def test_second_writer_waits_for_the_first(store: Store) -> None:
    """write() takes the store's write lock first (BEGIN IMMEDIATE on SQLite, an advisory lock
    on PostgreSQL): a writer that reads-then-writes while another holds it waits, then reads
    the first one's result, instead of failing half-way or losing the first one's update."""
    with store.write() as session:
        session.add(Organization(code="COUNTER", name="0", content_hash="h"))
    first_has_read = threading.Event()
    second_starts = threading.Event()
    seen: dict[str, str] = {}
    errors: list[BaseException] = []

    def increment(who: str) -> None:
        try:
            if who == "second":
                second_starts.set()
            with store.write() as session:
                org = _counter(session)
                seen[who] = org.name
                if who == "first":
                    first_has_read.set()
                    assert second_starts.wait(5)
                    # Time for the second to reach its read: without the lock it reads "0".
                    time.sleep(0.3)
                org.name = str(int(org.name) + 1)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    first = threading.Thread(target=increment, args=("first",))
    first.start()
    assert first_has_read.wait(5)
    second = threading.Thread(target=increment, args=("second",))
    second.start()
    first.join()
    second.join()
    assert errors == []
    assert seen == {"first": "0", "second": "1"}  # the second read after the first committed
    with store.read() as session:
        assert _counter(session).name == "2"  # no lost update


def test_a_reader_never_waits_for_a_writer(store: Store) -> None:
    """While a write transaction holds the lock, a read sees the last committed state at once."""
    with store.write() as session:
        session.add(Organization(code="COUNTER", name="0", content_hash="h"))
    with store.write() as writing:
        _counter(writing).name = "1"
        writing.flush()
        with store.read() as reading:
            assert _counter(reading).name == "0"
    with store.read() as reading:
        assert _counter(reading).name == "1"


def test_opening_an_up_to_date_store_waits_for_no_writer(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`status`, `jobs` or the read-only console during a long ingest (one transaction per
    file, tens of seconds for a large one): opening the store only reads its schema revision,
    so it neither waits for the writer's lock nor gives up when the wait runs out."""
    from exact_tui.store import engine

    monkeypatch.setattr(engine, "BUSY_TIMEOUT_MS", 100)  # a writer that outlasts the wait
    writer = open_store(db_url)
    try:
        with writer.write() as session:
            session.add(Organization(code="LONG-INGEST", name="in progress", content_hash="h"))
            session.flush()  # the writer holds the lock from here to the end of the block
            reader = open_store(db_url)
            try:
                with reader.read() as other:
                    assert other.exec(select(Organization)).all() == []  # not committed yet
            finally:
                reader.dispose()
    finally:
        writer.dispose()


@pytest.mark.sqlite_only("only SQLite has an in-memory database to refuse")
def test_memory_database_is_refused() -> None:
    with pytest.raises(StoreError, match="must be a file"):
        open_store("sqlite://")


def test_the_head_constant_is_alembics_head() -> None:
    assert migrations.script().get_current_head() == migrations.HEAD


def test_text_search_is_case_insensitive_and_literal(store: Store) -> None:
    from sqlmodel import col

    from exact_tui.store.search import ci_like, contains, starts_with

    with store.write() as session:
        for code, name in (("A", "Fotografie Smit"), ("B", "100% Hout_werk"), ("C", "Bakkerij")):
            session.add(Organization(code=code, name=name, content_hash="h"))
    with store.read() as session:

        def names(condition: object) -> list[str]:
            query = select(Organization.name).where(condition).order_by(col(Organization.code))
            return list(session.exec(query))

        assert names(ci_like(col(Organization.name), contains("fotografie SMIT"))) == [
            "Fotografie Smit"
        ]
        assert names(ci_like(col(Organization.name), contains("0% h"))) == ["100% Hout_werk"]
        assert names(ci_like(col(Organization.name), contains("t_w"))) == ["100% Hout_werk"]
        assert names(ci_like(col(Organization.name), contains("%"))) == ["100% Hout_werk"]
        assert names(ci_like(col(Organization.name), starts_with("bak"))) == ["Bakkerij"]
        assert names(ci_like(col(Organization.name), starts_with("akk"))) == []
        sql = str(
            select(Organization).where(ci_like(col(Organization.name), "x")).compile(store.engine)
        )
    # SQLite's LIKE is case-insensitive already; PostgreSQL needs ILIKE. Neither wraps the
    # column in lower(), which would cost a third of a scan for nothing.
    assert "lower(" not in sql
    assert (" LIKE " if store.is_sqlite else " ILIKE ") in sql


def test_cost_rows_cached_inactive_stay_unusable_after_the_active_flag_goes(
    empty_db_url: str,
) -> None:
    """0002 drops the undocumented Active flag: a row cached as inactive without an end date
    gets one, so it stays refused until the next import says otherwise."""
    from alembic import command

    from exact_tui.store.engine import create_engine
    from exact_tui.store.models import CostCenter, CostUnit

    engine = create_engine(empty_db_url)
    with engine.connect() as conn, conn.begin():
        command.upgrade(migrations.config(conn), "0001")
        for table in ("cost_center", "cost_unit"):
            conn.execute(
                text(
                    f"INSERT INTO {table} (division, id, code, description, end_date, active) "
                    "VALUES (1, 'a', 'OLD', '', NULL, :no), (1, 'b', 'LIVE', '', NULL, :yes), "
                    "(1, 'c', 'ENDED', '', '2023-06-30', :no)"
                ),
                {"no": False, "yes": True},
            )
    engine.dispose()
    store = open_store(empty_db_url)
    today = dt.datetime.now(dt.UTC).date()
    with store.read() as session:
        for model in (CostCenter, CostUnit):
            ends = {row.code: row.end_date for row in session.exec(select(model))}
            assert ends["LIVE"] is None
            assert ends["ENDED"] == dt.date(2023, 6, 30)
            # CURRENT_DATE is the database's UTC date; the test may straddle midnight.
            assert ends["OLD"] is not None and abs((ends["OLD"] - today).days) <= 1
    store.dispose()
