"""Why the store cannot be opened or written, in one line that says what to do.

Database drivers and the file system fail in their own words (`sqlite3.OperationalError:
unable to open database file`, `OSError: [Errno 30]`); `store_failure()` turns the ones an
environment causes (a damaged or read-only file, a full disk, a folder given as the store, a
missing driver, an unreachable server) into a `StoreError` whose message names the store, the
cause and the fix. The messages are listed in docs/troubleshooting.md.
"""

from __future__ import annotations

import errno
import os
import re
import sqlite3
from enum import StrEnum
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError


class StoreError(Exception):
    """The store cannot be opened or used; the message says what to do."""


class StorageProblem(StrEnum):
    """What kind of environment problem a failure is (the worker backs off on all of them)."""

    DAMAGED = "damaged"
    READ_ONLY = "read_only"
    FULL = "full"
    LOCKED = "locked"
    UNREACHABLE = "unreachable"
    IO = "io"
    NOT_A_STORE = "not_a_store"


class StorageFailure(StoreError):
    """An environment problem with the store (disk, file, server), not a bug in exact-tui."""

    def __init__(self, message: str, problem: StorageProblem) -> None:
        super().__init__(message)
        self.problem = problem


# SQLite's primary result codes (sqlite.org/rescode.html); extended codes carry them in the
# low byte.
_SQLITE_PERM = 3
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26

_READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


#: The password in a URL that cannot be parsed: `scheme://user:PASSWORD@`.
_PASSWORD_IN_URL = re.compile(r"(://[^:/@]*:)[^@]*@")


def parse_url(url: str) -> URL:
    """SQLAlchemy's reading of a store URL; one it cannot read (an unknown form, a port that
    is no number, an unclosed IPv6 bracket) raises `ArgumentError`."""
    try:
        return make_url(url)
    except ValueError as exc:  # make_url lets int() and urllib's ValueErrors through
        raise ArgumentError(f"cannot read the URL: {exc}") from None


