"""T=0 (61xx + GET RESPONSE, 6Cxx) and T=1 behaviour, logical channels, reset, the APDU counter."""

from __future__ import annotations

from simtool.commands import get_response_cla, manage_channel_open, read_binary, run, select_fid
from simtool.emulator import MAX_CHANNELS, Card
from tests.emulator.emucard_helpers import h, host, select_usim, sw, tx, verify_adm


def test_t0_case4_uses_get_response(card: Card) -> None:
    data, s = tx(card, "00A40004023F00")
    assert data == b"" and s >> 8 == 0x61
    n = s & 0xFF
    fcp, s2 = tx(card, bytes([0x00, 0xC0, 0x00, 0x00, n]))
    assert s2 == 0x9000 and len(fcp) == n and fcp[0] == 0x62
    assert sw(card, bytes([0x00, 0xC0, 0x00, 0x00, n])) == 0x6985  # nothing pending any more
    # Le given with a case-4 command under T=0 (some stacks do): still 61xx
    assert tx(card, "00A40004023F0000")[1] >> 8 == 0x61


def test_t0_get_response_in_parts_and_wrong_le(card: Card) -> None:
    s = sw(card, "00A40004023F00")
    n = s & 0xFF
    assert sw(card, bytes([0x00, 0xC0, 0x00, 0x00, n + 1])) == 0x6C00 | n  # too long: 6Cxx, kept
    part, s = tx(card, "00C0000010")
    assert len(part) == 0x10 and s == 0x6100 | (n - 0x10)
    rest, s = tx(card, bytes([0x00, 0xC0, 0x00, 0x00, n - 0x10]))
    assert s == 0x9000 and (part + rest)[0] == 0x62 and len(part + rest) == n
    assert sw(card, "00C0010000") == 0x6A86


def test_pending_response_is_dropped_by_the_next_command(card: Card) -> None:
    s = sw(card, "00A40004023F00")
    assert sw(card, "00A4000C023F00") == 0x9000
    assert sw(card, bytes([0x00, 0xC0, 0x00, 0x00, s & 0xFF])) == 0x6985


def test_t0_wrong_le_on_case2(card: Card) -> None:
    assert sw(card, "00A4000C022FE2") == 0x9000
    assert tx(card, "00B0000000") == (b"", 0x6C0A)  # P3=00 means 256 under T=0
    assert tx(card, "00B0000020") == (b"", 0x6C0A)
    assert tx(card, "00B000000A")[1] == 0x9000
    r = host(card, read_binary(0, 256))  # the host layer follows 6Cxx
    assert r.sw == 0x9000 and len(r.data) == 10 and r.exchanges == 2


def test_t1_returns_data_directly(card1: Card) -> None:
    data, s = tx(card1, "00A40004023F0000")
    assert s == 0x9000 and data[0] == 0x62
    data, s = tx(card1, "00A40004023F0005")
    assert len(data) == 5 and s >> 8 == 0x61  # short Le: the rest waits for GET RESPONSE
    rest, s = tx(card1, "00C0000000")
    assert s == 0x9000 and (data + rest)[0] == 0x62
    assert tx(card1, "00A40004023F00")[1] >> 8 == 0x61  # case 3 as sent: 61xx
    assert host(card1, select_fid(0x2FE2, fcp=True)).exchanges == 1
    assert sw(card1, "00A4000C022FE2") == 0x9000
    assert tx(card1, "00B0000000") == (b"\xff" * 10, 0x9000)
    get = tx(card1, "00C0000000")
    assert get[1] == 0x6985


def test_channels_each_keep_their_selection(card: Card) -> None:
    opened = []
    for _ in range(3):
        data, s = tx(card, "0070000001")
        assert s == 0x9000
        opened.append(data[0])
    assert opened == [1, 2, 3]
    assert card.open_channels() == [0, 1, 2, 3]
    assert sw(card, "00A4000C022FE2") == 0x9000  # channel 0: EF.ICCID
    assert sw(card, "01A4000C027F20") == 0x9000  # channel 1: DF.GSM
    assert sw(card, "02A4040C07A0000000871002") == 0x9000  # channel 2: ADF.USIM
    assert sw(card, "02A4000C026F07") == 0x9000
    assert sw(card, "03A4000C022F00") == 0x9000  # channel 3: EF.DIR
    assert card.selection(0)["ef"] == "MF/EF.ICCID"
    assert card.selection(1)["df"] == "MF/DF.GSM"
    assert card.selection(2)["ef"] == "MF/ADF.USIM/EF.IMSI"
    assert card.selection(3)["ef"] == "MF/EF.DIR"
    assert card.selection(0)["app"] is None and card.selection(2)["app"] == "MF/ADF.USIM"
    assert sw(card, "00B000000A") == 0x9000
    assert sw(card, "03B2010400") >> 8 == 0x6C
    # 7FFF works on the channel whose application is active only
    assert sw(card, "01A4000C027FFF") == 0x6A82
    # GET RESPONSE belongs to the channel of the command
    assert sw(card, "01A40004027F20") >> 8 == 0x61
    assert sw(card, "00C0000000") == 0x6985
    s = sw(card, "01A40004027F20")
    assert tx(card, bytes([0x01, 0xC0, 0x00, 0x00, s & 0xFF]))[1] == 0x9000
    assert host(card, select_fid(0x3F00, fcp=True).with_channel(3)).sw == 0x9000
    assert get_response_cla(0x03) == 0x03
    # close
    assert sw(card, "0070800200") == 0x9000
    assert sw(card, "0070800200") == 0x6881
    assert sw(card, "02A4000C023F00") == 0x6881  # closed channel
    assert card.open_channels() == [0, 1, 3]
    assert sw(card, "0070800000") == 0x6A86  # the basic channel cannot be closed
    assert sw(card, "0370800000") == 0x9000  # P2 00: the channel of the command
    assert card.open_channels() == [0, 1]


