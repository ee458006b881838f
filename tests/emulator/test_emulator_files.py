"""READ/UPDATE BINARY and RECORD (offset, SFI, record modes), SEARCH RECORD, and access enforcement."""

from __future__ import annotations

import pytest

from simtool.commands import read_binary, read_record, search_record, update_binary, update_record
from simtool.emulator import Card
from simtool.fs import Cond
from tests.emulator.emucard_helpers import (
    ADM,
    FS,
    h,
    host,
    pin,
    select_path,
    select_usim,
    sw,
    tx,
    verify_adm,
    verify_pin1,
)


def test_read_update_binary_with_offset(card: Card) -> None:
    verify_adm(card)
    assert sw(card, "00A4000C022FE2") == 0x9000
    assert sw(card, "00D6000005 0102030405") == 0x9000
    assert sw(card, "00D6000302 AABB") == 0x9000
    assert tx(card, "00B000000A") == (h("010203AABB FFFFFFFFFF"), 0x9000)
    assert tx(card, "00B0000803") == (b"", 0x6C02)  # T=0: only 2 bytes left
    assert tx(card, "00B0000802") == (h("FFFF"), 0x9000)
    assert tx(card, "00B0000402") == (h("BBFF"), 0x9000)  # a part of the file is fine
    assert sw(card, "00B0000A01") == 0x6B00  # offset at the end
    assert sw(card, "00B0100001") == 0x6B00  # offset past the end
    assert sw(card, "00D6000A01 00") == 0x6B00
    assert sw(card, "00D6000902 0000") == 0x6700  # runs past the end
    assert sw(card, "00D60000") == 0x6700  # no data
    assert sw(card, "00B00000 02 AABB") == 0x6700  # READ takes no data


def test_binary_by_sfi_selects_the_file(card: Card) -> None:
    verify_adm(card)
    select_usim(card)
    imsi = FS["MF/ADF.USIM/EF.IMSI"].ef
    assert imsi.sfi is not None
    assert sw(card, bytes([0x00, 0xD6, 0x80 | imsi.sfi, 0x00, 0x09]) + h("080910101032547698")) == 0x9000
    assert card.selection()["ef"] == "MF/ADF.USIM/EF.IMSI"
    assert sw(card, "00A4000C026F38") == 0x9000
    assert tx(card, bytes([0x00, 0xB0, 0x80 | imsi.sfi, 0x01, 0x08])) == (h("0910101032547698"), 0x9000)
    assert card.selection()["ef"] == "MF/ADF.USIM/EF.IMSI"
    assert tx(card, "00B0000001") == (h("08"), 0x9000)  # now the current EF
    assert sw(card, "00B09F0001") == 0x6A82  # SFI 1F: none
    assert sw(card, "00B0C70001") == 0x6A86  # P1 b7/b6 must be 0 with an SFI
    ecc = FS["MF/ADF.USIM/EF.ECC"].ef
    assert sw(card, bytes([0x00, 0xB0, 0x80 | ecc.sfi, 0x00, 0x01])) == 0x6981  # a record EF


def test_binary_no_current_ef(card: Card) -> None:
    assert sw(card, "00B0000001") == 0x6986
    assert sw(card, "00D6000001 00") == 0x6986
    assert sw(card, "00A4000C027F20") == 0x9000
    assert sw(card, "00B0000001") == 0x6986  # a DF is selected, no EF


def test_binary_on_record_ef_and_record_on_binary(card: Card) -> None:
    assert sw(card, "00A4000C022F00") == 0x9000
    assert sw(card, "00B0000001") == 0x6981
    assert sw(card, "00A4000C022FE2") == 0x9000
    assert sw(card, "00B2010400") == 0x6981
    assert sw(card, "00A20104 01 61") == 0x6981


def test_t1_read_binary_le_rules(card1: Card) -> None:
    assert sw(card1, "00A4000C022FE2") == 0x9000
    assert tx(card1, "00B0000000") == (b"\xff" * 10, 0x9000)  # Le 00: everything
    assert tx(card1, "00B00000") == (b"\xff" * 10, 0x9000)  # no Le: everything
    assert tx(card1, "00B000000C") == (b"\xff" * 10, 0x6282)  # more than there is: end of file
    assert tx(card1, "00B0000003") == (b"\xff" * 3, 0x9000)


