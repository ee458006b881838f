"""What only the SQLite ledger has: its file (0600 or refused, WAL, the -wal/-shm files), the append-only trail
behind the interface's back, and a file of schema 1 gaining the fencing token. The state machine itself is
tested on both engines in test_batch_ledger_contract.py, and without any database in test_batch_lifecycle.py."""

from __future__ import annotations

import os
import sqlite3

import pytest

from simtool.batch.ledger import BatchRecord, Range, open_ledger
from simtool.errors import InputError


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
    _batch(ledger)
    for side in ("l.db-wal", "l.db-shm"):
        assert (tmp_path / side).stat().st_mode & 0o777 == 0o600, side
    with pytest.raises(InputError, match="no such database"):
        open_ledger(f"sqlite://{tmp_path}/missing.db")
    with pytest.raises(InputError, match="unknown ledger type 'mysql'") as e:
        open_ledger("mysql://user:secret@db/x")
    assert "secret" not in str(e.value)  # a password in a URL is never echoed


def test_created_0600_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        with open_ledger(f"sqlite://{tmp_path}/u.db", create=True) as led:
            _batch(led)
            modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    finally:
        os.umask(old)
    assert modes == {"u.db": 0o600, "u.db-wal": 0o600, "u.db-shm": 0o600}


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_an_existing_file_that_others_may_read_is_refused_with_the_fix(tmp_path, mode):
    path = tmp_path / "ledger.db"
    path.touch()
    path.chmod(mode)
    with pytest.raises(InputError) as e:
        open_ledger(f"sqlite://{path}", create=True)
    assert str(e.value) == (f"ledger {path}: mode {mode:04o} lets group or others read sealed secrets; fix it "
                            f"with: chmod 600 {path}")
    assert path.stat().st_size == 0  # nothing written into it


def test_a_wal_file_that_others_may_read_is_refused(tmp_path, ledger):
    _batch(ledger)
    ledger.close()
    wal = tmp_path / "l.db-wal"
    wal.touch()
    wal.chmod(0o644)
    with pytest.raises(InputError, match=f"ledger {wal}: mode 0644 .* chmod 600 {wal}"):
        open_ledger(f"sqlite://{tmp_path}/l.db")


@pytest.mark.parametrize("dangling", [True, False])
def test_a_symlink_at_the_ledger_path_is_refused(tmp_path, dangling):
    target = tmp_path / "elsewhere.db"
    if not dangling:
        with open_ledger(f"sqlite://{target}", create=True):
            pass
    link = tmp_path / "ledger.db"
    link.symlink_to(target)
    with pytest.raises(InputError, match=f"ledger {link}: is a symbolic link \\(to {target}\\)"):
        open_ledger(f"sqlite://{link}", create=True)
    assert target.exists() is not dangling  # a dangling link was not followed to create the file


def test_events_are_append_only(ledger):
    _batch(ledger)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        ledger._db.execute("UPDATE events SET detail = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        ledger._db.execute("DELETE FROM events")


def test_a_schema_1_file_gains_the_token(tmp_path, ledger):
    iccids = _batch(ledger)
    ledger._db.execute("ALTER TABLE identities DROP COLUMN token")
    ledger._db.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    ledger.close()
    with open_ledger(f"sqlite://{tmp_path}/l.db") as led:
        assert led.get("B1", iccids[0]).token == 0
        row = led.lease_next("B1", "host:1:aaaaaa", "r1", 60, 1000.0)
        assert row.token == 1
        assert led._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0] == "2"
