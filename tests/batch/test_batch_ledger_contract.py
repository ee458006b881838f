"""The `Ledger` interface's contract, run against both engines: SQLite and PostgreSQL (a throw-away cluster).

Allocation order and contention, leases and heartbeats, reclaim, the writing journal, conditional transitions
(LedgerConflict), overlap refusal, void, and the append-only audit trail. Engine-specific details (the SQLite
file's mode and WAL, PostgreSQL's connection handling) are in test_batch_ledger.py and below.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from simtool.batch.ledger import (
    BatchRecord,
    LedgerConflict,
    LedgerError,
    OverlapError,
    Range,
    open_ledger,
)
from simtool.errors import GuardError, InputError

OWNER, OTHER = "host:1:aaaaaa", "host:2:bbbbbb"
# the postgres engine's cases carry the marker themselves: they reach the cluster through getfixturevalue,
# which the plugin's marking by fixture cannot see
ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _record(bid: str, n: int, **kw) -> BatchRecord:
    return BatchRecord(id=bid, created=kw.pop("created", "2025-01-01T00:00:00+00:00"), count=n, profile_name="p",
                       profile_source="p.yaml", profile_text="x", profile_sha256="0" * 64, simtool_version="0",
                       kcv="ABCDEF", adm_mode="batch", preprinted=False, options=kw.pop("options", {"k": [1, 2]}))


def _tok(ledger, iccid: str, bid: str = "B1") -> int:
    """The identity's current token: what its lease holder got from lease_next/claim (0 for no identity)."""
    row = ledger.get(bid, iccid)
    return row.token if row else 0


def _batch(ledger, n=5, bid="B1", msisdn=False):
    tag = bid[-1]
    rows = [(i, f"89310800000000{tag}{i:04d}", f"2040800000{tag}{i:04d}",
             f"+3161200{tag}{i:04d}" if msisdn else None, b"sealed\x00" + bytes([i % 256])) for i in range(n)]
    ranges = [Range("iccid", rows[0][1], rows[-1][1]), Range("imsi", rows[0][2], rows[-1][2])]
    if msisdn:
        ranges.append(Range("msisdn", rows[0][3][1:], rows[-1][3][1:]))
    ledger.create_batch(_record(bid, n), rows, ranges)
    return [r[1] for r in rows]


@pytest.fixture(params=ENGINES)
def ledger_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/l.db"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def ledger(ledger_url):
    with open_ledger(ledger_url, create=True) as led:
        yield led


def _raw(url: str, sql: str) -> None:
    """Run SQL on the ledger's database behind the interface's back (to prove what the engine refuses)."""
    if url.startswith("sqlite://"):
        import sqlite3

        db = sqlite3.connect(url.removeprefix("sqlite://"), isolation_level=None)
        try:
            db.execute(sql)
        finally:
            db.close()
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql)


def test_batch_and_identities_read_back_the_same(ledger):
    iccids = _batch(ledger, 7, msisdn=True)
    b = ledger.batch("B1")
    assert (b.id, b.count, b.preprinted, b.options) == ("B1", 7, False, {"k": [1, 2]})
    assert [x.id for x in ledger.batches()] == ["B1"] and ledger.batch("nope") is None
    rows = list(ledger.rows("B1"))
    assert [r.iccid for r in rows] == iccids and [r.seq for r in rows] == list(range(7))
    r0 = ledger.get("B1", iccids[0])
    assert (r0.state, r0.secrets, r0.msisdn, r0.attempts, r0.lease_owner) == ("free", b"sealed\x00\x00",
                                                                               "+31612001" + "0000", 0, None)
    assert ledger.get("B2", iccids[0]) is None
    assert ledger.find("B1", imsi=r0.imsi).iccid == iccids[0]
    assert ledger.find("B1", card_ref="nothing") is None and ledger.find("B1") is None
    assert ledger.counts("B1") == {"free": 7, "leased": 0, "writing": 0, "verified": 0, "failed": 0, "voided": 0}
    assert ledger.any_in("B1", ("free",)) and not ledger.any_in("B1", ("writing", "leased"))
    assert [r.iccid for r in ledger.peek_free("B1", skip=[iccids[0], iccids[2]], limit=3)] == [iccids[1], *iccids[3:5]]
    assert [e.state for e in ledger.events("B1")] == ["batch-created"]
    assert list(ledger.rows("B1", ("verified",))) == []