def test_records_absolute_next_previous(card: Card) -> None:
    verify_adm(card)
    select_usim(card)
    ecc = FS["MF/ADF.USIM/EF.ECC"].ef
    n, count = ecc.record_length, ecc.record_count
    assert sw(card, "00A4000C026FB7") == 0x9000
    for r in range(1, count + 1):
        assert sw(card, bytes([0x00, 0xDC, r, 0x04, n]) + bytes([r]) * n) == 0x9000
    assert tx(card, bytes([0, 0xB2, 2, 4, n])) == (bytes([2]) * n, 0x9000)
    assert card.selection()["record"] == 0  # absolute mode leaves the record pointer alone
    assert sw(card, bytes([0, 0xB2, 0, 4, n])) == 0x6A83  # no current record yet
    assert tx(card, bytes([0, 0xB2, 0, 2, n])) == (bytes([1]) * n, 0x9000)  # next: first record
    assert tx(card, bytes([0, 0xB2, 0, 2, n])) == (bytes([2]) * n, 0x9000)
    assert tx(card, bytes([0, 0xB2, 0, 4, n])) == (bytes([2]) * n, 0x9000)  # current
    assert tx(card, bytes([0, 0xB2, 0, 3, n])) == (bytes([1]) * n, 0x9000)  # previous
    assert sw(card, bytes([0, 0xB2, 0, 3, n])) == 0x6A83  # before the first: linear fixed, no wrap
    assert card.selection()["record"] == 1
    # previous with no pointer: the last record
    assert sw(card, "00A4000C026FB7") == 0x9000
    assert tx(card, bytes([0, 0xB2, 0, 3, n])) == (bytes([count]) * n, 0x9000)
    assert sw(card, bytes([0, 0xB2, 0, 2, n])) == 0x6A83  # after the last
    assert sw(card, bytes([0, 0xB2, count + 1, 4, n])) == 0x6A83
    assert sw(card, bytes([0, 0xB2, 1, 2, n])) == 0x6A86  # next mode takes P1 = 00
    assert sw(card, bytes([0, 0xB2, 1, 5, n])) == 0x6A86
    assert sw(card, bytes([0, 0xB2, 1, 4, n - 1])) == 0x6C00 | n  # T=0: wrong Le
    assert sw(card, bytes([0, 0xB2, 1, 4])) == 0x6C00 | n
    # UPDATE RECORD next / previous move the pointer
    assert sw(card, "00A4000C026FB7") == 0x9000
    assert sw(card, bytes([0, 0xDC, 0, 2, n]) + b"\xaa" * n) == 0x9000
    assert card.selection()["record"] == 1
    assert sw(card, bytes([0, 0xDC, 0, 4, n - 1]) + b"\xaa" * (n - 1)) == 0x6700  # record length
    assert sw(card, bytes([0, 0xDC, count + 1, 4, n]) + b"\xaa" * n) == 0x6A83


def test_record_by_sfi(card: Card) -> None:
    ef_dir = FS["MF/EF.DIR"].ef
    n = ef_dir.record_length
    data, s = tx(card, bytes([0, 0xB2, 1, (ef_dir.sfi << 3) | 4, n]))
    assert s == 0x9000 and data.startswith(h("61184F10") + FS["MF/ADF.USIM"].df.aid)
    assert card.selection()["ef"] == "MF/EF.DIR"
    verify_adm(card)
    assert sw(card, bytes([0, 0xDC, 2, (ef_dir.sfi << 3) | 4, n]) + b"\x61" + b"\x00" * (n - 1)) == 0x9000
    assert tx(card, bytes([0, 0xB2, 0, (ef_dir.sfi << 3) | 2, n]))[0][0] == 0x61
    assert sw(card, bytes([0, 0xB2, 1, (0x1D << 3) | 4, n])) == 0x6A82


def test_t1_read_record_le_rules(card1: Card) -> None:
    n = FS["MF/EF.DIR"].ef.record_length
    assert sw(card1, "00A4000C022F00") == 0x9000
    assert len(tx(card1, "00B2010400")[0]) == n
    assert len(tx(card1, "00B20104")[0]) == n
    assert sw(card1, bytes([0, 0xB2, 1, 4, n - 1])) == 0x6C00 | n
    assert tx(card1, bytes([0, 0xB2, 1, 4, n + 1]))[1] == 0x6282


def test_search_record(card: Card) -> None:
    verify_adm(card)
    ef = FS["MF/EF.DIR"].ef
    n = ef.record_length
    assert sw(card, "00A4000C022F00") == 0x9000
    assert sw(card, bytes([0, 0xDC, 2, 4, n]) + b"\x61\x01" + b"\xff" * (n - 2)) == 0x9000
    data, s = tx(card, "00A20104 01 61")
    assert s == 0x6102
    assert tx(card, "00C0000002") == (h("0102"), 0x9000)
    assert card.selection()["record"] == 1
    assert host(card, search_record(b"\x61\x01", rec=1)).data == b"\x02"
    assert card.selection()["record"] == 2
    assert host(card, search_record(b"\x61", rec=2, forward=False)).data == h("0201")
    assert host(card, search_record(b"\x61", rec=2)).data == h("02")
    r = host(card, search_record(b"\x62", rec=1))
    assert r.sw == 0x6282 and r.data == b""  # unsuccessful search
    assert card.selection()["record"] == 2  # pointer unchanged
    assert sw(card, "00A20004 01 61") == 0x6101  # P1 00: from the current record (2)
    assert sw(card, bytes([0, 0xA2, ef.record_count + 1, 4, 1, 0x61])) == 0x6A83
    assert sw(card, "00A20106 01 61") == 0x6A81  # enhanced search: not supported
    assert sw(card, "00A20101 01 61") == 0x6A86
    assert sw(card, bytes([0, 0xA2, 1, 4, n + 1]) + b"\x61" * (n + 1)) == 0x6700
    assert sw(card, "00A20104") == 0x6700
    sfi = ef.sfi
    assert sw(card, "00A4000C022FE2") == 0x9000
    assert sw(card, bytes([0, 0xA2, 1, (sfi << 3) | 4, 1, 0x61])) == 0x6102


