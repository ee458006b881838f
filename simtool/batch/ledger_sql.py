"""One SQL ledger for both engines: the queries, and the lifecycle table (`lifecycle.py`) run over them.

Every state change is one transaction: read the identity's row (locked: ``FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` holds the whole file), ask `lifecycle.decide`, write the decision and its event. A refused
change writes only its ``refused`` event, commits that, and raises. What differs between engines is a small
`Dialect` (placeholders, row locks, bulk load, the schema) and how an engine runs a transaction (`_tx`) and a
read (`_q`): `ledger_sqlite.py` and `ledger_pg.py`.
"""

from __future__ import annotations

import functools
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from simtool.batch import lifecycle as lc
from simtool.batch.ledger_base import (
    EV_CREATED,
    FREE,
    ON_A_CARD,
    STATES,
    BatchRecord,
    DamagedRow,
    Event,
    IdentityRow,
    Ledger,
    LedgerConflict,
    OverlapError,
    Range,
    now_iso,
)
from simtool.errors import GuardError, InputError, SimtoolError

T = TypeVar("T")

ROW_COLS = ("batch_id, seq, iccid, imsi, msisdn, state, secrets, lease_owner, lease_reader, lease_until, card_ref, "
            "attempts, updated, reason, token")
BATCH_COLS = ("id, created, count, profile_name, profile_source, profile_text, profile_sha256, simtool_version, "
              "kcv, adm_mode, preprinted, options")
EVENT_COLS = "id, time, batch_id, iccid, reader, state, detail, station"
_IDENT_COL = {"iccid": "iccid", "imsi": "imsi", "msisdn": "msisdn"}
_LEASE_SETS = {lc.Lease.KEEP: "", lc.Lease.TAKE: ", lease_owner = ?, lease_reader = ?, lease_until = ?",
               lc.Lease.DROP: ", lease_owner = NULL, lease_until = NULL",
               lc.Lease.CLEAR: ", lease_owner = NULL, lease_reader = NULL, lease_until = NULL"}
# The columns a rule `records` (lifecycle.Rule.records), with the value each takes from `_change`'s arguments.
_RECORD_SETS = {"card_ref": ", card_ref = COALESCE(?, card_ref)", "attempts": ", attempts = attempts + 1",
                "reader": ", lease_reader = ?", "reason": ", reason = ?"}
_REFUSALS: dict[lc.Refusal, type[SimtoolError]] = {lc.Refusal.CONFLICT: LedgerConflict, lc.Refusal.INPUT: InputError,
                                                   lc.Refusal.GUARD: GuardError}


@functools.cache
def _states_sql(states: tuple[str, ...]) -> str:
    """SQL text for a list of states, from the table (trusted constants, never user input)."""
    return ", ".join(f"'{s}'" for s in states)


def _damaged(r: Sequence[Any]) -> bool:
    return not isinstance(r[6], bytes | bytearray | memoryview)


SCHEMA_VERSION = "2"  # 2: identities.token (fencing); a ledger of version 1 gains it when opened