def describe_store(url: str) -> str:
    """How messages name a store: its file for SQLite, its URL without password otherwise."""
    try:
        parsed = parse_url(url)
    except ArgumentError:
        return _PASSWORD_IN_URL.sub(r"\1***@", url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return parsed.database
    return parsed.render_as_string(hide_password=True)


def sqlite_file(url: str) -> Path | None:
    try:
        parsed = parse_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def _read_only(where: str, why: str) -> StorageFailure:
    return StorageFailure(
        f"the store {where} cannot be written ({why}): exact-tui writes to its store even to "
        "read it (SQLite's WAL); make the file and its folder writable, or copy the store to a "
        "writable place and use --db",
        StorageProblem.READ_ONLY,
    )


def _full(where: str) -> StorageFailure:
    return StorageFailure(
        f"the disk holding the store {where} is full: free some space, then try again "
        "(what failed was not written)",
        StorageProblem.FULL,
    )


def _damaged(where: str, why: str) -> StorageFailure:
    return StorageFailure(
        f"the store {where} is damaged or is not an exact-tui database ({why}): restore it "
        "from a backup, or choose another store with --db",
        StorageProblem.DAMAGED,
    )


def _cannot_open(url: str, why: str) -> StorageFailure:
    where = describe_store(url)
    path = sqlite_file(url)
    if path is not None:
        if path.is_dir():
            return StorageFailure(
                f"the store {where} is a folder: --db and store.url take the database file "
                f"(for example {path / 'exact-tui.db'})",
                StorageProblem.NOT_A_STORE,
            )
        if not path.parent.is_dir():
            return StorageFailure(
                f"the store {where} cannot be opened: its folder {path.parent} does not exist "
                "or is not a folder",
                StorageProblem.NOT_A_STORE,
            )
        folder = path.parent
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return _read_only(where, f"{folder} is on a read-only file system")
        if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            return _read_only(where, f"SQLite: {why}; the file or its folder is not writable")
        return StorageFailure(
            f"the store {where} cannot be opened (SQLite: {why})", StorageProblem.NOT_A_STORE
        )
    return StorageFailure(f"the store {where} cannot be opened ({why})", StorageProblem.UNREACHABLE)


#: Less free space than this beside a SQLite store is taken as a full disk.
_NEARLY_FULL_BYTES = 1 << 20


def _no_space_left(url: str) -> bool:
    path = sqlite_file(url)
    if path is None:
        return False
    try:
        info = os.statvfs(path.parent)
    except OSError:
        return False
    return info.f_bavail * info.f_frsize < _NEARLY_FULL_BYTES


def _from_sqlite(error: sqlite3.Error, url: str) -> StorageFailure | None:
    where = describe_store(url)
    why = str(error)
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return _damaged(where, why)
    if primary == _SQLITE_FULL:
        return _full(where)
    if primary in (_SQLITE_READONLY, _SQLITE_PERM):
        return _read_only(where, why)
    if primary == _SQLITE_CANTOPEN:
        return _cannot_open(url, why)
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StorageFailure(
            f"the store {where} stayed locked by another process ({why}): try again; if it "
            f"persists, look for the process holding it (fuser {where})",
            StorageProblem.LOCKED,
        )
    if primary == _SQLITE_IOERR:
        # A full disk often surfaces as an I/O error (the shared-memory file cannot grow).
        if _no_space_left(url):
            return _full(where)
        return StorageFailure(
            f"the store {where} could not be read or written ({why}): check the disk and the "
            "file system it is on",
            StorageProblem.IO,
        )
    return None


# PostgreSQL's SQLSTATE codes and classes (postgresql.org/docs/current/errcodes-appendix.html).
_PG_DISK_FULL = "53100"
_PG_READ_ONLY = "25006"
_PG_LOCK_NOT_AVAILABLE = "55P03"
_PG_NO_PRIVILEGE = "42501"
#: Operator intervention (a shutdown or restart of the server, a cancelled query), insufficient
#: resources (memory, connections), system errors: the server, not exact-tui.
_PG_SERVER_CLASSES = ("57", "53", "58")
#: A deadlock, a serialization failure: another writer, for now.
_PG_LOCKED = frozenset({"40001", "40P01"})
_PG_DAMAGED = frozenset({"XX001", "XX002"})


def _from_postgres(error: BaseException, url: str) -> StorageFailure | None:
    where = describe_store(url)
    sqlstate = getattr(error, "sqlstate", None)
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if sqlstate == _PG_DISK_FULL:
        return _full(where)
    if sqlstate == _PG_READ_ONLY:
        return _read_only(where, first_line)
    if sqlstate == _PG_LOCK_NOT_AVAILABLE:
        return StorageFailure(
            f"the store {where} stayed locked by another process ({first_line}): try again; "
            "if it persists, look for the session holding it (pg_stat_activity)",
            StorageProblem.LOCKED,
        )
    if sqlstate == _PG_NO_PRIVILEGE:
        return StorageFailure(
            f"the database user of the store {where} lacks a privilege exact-tui needs "
            f"({first_line}): let it create and change tables in its database (or in the "
            "schema it uses), as the database's owner does",
            StorageProblem.READ_ONLY,
        )
    if sqlstate in _PG_LOCKED:
        return StorageFailure(
            f"the store {where} was busy with another writer ({first_line}): what failed "
            "was not written; try again",
            StorageProblem.LOCKED,
        )
    if sqlstate in _PG_DAMAGED:
        return _damaged(where, first_line)
    if sqlstate is not None and str(sqlstate)[:2] in _PG_SERVER_CLASSES:
        return StorageFailure(
            f"the server of the store {where} stopped what exact-tui asked ({first_line}): "
            "what failed was not written; try again once the server is up",
            StorageProblem.UNREACHABLE,
        )
    if sqlstate is None or str(sqlstate).startswith("08"):
        # No SQLSTATE: the connection itself failed (refused, unknown host, bad password).
        return StorageFailure(
            f"cannot reach the store {where} ({first_line}): check that the server runs and "
            "the URL, user and password are right",
            StorageProblem.UNREACHABLE,
        )
    return None


def _from_os_error(error: OSError, url: str) -> StorageFailure | None:
    where = describe_store(url)
    name = error.filename if isinstance(error.filename, str) else where
    why = error.strerror or str(error)
    if error.errno == errno.ENOSPC or error.errno == errno.EDQUOT:
        return _full(where)
    if error.errno in _READ_ONLY_ERRNOS:
        return _read_only(where, f"{name}: {why}")
    if error.errno in (errno.ENOTDIR, errno.EISDIR, errno.ENOENT):
        return _cannot_open(url, f"{name}: {why}")
    if error.errno == errno.EIO:
        if _no_space_left(url):
            return _full(where)
        return StorageFailure(
            f"the store {where} could not be read or written ({name}: {why}): check the disk",
            StorageProblem.IO,
        )
    return None


def store_failure(error: BaseException, url: str) -> StorageFailure | None:
    """The environment problem `error` is, for the store at `url`; None when it is none of the
    known ones (a bug, which callers let through)."""
    if isinstance(error, StorageFailure):
        return error
    if isinstance(error, DBAPIError):
        original = error.orig
        if isinstance(original, sqlite3.Error):
            return _from_sqlite(original, url)
        if original is not None and type(original).__module__.startswith("psycopg"):
            return _from_postgres(original, url)
        return None
    if isinstance(error, sqlite3.Error):
        return _from_sqlite(error, url)
    if isinstance(error, OSError):
        return _from_os_error(error, url)
    return None


def unusable_url(error: BaseException, url: str) -> StoreError | None:
    """A store URL that cannot be used at all: not a URL, an unknown database, no driver."""
    where = describe_store(url)
    if isinstance(error, NoSuchModuleError | ArgumentError):
        return StoreError(
            f"the store {where} is not a database URL exact-tui knows: give a SQLite file path "
            "or a postgresql+psycopg://USER@HOST/DATABASE URL"
        )
    if isinstance(error, ModuleNotFoundError):
        return StoreError(
            f"the store {where} needs a database driver that is not installed ({error.name}): "
            "for PostgreSQL, pip install 'exact-tui[postgres]'"
        )
    return None
