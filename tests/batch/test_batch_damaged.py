"""Damaged ledger rows (issue 12 item 10), through the CLI: a `secrets` column holding text, or a blob that does
not unseal, is named by its ICCID (exit 1 where the row is needed, never a traceback); in `batch run` such a
free row is set aside (voided, with an event naming it) and the run goes on with the next identity."""

from __future__ import annotations

import sqlite3

import pytest

from simtool.batch.batchdir import BatchDir
from simtool.batch.ledger import open_ledger
from tests.batch.batch_helpers import ICCID0

SECOND = "8931080000000000027"


def _damage(d, iccid: str, value) -> None:
    path = BatchDir.load(d).ledger.removeprefix("sqlite://")
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("UPDATE identities SET secrets = ? WHERE iccid = ?", (value, iccid))
    finally:
        db.close()


@pytest.mark.parametrize(("value", "why"), [
    ("not a blob", "the secrets column holds str, not a sealed blob"),
    (b"\x00" * 40, "its sealed secrets do not open with the batch's transport key"),
], ids=["text", "bad-blob"])
def test_a_damaged_free_row_is_set_aside_and_the_run_goes_on(sim, make_batch, value, why):
    d = make_batch(3)
    _damage(d, SECOND, value)
    r = sim("batch", "run", d, "--reader", "emu-feed:", "--json")
    assert r.code == 0, r.err
    assert "Traceback" not in r.err
    summary = r.lines()[-1]
    assert summary["counts"] == {"free": 0, "leased": 0, "writing": 0, "verified": 2, "failed": 0, "voided": 1}
    bdir = BatchDir.load(d)
    with open_ledger(bdir.ledger) as ledger:
        events = [e for e in ledger.events(bdir.batch_id, SECOND) if e.state == "voided"]
        states = {r.iccid: r.state for r in ledger.rows(bdir.batch_id, ("verified",))}
    assert len(events) == 1 and events[0].detail.startswith(f"damaged ledger row, never issued: {why}")
    assert set(states) == {ICCID0, "8931080000000000035"}
    st = sim("batch", "status", d, "--json")
    assert st.code == 0 and st.json()["counts"]["voided"] == 1


def test_a_damaged_verified_row_stops_the_export_naming_its_iccid(sim, make_batch, tmp_path):
    d = make_batch(2)
    assert sim("batch", "run", d, "--reader", "emu-feed:").code == 0
    _damage(d, SECOND, "garbage")
    r = sim("batch", "export", d, "--out", tmp_path / "out.txt")
    assert r.code == 1 and "Traceback" not in r.err
    assert f"ICCID {SECOND} of batch" in r.err and "damaged row: the secrets column holds str" in r.err
    assert not (tmp_path / "out.txt").exists()