def test_values_come_back_byte_for_byte(ledger):
    secrets = bytes(range(256)) + b"\\\t\n\r\\N"  # every byte, and what COPY's text format would trip on
    odd = "B-1_x.y"
    ledger.create_batch(_record(odd, 2, options={"vendor_file": "a\tb\\c\nd", "ü": None}),
                        [(0, "8931080000000000019", "204080000000001", "+31612000001", secrets),
                         (1, "8931080000000000027", "204080000000002", None, b"")], [])
    rows = list(ledger.rows(odd))
    assert [(r.msisdn, r.secrets) for r in rows] == [("+31612000001", secrets), (None, b"")]
    assert ledger.batch(odd).options == {"vendor_file": "a\tb\\c\nd", "ü": None}


def test_lease_write_verify_in_order_with_events(ledger):
    iccids = _batch(ledger)
    row = ledger.lease_next("B1", OWNER, "r1", 60, 1000.0)
    assert (row.iccid, row.state, row.lease_owner, row.lease_reader, row.lease_until) == (
        iccids[0], "leased", OWNER, "r1", 1060.0)
    assert ledger.lease_next("B1", OWNER, "r2", 60, 1000.0).iccid == iccids[1]
    with pytest.raises(LedgerConflict):
        ledger.mark_writing(iccids[0], OTHER, "r1", None, token=_tok(ledger, iccids[0]))  # not the lease holder
    ledger.mark_writing(iccids[0], OWNER, "r1", "card-1", token=_tok(ledger, iccids[0]))
    assert (ledger.get("B1", iccids[0]).attempts, ledger.get("B1", iccids[0]).card_ref) == (1, "card-1")
    with pytest.raises(LedgerConflict):
        ledger.release(iccids[0], OWNER, "too late: it is on a card", token=_tok(ledger, iccids[0]))
    ledger.mark_verified(iccids[0], OWNER, "r1", "ok", token=_tok(ledger, iccids[0]))
    evs = list(ledger.events("B1", iccids[0]))
    assert [e.state for e in evs] == ["leased", "refused", "writing", "refused", "verified"]
    assert [e.station for e in evs] == [OWNER, OTHER, OWNER, OWNER, OWNER]
    assert evs[-1].reader == "r1" and evs[-1].detail == "ok"
    assert evs[3].detail == "release refused: it is writing, not leased"
    assert all(e.time[:4].isdigit() and ("+" in e.time[10:] or "-" in e.time[10:] or e.time.endswith("Z"))
               for e in evs)  # ISO 8601 with a zone
    assert ledger.get("B1", iccids[0]).lease_owner is None
    assert ledger.counts("B1") == {"free": 3, "leased": 1, "writing": 0, "verified": 1, "failed": 0, "voided": 0}
    ledger.release(iccids[1], OWNER, "card pulled before the first write", token=_tok(ledger, iccids[1]))
    assert ledger.get("B1", iccids[1]).state == "free" and ledger.get("B1", iccids[1]).lease_owner is None


def test_allocation_takes_the_lowest_free_identity_and_leaves_no_gaps(ledger):
    iccids = _batch(ledger, 6)
    got = [ledger.lease_next("B1", OWNER, "r1", 60, 1000.0).iccid for _ in range(3)]
    assert got == iccids[:3]
    ledger.release(iccids[1], OWNER, "nothing written", token=_tok(ledger, iccids[1]))
    assert ledger.lease_next("B1", OTHER, "r2", 60, 1000.0).iccid == iccids[1]  # the released one, first
    for i in (0, 1, 2):
        owner = OTHER if i == 1 else OWNER
        ledger.mark_writing(iccids[i], owner, "r", None, token=_tok(ledger, iccids[i]))
        ledger.mark_verified(iccids[i], owner, "r", "ok", token=_tok(ledger, iccids[i]))
    rest = [ledger.lease_next("B1", OWNER, "r1", 60, 1000.0) for _ in range(4)]
    assert [r.iccid for r in rest[:3]] == iccids[3:] and rest[3] is None


