"""Interop with osmocom pySim (see docs/interop.md): the exchanges pySim-shell made with a personalized card
behind pcscd + vpcd, replayed byte for byte on the card in-process. pySim is not needed (nor used) here.

The APDUs are what the card received: under T=0 pySim drops Le from case-4 commands, adds P3=00 to case-1
commands, follows 61xx with GET RESPONSE and 6Cxx with the same command again; under T=1 it passes the
APDU unchanged. Lengths come from the card model, so a model change does not break these tests, but a
change in the form of an answer does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simtool.emulator import Card
from simtool.fs import EF
from tests.emulator.emucard_helpers import ADM, FS, h, sw, tx

PROFILE = "profiles/kpn-wechat-1gb-15d.yaml"  # flashed with Identity.sample(): IMSI 204080000000001
USIM_AID = FS["MF/ADF.USIM"].df.aid
assert USIM_AID is not None


@pytest.fixture
def pcard(personalized_card) -> Card:  # type: ignore[no-untyped-def]
    return personalized_card.card


@pytest.fixture
def pcard1(request: pytest.FixtureRequest) -> Iterator[Card]:
    """The same card with a T=1-only ATR."""
    from simtool.personalize.flash import flash
    from simtool.profile import Identity, load_profile
    from simtool.transport import open_reader

    identity = Identity.sample()
    reader = open_reader(f"emu:?protocol=T=1&adm_hex={identity.adm1.hex()}")
    try:
        flash(reader, load_profile(request.config.rootpath / PROFILE), identity)
        reader.reset()
        yield reader.transport.card
    finally:
        reader.close()


def tlvs(data: bytes) -> list[tuple[int, bytes]]:
    """Top-level BER-TLVs with one-byte tags and short lengths (all an FCP holds)."""
    out, i = [], 0
    while i < len(data):
        tag, n = data[i], data[i + 1]
        assert n < 0x80, "short length form only"
        out.append((tag, data[i + 2 : i + 2 + n]))
        i += 2 + n
    assert i == len(data)
    return out


def t0_select(card: Card, apdu: str) -> bytes:
    """A case-4 SELECT as pySim sends it under T=0: 61xx, then GET RESPONSE with xx."""
    data, s = tx(card, apdu)
    assert data == b"" and s >> 8 == 0x61, hex(s)
    fcp, s = tx(card, bytes([0x00, 0xC0, 0x00, 0x00, s & 0xFF]))
    assert s == 0x9000
    return fcp


def fcp_tags(fcp: bytes) -> dict[int, bytes]:
    (tag, body), = tlvs(fcp)
    assert tag == 0x62
    inner = tlvs(body)
    assert inner[0][0] == 0x82  # the file descriptor comes first
    tags = dict(inner)
    assert len(tags) == len(inner)
    return tags


@pytest.mark.parametrize("personalized_card", [PROFILE], indirect=True)
def test_pysim_card_init_t0(pcard: Card) -> None:
    """pySim-shell's start: MF, EF.DIR, the AIDs it probes, the SIM add-on check."""
    mf = fcp_tags(t0_select(pcard, "00A40004023F00"))
    assert mf[0x82] == h("7821") and mf[0x83] == h("3F00") and mf[0x8A] == h("05")
    assert mf[0xA5] == h("800171")  # UICC characteristics
    assert 0x8C in mf or 0x8B in mf or 0xAB in mf
    ps = tlvs(mf[0xC6])
    assert ps[0] == (0x90, h("60"))  # PIN1 disabled by this profile; PIN2 and ADM1 enabled
    assert [v for t, v in ps[1:]] == [h("01"), h("81"), h("0A")] and {t for t, v in ps[1:]} == {0x83}

    ef_dir = FS["MF/EF.DIR"].ef
    d = fcp_tags(t0_select(pcard, "00A40004022F00"))
    assert d[0x82] == h("4221") + ef_dir.record_length.to_bytes(2, "big") + bytes([ef_dir.record_count])
    assert d[0x83] == h("2F00") and d[0x88] == h("F0")  # SFI 1E
    rec_len = ef_dir.record_length
    rec, s = tx(pcard, bytes([0x00, 0xB2, 0x01, 0x04, rec_len]))
    app = h("61 18 4F10") + USIM_AID + h("50 04") + b"USIM"
    assert s == 0x9000 and rec == app + b"\xff" * (rec_len - len(app))
    rec, s = tx(pcard, bytes([0x00, 0xB2, 0x02, 0x04, rec_len]))
    isim = h("61 18 4F10 A0000000871004FFFFFFFF8907090000 50 04") + b"ISIM"
    assert s == 0x9000 and rec == isim + b"\xff" * (rec_len - len(isim))

    for absent in (
        "00A4040410A0000005591010FFFFFFFF8900000100",  # ISD-R
        "00A4040410A0000005591010FFFFFFFF8900000200",  # ECASD
        "00A4040408A000000003000000",  # GlobalPlatform ISD
        "00A4040409A00000015141434C00",  # ARA-M
        "00A4040407A000000087100A",
        "00A4040407A000000087100B",
        "00A40004027FE0",
        "00A40004027F25",
    ):
        assert tx(pcard, absent) == (b"", 0x6A82), absent
    assert tx(pcard, "00A40004027F20")[1] >> 8 == 0x61  # DF.GSM: pySim reports "UICC add-on SIM"
    assert fcp_tags(t0_select(pcard, "00A4040407A0000000871004"))[0x84] == h("A0000000871004FFFFFFFF8907090000")


