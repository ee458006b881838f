"""IPA deframing in any chunks, the GSUP decoder's refusals, and the client session's handshake."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool.gsup import ipa
from simtool.gsup import message as m
from simtool.gsup.errors import GsupDecodeError
from simtool.gsup.session import Gsup, Handshaken, IdRequested, Pong, Session, SessionState

STREAM = b"".join(v.data for v in ipa.VECTORS + m.VECTORS)
FRAMES = [ipa.decode_frame(v.data) for v in ipa.VECTORS + m.VECTORS]


@given(st.lists(st.integers(1, 40), max_size=60))
def test_deframer_takes_any_chunks(cuts):
    d, out, i = ipa.Deframer(), [], 0
    for n in cuts:
        out += d.feed(STREAM[i:i + n])
        i += n
    out += d.feed(STREAM[i:])
    assert out == FRAMES
    assert d.pending == 0


def test_deframer_keeps_a_partial_frame():
    d = ipa.Deframer()
    assert d.feed(ipa.PING[:2]) == []
    assert d.pending == 2
    assert d.feed(ipa.PING[2:]) == [ipa.Frame(ipa.Proto.CCM, b"\x00")]


def test_osmo_frame_without_extension_byte_is_refused():
    with pytest.raises(GsupDecodeError, match="no extension byte"):
        ipa.Deframer().feed(bytes.fromhex("0000EE"))


SAI = bytes.fromhex("08 0108 00010121436587F9 280102 520101")
TUPLE = "0362" + "".join(f"{t:02x}{n:02x}" + "11" * n for t, n in
                         ((0x20, 16), (0x21, 4), (0x22, 8), (0x23, 16), (0x24, 16), (0x25, 16), (0x27, 8)))


@pytest.mark.parametrize(("hexdata", "why"), [
    ("", "empty"),
    ("7f 0108 00010121436587F9", "unknown GSUP message type 7F"),
    ("08 0109 00010121436587F9", "IE 01 at offset 1 claims 9 bytes"),
    ("08 01", "IE header cut at offset 1"),
    ("08 280102", "no IMSI"),
    ("08 0108 00010121436587F9 0108 00010121436587F9", "given twice"),
    ("08 0108 00010121436587F9 260D" + "00" * 13, "AUTS at offset 11: 13 bytes, expected 14"),
    ("08 0108 00010121436587F9 200F" + "00" * 15, "RAND at offset 11: 15 bytes"),
    ("08 0108 00010121436587F9 28020102", "IE 28 at offset 11: 2 bytes, expected 1"),
    ("08 0108 0001012143658FF9", "BCD digits after the F end mark"),
    ("0a 0108 00010121436587F9" + TUPLE * 6, "more than 5 auth tuples"),
    ("0a 0108 00010121436587F9 0306 210411223344", "no RAND"),
    ("0a 0108 00010121436587F9 0314 2010" + "00" * 16 + "2100", "SRES of 0 bytes"),
    ("0a 0108 00010121436587F9 0314 2010" + "00" * 16 + "3000", "unknown IE 30"),
])
def test_decoder_refuses(hexdata, why):
    with pytest.raises(GsupDecodeError, match=why):
        m.decode(bytes.fromhex(hexdata))


def test_unknown_ies_are_kept_in_order_and_encoded_back():
    data = bytes.fromhex("08 0108 00010121436587F9 0a0101 500412345678") + SAI[11:]
    msg = m.decode(data)
    assert msg.other == ((0x0A, b"\x01"), (0x50, bytes.fromhex("12345678")))
    assert (msg.cn_domain, msg.num_vectors) == (m.CnDomain.CS, 1)
    assert m.encode(msg) == SAI + bytes.fromhex("0a0101 500412345678")


def test_message_categories():
    assert m.MsgType.SEND_AUTH_INFO_REQUEST.category is m.Category.REQUEST
    assert m.MsgType(m.MsgType.SEND_AUTH_INFO_REQUEST + 1) is m.MsgType.SEND_AUTH_INFO_ERROR
    assert m.MsgType(m.MsgType.SEND_AUTH_INFO_REQUEST + 2) is m.MsgType.SEND_AUTH_INFO_RESULT
    assert m.cause_text(2) == "IMSI unknown (cause 2)"
    assert m.cause_text(0x42) == "GMM cause 66"


def test_encoder_refuses_bad_values():
    with pytest.raises(ValueError, match="IMSI"):
        m.encode(m.Message(m.MsgType.SEND_AUTH_INFO_REQUEST, "12ab"))
    with pytest.raises(ValueError, match="AUTS of 13"):
        m.encode(m.Message(m.MsgType.SEND_AUTH_INFO_REQUEST, "001", auts=b"\x00" * 13))
    with pytest.raises(ValueError, match="RES of 17"):
        bad = m.AuthTuple(b"\x00" * 16, res=b"\x00" * 17)
        m.encode(m.Message(m.MsgType.SEND_AUTH_INFO_RESULT, "001", tuples=(bad,)))


OSMO_ID_GET = ipa.VECTORS[3].data


def test_session_handshake_and_ping():
    s = Session("simtool")
    with pytest.raises(RuntimeError, match="handshake"):
        s.send(m.decode(SAI))
    assert s.receive(OSMO_ID_GET[:5]) == []
    evs = s.receive(OSMO_ID_GET[5:])
    assert evs == [IdRequested(tuple(ipa.parse_id_get(ipa.decode_frame(OSMO_ID_GET).payload)))]
    assert s.state is SessionState.WAIT_ID_ACK
    out = ipa.Deframer().feed(s.outgoing())
    assert [f.ccm for f in out] == [ipa.CcmType.ID_RESP, ipa.CcmType.ID_ACK]
    ident = ipa.parse_id_resp(out[0].payload)
    assert ident[ipa.IdTag.SERNR] == "simtool" and ident[ipa.IdTag.UNIT_ID] == "0/0/0"
    assert list(ident) == [ipa.IdTag(t) for t in ipa.parse_id_get(ipa.decode_frame(OSMO_ID_GET).payload)]
    assert s.receive(ipa.ID_ACK) == [Handshaken()] and s.ready
    assert s.receive(ipa.PING) == [] and s.outgoing() == ipa.PONG
    assert s.receive(ipa.PONG) == [Pong()]
    s.send(m.decode(SAI))
    assert s.outgoing() == m.VECTORS[0].data
    err = m.VECTORS[2].data
    assert s.receive(err) == [Gsup(m.decode_pdu(err), err[4:])]


def test_session_refusals():
    s = Session()
    with pytest.raises(GsupDecodeError, match="before ID_GET"):
        s.receive(ipa.ID_ACK)
    s.receive(OSMO_ID_GET)
    with pytest.raises(GsupDecodeError, match="ID_NACK"):
        s.receive(bytes.fromhex("0001FE07"))
    with pytest.raises(ValueError, match="IPA name"):
        Session("")
