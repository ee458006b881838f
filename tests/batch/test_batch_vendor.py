"""`batch create --input vendor.csv`: per-card ADM1 keys and pre-printed ICCIDs; cards matched by ICCID."""

from __future__ import annotations

import pytest

from simtool.batch.batchdir import BatchDir
from simtool.batch.feed import CardSlot, CardSource
from simtool.batch.keys import load_transport_key
from simtool.batch.ledger import open_ledger
from simtool.batch.runner import Runner, RunOptions
from simtool.emulator import Card
from simtool.profile.luhn import luhn_digit
from simtool.transport.base import Reader
from simtool.transport.emulated import EmulatedTransport
from tests.batch.batch_helpers import IMSI0, PROFILE, card_files, card_ids


def _iccid(n: int) -> str:
    p = str(893108000000500000 + n)
    return p + luhn_digit(p)


def _vendor(tmp_path, n=5, header="iccid,adm1_hex", per_card=True):
    rows = [header] + [f"{_iccid(i)},{(f'3{i}' * 8) if per_card else '31' * 8}" for i in range(n)]
    path = tmp_path / "vendor.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_preprinted_iccids_and_per_card_adm(tmp_path, sim, key_file):
    vendor = _vendor(tmp_path)
    d = tmp_path / "b"
    r = sim("batch", "create", d, "--profile", PROFILE, "--imsi-start", IMSI0, "--transport-key", key_file,
            "--input", vendor, "--json")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["count"] == 5 and doc["adm"] == "per-card" and doc["preprinted_iccids"] is True
    assert doc["iccid_first"] == _iccid(0)
    feed = tmp_path / "feed"
    r = sim("batch", "run", d, "--reader", f"emu-feed:{feed}", "--reader", "emu-feed:", "--json")
    assert r.code == 0, r.err
    assert r.lines()[-1]["counts"]["verified"] == 5
    for p in card_files(feed):  # the vendor ICCID stayed, and IMSIs were given in file order
        iccid, imsi = card_ids(p)
        assert imsi == f"2040800000000{int(iccid[-3:-1]) + 1:02d}"
    out = tmp_path / "e.out"
    assert sim("batch", "export", d, "--out", out).code == 0
    rows = sim("batch", "decrypt", out, "--transport-key", key_file, "--json").json()["rows"]
    assert {x["iccid"]: x["adm1"] for x in rows} == {_iccid(i): f"3{i}" * 8 for i in range(5)}


class _Tray(CardSource):
    """Hand-made cards, as a person would insert them (no journal reference)."""

    def __init__(self, cards):
        self.name = "tray"
        self.cards = list(cards)

    def next_card(self, stop, idle):
        return CardSlot(Reader(EmulatedTransport(self.cards.pop(0), "tray")), None) if self.cards else None

    def finish(self, slot, outcome, stop):
        self.last = outcome


def test_cards_are_matched_by_their_iccid_and_strangers_refused(tmp_path, sim, key_file):
    vendor = _vendor(tmp_path, n=3, per_card=False)
    d = tmp_path / "b"
    assert sim("batch", "create", d, "--profile", PROFILE, "--imsi-start", IMSI0, "--transport-key", key_file,
               "--input", vendor, "--count", 3).code == 0
    bdir = BatchDir.load(d)
    adm = bytes.fromhex("31" * 8)
    cards = [Card.blank(adm=adm, iccid=_iccid(2)), Card.blank(adm=adm), Card.blank(adm=adm, iccid=_iccid(7)),
             Card.blank(adm=adm, iccid=_iccid(0))]
    events = []
    with open_ledger(bdir.ledger) as ledger:
        runner = Runner(ledger, ledger.batch(bdir.batch_id), load_transport_key(key_file), [_Tray(cards)],
                        RunOptions(max_failures=5), emit=events.append)
        summary = runner.run()
        assert ledger.get(bdir.batch_id, _iccid(2)).state == "verified"
        assert ledger.get(bdir.batch_id, _iccid(0)).state == "verified"
        assert ledger.get(bdir.batch_id, _iccid(1)).state == "free"
    refused = [e["detail"] for e in events if e.get("state") == "refused"]
    assert refused == ["blank card, but this batch's cards carry the vendor's ICCIDs",
                       f"the card carries ICCID {_iccid(7)}, not in batch {bdir.batch_id}"]
    assert summary.readers[0].done == 2 and summary.exit_code == 1


@pytest.mark.parametrize("text, expect", [
    ("iccid,adm1_hex\n8931080000005000001,3131313131313131\n",
     "vendor.csv:2: iccid: check digit 1 of 8931080000005000001 is wrong: the Luhn digit of 893108000000500000 is 6"),
    (f"iccid,adm1_hex\n{_iccid(0)},31313131\n", "vendor.csv:2: adm1_hex: must be 16 hex digits (8 bytes), got 8"),
    (f"iccid,adm1_hex\n{_iccid(0)},3131313131313131\n{_iccid(0)},3131313131313131\n",
     f"vendor.csv:3: iccid: {_iccid(0)} appears already on line 2"),
    (f"iccid,adm1_hex,colour\n{_iccid(0)},3131313131313131,red\n", "vendor.csv:1: colour: unknown column"),
    (f"iccid,adm1_hex\n{_iccid(0)},3131313131313131,extra\n", "vendor.csv:2: (row): 3 fields, the header has 2"),
    (f"iccid\n{_iccid(0)}\n", "vendor.csv:1: adm1: the header needs exactly one ADM1 column"),
    ("adm1\n11111111\n22222222\n", "vendor.csv:1: iccid: the ADM1 keys differ from card to card"),
    ("iccid,adm1\n", "vendor.csv:2: (rows): the file lists no cards"),
    ("", "vendor.csv:1: (header): the file is empty"),
])
def test_malformed_vendor_files_are_refused_with_file_line_field(tmp_path, sim, key_file, text, expect):
    vendor = tmp_path / "vendor.csv"
    vendor.write_text(text)
    d = tmp_path / "b"
    r = sim("batch", "create", d, "--profile", PROFILE, "--imsi-start", IMSI0, "--transport-key", key_file,
            "--input", vendor)
    assert r.code == 2
    assert any(line.startswith(f"{tmp_path}/{expect}") for line in r.err.splitlines()), r.err
    assert "31313131" not in r.err and "11111111" not in r.err and "22222222" not in r.err
    assert not d.exists()


def test_vendor_file_without_iccids_and_one_key(tmp_path, sim, key_file):
    vendor = tmp_path / "vendor.csv"
    vendor.write_text("pin_adm\n11111111\n11111111\n")
    d = tmp_path / "b"
    r = sim("batch", "create", d, "--profile", PROFILE, "--imsi-start", IMSI0, "--transport-key", key_file,
            "--input", vendor, "--iccid-start", "8931080000000000019", "--json")
    assert r.code == 0, r.err
    assert r.json()["adm"] == "batch" and r.json()["count"] == 2
    assert sim("batch", "run", d, "--reader", "emu-feed:", "--json").code == 0
