"""The shared ledger: PostgreSQL (psycopg 3), for several stations drawing from one batch (issue 8).

The same tables, states and events as the SQLite ledger (`ledger_sqlite.py`); what differs is how stations
that run at the same time are kept apart:

- allocation takes the lowest free identity with ``SELECT ... FOR UPDATE SKIP LOCKED`` inside the UPDATE that
  leases it: two stations never get the same row, and neither waits for the other. A row skipped because
  another station holds it is being leased right then, so no identity is left behind (a lease whose
  transaction rolled back leaves its row free, and the next lease takes it: allocation order has no gaps
  beyond cards that really failed);
- every other state change locks its one row (``FOR UPDATE``) or is a conditional ``UPDATE ... WHERE state
  IN (...) AND lease_owner = ...``, so a station that lost its lease gets `LedgerConflict`;
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
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from simtool.batch.ledger import (
    EV_CREATED,
    FAILED,
    FREE,
    LEASED,
    ON_A_CARD,
    STATES,
    VOIDED,
    WRITING,
    BatchRecord,
    Event,
    IdentityRow,
    Ledger,
    LedgerConflict,
    LedgerError,
    OverlapError,
    Range,
    now_iso,
    redact_url,
)
from simtool.errors import GuardError, InputError

try:
    import psycopg
    from psycopg import errors as pgerr
except ImportError:  # pragma: no cover - the `postgres` extra is not installed
    psycopg = None  # type: ignore[assignment]
    pgerr = None  # type: ignore[assignment]

SCHEMA_VERSION = "1"
# pg_advisory_xact_lock keys (any two constants unlikely to be used by another application on the database)
LOCK_SCHEMA, LOCK_CREATE = 0x51A7_0001, 0x51A7_0002

_STATE_LIST = ", ".join(f"'{s}'" for s in STATES)
# Identifier columns compare in byte order (COLLATE "C"), whatever the database's locale: overlap checks use
# BETWEEN on digit strings.
SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE batches (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    count INTEGER NOT NULL,
    profile_name TEXT NOT NULL,
    profile_source TEXT NOT NULL,
    profile_text TEXT NOT NULL,
    profile_sha256 TEXT NOT NULL,
    simtool_version TEXT NOT NULL,
    kcv TEXT NOT NULL,
    adm_mode TEXT NOT NULL,
    preprinted BOOLEAN NOT NULL,
    options TEXT NOT NULL
);
CREATE TABLE ranges (
    batch_id TEXT NOT NULL REFERENCES batches(id),
    kind TEXT NOT NULL,
    first TEXT COLLATE "C" NOT NULL,
    last TEXT COLLATE "C" NOT NULL
);
CREATE TABLE identities (
    iccid TEXT COLLATE "C" PRIMARY KEY,
    batch_id TEXT NOT NULL REFERENCES batches(id),
    seq INTEGER NOT NULL,
    imsi TEXT COLLATE "C" NOT NULL UNIQUE,
    msisdn TEXT COLLATE "C" UNIQUE,
    state TEXT NOT NULL DEFAULT 'free' CHECK (state IN ({_STATE_LIST})),
    secrets BYTEA NOT NULL,
    lease_owner TEXT,
    lease_reader TEXT,
    lease_until DOUBLE PRECISION,
    card_ref TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated TEXT,
    reason TEXT,
    UNIQUE (batch_id, seq)
);
CREATE INDEX identities_state ON identities (batch_id, state, seq);
CREATE INDEX identities_owner ON identities (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX identities_card ON identities (card_ref) WHERE card_ref IS NOT NULL;
CREATE TABLE events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    iccid TEXT,
    reader TEXT,
    state TEXT NOT NULL,
    detail TEXT,
    station TEXT
);
CREATE INDEX events_iccid ON events (batch_id, iccid);
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

_ROW_COLS = ("batch_id, seq, iccid, imsi, msisdn, state, secrets, lease_owner, lease_reader, lease_until, card_ref, "
             "attempts, updated, reason")
_BATCH_COLS = ("id, created, count, profile_name, profile_source, profile_text, profile_sha256, simtool_version, "
               "kcv, adm_mode, preprinted, options")
_IDENT_COL = {"iccid": "iccid", "imsi": "imsi", "msisdn": "msisdn"}

T = TypeVar("T")


def _row(r: tuple) -> IdentityRow:
    return IdentityRow(*r[:6], bytes(r[6]), *r[7:])


def _batch(r: tuple) -> BatchRecord:
    return BatchRecord(*r[:10], bool(r[10]), json.loads(r[11]))


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(batch_id: str, rows: Iterable[tuple], chunk: int = 2000) -> Iterator[str]:
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


class PgLedger(Ledger):
    """A ledger in a PostgreSQL database (`postgresql://user[:password]@host[:port]/dbname[?param=value]`).

    With `create`, a database that does not exist yet is created (the role needs CREATEDB); the tables are
    created on first use either way.
    """

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
        extra = {}
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
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
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
                            conn.execute(SCHEMA)
                finally:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_SCHEMA,))
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
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

    def _q(self, query: str, params: tuple | list = ()) -> list[tuple]:
        """One read outside any explicit transaction (a single statement sees one snapshot)."""
        try:
            with self._conn() as conn:
                return conn.execute(query, params).fetchall()
        except psycopg.Error as e:
            raise self._fail(e) from None

    @staticmethod
    def _event(cur: Any, batch_id: str, state: str, detail: str | None, iccid: str | None = None,
               reader: str | None = None, station: str | None = None) -> None:
        cur.execute("INSERT INTO events (time, batch_id, iccid, reader, state, detail, station) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s)", (now_iso(), batch_id, iccid, reader, state, detail, station))

    @staticmethod
    def _get(cur: Any, iccid: str, lock: bool = False) -> IdentityRow | None:
        cur.execute(f"SELECT {_ROW_COLS} FROM identities WHERE iccid = %s" + (" FOR UPDATE" if lock else ""),
                    (iccid,))
        r = cur.fetchone()
        return _row(r) if r else None

    # -- batches -----------------------------------------------------------------------------------------
    def overlaps(self, ranges: Iterable[Range], iccids: Iterable[str] = ()) -> list[str]:
        ranges, iccids = list(ranges), list(iccids)
        return self._tx(lambda cur: self._overlaps(cur, ranges, iccids))

    @staticmethod
    def _overlaps(cur: Any, ranges: Iterable[Range], iccids: Iterable[str]) -> list[str]:
        out = []
        for r in ranges:
            col = _IDENT_COL[r.kind]
            first, last = (("+" + r.first, "+" + r.last) if r.kind == "msisdn" else (r.first, r.last))
            cur.execute(f"SELECT batch_id, MIN({col}), MAX({col}), COUNT(*) FROM identities "
                        f"WHERE {col} BETWEEN %s AND %s AND length({col}) = %s GROUP BY batch_id ORDER BY batch_id",
                        (first, last, len(first)))
            for batch_id, lo, hi, n in cur.fetchall():
                out.append(f"{r.kind} range {first}..{last} overlaps batch {batch_id} "
                           f"({n} {r.kind.upper()}s already issued there, {lo}..{hi})")
        todo = list(iccids)
        for i in range(0, len(todo), 5000):
            cur.execute("SELECT iccid, batch_id FROM identities WHERE iccid = ANY(%s) ORDER BY iccid",
                        (todo[i : i + 5000],))
            for iccid, batch_id in cur.fetchall():
                out.append(f"ICCID {iccid} is already in batch {batch_id}")
        return out

    def create_batch(self, batch: BatchRecord, rows: Iterable[tuple], ranges: Iterable[Range],
                     iccids: Iterable[str] = ()) -> None:
        ranges, iccids = list(ranges), list(iccids)

        def work(cur: Any) -> None:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_CREATE,))  # one create at a time
            problems = self._overlaps(cur, ranges, iccids)
            if problems:
                raise OverlapError(problems)
            cur.execute(f"INSERT INTO batches ({_BATCH_COLS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (batch.id, batch.created, batch.count, batch.profile_name, batch.profile_source,
                         batch.profile_text, batch.profile_sha256, batch.simtool_version, batch.kcv, batch.adm_mode,
                         batch.preprinted, json.dumps(batch.options, sort_keys=True)))
            cur.executemany("INSERT INTO ranges (batch_id, kind, first, last) VALUES (%s, %s, %s, %s)",
                            [(batch.id, r.kind, r.first, r.last) for r in ranges])
            try:
                with cur.copy("COPY identities (batch_id, seq, iccid, imsi, msisdn, secrets) FROM STDIN") as copy:
                    for chunk in _copy_text(batch.id, rows):
                        copy.write(chunk)
            except pgerr.UniqueViolation as e:
                detail = (e.diag.message_detail or str(e)).strip()
                raise OverlapError(f"batch {batch.id}: an identity clashes with one already stored ({detail})") \
                    from None
            self._event(cur, batch.id, EV_CREATED,
                        f"{batch.count} identities; profile {batch.profile_name} sha256 {batch.profile_sha256}; "
                        f"transport key KCV {batch.kcv}; simtool {batch.simtool_version}")

        self._tx(work)

    def batch(self, batch_id: str) -> BatchRecord | None:
        r = self._q(f"SELECT {_BATCH_COLS} FROM batches WHERE id = %s", (batch_id,))
        return _batch(r[0]) if r else None

    def batches(self) -> list[BatchRecord]:
        return [_batch(r) for r in self._q(f"SELECT {_BATCH_COLS} FROM batches ORDER BY created, id")]

    # -- identities --------------------------------------------------------------------------------------
    def get(self, batch_id: str, iccid: str) -> IdentityRow | None:
        r = self._q(f"SELECT {_ROW_COLS} FROM identities WHERE iccid = %s AND batch_id = %s", (iccid, batch_id))
        return _row(r[0]) if r else None

    def find(self, batch_id: str, *, imsi: str | None = None, card_ref: str | None = None) -> IdentityRow | None:
        if imsi is not None:
            r = self._q(f"SELECT {_ROW_COLS} FROM identities WHERE imsi = %s AND batch_id = %s", (imsi, batch_id))
        elif card_ref is not None:
            r = self._q(f"SELECT {_ROW_COLS} FROM identities WHERE card_ref = %s AND batch_id = %s "
                        "AND state = ANY(%s) ORDER BY updated DESC LIMIT 1", (card_ref, batch_id, list(ON_A_CARD)))
        else:
            return None
        return _row(r[0]) if r else None

    def rows(self, batch_id: str, states: Iterable[str] | None = None) -> Iterator[IdentityRow]:
        where, params = "batch_id = %s", [batch_id]
        if states is not None:
            where += " AND state = ANY(%s)"
            params.append(list(states))
        last = -1
        while True:  # keyset pages: a million rows never sit in memory, no transaction stays open
            page = self._q(f"SELECT {_ROW_COLS} FROM identities WHERE {where} AND seq > %s ORDER BY seq LIMIT 2000",
                           [*params, last])
            if not page:
                return
            for r in page:
                yield _row(r)
            last = page[-1][1]

    def counts(self, batch_id: str) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        for state, n in self._q("SELECT state, COUNT(*) FROM identities WHERE batch_id = %s GROUP BY state",
                                (batch_id,)):
            out[state] = n
        return out

    def any_in(self, batch_id: str, states: Iterable[str]) -> bool:
        return bool(self._q("SELECT 1 FROM identities WHERE batch_id = %s AND state = ANY(%s) LIMIT 1",
                            (batch_id, list(states))))

    def peek_free(self, batch_id: str, skip: Iterable[str] = (), limit: int = 1) -> list[IdentityRow]:
        skip = set(skip)
        out: list[IdentityRow] = []
        last = -1
        while len(out) < limit:
            page = self._q(f"SELECT {_ROW_COLS} FROM identities WHERE batch_id = %s AND state = 'free' AND seq > %s "
                           "ORDER BY seq LIMIT %s", (batch_id, last, limit + len(skip)))
            if not page:
                break
            out += [r for r in map(_row, page) if r.iccid not in skip][: limit - len(out)]
            last = page[-1][1]
        return out

    # -- allocation and state changes -------------------------------------------------------------------
    def lease_next(self, batch_id: str, owner: str, reader: str, ttl: float, now: float) -> IdentityRow | None:
        def work(cur: Any) -> IdentityRow | None:
            # The lowest free row that no other transaction holds; SKIP LOCKED: never wait for another station.
            cur.execute(f"UPDATE identities SET state = 'leased', lease_owner = %s, lease_reader = %s, "
                        f"lease_until = %s, updated = %s WHERE state = 'free' AND iccid = ("
                        f"SELECT iccid FROM identities WHERE batch_id = %s AND state = 'free' ORDER BY seq LIMIT 1 "
                        f"FOR UPDATE SKIP LOCKED) RETURNING {_ROW_COLS}",
                        (owner, reader, now + ttl, now_iso(), batch_id))
            r = cur.fetchone()
            if r is None:
                return None
            row = _row(r)
            self._event(cur, batch_id, LEASED, "next free identity", row.iccid, reader, owner)
            return row

        for _ in range(50):
            row = self._tx(work)
            if row is not None:
                return row
            # Nothing unlocked was free. Rows held by other transactions right now are being leased (or voided);
            # only if one of those transactions rolls back is a free row left: look again, briefly.
            if not self.any_in(batch_id, (FREE,)):
                return None
            time.sleep(0.005)
        return None

    def claim(self, batch_id: str, iccid: str, owner: str, reader: str, ttl: float, now: float,
              card_ref: str | None = None) -> IdentityRow:
        def work(cur: Any) -> IdentityRow:
            row = self._get(cur, iccid, lock=True)
            if row is None or row.batch_id != batch_id:
                raise LedgerConflict(f"ICCID {iccid} is not in batch {batch_id}")
            if row.state not in (FREE, LEASED, WRITING, FAILED):
                raise LedgerConflict(f"ICCID {iccid} is {row.state}")
            live = row.lease_owner not in (None, owner) and (row.lease_until or 0) >= now
            if live:
                raise LedgerConflict(f"ICCID {iccid} is in flight on {row.lease_reader} (station {row.lease_owner})")
            if row.state in (FREE, LEASED):
                new, detail = LEASED, "the card carries this identity's ICCID"
            else:
                new, detail = WRITING, f"the card came back ({row.state}); writing it again with the same identity"
            cur.execute(f"UPDATE identities SET state = %s, lease_owner = %s, lease_reader = %s, lease_until = %s, "
                        f"card_ref = COALESCE(%s, card_ref), updated = %s WHERE iccid = %s RETURNING {_ROW_COLS}",
                        (new, owner, reader, now + ttl, card_ref, now_iso(), iccid))
            out = _row(cur.fetchone())
            self._event(cur, batch_id, new, detail, iccid, reader, owner)
            return out

        return self._tx(work)

    def heartbeat(self, owner: str, ttl: float, now: float) -> int:
        def work(cur: Any) -> int:
            cur.execute("UPDATE identities SET lease_until = %s WHERE lease_owner = %s "
                        "AND state IN ('leased', 'writing')", (now + ttl, owner))
            return cur.rowcount

        return self._tx(work)

    def _change(self, iccid: str, owner: str, from_states: tuple[str, ...], to: str, reader: str | None,
                detail: str | None, sets: str = "", params: tuple = ()) -> None:
        def work(cur: Any) -> None:
            cur.execute(f"UPDATE identities SET state = %s, updated = %s{sets} "
                        f"WHERE iccid = %s AND lease_owner = %s AND state = ANY(%s) RETURNING batch_id",
                        (to, now_iso(), *params, iccid, owner, list(from_states)))
            r = cur.fetchone()
            if r is None:
                row = self._get(cur, iccid)
                where = f"{row.state}, lease {row.lease_owner or 'none'}" if row else "not in the ledger"
                raise LedgerConflict(f"ICCID {iccid}: cannot go to {to} ({where})")
            self._event(cur, r[0], to, detail, iccid, reader, owner)

        self._tx(work)

    def release(self, iccid: str, owner: str, detail: str) -> None:
        self._change(iccid, owner, (LEASED,), FREE, None, detail,
                     ", lease_owner = NULL, lease_reader = NULL, lease_until = NULL")

    def mark_writing(self, iccid: str, owner: str, reader: str, card_ref: str | None) -> None:
        self._change(iccid, owner, (LEASED, WRITING), WRITING, reader, "journaled before the first write",
                     ", card_ref = COALESCE(%s, card_ref), attempts = attempts + 1, lease_reader = %s",
                     (card_ref, reader))

    def mark_verified(self, iccid: str, owner: str, reader: str, detail: str) -> None:
        self._change(iccid, owner, (WRITING,), "verified", reader, detail,
                     ", lease_owner = NULL, lease_until = NULL, reason = NULL")

    def mark_failed(self, iccid: str, owner: str, reader: str, reason: str) -> None:
        self._change(iccid, owner, (WRITING,), FAILED, reader, reason,
                     ", lease_owner = NULL, lease_until = NULL, reason = %s", (reason,))

    def void(self, batch_id: str, iccid: str, reason: str, station: str, now: float) -> IdentityRow:
        def work(cur: Any) -> IdentityRow:
            row = self._get(cur, iccid, lock=True)
            if row is None or row.batch_id != batch_id:
                raise InputError(f"ICCID {iccid}: not in batch {batch_id}")
            if row.state == VOIDED:
                raise InputError(f"ICCID {iccid}: already voided ({row.reason})")
            if row.lease_owner is not None and (row.lease_until or 0) >= now:
                raise GuardError(f"ICCID {iccid} is in flight on {row.lease_reader} (station {row.lease_owner}); "
                                 "stop that run first")
            cur.execute(f"UPDATE identities SET state = 'voided', reason = %s, updated = %s, lease_owner = NULL, "
                        f"lease_until = NULL WHERE iccid = %s RETURNING {_ROW_COLS}", (reason, now_iso(), iccid))
            out = _row(cur.fetchone())
            self._event(cur, batch_id, VOIDED, f"was {row.state}: {reason}", iccid, None, station)
            return out

        return self._tx(work)

    def reclaim(self, batch_id: str, now: float, dead_owners: Iterable[str] = ()) -> list[str]:
        dead = list(dead_owners)

        def work(cur: Any) -> list[str]:
            # SKIP LOCKED: a row another transaction holds is in use right now (being journaled, verified,
            # heartbeated): not ours to take, and not worth waiting for. The next reclaim sees it again.
            cur.execute("SELECT iccid, lease_owner, lease_reader FROM identities WHERE batch_id = %s "
                        "AND state = 'leased' AND (lease_until < %s OR lease_owner = ANY(%s)) ORDER BY seq "
                        "FOR UPDATE SKIP LOCKED", (batch_id, now, dead))
            found = cur.fetchall()
            for iccid, owner, reader in found:
                cur.execute("UPDATE identities SET state = 'free', lease_owner = NULL, lease_reader = NULL, "
                            "lease_until = NULL, updated = %s WHERE iccid = %s", (now_iso(), iccid))
                why = "its station is gone" if owner in dead else "its lease expired"
                self._event(cur, batch_id, FREE, f"lease of {owner} on {reader} reclaimed: {why}; nothing was "
                            "written", iccid, reader, None)
            if dead:
                cur.execute("SELECT iccid, lease_owner, lease_reader FROM identities WHERE batch_id = %s "
                            "AND state = 'writing' AND lease_owner = ANY(%s) ORDER BY seq FOR UPDATE SKIP LOCKED",
                            (batch_id, dead))
                for iccid, owner, reader in cur.fetchall():
                    cur.execute("UPDATE identities SET lease_owner = NULL, lease_until = NULL, updated = %s "
                                "WHERE iccid = %s", (now_iso(), iccid))
                    self._event(cur, batch_id, WRITING, f"station {owner} is gone; the identity waits for its card",
                                iccid, reader, None)
            return [r[0] for r in found]

        return self._tx(work)

    def lease_owners(self, batch_id: str) -> list[str]:
        return [r[0] for r in self._q("SELECT DISTINCT lease_owner FROM identities WHERE lease_owner IS NOT NULL "
                                      "AND batch_id = %s ORDER BY 1", (batch_id,))]

    # -- audit trail --------------------------------------------------------------------------------------
    def add_event(self, batch_id: str, state: str, detail: str | None = None, *, iccid: str | None = None,
                  reader: str | None = None, station: str | None = None) -> None:
        self._tx(lambda cur: self._event(cur, batch_id, state, detail, iccid, reader, station))

    def events(self, batch_id: str, iccid: str | None = None) -> Iterator[Event]:
        sql = "SELECT id, time, batch_id, iccid, reader, state, detail, station FROM events WHERE batch_id = %s"
        params: list[Any] = [batch_id]
        if iccid is not None:
            sql += " AND iccid = %s"
            params.append(iccid)
        last = 0
        while True:
            page = self._q(sql + " AND id > %s ORDER BY id LIMIT 2000", [*params, last])
            if not page:
                return
            for r in page:
                yield Event(*r)
            last = page[-1][0]

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            conns, self._open, self._idle = list(self._open), set(), []
        for c in conns:
            with contextlib.suppress(Exception):
                c.close()
