"""The shared ledger: PostgreSQL (psycopg 3), for several stations drawing from one batch (issue 8).

The same tables, states, events and queries as the SQLite ledger (both are `ledger_sql.SqlLedger`, running
the lifecycle table); what differs is this dialect and how stations that run at the same time are kept apart:

- allocation takes the lowest free identity with ``SELECT ... FOR UPDATE SKIP LOCKED`` inside the UPDATE that
  leases it: two stations never get the same row, and neither waits for the other. A row skipped because
  another station holds it is being leased right then, so no identity is left behind (a lease whose
  transaction rolled back leaves its row free, and the next lease takes it: allocation order has no gaps
  beyond cards that really failed);
- every other state change locks its one row (``FOR UPDATE``) before the table decides, so a station whose
  lease was taken away (its token is stale) gets `LedgerConflict`;
- `reclaim` skips rows locked by others (``SKIP LOCKED``): a heartbeat never waits behind a card being
  journaled, and a lease that a station is turning into ``writing`` right now is not taken from it;
- identities in ``writing`` or ``failed`` are never freed, whoever reclaims: a station that died leaves them to
  its cards (or to a void);
- creating a batch holds a transaction-scoped advisory lock, so two `batch create` runs check their ranges for
  overlaps one after the other; identities are streamed in with COPY (a million rows in seconds).

Connections: a small pool per `PgLedger` (one connection per thread that is using the ledger at a moment, at
most `max_connections`), in autocommit mode with explicit transactions, so reader threads do not queue behind
one socket and no connection sits idle inside a transaction. Commits are durable as the server's
``synchronous_commit`` says (on by default). Times are passed in and stored as in SQLite (epoch seconds for
leases, ISO 8601 text for events). The ledger never sees the transport key: secrets arrive sealed (BYTEA).

The password of a URL never appears in messages, events or `url` (`redact_url`); libpq also takes it from
$PGPASSWORD or ~/.pgpass, so scripts need not put it on a command line.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from simtool.batch.ledger_base import LedgerError, OverlapError, redact_url
from simtool.batch.ledger_sql import SCHEMA_VERSION, Dialect, SqlLedger
from simtool.errors import InputError

try:
    import psycopg
    from psycopg import errors as pgerr
except ImportError:  # pragma: no cover - the `postgres` extra is not installed
    psycopg = None  # type: ignore[assignment]
    pgerr = None  # type: ignore[assignment]

# pg_advisory_xact_lock keys (any two constants unlikely to be used by another application on the database)
LOCK_SCHEMA, LOCK_CREATE = 0x51A7_0001, 0x51A7_0002

T = TypeVar("T")


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(batch_id: str, rows: Iterable[tuple[Any, ...]], chunk: int = 2000) -> Iterator[str]:
    """Rows in COPY's text format, a few thousand per write (several times faster than a row at a time):
    text escaped as COPY wants it, NULL as ``\\N``, secrets as bytea hex (``\\\\x...`` once escaped)."""
    bid = batch_id.translate(_COPY_ESCAPES)
    lines: list[str] = []
    for seq, iccid, imsi, msisdn, secrets in rows:
        ms = "\\N" if msisdn is None else msisdn.translate(_COPY_ESCAPES)
        lines.append(f"{bid}\t{int(seq)}\t{iccid.translate(_COPY_ESCAPES)}\t{imsi.translate(_COPY_ESCAPES)}\t{ms}"
                     f"\t\\\\x{bytes(secrets).hex()}\n")
        if len(lines) >= chunk:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


class PgDialect(Dialect):
    name = "postgresql"
    placeholder = "%s"
    lock = " FOR UPDATE"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    in_chunk = 5000
    if_not_exists = ""
    ident = ' COLLATE "C"'
    blob, real, boolean = "BYTEA", "DOUBLE PRECISION", "BOOLEAN"
    serial = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
    append_only = f"""
