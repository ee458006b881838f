"""`batch void`: a person takes an identity out for good; runs skip it, exports leave it out, the trail says why."""

from __future__ import annotations

from simtool.batch.batchdir import BatchDir
from simtool.batch.ledger import open_ledger
from tests.batch.batch_helpers import ICCID0


def test_void_free_and_writing_identities(tmp_path, sim, make_batch):
    d = make_batch(4)
    bdir = BatchDir.load(d)
    with open_ledger(bdir.ledger) as ledger:  # a card that was being written when its station vanished
        row = ledger.lease_next(bdir.batch_id, "elsewhere:1:abc", "pcsc:0", 0.0, 0.0)
        ledger.mark_writing(row.iccid, "elsewhere:1:abc", "pcsc:0", None, token=row.token)
        assert row.iccid == ICCID0
    second = "8931080000000000027"
    r = sim("batch", "void", d, second, "--reason", "card dropped in the shredder", "--json")
    assert r.code == 0, r.err
    assert r.json() == {"batch": bdir.batch_id, "iccid": second, "imsi": "204080000000002", "was": "free",
                        "state": "voided", "reason": "card dropped in the shredder"}
    assert sim("batch", "void", d, second, "--reason", "again").code == 2
    assert sim("batch", "void", d, "8931080000000099999", "--reason", "x").code == 2
    assert sim("batch", "void", d, ICCID0, "--reason", " ").code == 2

    # the writing identity waits for its card: the run cannot finish it without that card
    r = sim("batch", "run", d, "--reader", "emu-feed:", "--json")
    assert r.code == 1
    summary = r.lines()[-1]
    assert summary["counts"] == {"free": 0, "leased": 0, "writing": 1, "verified": 2, "failed": 0, "voided": 1}
    assert summary["waiting_for_cards"] == [ICCID0]
    assert "wait for their cards" in summary["reason"]

    r = sim("batch", "void", d, ICCID0, "--reason", "station burned down with the card in it")
    assert r.code == 0 and "was writing" in r.out
    r = sim("batch", "run", d, "--reader", "emu-feed:", "--json")
    assert r.code == 0 and r.lines()[-1]["reason"] == "every identity is verified, failed or voided"

    st = sim("batch", "status", d, "--json").json()
    assert {v["iccid"] for v in st["voided"]} == {ICCID0, second}
    assert any("shredder" in v["detail"] for v in st["voided"])
    out = tmp_path / "e.out"
    assert sim("batch", "export", d, "--out", out).code == 0
    text = out.read_text()
    assert "# count: 2" in text and ICCID0 not in text and second not in text
