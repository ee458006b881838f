"""create → run (2 emu-feed readers) → status → export → decrypt, and the cards hold what the export says."""

from __future__ import annotations

from simtool.crypto import aka
from simtool.emulator import Card
from simtool.personalize.auth import authenticate, select_usim
from simtool.transport.base import Reader
from simtool.transport.emulated import EmulatedTransport
from tests.batch.batch_helpers import ADM_HEX, ICCID0, IMSI0, PROFILE, card_files, card_ids


def test_round_trip(tmp_path, sim, key_file):
    d = tmp_path / "b"
    r = sim("batch", "create", d, "--profile", PROFILE, "--count", 10, "--adm-hex", ADM_HEX, "--iccid-start",
            ICCID0, "--imsi-start", IMSI0, "--msisdn-start", "+31612000001", "--transport-key", key_file, "--json")
    assert r.code == 0, r.err
    created = r.json()
    assert created["count"] == 10 and created["kcv"] and created["simtool_version"]
    assert (d / "batch.json").exists() and (d / "ledger.db").exists()

    f1, f2 = tmp_path / "feed1", tmp_path / "feed2"  # created on demand
    r = sim("batch", "run", d, "--reader", f"emu-feed:{f1}", "--reader", f"emu-feed:{f2}", "--json")
    assert r.code == 0, r.err
    events = r.lines()
    verified = [e for e in events if e.get("state") == "verified" and e["event"] == "card"]
    assert len(verified) == 10
    assert {e["reader"] for e in verified} == {f"emu-feed:{f1}", f"emu-feed:{f2}"}
    summary = events[-1]
    assert summary["event"] == "summary" and summary["counts"]["verified"] == 10 and summary["exit_code"] == 0

    cards = card_files(f1, f2)
    assert len(cards) == 10 and all(p.parent.name == "done" for p in cards)
    ids = [card_ids(p) for p in cards]
    assert len({i for i, _ in ids}) == 10 and len({m for _, m in ids}) == 10

    r = sim("batch", "status", d, "--json")
    st = r.json()
    assert st["counts"]["verified"] == 10 and st["left"] == 0 and st["failures"] == []
    assert {x["reader"]: x["verified"] for x in st["readers"]} == {f"emu-feed:{f1}": 5, f"emu-feed:{f2}": 5} or \
        sum(x["verified"] for x in st["readers"]) == 10
    assert sim("batch", "status", d).code == 0

    out = tmp_path / "export.txt"
    r = sim("batch", "export", d, "--out", out, "--json")
    assert r.code == 0, r.err
    assert r.json()["rows"] == 10
    assert out.stat().st_mode & 0o777 == 0o600
    r = sim("batch", "export", d, "--out", out)
    assert r.code == 2 and "exists" in r.err  # never replaced unless --force
    assert sim("batch", "export", d, "--out", out, "--force").code == 0

    r = sim("batch", "decrypt", out, "--transport-key", key_file, "--json")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["header"]["count"] == "10" and doc["header"]["kcv"] == created["kcv"]
    rows = {x["iccid"]: x for x in doc["rows"]}
    assert rows[ICCID0]["msisdn"] == "+31612000001" and rows[ICCID0]["adm1"] == ADM_HEX
    assert all(len(x["pin1"]) == 4 and len(x["puk1"]) == 8 and len(x["pin2"]) == 4 and len(x["puk2"]) == 8
               for x in rows.values())
    assert all(len(x[k]) == 32 for x in rows.values() for k in ("ki", "opc", "kic", "kid"))
    assert len({x["ki"] for x in rows.values()}) == 10

    # every card answers AUTHENTICATE with the keys the operator receives
    for p in cards:
        iccid, _ = card_ids(p)
        row = rows[iccid]
        reader = Reader(EmulatedTransport(Card.load(p), "emu"))
        select_usim(reader)
        res = authenticate(reader, aka.Milenage(bytes.fromhex(row["ki"]), bytes.fromhex(row["opc"])))
        assert res.ok

    # the CSV form, and --out
    r = sim("batch", "decrypt", out, "--transport-key", key_file)
    assert r.code == 0 and r.out.count("\n8931") == 10
    clear = tmp_path / "clear.csv"
    assert sim("batch", "decrypt", out, "--transport-key", key_file, "--out", clear).code == 0
    assert clear.stat().st_mode & 0o777 == 0o600

    # a second run has nothing to do
    r = sim("batch", "run", d, "--reader", f"emu-feed:{f1}", "--json")
    assert r.code == 0 and r.lines()[-1]["verified_this_run"] == 0
    assert len(card_files(f1, f2)) == 10  # no blank card made for nothing


def test_live_display_and_max_cards(tmp_path, sim, make_batch):
    d = make_batch(6)
    r = sim("batch", "run", d, "--reader", "emu-feed:", "--reader", "emu-feed:", "--max-cards", 3)
    assert r.code == 0, r.err
    assert "cards/min" in r.out and "--max-cards 3 reached" in r.out
    assert sim("batch", "status", d, "--json").json()["counts"]["verified"] == 3
    r = sim("batch", "run", d, "--reader", "emu-feed:", "--json")
    assert r.code == 0 and r.lines()[-1]["counts"]["verified"] == 6


def test_demo_runs_the_factory_job(tmp_path, sim):
    r = sim("batch", "demo", "--dir", tmp_path / "demo", "--count", 4, "--readers", 2, "--latency-ms", 0, "--json")
    assert r.code == 0, r.err
    lines = r.lines()
    assert lines[-1]["event"] == "demo" and lines[-1]["exported"] == 4
    assert sum(1 for e in lines if e.get("state") == "verified" and e["event"] == "card") == 4
    assert (tmp_path / "demo" / "export.txt").exists()