def test_search_record_t1(card1: Card) -> None:
    assert sw(card1, "00A4000C022F00") == 0x9000
    assert tx(card1, "00A20104 01 61 00") == (h("0102"), 0x9000)  # EF.DIR: the USIM's and the ISIM's templates
    assert tx(card1, "00A20104 01 61") == (b"", 0x6102)  # no Le: 61xx


# --- access enforcement over the whole model ---------------------------------------------------------

RIGHTS = {"none": set(), "pin1": {Cond.PIN1}, "adm1": {Cond.ADM1}}


def _prepare(card: Card, right: str) -> None:
    if right == "pin1":
        verify_pin1(card)
    elif right == "adm1":
        verify_adm(card)


def _expect(acc: frozenset, held: set) -> bool:
    return Cond.NEVER not in acc and (Cond.ALW in acc or bool(acc & held))


@pytest.mark.parametrize("right", sorted(RIGHTS))
def test_access_matrix_every_ef(right: str) -> None:
    card = Card.blank(adm=ADM)
    _prepare(card, right)
    held = RIGHTS[right]
    for entry in FS.efs():
        ef = entry.ef
        assert select_path(card, entry.path) == 0x9000, entry.path
        if ef.is_record:
            rd = host(card, read_record(1, ef.record_length))
            wr = host(card, update_record(1, card.file_bytes(entry.path)[: ef.record_length]))
        else:
            rd = host(card, read_binary(0, min(ef.size, 256)))
            wr = host(card, update_binary(0, card.file_bytes(entry.path)[: min(ef.size, 255)]))
        assert (rd.sw == 0x9000) == _expect(ef.read, held), (entry.path, right, hex(rd.sw))
        assert (wr.sw == 0x9000) == _expect(ef.update, held), (entry.path, right, hex(wr.sw))
        assert rd.sw in (0x9000, 0x6982) and wr.sw in (0x9000, 0x6982)
        if rd.sw == 0x9000:
            assert rd.data == card.file_bytes(entry.path)[: len(rd.data)]


def test_pin1_disabled_counts_as_held(card: Card) -> None:
    assert sw(card, b"\x00\x26\x00\x01\x08" + pin("0000")) == 0x9000
    card.reset()
    assert select_path(card, "MF/ADF.USIM/EF.IMSI") == 0x9000
    assert sw(card, "00B0000009") == 0x9000
    assert sw(card, "00D6000001 00") == 0x6982  # update needs ADM


@pytest.mark.parametrize("role", ["auth_key", "pins"])
def test_key_and_pin_files_are_never_readable(card: Card, role: str) -> None:
    entry = FS.by_role(role)
    verify_adm(card)
    verify_pin1(card)
    assert sw(card, b"\x00\x20\x00\x81\x08" + pin("0000")) == 0x9000
    assert card.verified >= {Cond.PIN1, Cond.PIN2, Cond.ADM1}
    assert select_path(card, entry.path) == 0x9000
    for off in (0, 1, entry.ef.size - 1):
        assert sw(card, bytes([0x00, 0xB0, off >> 8, off & 0xFF, 0x01])) == 0x6982
    assert sw(card, "00B0000000") == 0x6982
    assert sw(card, "00A20104 01 FF") == 0x6981
    assert card.file_bytes(entry.path)  # it is there
    assert sw(card, b"\x00\xd6\x00\x00\x01" + card.file_bytes(entry.path)[:1]) == 0x9000  # ADM writes


def test_update_record_of_adm_file_needs_adm(card: Card) -> None:
    n = FS["MF/EF.DIR"].ef.record_length
    assert sw(card, "00A4000C022F00") == 0x9000
    assert sw(card, bytes([0, 0xDC, 1, 4, n]) + b"\x00" * n) == 0x6982
    assert sw(card, b"\x00\x20\x00\x0a\x08" + ADM) == 0x9000
    assert sw(card, bytes([0, 0xDC, 1, 4, n]) + b"\x00" * n) == 0x9000