def test_channels_beyond_three_use_class_4x(card: Card) -> None:
    for expected in range(1, MAX_CHANNELS):
        data, s = tx(card, "0070000001")
        assert (data, s) == (bytes([expected]), 0x9000)
    assert sw(card, "0070000001") == 0x6A81  # all taken
    assert sw(card, "40A4000C027F10") == 0x9000  # channel 4
    assert card.selection(4)["df"] == "MF/DF.TELECOM"
    assert sw(card, "4FA4000C027F20") == 0x9000  # channel 19
    assert card.selection(19)["df"] == "MF/DF.GSM"
    assert sw(card, "0070801300") == 0x9000
    assert sw(card, "4FA4000C027F20") == 0x6881
    assert sw(card, "0070001300") == 0x9000  # open a given channel
    assert sw(card, "0070001300") == 0x6985  # already open
    assert sw(card, "0070001400") == 0x6A86


def test_channel_open_from_another_channel_inherits(card: Card) -> None:
    select_usim(card)
    assert tx(card, "0070000001") == (b"\x01", 0x9000)
    assert card.selection(1)["df"] == "MF" and card.selection(1)["app"] is None  # from channel 0: MF
    assert sw(card, "01A4040C07A0000000871002") == 0x9000
    assert tx(card, "0170000001") == (b"\x02", 0x9000)
    assert card.selection(2)["app"] == "MF/ADF.USIM"
    assert sw(card, "02A4000C026F07") == 0x9000


def test_manage_channel_le_rules(card: Card, card1: Card) -> None:
    assert sw(card, "00700000") == 0x6C01  # T=0: P3 00 is not 1
    assert card.open_channels() == [0]  # and nothing was opened
    assert host(card, manage_channel_open()).data == b"\x01"
    assert tx(card1, "00700000") == (b"\x01", 0x9000)
    assert sw(card, "00700000 01 00") == 0x6700
    assert sw(card, "0070400000") == 0x6A86


def test_reset(card: Card) -> None:
    verify_adm(card)
    assert tx(card, "0070000001")[1] == 0x9000
    select_usim(card)
    assert sw(card, "00A40004026F07") >> 8 == 0x61
    atr = card.reset()
    assert atr == card.atr == card.model.atr_t0
    assert card.open_channels() == [0]
    assert card.selection() == {"df": "MF", "ef": None, "record": 0, "app": None}
    assert not card.verified
    assert sw(card, "00C0000000") == 0x6985


def test_apdu_counter(card: Card) -> None:
    start = card.apdu_count
    run(select_fid(0x3F00, fcp=True), "T=0", card.process)
    tx(card, "00")
    assert card.apdu_count == start + 3


def test_classes(card: Card) -> None:
    assert sw(card, "A0A4000002 3F00") == 0x9F17  # the GSM class: the classic SIM command set (classic.py)
    assert sw(card, "A4A4000002 3F00") == 0x6E00  # other AX classes: neither UICC nor GSM
    assert sw(card, "20A4000C023F00") == 0x6E00
    assert sw(card, "FFA4000C023F00") == 0x6E00
    assert sw(card, "80A4000C023F00") == 0x6E00  # ISO command in proprietary class
    assert sw(card, "0CA4000C023F00") == 0x6882  # secure messaging
    assert sw(card, "60A4000C023F00") == 0x6882
    assert sw(card, "10A4000C023F00") == 0x6884  # command chaining
    assert sw(card, "00A5000C023F00") == 0x6D00
    assert sw(card, "8012000000") == 0x6985  # FETCH with no proactive command pending (plan applet, CAT)
    assert sw(card, "80AA000000") == 0x6D00
    assert sw(card, h("01A4000C023F00")) == 0x6881  # channel 1 not open
