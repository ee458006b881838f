"""The embedded ledger: one SQLite file in WAL mode, `synchronous=FULL` so a commit survives a power cut.

One connection per `SqliteLedger`, guarded by a lock so the reader threads of a run can share it; every
write transaction is ``BEGIN IMMEDIATE``, so two `batch run` processes on one file serialise instead of
deadlocking. The file (and SQLite's -wal/-shm files, which inherit its mode) is created 0600: it holds
sealed secrets. Events cannot be updated or deleted (triggers).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

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
)
from simtool.errors import GuardError, InputError

SCHEMA_VERSION = "1"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
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
    preprinted INTEGER NOT NULL,
    options TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ranges (
    batch_id TEXT NOT NULL REFERENCES batches(id),
    kind TEXT NOT NULL,
    first TEXT NOT NULL,
    last TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS identities (
    iccid TEXT PRIMARY KEY,
    batch_id TEXT NOT NULL REFERENCES batches(id),
    seq INTEGER NOT NULL,
    imsi TEXT NOT NULL UNIQUE,
    msisdn TEXT UNIQUE,
    state TEXT NOT NULL DEFAULT 'free' CHECK (state IN ({", ".join(f"'{s}'" for s in STATES)})),
    secrets BLOB NOT NULL,
    lease_owner TEXT,
    lease_reader TEXT,
    lease_until REAL,
    card_ref TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated TEXT,
    reason TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS identities_state ON identities (batch_id, state, seq);
CREATE INDEX IF NOT EXISTS identities_owner ON identities (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX IF NOT EXISTS identities_card ON identities (card_ref) WHERE card_ref IS NOT NULL;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    iccid TEXT,
    reader TEXT,
    state TEXT NOT NULL,
    detail TEXT,
    station TEXT
);
CREATE INDEX IF NOT EXISTS events_iccid ON events (batch_id, iccid);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
"""

_ROW_COLS = ("batch_id, seq, iccid, imsi, msisdn, state, secrets, lease_owner, lease_reader, lease_until, card_ref, "
             "attempts, updated, reason")
_BATCH_COLS = ("id, created, count, profile_name, profile_source, profile_text, profile_sha256, simtool_version, "
               "kcv, adm_mode, preprinted, options")


def _row(r: tuple) -> IdentityRow:
    return IdentityRow(*r[:6], bytes(r[6]), *r[7:])


def _batch(r: tuple) -> BatchRecord:
    return BatchRecord(*r[:10], bool(r[10]), json.loads(r[11]))


