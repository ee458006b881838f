"""An `emu-feed:` tray under damage (issue 12, items 3 and 11): files that are no card are set aside in
`rejected/` with the reason in the journal and on screen, and a pre-printed vendor ICCID is never printed on a
second card, also when the first one sits in `rejected/`."""

from __future__ import annotations

from pathlib import Path

from simtool.batch.batchdir import BatchDir
from simtool.batch.feed import EV_FILE_REJECTED
from simtool.batch.ledger import open_ledger
from simtool.emulator import create_card_file
from simtool.emulator.state import CardFile
from simtool.profile.luhn import luhn_digit
from tests.batch.batch_helpers import IMSI0, PROFILE, Result, card_files, card_ids, run_cli


def _run(*args: object) -> Result:
    proc = run_cli(*map(str, args), timeout=300)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def test_damaged_card_files_are_set_aside_and_the_batch_completes(make_batch, tmp_path):
    d = make_batch(3)
    tray = tmp_path / "tray"
    tray.mkdir()
    damaged = {"card-000001.json": b"", "card-000002.json": b"garbage\n", "card-000003.json": b'{"format": "simt'}
    for name, data in damaged.items():
        (tray / name).write_bytes(data)
    r = _run("batch", "run", d, "--reader", f"emu-feed:{tray}", "--json")
    assert r.code == 0, r.err
    assert "Traceback" not in r.err
    assert r.lines()[-1]["counts"]["verified"] == 3
    # Each damaged file is in rejected/ as it was; the three cards made after them are in done/.
    assert {p.name: p.read_bytes() for p in (tray / "rejected").iterdir()} == damaged
    assert sorted(p.name for p in (tray / "done").iterdir()) == [f"card-00000{i}.json" for i in (4, 5, 6)]
    assert not list(tray.glob("card-*.json"))
    # On screen (the --json stream) and in the journal: which file, and why.
    want = {"card-000001.json": "the file is empty", "card-000002.json": "invalid JSON",
            "card-000003.json": "invalid JSON"}
    shown = [e for e in r.lines() if e.get("event") == "card" and e.get("state") == "rejected"]
    assert len(shown) == 3
    for e, (name, why) in zip(shown, want.items(), strict=True):
        assert e["detail"].startswith(f"{name}: not a card file (") and why in e["detail"], e
        assert e["detail"].endswith(f"moved to {tray.resolve() / 'rejected'}/")
    bdir = BatchDir.load(d)
    with open_ledger(bdir.ledger) as ledger:
        events = [e for e in ledger.events(bdir.batch_id) if e.state == EV_FILE_REJECTED]
    assert [e.detail for e in events] == [e["detail"] for e in shown]
    assert {e.reader for e in events} == {f"emu-feed:{tray.resolve()}"}


def _iccid(n: int) -> str:
    p = str(893108000000500000 + n)
    return p + luhn_digit(p)


def test_a_rejected_preprinted_card_is_not_printed_again(tmp_path, sim, key_file):
    vendor = tmp_path / "vendor.csv"
    vendor.write_text("iccid,adm1_hex\n" + "".join(f"{_iccid(i)},{'31' * 8}\n" for i in range(3)))
    d = tmp_path / "b"
    assert sim("batch", "create", d, "--profile", PROFILE, "--imsi-start", IMSI0, "--transport-key", key_file,
               "--input", vendor).code == 0
    # The vendor's card for ICCID 1 arrives with ADM1 tries spent: the guard refuses it, it goes to rejected/.
    tray = tmp_path / "tray"
    tray.mkdir()
    worn = tray / "card-000001.json"
    create_card_file(worn, bytes.fromhex("31" * 8), iccid=_iccid(1))
    cf = CardFile(worn)
    state = cf.load()
    state.counters["adm1"] = 1
    cf.save(state)
    for _ in range(2):  # a second run must not print ICCID 1 on a fresh blank card either
        r = _run("batch", "run", d, "--reader", f"emu-feed:{tray}", "--json")
        assert r.code == 1, r.err
        assert r.lines()[-1]["counts"] == {"free": 1, "leased": 0, "writing": 0, "verified": 2, "failed": 0,
                                           "voided": 0}
        on_cards = [card_ids(p)[0] for p in card_files(tray)]
        assert sorted(on_cards) == [_iccid(0), _iccid(1), _iccid(2)], on_cards  # each printed once
        assert [card_ids(p)[0] for p in (tray / "rejected").iterdir()] == [_iccid(1)]
    assert not list(Path(tray).glob("card-*.json"))