CREATE FUNCTION simtool_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END
$$;
CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION simtool_events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION simtool_events_append_only();
INSERT INTO meta VALUES ('schema', '{SCHEMA_VERSION}');
"""

    def begin_create(self, cur: Any) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_CREATE,))  # one create at a time

    def bulk_identities(self, cur: Any, batch_id: str, rows: Iterable[tuple[Any, ...]]) -> None:
        try:
            with cur.copy("COPY identities (batch_id, seq, iccid, imsi, msisdn, secrets) FROM STDIN") as copy:
                for chunk in _copy_text(batch_id, rows):
                    copy.write(chunk)
        except pgerr.UniqueViolation as e:
            detail = (e.diag.message_detail or str(e)).strip()
            raise OverlapError(f"batch {batch_id}: an identity clashes with one already stored ({detail})") from None


class PgLedger(SqlLedger):
    """A ledger in a PostgreSQL database (`postgresql://user[:password]@host[:port]/dbname[?param=value]`).

    With `create`, a database that does not exist yet is created (the role needs CREATEDB); the tables are
    created on first use either way.
    """

    dialect = PgDialect()
    RETRIES = 5  # deadlocks and serialization failures: the transaction is rolled back whole, so it is retried

    def __init__(self, url: str, *, create: bool = False, max_connections: int = 8) -> None:
        if psycopg is None:
            raise LedgerError(f"ledger {redact_url(url)}: the PostgreSQL ledger needs psycopg 3: "
                              "pip install 'simtool[postgres]'")
        self.url = redact_url(url)
        self._conninfo = url
        self._idle: list[Any] = []
        self._open: set[Any] = set()
        self._pool_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._closed = False
        conn = self._connect(create)
        try:
            self._init_schema(conn)
        except BaseException:
            conn.close()
            raise
        with self._pool_lock:
            self._open.add(conn)
            self._idle.append(conn)

    # -- connections -----------------------------------------------------------------------------------------
    def _fail(self, e: BaseException) -> LedgerError:
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return LedgerError(f"ledger {self.url}: {text}")

    def _raw_connect(self, conninfo: str) -> Any:
        from psycopg.conninfo import conninfo_to_dict

        params = conninfo_to_dict(conninfo)
        extra: dict[str, Any] = {}
        if "connect_timeout" not in params:
            extra["connect_timeout"] = 10
        if "application_name" not in params:
            extra["application_name"] = "simtool"
        return psycopg.connect(conninfo, autocommit=True, **extra)

    def _connect(self, create: bool = False) -> Any:
        try:
            return self._raw_connect(self._conninfo)
        except psycopg.OperationalError as e:
            missing = "does not exist" in str(e) and "database" in str(e)
            if not missing:
                raise self._fail(e) from None
            if not create:
                raise InputError(f"ledger {self.url}: no such database (create the batch first)") from None
        self._create_database()
        try:
            return self._raw_connect(self._conninfo)
        except psycopg.Error as e:
            raise self._fail(e) from None

    def _create_database(self) -> None:
        """CREATE DATABASE for the URL's database, through the server's maintenance database."""
        from psycopg import sql
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        params = conninfo_to_dict(self._conninfo)
        name = params.get("dbname")
        if not name:
            raise InputError(f"ledger {self.url}: no database name in the URL (postgresql://HOST/DBNAME)")
        try:
            with self._raw_connect(make_conninfo(self._conninfo, dbname="postgres")) as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(name))))
        except pgerr.DuplicateDatabase:
            pass  # another station created it just now
        except psycopg.Error as e:
            raise LedgerError(f"ledger {self.url}: cannot create database {name}: "
                              f"{str(e).strip().splitlines()[0]}") from None

    def _init_schema(self, conn: Any) -> None:
        try:
            if conn.execute("SELECT to_regclass('meta')").fetchone()[0] is None:
                # Stations opening a new database at once: one creates the tables, the others wait and see them.
                # A session lock taken before the transaction starts, so the check inside sees a fresh catalog.
                conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_SCHEMA,))
                try:
                    if conn.execute("SELECT to_regclass('meta')").fetchone()[0] is None:
                        with conn.transaction():
                            conn.execute(self.dialect.schema())
                finally:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_SCHEMA,))
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if version is not None and version[0] == "1":  # schema 1: add the fencing token
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_SCHEMA,))
                    conn.execute("ALTER TABLE identities ADD COLUMN IF NOT EXISTS token INTEGER NOT NULL DEFAULT 0")
                    conn.execute("UPDATE meta SET value = %s WHERE key = 'schema'", (SCHEMA_VERSION,))
                version = (SCHEMA_VERSION,)
        except psycopg.Error as e:
            raise self._fail(e) from None
        if version is None or version[0] != SCHEMA_VERSION:
            raise LedgerError(f"ledger {self.url}: schema version {version and version[0]}, this simtool knows "
                              f"{SCHEMA_VERSION}")

    @contextlib.contextmanager
    def _conn(self) -> Iterator[Any]:
        """A connection of the pool for one operation (a transaction, or one read)."""
        if self._closed:
            raise LedgerError(f"ledger {self.url}: closed")
        self._slots.acquire()
        try:
            with self._pool_lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = self._connect()
                with self._pool_lock:
                    self._open.add(conn)
            try:
                yield conn
            finally:
                healthy = not conn.closed and not conn.broken and (
                    conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE)
                with self._pool_lock:
                    if healthy and not self._closed:
                        self._idle.append(conn)
                    else:
                        self._open.discard(conn)
                if not healthy:
                    with contextlib.suppress(Exception):
                        conn.close()
        finally:
            self._slots.release()

    def _tx(self, work: Callable[[Any], T]) -> T:
        """Run `work(cursor)` in one transaction: committed whole, or rolled back whole on any error.
        Deadlocks and serialization failures are retried (the server rolled everything back)."""
        for attempt in range(self.RETRIES):
            try:
                with self._conn() as conn, conn.transaction(), conn.cursor() as cur:
                    return work(cur)
            except (pgerr.DeadlockDetected, pgerr.SerializationFailure) as e:
                if attempt == self.RETRIES - 1:
                    raise self._fail(e) from None
                time.sleep(0.01 * (attempt + 1))
            except psycopg.Error as e:
                raise self._fail(e) from None
        raise AssertionError("unreachable")

    def _read(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """One read outside any explicit transaction (a single statement sees one snapshot)."""
        try:
            with self._conn() as conn:
                return conn.execute(sql, params).fetchall()  # type: ignore[no-any-return]
        except psycopg.Error as e:
            raise self._fail(e) from None

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            conns, self._open, self._idle = list(self._open), set(), []
        for c in conns:
            with contextlib.suppress(Exception):
                c.close()
