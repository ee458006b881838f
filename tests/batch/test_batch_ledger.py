"""The SQLite ledger's state machine: leases, the writing journal, reclaim, void, and the append-only trail."""

from __future__ import annotations

import sqlite3

import pytest

from simtool.batch.ledger import BatchRecord, LedgerConflict, OverlapError, Range, open_ledger
from simtool.errors import GuardError, InputError

OWNER, OTHER = "host:1:aaaaaa", "host:2:bbbbbb"


def _batch(ledger, n=5, bid="B1"):
    rec = BatchRecord(id=bid, created="2025-01-01T00:00:00+00:00", count=n, profile_name="p", profile_source="p.yaml",
                      profile_text="x", profile_sha256="0" * 64, simtool_version="0", kcv="ABCDEF", adm_mode="batch",
                      preprinted=False)
    rows = [(i, f"89310800000000{bid[-1]}{i:04d}", f"2040800000{bid[-1]}{i:04d}", None, b"sealed") for i in range(n)]
    ledger.create_batch(rec, rows, [Range("imsi", rows[0][2], rows[-1][2])])
    return [r[1] for r in rows]


@pytest.fixture
def ledger(tmp_path):
    with open_ledger(f"sqlite://{tmp_path}/l.db", create=True) as led:
        yield led


def test_file_is_0600_wal_and_opening_a_missing_ledger_is_refused(tmp_path, ledger):
    assert (tmp_path / "l.db").stat().st_mode & 0o777 == 0o600
    assert ledger._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(InputError, match="no such database"):
        open_ledger(f"sqlite://{tmp_path}/missing.db")
    with pytest.raises(InputError, match="unknown ledger type 'mysql'") as e:
        open_ledger("mysql://user:secret@db/x")
    assert "secret" not in str(e.value)  # a password in a URL is never echoed


def test_lease_write_verify_in_order_with_events(ledger):
    iccids = _batch(ledger)
    row = ledger.lease_next("B1", OWNER, "r1", 60, 1000.0)
    assert (row.iccid, row.state, row.lease_owner) == (iccids[0], "leased", OWNER)
    assert ledger.lease_next("B1", OWNER, "r2", 60, 1000.0).iccid == iccids[1]
    with pytest.raises(LedgerConflict):
        ledger.mark_writing(iccids[0], OTHER, "r1", None)  # not the lease holder
    ledger.mark_writing(iccids[0], OWNER, "r1", "card-1")
    with pytest.raises(LedgerConflict):
        ledger.release(iccids[0], OWNER, "too late: it is on a card")
    ledger.mark_verified(iccids[0], OWNER, "r1", "ok")
    assert [e.state for e in ledger.events("B1", iccids[0])] == ["leased", "writing", "verified"]
    assert ledger.get("B1", iccids[0]).lease_owner is None
    assert ledger.counts("B1") == {"free": 3, "leased": 1, "writing": 0, "verified": 1, "failed": 0, "voided": 0}


def test_expired_or_dead_leases_go_back_to_free_but_writing_never_does(ledger):
    iccids = _batch(ledger)
    ledger.lease_next("B1", OWNER, "r1", 10, 1000.0)
    ledger.lease_next("B1", OWNER, "r1", 10, 1000.0)
    ledger.mark_writing(iccids[1], OWNER, "r1", "card-2")
    assert ledger.reclaim("B1", 1005.0) == []  # not expired yet
    assert ledger.heartbeat(OWNER, 10, 1008.0) == 2
    assert ledger.reclaim("B1", 1015.0) == []  # the heartbeat moved it
    assert ledger.reclaim("B1", 1100.0) == [iccids[0]]
    assert ledger.get("B1", iccids[0]).state == "free"
    assert ledger.get("B1", iccids[1]).state == "writing"  # a card may hold it: never reissued
    assert ledger.lease_next("B1", OTHER, "r9", 10, 1100.0).iccid == iccids[0]
    # a dead station's writing identity loses its lease, so its card can be claimed at once
    ledger.reclaim("B1", 1100.0, dead_owners=[OWNER])
    row = ledger.claim("B1", iccids[1], OTHER, "r9", 10, 1100.0, "card-2")
    assert (row.state, row.lease_owner) == ("writing", OTHER)


def test_claim_refuses_live_leases_and_terminal_states(ledger):
    iccids = _batch(ledger)
    ledger.lease_next("B1", OWNER, "r1", 60, 1000.0)
    with pytest.raises(LedgerConflict, match="in flight on r1"):
        ledger.claim("B1", iccids[0], OTHER, "r2", 60, 1010.0)
    assert ledger.claim("B1", iccids[0], OTHER, "r2", 60, 2000.0).lease_owner == OTHER  # expired: fine
    ledger.mark_writing(iccids[0], OTHER, "r2", None)
    ledger.mark_failed(iccids[0], OTHER, "r2", "read-back differs")
    assert ledger.get("B1", iccids[0]).reason == "read-back differs"
    again = ledger.claim("B1", iccids[0], OWNER, "r1", 60, 2001.0, "card-x")
    assert (again.state, again.card_ref) == ("writing", "card-x")  # failed -> writing: same card, same identity
    assert ledger.find("B1", card_ref="card-x").iccid == iccids[0]
    assert ledger.find("B1", imsi=again.imsi).iccid == iccids[0]
    with pytest.raises(LedgerConflict, match="not in batch"):
        ledger.claim("B1", "8931080000000099999", OWNER, "r1", 60, 2001.0)


def test_void_rules(ledger):
    iccids = _batch(ledger)
    ledger.void("B1", iccids[4], "vendor lost the card", "ops@host", 1000.0)
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
        ledger.mark_writing(iccids[0], OWNER, "r1", None)


def test_events_are_append_only(ledger):
    _batch(ledger)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        ledger._db.execute("UPDATE events SET detail = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        ledger._db.execute("DELETE FROM events")


def test_create_batch_is_all_or_nothing(ledger):
    _batch(ledger, bid="B1")
    rec = BatchRecord(id="B2", created="t", count=2, profile_name="p", profile_source="p", profile_text="x",
                      profile_sha256="0", simtool_version="0", kcv="K", adm_mode="batch", preprinted=False)
    clash = [(0, "8931080000000099990", "204089999999990", None, b"s"),
             (1, "8931080000000099991", "204080000010000", None, b"s")]  # IMSI of B1's first identity
    with pytest.raises(OverlapError):
        ledger.create_batch(rec, clash, [])
    assert ledger.batch("B2") is None and ledger.get("B2", "8931080000000099990") is None
    assert ledger.overlaps([], ["8931080000000010000"]) == ["ICCID 8931080000000010000 is already in batch B1"]