@pytest.mark.parametrize("personalized_card", [PROFILE], indirect=True)
def test_pysim_select_usim_and_read(pcard: Card) -> None:
    assert sw(pcard, "00A40004027FFF") == 0x6A82  # no application active yet
    adf = fcp_tags(t0_select(pcard, "00A4040410" + USIM_AID.hex()))
    assert adf[0x82] == h("7821") and adf[0x84] == USIM_AID and adf[0x83] == h("7FFF")
    assert adf[0xA5] == h("800171") and 0xC6 in adf
    assert fcp_tags(t0_select(pcard, "00A40004027FFF"))[0x84] == USIM_AID  # now 7FFF is the USIM
    assert fcp_tags(t0_select(pcard, "00A4040407A0000000871002"))[0x84] == USIM_AID  # truncated AID

    imsi = fcp_tags(t0_select(pcard, "00A40004026F07"))
    assert imsi == {0x82: h("4121"), 0x83: h("6F07"), 0x8A: h("05"), 0x8B: h("6F06") + imsi[0x8B][2:],
                    0x80: h("0009"), 0x88: h("38")}
    assert tx(pcard, "00B0000009") == (h("082940800000000010"), 0x9000)
    assert tx(pcard, "00B0000000") == (b"", 0x6C09)  # T=0: P3 must be the length there is
    spn = fcp_tags(t0_select(pcard, "00A40004026F46"))
    assert spn[0x88] == b""  # "88 00": no SFI (pySim decodes short_file_identifier None)


@pytest.mark.parametrize("personalized_card", [PROFILE], indirect=True)
def test_pysim_apdu_case_script_t0(pcard: Card) -> None:
    """pySim's own APDU-case test script (tests/pySim-shell_test/apdu), as the card gets it under T=0."""
    assert tx(pcard, "0070000100") == (b"", 0x9000)  # case 1 MANAGE CHANNEL open 1, P3=00 added
    assert tx(pcard, "0020000A00") == (b"", 0x63C3)  # case 1 and case 2 VERIFY: retry counter only
    data, s = tx(pcard, "80F2000000")  # case 2 STATUS, Le=00 = 256: the length there is
    assert data == b"" and s >> 8 == 0x6C
    fcp, s = tx(pcard, bytes([0x80, 0xF2, 0x00, 0x00, s & 0xFF]))
    assert s == 0x9000 and fcp_tags(fcp)[0x83] == h("3F00")
    # TERMINAL CAPABILITY: not supported, and not offered (no tag 87 in the MF's A5)
    assert tx(pcard, "80AA000005A903830180") == (b"", 0x6D00)
    assert tx(pcard, "00A40004023F00")[1] >> 8 == 0x61  # case 4, Le dropped
    assert tx(pcard, "00708001") == (b"", 0x9000)


@pytest.mark.parametrize("personalized_card", [PROFILE], indirect=True)
def test_pysim_status_command_is_case1(pcard: Card) -> None:
    """pySim-shell's `status` sends 80F20000 (no Le). Under T=0 that is P3=00 = Le 256, so the card
    answers 6Cxx as a case-2 command and the data comes back: pySim then complains that a case-1
    command got data. The card is right; see docs/interop.md."""
    s = sw(pcard, "80F2000000")
    assert s >> 8 == 0x6C
    assert tx(pcard, bytes([0x80, 0xF2, 0x00, 0x00, s & 0xFF]))[1] == 0x9000


def test_pysim_apdu_case_script_t1(pcard1: Card) -> None:
    """Under T=1 the APDUs arrive unchanged and data comes with the status word."""
    assert tx(pcard1, "00700001") == (b"", 0x9000)
    assert tx(pcard1, "0020000A") == (b"", 0x63C3)
    assert tx(pcard1, "0020000A00") == (b"", 0x63C3)
    fcp, s = tx(pcard1, "80F2000000")
    assert s == 0x9000 and fcp_tags(fcp)[0x83] == h("3F00")
    fcp, s = tx(pcard1, "00A40004023F0000")
    assert s == 0x9000 and fcp_tags(fcp)[0x83] == h("3F00")
    fcp, s = tx(pcard1, "00A4040410" + USIM_AID.hex() + "00")
    assert s == 0x9000 and fcp_tags(fcp)[0x84] == USIM_AID


