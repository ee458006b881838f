"""Durability (DESIGN.md §5): every write is on disk before the answer, retry counters go down on disk
before the comparison, reads touch no disk, an in-memory card never writes, a failing disk answers 6581."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from simtool.emulator import Card, load_card
from simtool.emulator.state import CardFile
from tests.emulator.emucard_helpers import ADM, FS, h, pin, select_path, select_usim, sw, tx, verify_adm, verify_pin1


def on_disk(path: Path) -> dict:
    return json.loads(path.read_text())


def stamp(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns, st.st_size


def test_each_update_is_on_disk_before_the_answer(disk_card: Card, card_path: Path) -> None:
    verify_adm(disk_card)
    select_usim(disk_card)
    imsi = FS["MF/ADF.USIM/EF.IMSI"].ef
    assert sw(disk_card, bytes([0x00, 0xD6, 0x80 | imsi.sfi, 0, 9]) + h("080910101032547698")) == 0x9000
    assert on_disk(card_path)["files"]["MF/ADF.USIM/EF.IMSI"] == "080910101032547698"
    n = FS["MF/ADF.USIM/EF.ECC"].ef.record_length
    assert sw(disk_card, "00A4000C026FB7") == 0x9000
    assert sw(disk_card, bytes([0, 0xDC, 2, 4, n]) + h("19F1FF01") + b"\xff" * (n - 4)) == 0x9000
    assert on_disk(card_path)["files"]["MF/ADF.USIM/EF.ECC"][1].startswith("19f1ff01")
    # a fresh process sees it
    assert load_card(card_path).file_bytes("MF/ADF.USIM/EF.IMSI") == h("080910101032547698")


def test_reads_and_selects_do_not_touch_the_disk(disk_card: Card, card_path: Path) -> None:
    verify_pin1(disk_card)  # a VERIFY writes (counters), reads below must not
    before = stamp(card_path)
    saves = disk_card.storage.saves
    for entry in FS.efs():
        select_path(disk_card, entry.path, fcp=True)
        tx(disk_card, "00C0000000")
        tx(disk_card, "00B0000001")
        tx(disk_card, "00B2010400")
        tx(disk_card, "00A20104 01 FF")
    tx(disk_card, "80F2000000")
    tx(disk_card, b"\x00\x20\x00\x01")  # a retry query is a read
    tx(disk_card, b"\x00\x2c\x00\x01")
    assert stamp(card_path) == before
    assert disk_card.storage.saves == saves


def test_in_memory_card_never_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    card = Card.blank(adm=ADM)
    verify_adm(card)
    assert sw(card, "00A4000C022FE2") == 0x9000
    assert sw(card, "00D600000A" + "98" * 10) == 0x9000
    assert sw(card, b"\x00\x20\x00\x01\x08" + pin("1111")) == 0x63C2
    assert list(tmp_path.iterdir()) == []
    assert card.storage.path is None


def test_counter_is_on_disk_before_the_comparison(disk_card: Card, card_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int]] = []
    real = Card._secret_equal

    def spy(self: Card, presented: bytes, stored: bytes) -> bool:
        seen.append((on_disk(card_path)["counters"]["pin1"], self.state.counters["pin1"]))
        return real(self, presented, stored)

    monkeypatch.setattr(Card, "_secret_equal", spy)
    assert sw(disk_card, b"\x00\x20\x00\x01\x08" + pin("1111")) == 0x63C2
    assert sw(disk_card, b"\x00\x20\x00\x01\x08" + pin("0000")) == 0x9000
    assert seen == [(2, 2), (1, 1)]  # decremented on disk at the moment of comparing
    assert on_disk(card_path)["counters"]["pin1"] == 3  # restored on success


def test_power_cut_during_comparison_costs_the_try(disk_card: Card, card_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    class PowerCut(BaseException):
        pass

    def cut(self: Card, presented: bytes, stored: bytes) -> bool:
        raise PowerCut

    monkeypatch.setattr(Card, "_secret_equal", cut)
    with pytest.raises(PowerCut):
        disk_card.process(b"\x00\x20\x00\x0a\x08" + ADM)
    monkeypatch.undo()
    again = load_card(card_path)
    assert sw(again, b"\x00\x20\x00\x0a") == 0x63C2  # the right key, cut off: the try is gone
    assert sw(again, b"\x00\x20\x00\x0a\x08" + ADM) == 0x9000
    assert on_disk(card_path)["counters"]["adm1"] == 3


def test_pin_changes_are_durable(disk_card: Card, card_path: Path) -> None:
    assert sw(disk_card, b"\x00\x24\x00\x01\x10" + pin("0000") + pin("2468")) == 0x9000
    assert sw(disk_card, b"\x00\x26\x00\x01\x08" + pin("2468")) == 0x9000
    again = load_card(card_path)
    assert sw(again, b"\x00\x20\x00\x01\x08" + pin("2468")) == 0x9000
    assert sw(again, b"\x00\x28\x00\x01\x08" + pin("2468")) == 0x9000
    assert load_card(card_path).state.to_json() == again.state.to_json()


def test_disk_failure_answers_6581_and_keeps_memory(disk_card: Card, card_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    verify_adm(disk_card)
    assert sw(disk_card, "00A4000C022FE2") == 0x9000
    before = disk_card.file_bytes("MF/EF.ICCID")

    def full(self: CardFile, state: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(CardFile, "save", full)
    assert sw(disk_card, "00D600000A" + "00" * 10) == 0x6581
    assert disk_card.file_bytes("MF/EF.ICCID") == before
    assert sw(disk_card, b"\x00\x20\x00\x01\x08" + pin("1111")) == 0x6581
    assert disk_card.state.counters["pin1"] == 3  # no try spent when it cannot be recorded
    monkeypatch.undo()
    assert sw(disk_card, "00D600000A" + "00" * 10) == 0x9000


def test_temp_file_is_in_the_same_directory(disk_card: Card, card_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    replaced: list[tuple[str, str]] = []
    real = os.replace

    def spy(src: str, dst: str) -> None:
        replaced.append((str(src), str(dst)))
        real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    verify_adm(disk_card)
    assert replaced and all(Path(s).parent == card_path.parent and d == str(card_path) for s, d in replaced)
