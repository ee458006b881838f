"""SELECT in every form, FCPs byte for byte (built from the model), STATUS."""

from __future__ import annotations

import pytest

from simtool.commands import parse_fcp, select_aid, select_fid, status
from simtool.emulator import Card
from simtool.encoding import efs as C
from simtool.fs import Cond
from tests.emulator.emucard_helpers import FS, fid_path, h, host, select_path, select_usim, sw, tx, verify_adm

USIM_AID = FS["MF/ADF.USIM"].df.aid
ARR_FID = {"MF": FS["MF/EF.ARR"].ef.fid, "MF/ADF.USIM": FS["MF/ADF.USIM/EF.ARR"].ef.fid}


def expected_ef_fcp(path: str) -> bytes:
    """The FCP a real card gives for this EF (specfacts §4.2), computed from the model."""
    entry = FS[path]
    ef = entry.ef
    fdb = {"transparent": "4121", "linear_fixed": "4221", "cyclic": "4621"}[ef.structure]
    d = h(fdb)
    if ef.is_record:
        d += ef.record_length.to_bytes(2, "big") + bytes([ef.record_count])
    adf = next((p for p in entry.parents if p.aid is not None), None)
    arr = ARR_FID["MF/ADF.USIM" if adf is not None else "MF"]
    body = (
        bytes([0x82, len(d)]) + d
        + b"\x83\x02" + ef.fid.to_bytes(2, "big")
        + h("8A0105")
        + b"\x8b\x03" + arr.to_bytes(2, "big") + bytes([FS.arr_record(ef)])
        + b"\x80\x02" + ef.body_size.to_bytes(2, "big")
        + (bytes([0x88, 0x01, ef.sfi << 3]) if ef.sfi is not None else h("8800"))
    )
    return bytes([0x62, len(body)]) + body


def test_real_card_examples_byte_exact(card1: Card) -> None:
    # specfacts §4.2 real-card FCPs; only the ARR record number is this model's
    imsi = FS["MF/ADF.USIM/EF.IMSI"].ef
    select_path(card1, "MF/ADF.USIM/EF.IMSI")
    data, s = tx(card1, "00A40004026F0700")
    assert s == 0x9000
    assert data == h("6217 8202 4121 8302 6F07 8A0105 8B03 6F06") + bytes([FS.arr_record(imsi)]) + h(
        "8002 0009 880138")
    assert sw(card1, "00A4000C023F00") == 0x9000
    data, s = tx(card1, "00A40004022FE200")
    iccid = FS["MF/EF.ICCID"].ef
    assert data == h("6217 82024121 83022FE2 8A0105 8B032F06") + bytes([FS.arr_record(iccid)]) + h(
        "8002000A 880110")


@pytest.mark.parametrize("path", [e.path for e in FS.efs()])
def test_every_ef_fcp(card1: Card, path: str) -> None:
    assert select_path(card1, path, fcp=False) == 0x9000
    p = fid_path(path)
    data, s = tx(card1, bytes([0x00, 0xA4, 0x08, 0x04, len(p)]) + p + b"\x00")
    assert s == 0x9000
    assert data == expected_ef_fcp(path)
    fcp = parse_fcp(data)
    ef = FS[path].ef
    assert fcp["file_id"] == ef.fid
    assert fcp["structure"] == ef.structure
    assert fcp["file_size"] == ef.body_size
    assert fcp["sfi"] == ef.sfi
    assert fcp["life_cycle_status"] == "operational_activated"
    if ef.is_record:
        assert (fcp["record_length"], fcp["record_count"]) == (ef.record_length, ef.record_count)
    # The referenced EF.ARR record states exactly the model's access sets.
    arr_path = "MF/ADF.USIM/EF.ARR" if fcp["arr_fid"] == ARR_FID["MF/ADF.USIM"] else "MF/EF.ARR"
    arr = FS[arr_path].ef
    start = (fcp["arr_record"] - 1) * arr.record_length
    rule = C.ARR_RECORD.decode(card1.file_bytes(arr_path)[start : start + arr.record_length])
    assert rule["read"] == sorted((c.value for c in ef.read), key=["always", "pin1", "pin2", "adm1",
                                                                    "never"].index)
    assert set(rule["update"]) == {c.value for c in ef.update}