def test_concurrent_stations_get_every_identity_exactly_once(ledger_url, ledger):
    n, stations, threads_each = 120, 3, 3
    iccids = _batch(ledger, n)
    got: list[tuple[str, str]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    ledgers = [open_ledger(ledger_url) for _ in range(stations)]  # each its own connection(s), like a process
    start = threading.Barrier(stations * threads_each)

    def station_thread(led, owner: str, reader: str) -> None:
        try:
            start.wait(30)
            while True:
                row = led.lease_next("B1", owner, reader, 60, time.time())
                if row is None:
                    return
                led.mark_writing(row.iccid, owner, reader, f"{reader}/{row.iccid}", token=row.token)
                led.heartbeat(owner, 60, time.time())
                led.mark_verified(row.iccid, owner, reader, "ok", token=row.token)
                with lock:
                    got.append((row.iccid, owner))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    workers = [threading.Thread(target=station_thread, args=(led, f"host:{s}:st{s}", f"s{s}r{t}"))
               for s, led in enumerate(ledgers) for t in range(threads_each)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    for led in ledgers:
        led.close()
    assert not errors, errors
    assert sorted(i for i, _ in got) == iccids  # every identity exactly once
    assert ledger.counts("B1")["verified"] == n
    per = Counter((e.iccid, e.state) for e in ledger.events("B1") if e.iccid)
    assert all(per[(i, "leased")] == 1 and per[(i, "verified")] == 1 for i in iccids)


def test_expired_or_dead_leases_go_back_to_free_but_writing_never_does(ledger):
    iccids = _batch(ledger)
    ledger.lease_next("B1", OWNER, "r1", 10, 1000.0)
    ledger.lease_next("B1", OWNER, "r1", 10, 1000.0)
    ledger.mark_writing(iccids[1], OWNER, "r1", "card-2", token=_tok(ledger, iccids[1]))
    assert ledger.reclaim("B1", 1005.0) == []  # not expired yet
    assert ledger.heartbeat(OWNER, 10, 1008.0) == 2
    assert ledger.heartbeat(OTHER, 10, 1008.0) == 0
    assert ledger.get("B1", iccids[0]).lease_until == 1018.0
    assert ledger.reclaim("B1", 1015.0) == []  # the heartbeat moved it
    assert ledger.reclaim("B1", 1100.0) == [iccids[0]]
    assert ledger.get("B1", iccids[0]).state == "free"
    assert ledger.get("B1", iccids[1]).state == "writing"  # a card may hold it: never reissued
    assert ledger.lease_owners("B1") == [OWNER]
    assert ledger.lease_next("B1", OTHER, "r9", 10, 1100.0).iccid == iccids[0]
    # a dead station's writing identity loses its lease, so its card can be claimed at once
    assert ledger.reclaim("B1", 1100.0, dead_owners=[OWNER]) == []
    assert ledger.get("B1", iccids[1]).lease_owner is None
    assert [e.detail for e in ledger.events("B1", iccids[0]) if e.state == "free"] == [
        f"lease of {OWNER} on r1 reclaimed: its lease expired; nothing was written"]
    row = ledger.claim("B1", iccids[1], OTHER, "r9", 10, 1100.0, "card-2")
    assert (row.state, row.lease_owner) == ("writing", OTHER)


def test_a_dead_station_never_lets_its_writing_identities_go_to_other_cards(ledger):
    iccids = _batch(ledger, 4)
    for reader in ("r1", "r2"):
        ledger.lease_next("B1", OWNER, reader, 30, 1000.0)
    ledger.mark_writing(iccids[0], OWNER, "r1", "tray/card-000001", token=_tok(ledger, iccids[0]))
    # the station dies; long after, other stations reclaim (by timeout and by knowing it is dead)
    assert ledger.reclaim("B1", 5000.0) == [iccids[1]]
    assert ledger.reclaim("B1", 5000.0, dead_owners=[OWNER]) == []
    taken = [ledger.lease_next("B1", OTHER, "r9", 30, 5000.0) for _ in range(4)]
    assert [r.iccid for r in taken[:3]] == [iccids[1], iccids[2], iccids[3]] and taken[3] is None
    assert ledger.get("B1", iccids[0]).state == "writing"
    assert ledger.find("B1", card_ref="tray/card-000001").iccid == iccids[0]  # its card is recognised
    assert ledger.claim("B1", iccids[0], "host:3:cccccc", "r1", 30, 5000.0, "tray/card-000001").state == "writing"
    assert any("waits for its card" in (e.detail or "") for e in ledger.events("B1", iccids[0]))


def test_claim_refuses_live_leases_and_terminal_states(ledger):
    iccids = _batch(ledger)
    ledger.lease_next("B1", OWNER, "r1", 60, 1000.0)
    with pytest.raises(LedgerConflict, match="in flight on r1"):
        ledger.claim("B1", iccids[0], OTHER, "r2", 60, 1010.0)
    assert ledger.claim("B1", iccids[0], OTHER, "r2", 60, 2000.0).lease_owner == OTHER  # expired: fine
    ledger.mark_writing(iccids[0], OTHER, "r2", None, token=_tok(ledger, iccids[0]))
    ledger.mark_failed(iccids[0], OTHER, "r2", "read-back differs", token=_tok(ledger, iccids[0]))
    assert ledger.get("B1", iccids[0]).reason == "read-back differs"
    again = ledger.claim("B1", iccids[0], OWNER, "r1", 60, 2001.0, "card-x")
    assert (again.state, again.card_ref) == ("writing", "card-x")  # failed -> writing: same card, same identity
    assert ledger.find("B1", card_ref="card-x").iccid == iccids[0]
    assert ledger.find("B1", imsi=again.imsi).iccid == iccids[0]
    with pytest.raises(LedgerConflict, match="not in batch"):
        ledger.claim("B1", "8931080000000099999", OWNER, "r1", 60, 2001.0)
    free = ledger.claim("B1", iccids[3], OWNER, "r3", 60, 2001.0)  # a vendor card carrying a free ICCID
    assert (free.state, free.lease_reader) == ("leased", "r3")
    ledger.mark_writing(iccids[0], OWNER, "r1", None, token=_tok(ledger, iccids[0]))
    ledger.mark_verified(iccids[0], OWNER, "r1", "ok", token=_tok(ledger, iccids[0]))
    with pytest.raises(LedgerConflict, match="verified"):
        ledger.claim("B1", iccids[0], OWNER, "r1", 60, 2002.0)


def test_transitions_are_conditional_and_a_refusal_changes_nothing_but_leaves_an_event(ledger):
    iccids = _batch(ledger)
    tok = ledger.lease_next("B1", OWNER, "r1", 60, 1000.0).token
    before = len(list(ledger.events("B1")))
    attempts = [
        (lambda: ledger.mark_verified(iccids[0], OWNER, "r1", "skipped the journal", token=tok),
         "mark_verified refused: it is leased, not writing"),
        (lambda: ledger.mark_failed(iccids[0], OWNER, "r1", "x", token=tok), "mark_failed refused: it is leased"),
        (lambda: ledger.mark_writing(iccids[1], OWNER, "r1", None, token=tok),  # free: not leased by anyone
         "mark_writing refused: it is free"),
        (lambda: ledger.release(iccids[0], OTHER, "not mine", token=tok),
         f"release refused: the lease is held by station {OWNER}"),
        (lambda: ledger.mark_writing(iccids[0], OWNER, "r1", None, token=tok - 1),  # an older lease's token
         f"mark_writing refused: token {tok - 1} is stale: the lease is now token {tok} on r1"),
    ]
    for attempt, why in attempts:
        with pytest.raises(LedgerConflict, match=why):
            attempt()
    with pytest.raises(LedgerConflict, match="not in the ledger"):  # names no batch: nowhere to record it
        ledger.mark_writing("8931080000000099999", OWNER, "r1", None, token=tok)
    refused = list(ledger.events("B1"))[before:]
    assert [(e.state, e.iccid, e.station) for e in refused] == [
        ("refused", iccids[0], OWNER), ("refused", iccids[0], OWNER), ("refused", iccids[1], OWNER),
        ("refused", iccids[0], OTHER), ("refused", iccids[0], OWNER)]
    assert [e.detail.split(":")[0] for e in refused] == [
        "mark_verified refused", "mark_failed refused", "mark_writing refused", "release refused",
        "mark_writing refused"]
    assert ledger.get("B1", iccids[0]).state == "leased" and ledger.get("B1", iccids[1]).state == "free"
    assert ledger.get("B1", iccids[0]).token == tok and ledger.get("B1", iccids[1]).token == 0
    ledger.mark_writing(iccids[0], OWNER, "r1", None, token=tok)
    ledger.mark_writing(iccids[0], OWNER, "r2", None, token=tok)  # writing -> writing (a retry, same lease)
    assert (ledger.get("B1", iccids[0]).attempts, ledger.get("B1", iccids[0]).lease_reader) == (2, "r2")
    ledger.mark_verified(iccids[0], OWNER, "r2", "ok", token=tok)
    with pytest.raises(LedgerConflict, match="verified"):
        ledger.mark_failed(iccids[0], OWNER, "r2", "late", token=tok)  # verified is final (and has no lease)
    with pytest.raises(LedgerConflict):
        ledger.mark_verified(iccids[0], OWNER, "r2", "twice", token=tok + 1)


def test_a_reclaimed_lease_is_fenced_for_every_reader_of_every_station(ledger):
    """Issue 12 item 2: a lease that ran out and was taken again (by another reader of the same station, or
    another station) can never journal `writing` or `verified` with its old token."""
    iccids = _batch(ledger, 2)
    old = ledger.lease_next("B1", OWNER, "r1", 0.5, 1000.0)
    assert ledger.reclaim("B1", 1001.0) == [iccids[0]]  # its lease ran out: free again
    new = ledger.lease_next("B1", OWNER, "r2", 60, 1001.0)  # the same station, another reader, gets it
    assert (new.iccid, new.token) == (old.iccid, old.token + 2)  # reclaim and lease each moved it on
    with pytest.raises(LedgerConflict, match="stale"):
        ledger.mark_writing(old.iccid, OWNER, "r1", "card-r1", token=old.token)
    ledger.mark_writing(new.iccid, OWNER, "r2", "card-r2", token=new.token)
    with pytest.raises(LedgerConflict, match="stale"):
        ledger.mark_writing(old.iccid, OWNER, "r1", "card-r1", token=old.token)  # writing -> writing: still no
    # another station claims it after the lease ran out (the card moved): the first holder is fenced too
    other = ledger.claim("B1", new.iccid, OTHER, "r9", 60, 5000.0, "card-r2")
    for call in (lambda: ledger.mark_verified(new.iccid, OWNER, "r2", "ok", token=new.token),
                 lambda: ledger.mark_failed(new.iccid, OWNER, "r2", "x", token=new.token)):
        with pytest.raises(LedgerConflict, match="held by station"):
            call()
    ledger.mark_writing(other.iccid, OTHER, "r9", "card-r2", token=other.token)
    ledger.mark_verified(other.iccid, OTHER, "r9", "ok", token=other.token)
    row = ledger.get("B1", iccids[0])
    assert (row.state, row.card_ref, row.attempts) == ("verified", "card-r2", 2)
    states = [(e.state, e.station) for e in ledger.events("B1", iccids[0])]
    assert states.count(("refused", OWNER)) == 4 and states.count(("verified", OTHER)) == 1
    assert states[-1] == ("verified", OTHER)


def test_void_rules(ledger):
    iccids = _batch(ledger)
    v = ledger.void("B1", iccids[4], "vendor lost the card", "ops@host", 1000.0)
    assert (v.state, v.reason) == ("voided", "vendor lost the card")
    with pytest.raises(InputError, match="already voided"):
        ledger.void("B1", iccids[4], "again", "ops@host", 1000.0)
    with pytest.raises(InputError, match="not in batch"):
        ledger.void("B1", "8931080000000099999", "x", "ops@host", 1000.0)
    ledger.lease_next("B1", OWNER, "r1", 60, 1000.0)
    with pytest.raises(GuardError, match="in flight"):
        ledger.void("B1", iccids[0], "x", "ops@host", 1001.0)
    assert ledger.void("B1", iccids[0], "card broke", "ops@host", 5000.0).state == "voided"
    assert [r.iccid for r in ledger.peek_free("B1", limit=10)] == iccids[1:4]
    with pytest.raises(LedgerConflict):
        ledger.mark_writing(iccids[0], OWNER, "r1", None, token=_tok(ledger, iccids[0]))
    # a card that was being written when its station vanished: voided by a person, never reissued
    ledger.lease_next("B1", OTHER, "r2", 60, 6000.0)
    ledger.mark_writing(iccids[1], OTHER, "r2", "card-9", token=_tok(ledger, iccids[1]))
    ledger.reclaim("B1", 6000.0, dead_owners=[OTHER])
    assert ledger.void("B1", iccids[1], "card lost in the crash", "ops@host", 6000.0).state == "voided"
    ev = [e for e in ledger.events("B1") if e.state == "voided"]
    assert [(e.iccid, e.station) for e in ev] == [(iccids[4], "ops@host"), (iccids[0], "ops@host"),
                                                  (iccids[1], "ops@host")]
    assert ev[-1].detail == "was writing: card lost in the crash"
    assert ledger.counts("B1")["voided"] == 3


def test_overlapping_batches_are_refused_whole(ledger):
    _batch(ledger, 10, bid="B1", msisdn=True)
    rec = _record("B2", 2)
    assert ledger.overlaps([Range("iccid", "8931080000000100050", "8931080000000100059")]) == []
    assert ledger.overlaps([Range("imsi", "20408000011000", "20408000019999")]) == []  # 14 digits: not the same
    hits = ledger.overlaps([Range("imsi", "204080000010005", "204080000019999"),
                            Range("msisdn", "31612001" + "0009", "31612001" + "0100"),
                            Range("iccid", "8931080000000010000", "8931080000000010001")])
    assert hits == [
        "imsi range 204080000010005..204080000019999 overlaps batch B1 (5 IMSIs already issued there, "
        "204080000010005..204080000010009)",
        "msisdn range +316120010009..+316120010100 overlaps batch B1 (1 MSISDNs already issued there, "
        "+316120010009..+316120010009)",
        "iccid range 8931080000000010000..8931080000000010001 overlaps batch B1 (2 ICCIDs already issued there, "
        "8931080000000010000..8931080000000010001)",
    ]
    assert ledger.overlaps([], ["8931080000000010000", "8931080000000099990"]) == [
        "ICCID 8931080000000010000 is already in batch B1"]
    # refused by the ranges: nothing stored
    rows = [(0, "8931080000000099990", "204089999999990", None, b"s"),
            (1, "8931080000000099991", "204089999999991", None, b"s")]
    with pytest.raises(OverlapError, match="overlaps batch B1"):
        ledger.create_batch(rec, rows, [Range("imsi", "204080000010009", "204080000010010")])
    with pytest.raises(OverlapError, match="already in batch B1"):
        ledger.create_batch(rec, rows, [], ["8931080000000010003"])
    # refused by a single clashing row (the second), after the first was inserted: nothing stored either
    clash = [rows[0], (1, "8931080000000099991", "204080000010000", None, b"s")]  # IMSI of B1's first identity
    with pytest.raises(OverlapError):
        ledger.create_batch(rec, clash, [])
    assert ledger.batch("B2") is None and ledger.get("B2", "8931080000000099990") is None
    assert [b.id for b in ledger.batches()] == ["B1"]
    assert [e.batch_id for e in ledger.events("B2")] == []
    ledger.create_batch(rec, rows, [Range("imsi", rows[0][2], rows[1][2])])  # no clash: stored
    assert ledger.counts("B2")["free"] == 2 and ledger.counts("B1")["free"] == 10
    assert [b.id for b in ledger.batches()] == ["B1", "B2"]


def test_the_audit_trail_is_append_only(ledger_url, ledger):
    iccids = _batch(ledger)
    ledger.add_event("B1", "run-started", "readers: r1", station=OWNER)
    ledger.add_event("B1", "refused", "not blank", iccid=iccids[2], reader="r1", station=OWNER)
    evs = list(ledger.events("B1"))
    assert [e.state for e in evs] == ["batch-created", "run-started", "refused"]
    assert [e.id for e in evs] == sorted(e.id for e in evs)
    assert evs[2].as_dict() == {"id": evs[2].id, "time": evs[2].time, "batch": "B1", "iccid": iccids[2],
                                "reader": "r1", "state": "refused", "detail": "not blank", "station": OWNER}
    assert [e.state for e in ledger.events("B1", iccids[2])] == ["refused"]
    for sql in ("UPDATE events SET detail = 'x'", "DELETE FROM events"):
        with pytest.raises(Exception, match="append-only"):
            _raw(ledger_url, sql)
    assert [e.detail for e in ledger.events("B1")] == [e.detail for e in evs]


def test_many_events_and_rows_page_through(ledger):
    iccids = _batch(ledger, 2100)
    assert [r.iccid for r in ledger.rows("B1")] == iccids
    for i in range(2100):
        if i % 700 == 0:
            ledger.add_event("B1", "note", str(i))
    assert len(list(ledger.rows("B1", ("free",)))) == 2100
    assert [e.detail for e in ledger.events("B1") if e.state == "note"] == ["0", "700", "1400"]


# -- PostgreSQL only ------------------------------------------------------------------------------------------
def test_pg_lease_skips_rows_another_station_holds_and_leaves_no_gap(postgres_url):
    import psycopg

    with open_ledger(postgres_url, create=True) as ledger:
        iccids = _batch(ledger, 4)
        with psycopg.connect(postgres_url) as other:  # another station, inside its lease transaction
            other.execute("SELECT iccid FROM identities WHERE iccid = %s FOR UPDATE", (iccids[0],))
            t0 = time.monotonic()
            row = ledger.lease_next("B1", OWNER, "r1", 60, 1000.0)
            assert row.iccid == iccids[1] and time.monotonic() - t0 < 2.0  # skipped, not waited for
            other.rollback()  # that station's transaction failed: its row is free again
        assert ledger.lease_next("B1", OWNER, "r1", 60, 1000.0).iccid == iccids[0]  # no gap


def test_pg_urls_missing_databases_and_passwords(simtool_postgres, postgres_url, sim):
    good = postgres_url
    base, _, name = good.rpartition("/")
    with pytest.raises(InputError, match="no such database") as e:
        open_ledger(f"{base}/{name}_missing")
    assert simtool_postgres.password not in str(e.value)
    with open_ledger(f"{base}/{name}_new", create=True) as led:  # `batch create` makes the database
        assert led.batches() == [] and simtool_postgres.password not in led.url
    in_query = f"{base.replace(':' + simtool_postgres.password, '')}/{name}?password={simtool_postgres.password}"
    with open_ledger(in_query) as led:  # libpq's other place for a password
        assert simtool_postgres.password not in led.url and led.url.endswith(f"/{name}")
    wrong = good.replace(simtool_postgres.password, "not-the-password")
    with pytest.raises(LedgerError) as e:
        open_ledger(wrong)
    assert "not-the-password" not in str(e.value) and "password authentication failed" in str(e.value)
    with pytest.raises(LedgerError) as e:
        open_ledger("postgresql://user:s3cret@127.0.0.1:1/x?connect_timeout=3")
    assert "s3cret" not in str(e.value)
    # two ledgers opening a fresh database at once: one creates the schema, both work
    url = simtool_postgres.create_database()
    out: list = []
    ts = [threading.Thread(target=lambda: out.append(open_ledger(url))) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    assert len(out) == 4
    for led in out:
        assert led.batches() == []
        led.close()


def test_pg_helper_reaps_the_cluster_of_a_killed_run(simtool_postgres):
    import subprocess
    import sys

    from simtool.testing.postgres import reap_stale

    code = ("import os, sys; from simtool.testing.postgres import start_cluster; c = start_cluster(); "
            "print(c.base, flush=True); os.kill(os.getpid(), 9)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       cwd=Path(__file__).resolve().parents[2])
    base = Path(r.stdout.strip())
    assert r.returncode == -9 and (base / "data" / "postmaster.pid").exists(), r.stderr
    assert base in reap_stale(simtool_postgres.bindir, simtool_postgres.run_as)
    assert not base.exists() and simtool_postgres.running()  # ours, whose owner lives, is left alone