@pytest.mark.parametrize("personalized_card", [PROFILE], indirect=True)
def test_pysim_verify_adm_update_and_read_back(pcard: Card) -> None:
    t0_select(pcard, "00A4040410" + USIM_AID.hex())
    t0_select(pcard, "00A40004026F46")
    spn = h("01707953696D2074657374FFFFFFFFFFFF")  # pySim's encoding of "pySim test", show_in_hplmn
    assert tx(pcard, b"\x00\xd6\x00\x00\x11" + spn) == (b"", 0x6982)  # SPN: update needs ADM1
    assert tx(pcard, "0020000A08" + ADM.hex()) == (b"", 0x9000)
    assert tx(pcard, b"\x00\xd6\x00\x00\x11" + spn) == (b"", 0x9000)
    assert tx(pcard, "00B0000011") == (spn, 0x9000)

    msisdn = FS["MF/ADF.USIM/EF.MSISDN"].ef
    n = msisdn.record_length
    fcp = fcp_tags(t0_select(pcard, "00A40004026F40"))
    assert fcp[0x82] == h("4221") + n.to_bytes(2, "big") + bytes([msisdn.record_count])
    rec = b"me" + b"\xff" * (n - 16) + h("07911316325476F8FFFFFFFFFFFF")  # +31612345678
    assert tx(pcard, bytes([0x00, 0xDC, 0x01, 0x04, n]) + rec) == (b"", 0x9000)
    assert tx(pcard, bytes([0x00, 0xB2, 0x01, 0x04, n])) == (rec, 0x9000)
    assert tx(pcard, bytes([0x00, 0xB2, msisdn.record_count + 1, 0x04, n])) == (b"", 0x6A83)


@pytest.mark.parametrize("personalized_card", [PROFILE], indirect=True)
def test_pysim_export_and_replay(pcard: Card) -> None:
    """pySim's `export` reads every file it knows and writes an `update_*` script; replayed after
    verify_adm (conserve_write off) it writes every file with its own content. Here: every EF of the
    model that ADM1 may read, read through its FCP's sizes and written back unchanged."""
    assert tx(pcard, "0020000A08" + ADM.hex()) == (b"", 0x9000)
    before = {p: pcard.file_bytes(p) for p in pcard.state.files}
    done = 0
    for entry in FS.walk():
        if not isinstance(entry.node, EF):
            continue
        ef = entry.node
        adf = next((p for p in entry.parents if p.aid is not None), None)
        assert sw(pcard, "00A4000C023F00") == 0x9000
        if adf is not None:
            assert adf.aid is not None
            assert sw(pcard, bytes([0x00, 0xA4, 0x04, 0x0C, len(adf.aid)]) + adf.aid) == 0x9000
        fids = [p.fid for p in entry.parents[1:] if p.aid is None] + [ef.fid]
        for fid in fids[:-1]:
            assert sw(pcard, bytes([0x00, 0xA4, 0x00, 0x0C, 0x02]) + fid.to_bytes(2, "big")) == 0x9000
        tags = fcp_tags(t0_select(pcard, "00A4000402" + fids[-1].to_bytes(2, "big").hex()))
        size = int.from_bytes(tags[0x80], "big")
        if ef.is_record:
            rec_len, count = int.from_bytes(tags[0x82][2:4], "big"), tags[0x82][4]
            assert rec_len * count == size
            for r in range(1, count + 1):
                data, s = tx(pcard, bytes([0x00, 0xB2, r, 0x04, rec_len]))
                if s == 0x6982:  # never readable (secrets): pySim lists it as a bad file
                    break
                assert s == 0x9000
                assert sw(pcard, bytes([0x00, 0xDC, r, 0x04, rec_len]) + data) == 0x9000, entry.path
        else:
            body = b""
            while len(body) < size:
                n = min(size - len(body), 256)
                data, s = tx(pcard, bytes([0x00, 0xB0, len(body) >> 8, len(body) & 0xFF, n & 0xFF]))
                if s == 0x6982:
                    break
                assert s == 0x9000
                body += data
            for off in range(0, len(body), 255):
                chunk = body[off : off + 255]
                apdu = bytes([0x00, 0xD6, off >> 8, off & 0xFF, len(chunk)]) + chunk
                assert sw(pcard, apdu) == 0x9000, entry.path
        done += 1
    assert done >= 40
    assert {p: pcard.file_bytes(p) for p in pcard.state.files} == before


@pytest.mark.parametrize("personalized_card", [PROFILE], indirect=True)
def test_pysim_authenticate_and_resync(pcard: Card) -> None:
    """pySim-shell `authenticate RAND AUTN` in ADF.USIM (Milenage, K/OPc of Identity.sample(), SQN 0x40)."""
    t0_select(pcard, "00A4040410" + USIM_AID.hex())
    cmd = h("0088008122 10 00112233445566778899AABBCCDDEEFF 10 F361AC66A49880001985E44477B9EA29")
    out = h("DB08 FADB63B968684AE6 10 71EA7234E039FA3E4BEF578937A9DD46 10 54BC9EAF33A2096E43D421C5EB1535D8"
            "08 2D6D9AD70F271BCE")
    assert tx(pcard, cmd) == (b"", 0x6100 | len(out))
    assert tx(pcard, bytes([0x00, 0xC0, 0x00, 0x00, len(out)])) == (out, 0x9000)
    data, s = tx(pcard, cmd)  # same SQN again: synchronisation failure, AUTS with 9000
    assert s == 0x6110
    auts, s = tx(pcard, "00C0000010")
    assert s == 0x9000 and auts[:2] == h("DC0E") and len(auts) == 16