def test_df_fcps(card1: Card) -> None:
    data, s = tx(card1, "00A40004023F0000")
    assert s == 0x9000
    total = sum(e.ef.body_size for e in FS.efs())
    assert data == h("62 25 8202 7821 8302 3F00 A503 800171 8A0105 8C0100"
                     "C60C 9001E0 830101 830181 83010A") + b"\x81\x02" + total.to_bytes(2, "big")
    fcp = parse_fcp(data)
    assert fcp["structure"] == "df" and fcp["file_id"] == 0x3F00 and fcp["total_size"] == total
    assert fcp["pin_status"] == [{"keyref": 1, "enabled": True}, {"keyref": 0x81, "enabled": True},
                                 {"keyref": 0x0A, "enabled": True}]
    data, s = tx(card1, b"\x00\xa4\x04\x04\x10" + USIM_AID + b"\x00")
    assert s == 0x9000
    fcp = parse_fcp(data)
    assert fcp["aid"] == USIM_AID and fcp["file_id"] == 0x7FFF and fcp["structure"] == "df"
    assert fcp["uicc_characteristics"] == 0x71
    adf_total = sum(e.ef.body_size for e in FS.efs() if e.path.startswith("MF/ADF.USIM/"))
    assert fcp["total_size"] == adf_total
    data, _ = tx(card1, "00A40004027F2000")
    fcp = parse_fcp(data)
    assert fcp["file_id"] == 0x7F20 and fcp["aid"] is None and fcp["proprietary"] is None


def test_df_fcp_shows_disabled_pin1(card1: Card) -> None:
    assert sw(card1, "0026000108 30303030FFFFFFFF") == 0x9000
    data, _ = tx(card1, "00A40004023F0000")
    assert parse_fcp(data)["pin_status"][0] == {"keyref": 1, "enabled": False}
    assert h("9001 60") in data


def test_select_forms(card: Card) -> None:
    assert sw(card, "00A4000C023F00") == 0x9000
    assert card.selection() == {"df": "MF", "ef": None, "record": 0, "app": None}
    assert sw(card, "00A4000C00") == 0x9000  # empty data: the MF
    assert sw(card, "00A4000C") == 0x9000
    assert card.selection()["df"] == "MF"
    # 7FFF before any application is active: not found
    assert sw(card, "00A4000C027FFF") == 0x6A82
    # by full AID, truncated AID, then 7FFF
    assert sw(card, b"\x00\xa4\x04\x0c\x10" + USIM_AID) == 0x9000
    assert card.selection()["app"] == "MF/ADF.USIM"
    assert sw(card, "00A4000C023F00") == 0x9000
    assert sw(card, "00A4040C07A0000000871002") == 0x9000
    assert card.selection()["df"] == "MF/ADF.USIM"
    assert sw(card, "00A4040C07A0000000871004") == 0x9000  # the ISIM (TS 31.103), by its truncated AID
    assert card.selection()["app"] == "MF/ADF.ISIM"
    assert sw(card, "00A4000C023F00") == 0x9000
    assert sw(card, "00A4000C027FFF") == 0x9000  # 7FFF: the application active now
    assert card.selection()["df"] == "MF/ADF.ISIM"
    assert sw(card, "00A4040C06A00000008710") == 0x9000  # a prefix of both AIDs: the first in EF.DIR order
    assert card.selection()["app"] == "MF/ADF.USIM"
    assert sw(card, "00A4040C07A0000000871005") == 0x6A82  # no such application
    assert sw(card, "00A4000C023F00") == 0x9000
    assert sw(card, "00A4000C027FFF") == 0x9000
    assert card.selection()["df"] == "MF/ADF.USIM"
    # child EF of the current DF
    assert sw(card, "00A4000C026F07") == 0x9000
    assert card.selection()["ef"] == "MF/ADF.USIM/EF.IMSI"
    # a sibling EF of the current EF is a child of the current DF: found
    assert sw(card, "00A4000C026F38") == 0x9000
    # parent of the ADF (the MF) by its FID, and by P1=03
    assert sw(card, "00A4030C") == 0x9000
    assert card.selection()["df"] == "MF"
    # an MF-level EF is not a child of the ADF, nor its parent nor a sibling DF
    assert sw(card, "00A4000C027F20") == 0x9000  # DF.GSM from MF
    assert sw(card, "00A4000C026F07") == 0x9000
    assert card.selection()["ef"] == "MF/DF.GSM/EF.IMSI"
    assert sw(card, "00A4000C027F10") == 0x9000  # sibling DF of the current DF
    assert card.selection()["df"] == "MF/DF.TELECOM"
    assert sw(card, "00A4000C027F10") == 0x9000  # the current DF itself
    assert sw(card, "00A4000C022FE2") == 0x6A82  # an EF in the parent is not selectable by FID
    assert sw(card, "00A4000C027FFF") == 0x9000  # the active ADF from anywhere
    assert sw(card, "00A4000C022FE2") == 0x6A82
    assert sw(card, "00A4000C023F00") == 0x9000
    assert sw(card, "00A4000C022FE2") == 0x9000