class Dialect(ABC):
    """What differs between SQL engines, in as few words as possible."""

    name: str
    placeholder: str = "?"
    lock: str = ""  # appended to a SELECT of one row that is about to change
    skip_locked: str = ""  # appended to a SELECT of rows to take, passing over rows another station holds
    in_chunk: int = 500  # values in one IN (...) list
    # the schema's words: identifier columns compare in byte order (overlap checks use BETWEEN on digits)
    if_not_exists = "IF NOT EXISTS "
    ident = ""
    blob, real, boolean = "BLOB", "REAL", "INTEGER"
    serial = "INTEGER PRIMARY KEY AUTOINCREMENT"
    table_options = ""
    append_only = ""  # the triggers that refuse UPDATE and DELETE on events

    def schema(self) -> str:
        """The tables, the same for every engine but for the dialect's words."""
        x, c = self.if_not_exists, self.ident
        states = ", ".join(f"'{s}'" for s in STATES)
        return f"""
CREATE TABLE {x}meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE {x}batches (
    id TEXT PRIMARY KEY, created TEXT NOT NULL, count INTEGER NOT NULL, profile_name TEXT NOT NULL,
    profile_source TEXT NOT NULL, profile_text TEXT NOT NULL, profile_sha256 TEXT NOT NULL,
    simtool_version TEXT NOT NULL, kcv TEXT NOT NULL, adm_mode TEXT NOT NULL, preprinted {self.boolean} NOT NULL,
    options TEXT NOT NULL
);
CREATE TABLE {x}ranges (
    batch_id TEXT NOT NULL REFERENCES batches(id), kind TEXT NOT NULL, first TEXT{c} NOT NULL, last TEXT{c} NOT NULL
);
CREATE TABLE {x}identities (
    iccid TEXT{c} PRIMARY KEY,
    batch_id TEXT NOT NULL REFERENCES batches(id),
    seq INTEGER NOT NULL,
    imsi TEXT{c} NOT NULL UNIQUE,
    msisdn TEXT{c} UNIQUE,
    state TEXT NOT NULL DEFAULT 'free' CHECK (state IN ({states})),
    secrets {self.blob} NOT NULL,
    lease_owner TEXT,
    lease_reader TEXT,
    lease_until {self.real},
    card_ref TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated TEXT,
    reason TEXT,
    token INTEGER NOT NULL DEFAULT 0,
    UNIQUE (batch_id, seq)
){self.table_options};
CREATE INDEX {x}identities_state ON identities (batch_id, state, seq);
CREATE INDEX {x}identities_owner ON identities (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX {x}identities_card ON identities (card_ref) WHERE card_ref IS NOT NULL;
CREATE TABLE {x}events (
    id {self.serial}, time TEXT NOT NULL, batch_id TEXT NOT NULL, iccid TEXT, reader TEXT, state TEXT NOT NULL,
    detail TEXT, station TEXT
);
CREATE INDEX {x}events_iccid ON events (batch_id, iccid);
{self.append_only}"""

    def sql(self, text: str) -> str:
        """`text` written with ``?`` placeholders, in this engine's."""
        return text if self.placeholder == "?" else _convert(text, self.placeholder)

    @abstractmethod
    def bulk_identities(self, cur: Any, batch_id: str, rows: Iterable[tuple[Any, ...]]) -> None:
        """Insert `NewIdentity` tuples of a new batch, fast; raise OverlapError on a unique clash."""

    def begin_create(self, cur: Any) -> None:  # noqa: B027 - optional: serialise batch creation
        """Make concurrent `create_batch` transactions check their overlaps one after the other."""


@functools.lru_cache(maxsize=512)
def _convert(text: str, mark: str) -> str:
    return text.replace("?", mark)


class _Raise:
    """A transaction's answer that says: commit (the refusal's event), then raise this."""

    def __init__(self, error: SimtoolError) -> None:
        self.error = error