class SqliteLedger(Ledger):
    def __init__(self, path: str, *, url: str | None = None, create: bool = False) -> None:
        self.path = Path(path)
        self.url = url or f"sqlite://{path}"
        if not self.path.exists():
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
            self._db.executescript(SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        except sqlite3.DatabaseError as e:
            raise LedgerError(f"ledger {self.url}: {e}") from None
        version = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise LedgerError(f"ledger {self.url}: schema version {version}, this simtool knows {SCHEMA_VERSION}")
        self._lock = threading.RLock()

    def _create_file(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return
        except OSError as e:
            raise InputError(f"ledger {self.url}: cannot create: {e.strerror}") from None
        os.close(fd)

    # -- plumbing ----------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back on any error."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                raise LedgerError(f"ledger {self.url}: {e}") from None
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as e:
                with contextlib.suppress(sqlite3.Error):  # leave the connection usable, whatever happened
                    self._db.execute("ROLLBACK")
                if isinstance(e, sqlite3.OperationalError):
                    raise LedgerError(f"ledger {self.url}: {e}") from None
                raise

    def _q(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    @staticmethod
    def _event(db: sqlite3.Connection, batch_id: str, state: str, detail: str | None, iccid: str | None = None,
               reader: str | None = None, station: str | None = None) -> None:
        db.execute("INSERT INTO events (time, batch_id, iccid, reader, state, detail, station) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)", (now_iso(), batch_id, iccid, reader, state, detail, station))

    @staticmethod
    def _get(db: sqlite3.Connection, iccid: str) -> IdentityRow | None:
        r = db.execute(f"SELECT {_ROW_COLS} FROM identities WHERE iccid = ?", (iccid,)).fetchone()
        return _row(r) if r else None

    # -- batches -----------------------------------------------------------------------------------------
    def overlaps(self, ranges: Iterable[Range], iccids: Iterable[str] = ()) -> list[str]:
        with self._lock:
            return self._overlaps(self._db, ranges, iccids)

    @staticmethod
    def _overlaps(db: sqlite3.Connection, ranges: Iterable[Range], iccids: Iterable[str]) -> list[str]:
        out = []
        for r in ranges:
            col = {"iccid": "iccid", "imsi": "imsi", "msisdn": "msisdn"}[r.kind]
            first, last = (("+" + r.first, "+" + r.last) if r.kind == "msisdn" else (r.first, r.last))
            hit = db.execute(
                f"SELECT batch_id, MIN({col}), MAX({col}), COUNT(*) FROM identities "
                f"WHERE {col} BETWEEN ? AND ? AND length({col}) = ? GROUP BY batch_id",
                (first, last, len(first))).fetchall()
            for batch_id, lo, hi, n in hit:
                out.append(f"{r.kind} range {first}..{last} overlaps batch {batch_id} "
                           f"({n} {r.kind.upper()}s already issued there, {lo}..{hi})")
        todo = list(iccids)
        for i in range(0, len(todo), 500):
            part = todo[i : i + 500]
            marks = ",".join("?" * len(part))
            for iccid, batch_id in db.execute(
                    f"SELECT iccid, batch_id FROM identities WHERE iccid IN ({marks})", part).fetchall():
                out.append(f"ICCID {iccid} is already in batch {batch_id}")
        return out

    def create_batch(self, batch: BatchRecord, rows: Iterable[tuple], ranges: Iterable[Range],
                     iccids: Iterable[str] = ()) -> None:
        ranges = list(ranges)
        with self._tx() as db:
            problems = self._overlaps(db, ranges, iccids)
            if problems:
                raise OverlapError(problems)
            db.execute(f"INSERT INTO batches ({_BATCH_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (batch.id, batch.created, batch.count, batch.profile_name, batch.profile_source,
                        batch.profile_text, batch.profile_sha256, batch.simtool_version, batch.kcv, batch.adm_mode,
                        int(batch.preprinted), json.dumps(batch.options, sort_keys=True)))
            db.executemany("INSERT INTO ranges (batch_id, kind, first, last) VALUES (?, ?, ?, ?)",
                           [(batch.id, r.kind, r.first, r.last) for r in ranges])
            try:
                db.executemany("INSERT INTO identities (batch_id, seq, iccid, imsi, msisdn, secrets) "
                               "VALUES (?, ?, ?, ?, ?, ?)", ((batch.id, *r) for r in rows))
            except sqlite3.IntegrityError as e:
                raise OverlapError(f"batch {batch.id}: an identity clashes with one already stored ({e})") from None
            self._event(db, batch.id, EV_CREATED,
                        f"{batch.count} identities; profile {batch.profile_name} sha256 {batch.profile_sha256}; "
                        f"transport key KCV {batch.kcv}; simtool {batch.simtool_version}")

    def batch(self, batch_id: str) -> BatchRecord | None:
        r = self._q(f"SELECT {_BATCH_COLS} FROM batches WHERE id = ?", (batch_id,))
        return _batch(r[0]) if r else None

    def batches(self) -> list[BatchRecord]:
        return [_batch(r) for r in self._q(f"SELECT {_BATCH_COLS} FROM batches ORDER BY created")]

    # -- identities --------------------------------------------------------------------------------------
    def get(self, batch_id: str, iccid: str) -> IdentityRow | None:
        r = self._q(f"SELECT {_ROW_COLS} FROM identities WHERE iccid = ? AND batch_id = ?", (iccid, batch_id))
        return _row(r[0]) if r else None

    def find(self, batch_id: str, *, imsi: str | None = None, card_ref: str | None = None) -> IdentityRow | None:
        if imsi is not None:
            r = self._q(f"SELECT {_ROW_COLS} FROM identities WHERE imsi = ? AND batch_id = ?", (imsi, batch_id))
        elif card_ref is not None:
            marks = ",".join("?" * len(ON_A_CARD))
            r = self._q(f"SELECT {_ROW_COLS} FROM identities WHERE card_ref = ? AND batch_id = ? "
                        f"AND state IN ({marks}) ORDER BY updated DESC LIMIT 1", (card_ref, batch_id, *ON_A_CARD))
        else:
            return None
        return _row(r[0]) if r else None

    def rows(self, batch_id: str, states: Iterable[str] | None = None) -> Iterator[IdentityRow]:
        where = "batch_id = ?"
        params: list[Any] = [batch_id]
        if states is not None:
            st = list(states)
            where += f" AND state IN ({','.join('?' * len(st))})"
            params += st
        # Page through, so a million rows never sit in memory and the lock is not held for long.
        last = -1
        while True:
            page = self._q(f"SELECT {_ROW_COLS} FROM identities WHERE {where} AND seq > ? ORDER BY seq LIMIT 2000",
                           [*params, last])
            if not page:
                return
            for r in page:
                yield _row(r)
            last = page[-1][1]

    def counts(self, batch_id: str) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        for state, n in self._q("SELECT state, COUNT(*) FROM identities WHERE batch_id = ? GROUP BY state",
                                (batch_id,)):
            out[state] = n
        return out

    def any_in(self, batch_id: str, states: Iterable[str]) -> bool:
        st = list(states)
        return bool(self._q(f"SELECT 1 FROM identities WHERE batch_id = ? AND state IN ({','.join('?' * len(st))}) "
                            "LIMIT 1", (batch_id, *st)))

    def peek_free(self, batch_id: str, skip: Iterable[str] = (), limit: int = 1) -> list[IdentityRow]:
        skip = set(skip)
        out: list[IdentityRow] = []
        last = -1
        while len(out) < limit:
            page = self._q(f"SELECT {_ROW_COLS} FROM identities WHERE batch_id = ? AND state = 'free' AND seq > ? "
                           "ORDER BY seq LIMIT ?", (batch_id, last, limit + len(skip)))
            if not page:
                break
            out += [r for r in map(_row, page) if r.iccid not in skip][: limit - len(out)]
            last = page[-1][1]
        return out

    # -- allocation and state changes -------------------------------------------------------------------
    def lease_next(self, batch_id: str, owner: str, reader: str, ttl: float, now: float) -> IdentityRow | None:
        with self._tx() as db:
            r = db.execute(f"SELECT {_ROW_COLS} FROM identities WHERE batch_id = ? AND state = 'free' "
                           "ORDER BY seq LIMIT 1", (batch_id,)).fetchone()
            if r is None:
                return None
            row = _row(r)
            db.execute("UPDATE identities SET state = 'leased', lease_owner = ?, lease_reader = ?, lease_until = ?, "
                       "updated = ? WHERE iccid = ? AND state = 'free'",
                       (owner, reader, now + ttl, now_iso(), row.iccid))
            self._event(db, batch_id, LEASED, "next free identity", row.iccid, reader, owner)
            return self._get(db, row.iccid)

    def claim(self, batch_id: str, iccid: str, owner: str, reader: str, ttl: float, now: float,
              card_ref: str | None = None) -> IdentityRow:
        with self._tx() as db:
            row = self._get(db, iccid)
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
            db.execute("UPDATE identities SET state = ?, lease_owner = ?, lease_reader = ?, lease_until = ?, "
                       "card_ref = COALESCE(?, card_ref), updated = ? WHERE iccid = ?",
                       (new, owner, reader, now + ttl, card_ref, now_iso(), iccid))
            self._event(db, batch_id, new, detail, iccid, reader, owner)
            return self._get(db, iccid)  # type: ignore[return-value]

    def heartbeat(self, owner: str, ttl: float, now: float) -> int:
        with self._tx() as db:
            return db.execute("UPDATE identities SET lease_until = ? WHERE lease_owner = ? "
                              "AND state IN ('leased', 'writing')", (now + ttl, owner)).rowcount

    def _change(self, iccid: str, owner: str, from_states: tuple[str, ...], to: str, reader: str | None,
                detail: str | None, sets: str = "", params: tuple = ()) -> None:
        with self._tx() as db:
            marks = ",".join("?" * len(from_states))
            cur = db.execute(f"UPDATE identities SET state = ?, updated = ?{sets} "
                             f"WHERE iccid = ? AND lease_owner = ? AND state IN ({marks})",
                             (to, now_iso(), *params, iccid, owner, *from_states))
            if cur.rowcount != 1:
                row = self._get(db, iccid)
                where = f"{row.state}, lease {row.lease_owner or 'none'}" if row else "not in the ledger"
                raise LedgerConflict(f"ICCID {iccid}: cannot go to {to} ({where})")
            batch_id = db.execute("SELECT batch_id FROM identities WHERE iccid = ?", (iccid,)).fetchone()[0]
            self._event(db, batch_id, to, detail, iccid, reader, owner)

    def release(self, iccid: str, owner: str, detail: str) -> None:
        self._change(iccid, owner, (LEASED,), FREE, None, detail,
                     ", lease_owner = NULL, lease_reader = NULL, lease_until = NULL")

    def mark_writing(self, iccid: str, owner: str, reader: str, card_ref: str | None) -> None:
        self._change(iccid, owner, (LEASED, WRITING), WRITING, reader, "journaled before the first write",
                     ", card_ref = COALESCE(?, card_ref), attempts = attempts + 1, lease_reader = ?",
                     (card_ref, reader))

    def mark_verified(self, iccid: str, owner: str, reader: str, detail: str) -> None:
        self._change(iccid, owner, (WRITING,), "verified", reader, detail,
                     ", lease_owner = NULL, lease_until = NULL, reason = NULL")

    def mark_failed(self, iccid: str, owner: str, reader: str, reason: str) -> None:
        self._change(iccid, owner, (WRITING,), FAILED, reader, reason,
                     ", lease_owner = NULL, lease_until = NULL, reason = ?", (reason,))

    def void(self, batch_id: str, iccid: str, reason: str, station: str, now: float) -> IdentityRow:
        with self._tx() as db:
            row = self._get(db, iccid)
            if row is None or row.batch_id != batch_id:
                raise InputError(f"ICCID {iccid}: not in batch {batch_id}")
            if row.state == VOIDED:
                raise InputError(f"ICCID {iccid}: already voided ({row.reason})")
            if row.lease_owner is not None and (row.lease_until or 0) >= now:
                raise GuardError(f"ICCID {iccid} is in flight on {row.lease_reader} (station {row.lease_owner}); "
                                 "stop that run first")
            db.execute("UPDATE identities SET state = 'voided', reason = ?, updated = ?, lease_owner = NULL, "
                       "lease_until = NULL WHERE iccid = ?", (reason, now_iso(), iccid))
            self._event(db, batch_id, VOIDED, f"was {row.state}: {reason}", iccid, None, station)
            return self._get(db, iccid)  # type: ignore[return-value]

    def reclaim(self, batch_id: str, now: float, dead_owners: Iterable[str] = ()) -> list[str]:
        dead = list(dead_owners)
        with self._tx() as db:
            marks = ",".join("?" * len(dead)) or "NULL"
            found = db.execute(f"SELECT iccid, lease_owner, lease_reader FROM identities WHERE batch_id = ? "
                               f"AND state = 'leased' AND (lease_until < ? OR lease_owner IN ({marks}))",
                               (batch_id, now, *dead)).fetchall()
            for iccid, owner, reader in found:
                db.execute("UPDATE identities SET state = 'free', lease_owner = NULL, lease_reader = NULL, "
                           "lease_until = NULL, updated = ? WHERE iccid = ?", (now_iso(), iccid))
                why = "its station is gone" if owner in dead else "its lease expired"
                self._event(db, batch_id, FREE, f"lease of {owner} on {reader} reclaimed: {why}; nothing was "
                            "written", iccid, reader, None)
            gone = db.execute(f"SELECT iccid, lease_owner, lease_reader FROM identities WHERE batch_id = ? "
                              f"AND state = 'writing' AND lease_owner IN ({marks})", (batch_id, *dead)).fetchall()
            for iccid, owner, reader in gone:
                db.execute("UPDATE identities SET lease_owner = NULL, lease_until = NULL, updated = ? "
                           "WHERE iccid = ?", (now_iso(), iccid))
                self._event(db, batch_id, WRITING, f"station {owner} is gone; the identity waits for its card",
                            iccid, reader, None)
            return [r[0] for r in found]

    def lease_owners(self, batch_id: str) -> list[str]:
        return [r[0] for r in self._q("SELECT DISTINCT lease_owner FROM identities WHERE lease_owner IS NOT NULL "
                                      "AND batch_id = ?", (batch_id,))]

    # -- audit trail --------------------------------------------------------------------------------------
    def add_event(self, batch_id: str, state: str, detail: str | None = None, *, iccid: str | None = None,
                  reader: str | None = None, station: str | None = None) -> None:
        with self._tx() as db:
            self._event(db, batch_id, state, detail, iccid, reader, station)

    def events(self, batch_id: str, iccid: str | None = None) -> Iterator[Event]:
        sql = "SELECT id, time, batch_id, iccid, reader, state, detail, station FROM events WHERE batch_id = ?"
        params: list[Any] = [batch_id]
        if iccid is not None:
            sql += " AND iccid = ?"
            params.append(iccid)
        last = 0
        while True:
            page = self._q(sql + " AND id > ? ORDER BY id LIMIT 2000", [*params, last])
            if not page:
                return
            for r in page:
                yield Event(*r)
            last = page[-1][0]

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.close()