def test_select_by_path(card: Card) -> None:
    assert sw(card, "00A4080C047F206F07") == 0x9000
    assert card.selection()["ef"] == "MF/DF.GSM/EF.IMSI"
    assert sw(card, "00A4080C063F007F206F07") == 0x9000  # a leading 3F00 is tolerated
    assert sw(card, "00A4080C047FFF6F07") == 0x6A82  # no active ADF yet
    select_usim(card)
    assert sw(card, "00A4080C047FFF6F07") == 0x9000
    assert card.selection()["ef"] == "MF/ADF.USIM/EF.IMSI"
    assert sw(card, "00A4080C022FE2") == 0x9000
    assert sw(card, "00A4080C046F077F20") == 0x6A82  # through an EF
    assert sw(card, "00A4080C037F206F") == 0x6700
    # path from the current DF
    assert sw(card, "00A4000C027F20") == 0x9000
    assert sw(card, "00A4090C026F07") == 0x9000
    assert card.selection()["ef"] == "MF/DF.GSM/EF.IMSI"
    assert sw(card, "00A4090C026F39") == 0x6A82  # DF.GSM has no 6F39 (EF.ACM)
    assert sw(card, "00A4000C023F00") == 0x9000
    assert sw(card, "00A4090C047FFF6F38") == 0x9000
    assert card.selection()["ef"] == "MF/ADF.USIM/EF.UST"


def test_select_child_df_and_parent(card: Card) -> None:
    assert sw(card, "00A4010C027F20") == 0x9000
    assert sw(card, "00A4010C026F07") == 0x6A82  # P1=01 selects DFs only
    assert sw(card, "00A4030C") == 0x9000
    assert card.selection()["df"] == "MF"
    assert sw(card, "00A4030C") == 0x6A82  # the MF has no parent


def test_select_aid_occurrence_and_terminate(card: Card) -> None:
    assert sw(card, "00A4040D07A0000000871002") == 0x9000  # last occurrence
    assert sw(card, "00A4040E07A0000000871002") == 0x6A82  # next: there is only one
    assert sw(card, "00A4040F07A0000000871002") == 0x6A82  # previous
    assert sw(card, "00A4044C07A0000000871002") == 0x9000  # terminate
    assert card.selection() == {"df": "MF", "ef": None, "record": 0, "app": None}
    assert sw(card, "00A4044C07A0000000871002") == 0x6A82  # nothing to terminate


@pytest.mark.parametrize("p1p2", ["0008", "0014", "0084", "0024", "0424", "0200", "1004", "0044"])
def test_select_bad_p1p2(card: Card, p1p2: str) -> None:
    assert sw(card, f"00A4{p1p2}023F00") in (0x6A86,)


def test_select_wrong_lengths(card: Card) -> None:
    assert sw(card, "00A4000C033F0000") == 0x6700
    assert sw(card, "00A4030C023F00") == 0x6700
    assert sw(card, "00A4000C00") == 0x9000  # Le only (no data): the MF
    assert sw(card, "00A4040C00") == 0x6700  # an AID is needed
    assert sw(card, "00A4040C11" + "00" * 17) == 0x6700


def test_failed_select_keeps_selection(card: Card) -> None:
    assert sw(card, "00A4000C022FE2") == 0x9000
    assert sw(card, "00A4000C021234") == 0x6A82
    assert card.selection()["ef"] == "MF/EF.ICCID"


def test_select_p2_00_returns_fcp(card1: Card) -> None:
    data, s = tx(card1, "00A40000023F0000")
    assert s == 0x9000 and data[0] == 0x62


def test_host_side_select_t0_and_t1(card: Card, card1: Card) -> None:
    for c in (card, card1):
        r = host(c, select_fid(0x3F00, fcp=True))
        assert r.sw == 0x9000 and parse_fcp(r.data)["file_id"] == 0x3F00
        r = host(c, select_aid(USIM_AID[:7], fcp=True))
        assert r.sw == 0x9000 and parse_fcp(r.data)["aid"] == USIM_AID
    assert host(card, select_fid(0x3F00, fcp=True)).exchanges == 2  # T=0: 61xx + GET RESPONSE
    assert host(card1, select_fid(0x3F00, fcp=True)).exchanges == 1


def test_status(card: Card, card1: Card) -> None:
    for c in (card, card1):
        r = host(c, status())
        assert r.sw == 0x9000 and parse_fcp(r.data)["file_id"] == 0x3F00
        select_usim(c)
        assert sw(c, "00A4000C026F07") == 0x9000
        r = host(c, status())  # FCP of the current directory, not of the EF
        assert parse_fcp(r.data)["aid"] == USIM_AID
        r = host(c, status(p2=0x01))
        assert r.data == b"\x84\x10" + USIM_AID
        assert host(c, status(p2=0x0C)).sw == 0x9000
    assert sw(card, "80F2000000") & 0xFF00 == 0x6C00  # T=0: STATUS with a wrong Le
    assert sw(card, "80F20000") & 0xFF00 == 0x6C00
    assert sw(card, "80F2030000") == 0x6A86
    assert sw(card, "80F2000200") == 0x6A86
    assert sw(card, "00F2000000") == 0x6E00  # STATUS is a proprietary-class command
    c = Card.blank(adm=card.state.adm1)
    assert sw(c, "80F2010100") == 0x6A88  # no application active


def test_adm_does_not_change_selection_rules(card: Card) -> None:
    verify_adm(card)
    assert Cond.ADM1 in card.verified
    assert sw(card, "00A4000C027FFF") == 0x6A82
