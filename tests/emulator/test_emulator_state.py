"""Blank cards, the state file format, creation (0600, never overwrite) and validation on load."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from simtool.emulator import Card, CardFileError, create_card_file, load_card, new_blank_card
from simtool.encoding import efs as C
from simtool.errors import EXIT_USAGE, InputError
from simtool.fs import DEFAULT_MODEL
from tests.emulator.emucard_helpers import ADM, FS


def test_blank_card_has_every_ef_of_the_model_erased() -> None:
    """Erased (FF), except the files TS 31.102 Annex E gives an initial value."""
    state = new_blank_card(adm=ADM)
    initial = {"MF/ADF.USIM/EF.SMS": "00" + "FF" * 175, "MF/ADF.USIM/EF.SMSS": "FFFF",
               "MF/ADF.USIM/EF.START-HFN": "F00000F00000", "MF/ADF.USIM/EF.THRESHOLD": "FFFFFF",
               "MF/ADF.USIM/DF.GSM-ACCESS/EF.Kc": "FF" * 8 + "07",
               "MF/ADF.USIM/DF.GSM-ACCESS/EF.KcGPRS": "FF" * 8 + "07",
               "MF/DF.GSM/EF.Kc": "FF" * 8 + "07", "MF/DF.GSM/EF.KcGPRS": "FF" * 8 + "07",  # TS 51.011 §10.3.1
               # DF.5GS location files: no 5G-GUTI, "not updated", as a sysmoISIM-SJA2 is shipped
               "MF/ADF.USIM/DF.5GS/EF.5GS3GPPLOCI": "FF" * 19 + "01",
               "MF/ADF.USIM/DF.5GS/EF.5GSN3GPPLOCI": "FF" * 19 + "01",
               "MF/ADF.ISIM/EF.IST": "000000"}  # no ISIM service offered before a profile says so
    for entry in FS.efs():
        body = state.files[entry.path]
        assert len(body) == entry.ef.body_size, entry.path
        if entry.node.name in ("EF.DIR", "EF.ARR") or entry.ef.role == "pins":
            continue
        if entry.path == "MF/ADF.USIM/EF.SMS":  # every record free
            assert body == bytes.fromhex(initial[entry.path]) * entry.ef.record_count
            continue
        assert body.hex().upper() == initial.get(entry.path, "FF" * entry.ef.body_size), entry.path
    assert set(state.files) == {e.path for e in FS.efs()}


def test_blank_card_vendor_state() -> None:
    state = new_blank_card(adm=ADM)
    assert state.adm1 == ADM
    assert state.counters == {"pin1": 3, "pin2": 3, "puk1": 10, "puk2": 10, "adm1": 3}
    assert state.protocol == "T=0"
    assert state.model is DEFAULT_MODEL
    pins = C.PINS.decode(bytes(state.files[FS.by_role("pins").path]))
    assert pins == {"pin1": b"0000\xff\xff\xff\xff", "puk1": b"12345678", "pin2": b"0000\xff\xff\xff\xff",
                    "puk2": b"12345678",
                    "pin1_enabled": True, "pin2_enabled": True}
    assert C.AUTH_KEY.decode(bytes(state.files[FS.by_role("auth_key").path])) is None
    assert state.sqn.highest() == bytes(6)


def test_blank_card_dir_and_arr() -> None:
    state = new_blank_card(adm=ADM)
    ef_dir = FS["MF/EF.DIR"].ef
    body = bytes(state.files["MF/EF.DIR"])
    records = [body[i : i + ef_dir.record_length] for i in range(0, len(body), ef_dir.record_length)]
    assert C.DIR_RECORD.decode(records[0]) == {"aid": FS["MF/ADF.USIM"].df.aid, "label": "USIM"}
    assert C.DIR_RECORD.decode(records[1]) == {"aid": bytes.fromhex("A0000000871004FFFFFFFF8907090000"),
                                               "label": "ISIM"}
    assert all(r == b"\xff" * ef_dir.record_length for r in records[2:])
    rules = FS.arr_rules()
    for path in ("MF/EF.ARR", "MF/ADF.USIM/EF.ARR", "MF/ADF.ISIM/EF.ARR"):
        ef = FS[path].ef
        body = bytes(state.files[path])
        decoded = [C.ARR_RECORD.decode(body[i : i + ef.record_length])
                   for i in range(0, len(body), ef.record_length)]
        assert decoded[: len(rules)] == rules, path


def test_blank_card_iccid_and_protocol() -> None:
    state = new_blank_card(adm=ADM, iccid="8931080000000000019", protocol="T1")
    assert bytes(state.files["MF/EF.ICCID"]) == bytes.fromhex("981380000000000010F9")
    assert state.protocol == "T=1"
    assert Card(state).atr == DEFAULT_MODEL.atr_t1
    assert Card.blank(adm=ADM).atr == DEFAULT_MODEL.atr_t0


@pytest.mark.parametrize("kwargs", [{"adm": b"1234567"}, {"adm": "31313131"}, {"adm": ADM, "iccid": "89abc"},
                                    {"adm": ADM, "protocol": "T=2"}])
def test_blank_card_rejects_bad_input(kwargs: dict) -> None:
    with pytest.raises(InputError):
        new_blank_card(**kwargs)


def test_create_card_file_is_0600_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    old = os.umask(0)
    try:
        create_card_file(path, ADM, iccid="8931080000000000019")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    with pytest.raises(CardFileError, match="already exists") as exc:
        create_card_file(path, b"\x00" * 8)
    assert exc.value.exit_code == EXIT_USAGE
    assert path.read_bytes() == before
    card = load_card(path)
    assert card.file_bytes("MF/EF.ICCID") == bytes.fromhex("981380000000000010F9")
    assert card.state.adm1 == ADM


def test_saved_file_stays_0600(card_path: Path) -> None:
    card = load_card(card_path)
    assert card.process(bytes.fromhex("0020000A08") + ADM)[-2:] == b"\x90\x00"
    assert stat.S_IMODE(card_path.stat().st_mode) == 0o600
    assert [p.name for p in card_path.parent.iterdir()] == ["card.json"]  # no temp file left behind


def test_json_layout(card_path: Path) -> None:
    doc = json.loads(card_path.read_text())
    assert doc["format"] == "simtool-emulated-card" and doc["version"] == 1
    assert doc["model"] == DEFAULT_MODEL.name and doc["protocol"] == "T=0"
    assert doc["adm1"] == ADM.hex()
    assert isinstance(doc["files"]["MF/EF.DIR"], list)  # records as lists
    assert isinstance(doc["files"]["MF/EF.ICCID"], str)  # transparent as hex
    assert len(doc["sqn"]["slots"]) == 32


def _broken(path: Path, mutate) -> str:  # type: ignore[no-untyped-def]
    doc = json.loads(path.read_text())
    mutate(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(CardFileError) as exc:
        load_card(path)
    assert str(path) in str(exc.value)
    return str(exc.value)


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda d: d.update(format="x"), "format"),
        (lambda d: d.update(version=9), "version"),
        (lambda d: d.update(model="nope"), "unknown card model"),
        (lambda d: d.update(protocol="T=2"), "protocol"),
        (lambda d: d.update(adm1="3131"), "adm1"),
        (lambda d: d.update(adm1="zz"), "adm1"),
        (lambda d: d["counters"].update(pin1=4), "pin1"),
        (lambda d: d["counters"].pop("puk2"), "counters"),
        (lambda d: d["sqn"].update(slots=[1]), "SQN"),
        (lambda d: d["files"].pop("MF/EF.ICCID"), "MF/EF.ICCID"),
        (lambda d: d["files"].update({"MF/EF.NEW": "00"}), "MF/EF.NEW"),
        (lambda d: d["files"].update({"MF/EF.ICCID": "00"}), "MF/EF.ICCID"),
        (lambda d: d["files"].update({"MF/EF.DIR": ["00"]}), "MF/EF.DIR"),
        (lambda d: d["files"].update({"MF/EF.DIR": "00" * 80}), "MF/EF.DIR"),
    ],
)
def test_load_rejects_broken_files(card_path: Path, mutate, words: str) -> None:  # type: ignore[no-untyped-def]
    assert words in _broken(card_path, mutate)


def test_load_rejects_non_json_and_missing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\x00not json")
    with pytest.raises(CardFileError, match="bad.json"):
        load_card(bad)
    with pytest.raises(CardFileError, match="no such card file"):
        load_card(tmp_path / "missing.json")


def test_round_trip_keeps_everything(disk_card: Card, card_path: Path) -> None:
    again = load_card(card_path)
    assert again.state.to_json() == disk_card.state.to_json()
