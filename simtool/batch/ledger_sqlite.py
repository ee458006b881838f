"""The embedded ledger: one SQLite file in WAL mode, `synchronous=FULL` so a commit survives a power cut.

One connection per `SqliteLedger`, guarded by a lock so the reader threads of a run can share it; every
write transaction is ``BEGIN IMMEDIATE`` (the whole file is the row lock), so two `batch run` processes on one
file serialise instead of deadlocking. The queries and the lifecycle are `ledger_sql.py`'s.

The file holds sealed secrets, so it is simtool's own: created 0600 (``O_EXCL|O_NOFOLLOW``), and an existing
file that is a symlink (dangling or not) or that group or others may read is refused (exit 2) with the fix;
SQLite's -wal/-shm files are held to the same rule and made 0600. Events cannot be updated or deleted
(triggers).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from simtool.batch.ledger_base import LedgerError, OverlapError
from simtool.batch.ledger_sql import SCHEMA_VERSION, Dialect, SqlLedger
from simtool.errors import InputError

T = TypeVar("T")

class SqliteDialect(Dialect):
    name = "sqlite"
    table_options = " WITHOUT ROWID"
    append_only = """
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
"""

    def bulk_identities(self, cur: Any, batch_id: str, rows: Iterable[tuple[Any, ...]]) -> None:
        try:
            cur.executemany("INSERT INTO identities (batch_id, seq, iccid, imsi, msisdn, secrets) "
                            "VALUES (?, ?, ?, ?, ?, ?)", ((batch_id, *r) for r in rows))
        except sqlite3.IntegrityError as e:
            raise OverlapError(f"batch {batch_id}: an identity clashes with one already stored ({e})") from None


def _refuse_unsafe(path: Path) -> None:
    """An existing ledger file (or its -wal/-shm) must be a regular file of no one but its owner."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as e:
        raise InputError(f"ledger {path}: cannot check: {e.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise InputError(f"ledger {path}: is a symbolic link (to {os.readlink(path)}); a ledger holds sealed "
                         f"secrets and is simtool's own file: remove the link, or give the real path")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"ledger {path}: not a regular file")
    if st.st_mode & 0o077:
        raise InputError(f"ledger {path}: mode {stat.S_IMODE(st.st_mode):04o} lets group or others read sealed "
                         f"secrets; fix it with: chmod 600 {path}")


class SqliteLedger(SqlLedger):
    dialect = SqliteDialect()

    def __init__(self, path: str, *, url: str | None = None, create: bool = False) -> None:
        self.path = Path(path)
        self.url = url or f"sqlite://{path}"
        self._side = [Path(f"{self.path}-wal"), Path(f"{self.path}-shm")]
        for p in (self.path, *self._side):
            _refuse_unsafe(p)
        if not os.path.lexists(self.path):
            if not create:
                raise InputError(f"ledger {self.url}: no such database (create the batch first)")
            self._create_file()
        try:
            self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30.0)
            self._db.execute("PRAGMA busy_timeout = 30000")
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise LedgerError(f"ledger {self.url}: cannot switch to WAL mode (got {mode})")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.executescript(self.dialect.schema())
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            self._migrate()
        except sqlite3.DatabaseError as e:
            raise LedgerError(f"ledger {self.url}: {e}") from None
        version = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise LedgerError(f"ledger {self.url}: schema version {version}, this simtool knows {SCHEMA_VERSION}")
        for p in self._side:  # SQLite gives them the file's mode; one left by another tool is made ours
            with contextlib.suppress(FileNotFoundError):
                os.chmod(p, 0o600, follow_symlinks=False)
        self._lock = threading.RLock()

    def _migrate(self) -> None:
        cols = {r[1] for r in self._db.execute("PRAGMA table_info(identities)")}
        if "token" not in cols:  # schema 1: add the fencing token
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("ALTER TABLE identities ADD COLUMN token INTEGER NOT NULL DEFAULT 0")
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))
            self._db.execute("COMMIT")

    def _create_file(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
        except FileExistsError:  # another process made it just now: held to the same rule
            _refuse_unsafe(self.path)
            return
        except OSError as e:
            raise InputError(f"ledger {self.url}: cannot create: {e.strerror}") from None
        os.fchmod(fd, 0o600)  # whatever the umask
        os.close(fd)

    # -- plumbing ----------------------------------------------------------------------------------------
    def _tx(self, work: Callable[[Any], T]) -> T:
        """One write transaction around `work(cursor)`; rolled back on any error."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                raise LedgerError(f"ledger {self.url}: {e}") from None
            try:
                out = work(self._db.cursor())
                self._db.execute("COMMIT")
                return out
            except BaseException as e:
                with contextlib.suppress(sqlite3.Error):  # leave the connection usable, whatever happened
                    self._db.execute("ROLLBACK")
                if isinstance(e, sqlite3.OperationalError):
                    raise LedgerError(f"ledger {self.url}: {e}") from None
                raise

    def _read(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as e:
                raise LedgerError(f"ledger {self.url}: {e}") from None

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.close()
