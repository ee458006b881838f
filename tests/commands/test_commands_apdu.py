"""Apdu / Response value types: byte coding of cases 1-4, parsing, channel class bytes."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool.commands import (
    Apdu,
    MalformedApdu,
    MalformedResponse,
    Response,
    SecurityNotSatisfied,
    channel_of,
    cla_with_channel,
)
from simtool.errors import CardError


def h(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", ""))


@pytest.mark.parametrize(
    ("apdu", "raw", "case"),
    [
        (Apdu(0x00, 0x20, 0x00, 0x01), "00200001", 1),
        (Apdu(0x00, 0xB0, 0x87, 0x00, le=9), "00B0870009", 2),
        (Apdu(0x00, 0xB0, 0x00, 0x00, le=256), "00B0000000", 2),
        (Apdu(0x00, 0xA4, 0x00, 0x0C, h("3F00")), "00A4000C023F00", 3),
        (Apdu(0x00, 0xA4, 0x00, 0x04, h("3F00"), 256), "00A40004023F0000", 4),
        (Apdu(0x00, 0xA4, 0x00, 0x04, h("3F00"), 0x1D), "00A40004023F001D", 4),
    ],
)
def test_to_bytes_from_bytes_case(apdu: Apdu, raw: str, case: int) -> None:
    assert apdu.to_bytes() == h(raw)
    assert apdu.case == case
    assert Apdu.from_bytes(h(raw)) == apdu


def test_from_bytes_accepts_bytearray_and_data_is_bytes() -> None:
    a = Apdu.from_bytes(bytearray(h("00D6000002AABB")))
    assert a.data == h("AABB") and isinstance(a.data, bytes)
    assert Apdu(0, 0xD6, 0, 0, bytearray(b"\x01")).data == b"\x01"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "00",
        "00A400",
        "00A4000C033F00",  # Lc 3, 2 data bytes
        "00A4000C013F00AA00",  # Lc 1, 3 bytes after it: neither case 3 nor 4
        "00A4000C023F000000",  # one byte too many for case 4
        "00B000000000FF",  # Lc 00 with a body: extended length
        "00B00000000100",  # extended case 2 (Le 3 bytes)
    ],
)
def test_from_bytes_rejects_inconsistent_lengths(raw: str) -> None:
    with pytest.raises(MalformedApdu):
        Apdu.from_bytes(h(raw))


def test_malformed_apdu_is_value_error() -> None:
    assert issubclass(MalformedApdu, ValueError)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cla": 256},
        {"ins": -1},
        {"p1": 0x100},
        {"data": bytes(256)},
        {"le": 0},
        {"le": 257},
    ],
)
def test_construction_validates(kwargs: dict) -> None:
    base = {"cla": 0, "ins": 0xB0, "p1": 0, "p2": 0}
    with pytest.raises(ValueError):
        Apdu(**{**base, **kwargs})


apdus = st.builds(
    Apdu,
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.binary(max_size=255),
    st.one_of(st.none(), st.integers(1, 256)),
)


@given(apdus)
def test_roundtrip(apdu: Apdu) -> None:
    raw = apdu.to_bytes()
    assert Apdu.from_bytes(raw) == apdu
    assert len(raw) == 4 + (1 + len(apdu.data) if apdu.data else 0) + (1 if apdu.le is not None else 0)


def test_repr_hides_pin_and_update_data_but_shows_other_data() -> None:
    pin = h("31323334FFFFFFFF")
    r = repr(Apdu(0x00, 0x20, 0x00, 0x01, pin))
    assert "31323334" not in r.upper() and "<8 bytes>" in r
    r = repr(Apdu(0x00, 0xD6, 0x00, 0x00, h("00112233445566778899AABBCCDDEEFF")))
    assert "0011223344" not in r.upper()
    assert "3F00" in repr(Apdu(0x00, 0xA4, 0x00, 0x0C, h("3F00")))


# --- logical channels (TS 102 221 §10.1.1) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("cla", "channel", "expected"),
    [
        (0x00, 0, 0x00),
        (0x00, 1, 0x01),
        (0x00, 3, 0x03),
        (0x00, 4, 0x40),
        (0x00, 5, 0x41),
        (0x00, 19, 0x4F),
        (0x80, 0, 0x80),
        (0x80, 2, 0x82),
        (0x80, 4, 0xC0),
        (0x80, 19, 0xCF),
        (0x41, 2, 0x02),  # back from the further-interindustry form
        (0xC5, 1, 0x81),
        (0x10, 6, 0x52),  # command chaining bit kept
    ],
)
def test_cla_with_channel(cla: int, channel: int, expected: int) -> None:
    assert cla_with_channel(cla, channel) == expected
    assert channel_of(expected) == channel


def test_with_channel_on_apdu() -> None:
    a = Apdu(0x00, 0xA4, 0x00, 0x0C, h("3F00")).with_channel(7)
    assert a.to_bytes() == h("43A4000C023F00")
    assert a.channel == 7
    assert Apdu(0x80, 0xF2, 0, 0, le=256).with_channel(1).to_bytes() == h("81F2000000")


@given(st.sampled_from([0x00, 0x80]), st.integers(0, 19))
def test_channel_roundtrip(cla: int, channel: int) -> None:
    coded = cla_with_channel(cla, channel)
    assert channel_of(coded) == channel
    assert coded & 0x80 == cla  # ISO stays ISO, proprietary stays proprietary


@pytest.mark.parametrize("channel", [-1, 20, 255])
def test_channel_out_of_range(channel: int) -> None:
    with pytest.raises(ValueError):
        cla_with_channel(0x00, channel)


@pytest.mark.parametrize("cla", [0xA0, 0x20, 0xFF])
def test_class_without_channel(cla: int) -> None:
    with pytest.raises(ValueError):
        channel_of(cla)


@pytest.mark.parametrize("cla", [0x0C, 0x04, 0x60, 0xE3])
def test_secure_messaging_class_refused(cla: int) -> None:
    with pytest.raises(ValueError, match="secure messaging"):
        cla_with_channel(cla, 1)


# --- Response -----------------------------------------------------------------------------------------------


def test_response_from_bytes() -> None:
    r = Response.from_bytes(h("6F07 9000"))
    assert r.data == h("6F07") and r.sw == 0x9000 and r.sw1 == 0x90 and r.sw2 == 0x00
    assert r.ok and r.exchanges == 1 and r.proactive_length is None
    assert r.to_bytes() == h("6F079000")


@pytest.mark.parametrize(("sw", "ok"), [(0x9000, True), (0x9112, True), (0x9200, True), (0x6982, False)])
def test_response_ok(sw: int, ok: bool) -> None:
    assert Response(b"", sw).ok is ok


def test_proactive_length() -> None:
    assert Response(b"", 0x911A).proactive_length == 0x1A
    assert Response(b"", 0x9100).proactive_length == 256


def test_response_equality_ignores_exchange_count() -> None:
    assert Response(b"\x01", 0x9000, exchanges=3) == Response(b"\x01", 0x9000)


@pytest.mark.parametrize("raw", ["", "90"])
def test_response_too_short(raw: str) -> None:
    with pytest.raises(MalformedResponse) as e:
        Response.from_bytes(h(raw))
    assert isinstance(e.value, CardError)


def test_response_check() -> None:
    r = Response(b"", 0x9000)
    assert r.check("SELECT") is r
    with pytest.raises(SecurityNotSatisfied, match="UPDATE BINARY"):
        Response(b"", 0x6982).check("UPDATE BINARY")


def test_response_bad_sw() -> None:
    with pytest.raises(ValueError):
        Response(b"", 0x10000)


def test_apdu_pickles() -> None:
    a = Apdu(0x00, 0xA4, 0x00, 0x0C, h("3F00"))
    assert pickle.loads(pickle.dumps(a)) == a
