"""What the database and its server say when the environment fails, made into the one line that
names the store, the cause and what to do (store/failures.py)."""

from __future__ import annotations

import psycopg.errors
import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from exact_tui.store.failures import (
    StorageProblem,
    describe_store,
    parse_url,
    sqlite_file,
    store_failure,
    unusable_url,
)

PG = "postgresql+psycopg://exact:hunter2@db.example/exact"


@pytest.mark.parametrize(
    ("error", "problem", "phrase"),
    [
        # `pg_ctl restart` (or a failover) while a statement runs.
        (psycopg.errors.AdminShutdown, StorageProblem.UNREACHABLE, "try again"),
        (psycopg.errors.CannotConnectNow, StorageProblem.UNREACHABLE, "try again"),
        (psycopg.errors.TooManyConnections, StorageProblem.UNREACHABLE, "try again"),
        (psycopg.errors.QueryCanceled, StorageProblem.UNREACHABLE, "try again"),
        # A user that may not create the tables (a database owned by someone else).
        (psycopg.errors.InsufficientPrivilege, StorageProblem.READ_ONLY, "lacks a privilege"),
        (psycopg.errors.DeadlockDetected, StorageProblem.LOCKED, "another writer"),
        (psycopg.errors.SerializationFailure, StorageProblem.LOCKED, "another writer"),
        (psycopg.errors.DataCorrupted, StorageProblem.DAMAGED, "is damaged"),
        (psycopg.errors.DiskFull, StorageProblem.FULL, "is full"),
    ],
)
def test_what_a_postgresql_server_says_is_an_environment_problem(
    error: type[psycopg.Error], problem: StorageProblem, phrase: str
) -> None:
    wrapped = OperationalError("INSERT INTO invoice …", {"number": "INV-1"}, error("it said no"))
    failure = store_failure(wrapped, PG)
    assert failure is not None, f"{error.__name__} ({error.sqlstate}) is taken for a bug"
    assert failure.problem is problem
    message = str(failure)
    assert phrase in message
    if error is not psycopg.errors.DiskFull:  # that message says all there is to say
        assert "it said no" in message  # the server's own words
    assert "hunter2" not in message
    assert "INV-1" not in message and "INSERT" not in message  # no statement, no data


def test_a_mistake_in_our_sql_stays_a_bug() -> None:
    wrapped = ProgrammingError("SELECT nope", {}, psycopg.errors.UndefinedColumn("no column"))
    assert store_failure(wrapped, PG) is None


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://exact:hunter2@db.example:port/exact",  # a port that is no number
        "postgresql+psycopg://exact:hunter2@[::1/exact",  # an unclosed IPv6 bracket
    ],
)
def test_a_url_sqlalchemy_cannot_read_is_no_url(url: str) -> None:
    assert sqlite_file(url) is None
    assert "hunter2" not in describe_store(url)
    assert "exact:***@" in describe_store(url)
    with pytest.raises(Exception) as raised:
        parse_url(url)
    refusal = unusable_url(raised.value, url)
    assert refusal is not None
    assert "is not a database URL exact-tui knows" in str(refusal)
    assert "hunter2" not in str(refusal)