class SqlLedger(Ledger):
    """The `Ledger` over SQL. Subclasses give `dialect`, `_tx(work)` (one transaction around
    `work(cursor)`, committed when it returns, rolled back when it raises) and `_q(sql, params)` (one read)."""

    dialect: Dialect
    url: str

    @abstractmethod
    def _tx(self, work: Callable[[Any], T]) -> T: ...

    @abstractmethod
    def _read(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]: ...

    # -- plumbing ----------------------------------------------------------------------------------------
    def _q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._read(self.dialect.sql(sql), params)

    def _x(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        cur.execute(self.dialect.sql(sql), tuple(params))
        return cur

    def _run(self, work: Callable[[Any], Any]) -> Any:
        out = self._tx(work)
        if isinstance(out, _Raise):
            raise out.error
        return out

    def _row(self, r: Sequence[Any], *, lenient: bool = False) -> IdentityRow:
        if _damaged(r):
            if not lenient:
                raise DamagedRow(self.url, r[0], r[2], f"the secrets column holds {type(r[6]).__name__}, not a "
                                 "sealed blob")
            return IdentityRow(*r[:6], b"", *r[7:])  # type: ignore[call-arg]
        return IdentityRow(*r[:6], bytes(r[6]), *r[7:])  # type: ignore[call-arg]

    @staticmethod
    def _batch(r: Sequence[Any]) -> BatchRecord:
        return BatchRecord(*r[:10], bool(r[10]), json.loads(r[11]))  # type: ignore[call-arg]

    def _event(self, cur: Any, batch_id: str, state: str, detail: str | None, iccid: str | None = None,
               reader: str | None = None, station: str | None = None) -> None:
        self._x(cur, "INSERT INTO events (time, batch_id, iccid, reader, state, detail, station) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", (now_iso(), batch_id, iccid, reader, state, detail, station))

    def _get(self, cur: Any, iccid: str, lock: bool = False, lenient: bool = False) -> IdentityRow | None:
        r = self._x(cur, f"SELECT {ROW_COLS} FROM identities WHERE iccid = ?" + (self.dialect.lock if lock else ""),
                    (iccid,)).fetchone()
        return self._row(r, lenient=lenient) if r else None

    def _apply(self, cur: Any, row: IdentityRow, d: lc.Decision, *, owner: str | None = None,
               reader: str | None = None, until: float | None = None, card_ref: str | None = None,
               reason: str | None = None, station: str | None = None, event_reader: str | None = None) -> Any:
        """Write decision `d` about `row` (the change and its event); a refusal writes only its event and
        answers `_Raise`."""
        if not d.ok:
            self._event(cur, row.batch_id, d.event, d.detail, row.iccid, event_reader, station)
            return _Raise(_REFUSALS[d.refusal or lc.Refusal.CONFLICT](f"ICCID {row.iccid}: {d.detail}"))
        sets = ", token = ?" + _LEASE_SETS[d.lease]
        params: list[Any] = [d.state, now_iso(), d.token]
        if d.lease is lc.Lease.TAKE:
            params += [owner, reader, until]
        for name in d.records:
            sets += _RECORD_SETS[name]
            params += {"card_ref": [card_ref], "attempts": [], "reader": [reader], "reason": [reason]}[name]
        self._x(cur, f"UPDATE identities SET state = ?, updated = ?{sets} WHERE iccid = ?", [*params, row.iccid])
        self._event(cur, row.batch_id, d.event, d.detail, row.iccid, event_reader, station)
        return None

    def _change(self, op: str, iccid: str, owner: str, token: int, reader: str | None, detail: str = "", *,
                card_ref: str | None = None, reason: str | None = None) -> None:
        """A lease holder's operation (release, mark_*), decided by the table."""

        def work(cur: Any) -> Any:
            row = self._get(cur, iccid, lock=True, lenient=True)
            if row is None:
                raise LedgerConflict(f"ICCID {iccid}: {op} refused: not in the ledger")
            d = lc.decide(op, row, owner=owner, token=token, detail=detail)
            return self._apply(cur, row, d, reader=reader, card_ref=card_ref, reason=reason, station=owner,
                               event_reader=reader)

        self._run(work)

    # -- batches -----------------------------------------------------------------------------------------
    def overlaps(self, ranges: Iterable[Range], iccids: Iterable[str] = ()) -> list[str]:
        ranges, iccids = list(ranges), list(iccids)
        return self._tx(lambda cur: self._overlaps(cur, ranges, iccids))

    def _overlaps(self, cur: Any, ranges: Iterable[Range], iccids: Iterable[str]) -> list[str]:
        out = []
        for r in ranges:
            col = _IDENT_COL[r.kind]
            first, last = (("+" + r.first, "+" + r.last) if r.kind == "msisdn" else (r.first, r.last))
            hits = self._x(cur, f"SELECT batch_id, MIN({col}), MAX({col}), COUNT(*) FROM identities WHERE {col} "
                           f"BETWEEN ? AND ? AND length({col}) = ? GROUP BY batch_id ORDER BY batch_id",
                           (first, last, len(first))).fetchall()
            for batch_id, lo, hi, n in hits:
                out.append(f"{r.kind} range {first}..{last} overlaps batch {batch_id} "
                           f"({n} {r.kind.upper()}s already issued there, {lo}..{hi})")
        todo, step = list(iccids), self.dialect.in_chunk
        for i in range(0, len(todo), step):
            part = todo[i : i + step]
            for iccid, batch_id in self._x(cur, f"SELECT iccid, batch_id FROM identities WHERE iccid IN "
                                           f"({','.join('?' * len(part))}) ORDER BY iccid", part).fetchall():
                out.append(f"ICCID {iccid} is already in batch {batch_id}")
        return out

    def create_batch(self, batch: BatchRecord, rows: Iterable[tuple[Any, ...]], ranges: Iterable[Range],
                     iccids: Iterable[str] = ()) -> None:
        ranges, iccids = list(ranges), list(iccids)

        def work(cur: Any) -> None:
            self.dialect.begin_create(cur)
            problems = self._overlaps(cur, ranges, iccids)
            if problems:
                raise OverlapError(problems)
            self._x(cur, f"INSERT INTO batches ({BATCH_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (batch.id, batch.created, batch.count, batch.profile_name, batch.profile_source,
                     batch.profile_text, batch.profile_sha256, batch.simtool_version, batch.kcv, batch.adm_mode,
                     bool(batch.preprinted), json.dumps(batch.options, sort_keys=True)))
            cur.executemany(self.dialect.sql("INSERT INTO ranges (batch_id, kind, first, last) VALUES (?, ?, ?, ?)"),
                            [(batch.id, r.kind, r.first, r.last) for r in ranges])
            self.dialect.bulk_identities(cur, batch.id, rows)
            self._event(cur, batch.id, EV_CREATED,
                        f"{batch.count} identities; profile {batch.profile_name} sha256 {batch.profile_sha256}; "
                        f"transport key KCV {batch.kcv}; simtool {batch.simtool_version}")

        self._tx(work)

    def batch(self, batch_id: str) -> BatchRecord | None:
        r = self._q(f"SELECT {BATCH_COLS} FROM batches WHERE id = ?", (batch_id,))
        return self._batch(r[0]) if r else None

    def batches(self) -> list[BatchRecord]:
        return [self._batch(r) for r in self._q(f"SELECT {BATCH_COLS} FROM batches ORDER BY created, id")]

    # -- identities --------------------------------------------------------------------------------------
    def get(self, batch_id: str, iccid: str) -> IdentityRow | None:
        r = self._q(f"SELECT {ROW_COLS} FROM identities WHERE iccid = ? AND batch_id = ?", (iccid, batch_id))
        return self._row(r[0]) if r else None

    def find(self, batch_id: str, *, imsi: str | None = None, card_ref: str | None = None) -> IdentityRow | None:
        if imsi is not None:
            r = self._q(f"SELECT {ROW_COLS} FROM identities WHERE imsi = ? AND batch_id = ?", (imsi, batch_id))
        elif card_ref is not None:
            r = self._q(f"SELECT {ROW_COLS} FROM identities WHERE card_ref = ? AND batch_id = ? AND state IN "
                        f"({_states_sql(tuple(sorted(ON_A_CARD)))}) ORDER BY updated DESC LIMIT 1",
                        (card_ref, batch_id))
        else:
            return None
        return self._row(r[0]) if r else None

    def _pages(self, where: str, params: list[Any], limit: int = 2000) -> Iterator[tuple[Any, ...]]:
        """Raw rows in seq order, a page at a time (keyset): a million rows never sit in memory, no lock held."""
        last = -1
        while True:
            page = self._q(f"SELECT {ROW_COLS} FROM identities WHERE {where} AND seq > ? ORDER BY seq LIMIT ?",
                           [*params, last, limit])
            if not page:
                return
            yield from page
            last = page[-1][1]

    def rows(self, batch_id: str, states: Iterable[str] | None = None) -> Iterator[IdentityRow]:
        where = "batch_id = ?"
        if states is not None:
            st = [s for s in STATES if s in set(states)]
            where += f" AND state IN ({_states_sql(tuple(st)) or 'NULL'})"
        return map(self._row, self._pages(where, [batch_id]))

    def counts(self, batch_id: str) -> dict[str, int]:
        out: dict[str, int] = dict.fromkeys(STATES, 0)
        for state, n in self._q("SELECT state, COUNT(*) FROM identities WHERE batch_id = ? GROUP BY state",
                                (batch_id,)):
            out[state] = n
        return out

    def any_in(self, batch_id: str, states: Iterable[str]) -> bool:
        st = [s for s in STATES if s in set(states)]
        return bool(st) and bool(self._q(f"SELECT 1 FROM identities WHERE batch_id = ? AND state IN "
                                         f"({_states_sql(tuple(st))}) LIMIT 1", (batch_id,)))

    def peek_free(self, batch_id: str, skip: Iterable[str] = (), limit: int = 1) -> list[IdentityRow]:
        skip = set(skip)
        out: list[IdentityRow] = []
        for r in self._pages("batch_id = ? AND state = 'free'", [batch_id], limit=limit + len(skip)):
            if r[2] not in skip and not _damaged(r):  # a damaged row is passed over: `lease_next` sets it aside
                out.append(self._row(r))
                if len(out) >= limit:
                    break
        return out

    # -- allocation and state changes -------------------------------------------------------------------
    def lease_next(self, batch_id: str, owner: str, reader: str, ttl: float, now: float) -> IdentityRow | None:
        def work(cur: Any) -> IdentityRow | None:
            while True:
                r = self._x(cur, f"SELECT {ROW_COLS} FROM identities WHERE batch_id = ? AND state = 'free' "
                            f"ORDER BY seq LIMIT 1{self.dialect.skip_locked}", (batch_id,)).fetchone()
                if r is None:
                    return None
                try:
                    row = self._row(r)
                except DamagedRow as e:  # one damaged row must not stop the run: set it aside, take the next
                    bad = self._row(r, lenient=True)
                    self._apply(cur, bad, lc.decide("set_aside", bad, detail=e.why), reason=e.why, station=owner)
                    continue
                self._apply(cur, row, lc.decide("lease", row, owner=owner, now=now), owner=owner, reader=reader,
                            until=now + ttl, station=owner, event_reader=reader)
                return self._get(cur, row.iccid)

        for _ in range(50):
            got = self._tx(work)
            if got is not None:
                return got
            # Nothing unlocked was free. Rows another station holds right now are being leased (or voided); only
            # if its transaction rolls back is a free row left: look again, briefly.
            if not self.dialect.skip_locked or not self.any_in(batch_id, (FREE,)):
                return None
            time.sleep(0.005)
        return None

    def claim(self, batch_id: str, iccid: str, owner: str, reader: str, ttl: float, now: float,
              card_ref: str | None = None) -> IdentityRow:
        def work(cur: Any) -> Any:
            row = self._get(cur, iccid, lock=True)
            if row is None or row.batch_id != batch_id:
                self._event(cur, batch_id, lc.REFUSED, f"claim refused: not in batch {batch_id}", iccid, reader,
                            owner)
                return _Raise(LedgerConflict(f"ICCID {iccid} is not in batch {batch_id}"))
            d = lc.decide("claim", row, owner=owner, now=now)
            if not d.ok:
                self._event(cur, batch_id, d.event, d.detail, iccid, reader, owner)
                return _Raise(LedgerConflict(f"ICCID {iccid} {d.detail.removeprefix('claim refused: ')}"))
            self._apply(cur, row, d, owner=owner, reader=reader, until=now + ttl, card_ref=card_ref, station=owner,
                        event_reader=reader)
            return self._get(cur, iccid)

        return self._run(work)  # type: ignore[no-any-return]

    def heartbeat(self, owner: str, ttl: float, now: float) -> int:
        states = _states_sql(tuple(lc.RULES["heartbeat"].to))  # Who.OWNER: every lease of this station at once
        sql = f"UPDATE identities SET lease_until = ? WHERE lease_owner = ? AND state IN ({states})"
        return int(self._tx(lambda cur: self._x(cur, sql, (now + ttl, owner)).rowcount))

    def release(self, iccid: str, owner: str, detail: str, *, token: int) -> None:
        self._change("release", iccid, owner, token, None, detail)

    def mark_writing(self, iccid: str, owner: str, reader: str, card_ref: str | None, *, token: int) -> None:
        self._change("mark_writing", iccid, owner, token, reader, card_ref=card_ref)

    def mark_verified(self, iccid: str, owner: str, reader: str, detail: str, *, token: int) -> None:
        self._change("mark_verified", iccid, owner, token, reader, detail)

    def mark_failed(self, iccid: str, owner: str, reader: str, reason: str, *, token: int) -> None:
        self._change("mark_failed", iccid, owner, token, reader, reason, reason=reason)

    def void(self, batch_id: str, iccid: str, reason: str, station: str, now: float) -> IdentityRow:
        def work(cur: Any) -> Any:
            row = self._get(cur, iccid, lock=True, lenient=True)
            if row is None or row.batch_id != batch_id:
                raise InputError(f"ICCID {iccid}: not in batch {batch_id}")
            d = lc.decide("void", row, now=now, detail=reason)
            if not d.ok and d.refusal is lc.Refusal.INPUT and row.state == lc.VOIDED:
                d = lc.Decision(d.op, False, d.state, d.lease, d.token, d.event, f"{d.detail} ({row.reason})",
                                d.refusal)
            out = self._apply(cur, row, d, reason=reason, station=station)
            return out if out is not None else self._get(cur, iccid, lenient=True)

        return self._run(work)  # type: ignore[no-any-return]

    def set_aside(self, batch_id: str, iccid: str, reason: str, station: str) -> None:
        def work(cur: Any) -> Any:
            row = self._get(cur, iccid, lock=True, lenient=True)
            if row is None or row.batch_id != batch_id:
                raise InputError(f"ICCID {iccid}: not in batch {batch_id}")
            return self._apply(cur, row, lc.decide("set_aside", row, detail=reason), reason=reason, station=station)

        self._run(work)

    def reclaim(self, batch_id: str, now: float, dead_owners: Iterable[str] = ()) -> list[str]:
        dead = frozenset(dead_owners)
        states = _states_sql(tuple(lc.RULES["reclaim"].to))
        marks = ",".join("?" * len(dead)) or "NULL"

        def work(cur: Any) -> list[str]:
            # Candidates: leases that ran out or whose station is gone; the table decides which really go.
            # SKIP LOCKED (PostgreSQL): a row another transaction holds is in use right now, not ours to take.
            found = self._x(cur, f"SELECT {ROW_COLS} FROM identities WHERE batch_id = ? AND state IN ({states}) "
                            f"AND lease_owner IS NOT NULL AND (lease_until < ? OR lease_owner IN ({marks})) "
                            f"ORDER BY seq{self.dialect.skip_locked}", (batch_id, now, *sorted(dead))).fetchall()
            freed = []
            for r in found:
                row = self._row(r, lenient=True)
                d = lc.decide("reclaim", row, now=now, dead=dead)
                if d.ok:  # a sweep: a row it passes over is not a refusal
                    self._apply(cur, row, d, event_reader=row.lease_reader)
                    if d.state == FREE:
                        freed.append(row.iccid)
            return freed

        return self._tx(work)

    def lease_owners(self, batch_id: str) -> list[str]:
        return [r[0] for r in self._q("SELECT DISTINCT lease_owner FROM identities WHERE lease_owner IS NOT NULL "
                                      "AND batch_id = ? ORDER BY 1", (batch_id,))]

    # -- audit trail --------------------------------------------------------------------------------------
    def add_event(self, batch_id: str, state: str, detail: str | None = None, *, iccid: str | None = None,
                  reader: str | None = None, station: str | None = None) -> None:
        self._tx(lambda cur: self._event(cur, batch_id, state, detail, iccid, reader, station))

    def events(self, batch_id: str, iccid: str | None = None) -> Iterator[Event]:
        sql = f"SELECT {EVENT_COLS} FROM events WHERE batch_id = ?"
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
