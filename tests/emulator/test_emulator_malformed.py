"""Malformed APDUs get the standard's status word, never an exception; random input never breaks the card."""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simtool.emulator import Card
from tests.emulator.emucard_helpers import ADM, h, sw

CORPUS = [
    ("", 0x6700),
    ("00", 0x6700),
    ("00A4", 0x6700),
    ("00A400", 0x6700),
    ("00A4000C05 3F00", 0x6700),  # Lc larger than the data
    ("00A4000C01 3F00", 0x6700),  # Lc smaller than the data (and not data + Le)
    ("00A4000C00 3F00", 0x6700),  # Lc 00 with data: extended length
    ("00A4000C02 3F", 0x6700),
    ("A1A4000002 3F00", 0x6E00),
    ("2000000000", 0x6E00),
    ("0000000000", 0x6D00),
    ("0001000000", 0x6D00),
    ("00B1000000", 0x6D00),
    ("00A4FF0C02 3F00", 0x6A86),
    ("00A400FF02 3F00", 0x6A86),
    ("00B2000000", 0x6986),  # READ RECORD with no EF selected
    ("00B0000001", 0x6986),
    ("00DC010402 0000", 0x6986),
    ("00A4000C02 1234", 0x6A82),
    ("0088008122" + "00" * 34, 0x6985),  # AUTHENTICATE with no application
    ("0020000109 303030303030303030", 0x6700),
    ("0020000A07 31313131313131", 0x6700),
    ("00200003", 0x6A88),
    ("0024000108 3030303030303030", 0x6700),
    ("00700100", 0x6A86),
    ("0070000000 01", 0x6700),
    ("00C0000000", 0x6985),
    ("80F2000C", 0x9000),
]


@pytest.mark.parametrize(("apdu", "expected"), CORPUS)
def test_corpus(apdu: str, expected: int) -> None:
    card = Card.blank(adm=ADM)
    assert sw(card, h(apdu)) == expected


def test_offset_and_record_out_of_range() -> None:
    card = Card.blank(adm=ADM)
    assert sw(card, "0020000A08" + ADM.hex()) == 0x9000
    assert sw(card, "00A4000C022FE2") == 0x9000
    assert sw(card, "00B07FFF01") == 0x6B00
    assert sw(card, "00D6001001 00") == 0x6B00
    assert sw(card, "00A4000C022F00") == 0x9000
    assert sw(card, "00B2FF0400") == 0x6A83
    assert sw(card, "00B2030400") == 0x6A83


# --- property: whatever arrives, a status word leaves, and never 6F00 --------------------------------

INS = [0xA4, 0xB0, 0xD6, 0xB2, 0xDC, 0xA2, 0xF2, 0x20, 0x24, 0x26, 0x28, 0x2C, 0x88, 0x70, 0xC0]
CLAS = [0x00, 0x01, 0x02, 0x03, 0x40, 0x41, 0x80, 0x81, 0xA0, 0x0C, 0x10, 0x4F, 0xFF]

apdu_bytes = st.one_of(
    st.binary(max_size=270),
    st.builds(
        lambda cla, ins, p1, p2, data, le: bytes([cla, ins, p1, p2])
        + (bytes([len(data)]) + data if data else b"")
        + (bytes([le]) if le is not None else b""),
        st.sampled_from(CLAS) | st.integers(0, 255),
        st.sampled_from(INS) | st.integers(0, 255),
        st.sampled_from([0x00, 0x01, 0x03, 0x04, 0x08, 0x09, 0x80, 0x81, 0x9E]) | st.integers(0, 255),
        st.sampled_from([0x00, 0x04, 0x0C, 0x01, 0x81, 0x0A, 0x02, 0x03, 0xF4]) | st.integers(0, 255),
        st.binary(max_size=40)
        | st.sampled_from([h("3F00"), h("7FFF"), h("2FE2"), h("6F07"), h("7F206F07"), h("A0000000871002")]),
        st.none() | st.integers(0, 255),
    ),
)


def _fresh(protocol: str, adm: bool) -> Card:
    card = Card.blank(adm=ADM, protocol=protocol)
    if adm:
        card.process(h("0020000A08") + ADM)
        card.process(h("00A4040C07A0000000871002"))
    return card


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    protocol=st.sampled_from(["T=0", "T=1"]),
    adm=st.booleans(),
    apdus=st.lists(apdu_bytes, min_size=1, max_size=12),
)
def test_random_apdus_always_get_a_status_word(protocol: str, adm: bool, apdus: list[bytes]) -> None:
    card = _fresh(protocol, adm)
    for apdu in apdus:
        out = card.process(apdu)
        assert isinstance(out, bytes) and len(out) >= 2
        assert out[-2:] != b"\x6f\x00", (apdu.hex(), card.internal_errors)
        # UICC words, and the classic SIM's (CLA A0: 92xx, 94xx, 98xx, 9Fxx; TS 51.011 §9.4)
        assert out[-2] in (0x61, 0x62, 0x63, 0x65, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x90, 0x92, 0x94,
                           0x98, 0x9F)
        if out[-2] != 0x90:
            assert len(out) == 2 or out[-2] in (0x61, 0x62), apdu.hex()  # errors carry no data
    assert card.internal_errors == []


def test_internal_error_becomes_6f00_and_is_reported(monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    card = Card.blank(adm=ADM)

    def broken(*args: object) -> bytes:
        raise RuntimeError("bug")

    monkeypatch.setitem(card._ins, 0xB0, (broken, False))
    assert card.process(h("00B0000001")) == h("6F00")
    assert card.internal_errors and "RuntimeError" in card.internal_errors[0]
    assert any(r.name == "simtool.emulator" and r.levelno == logging.ERROR for r in caplog.records)
    caplog.clear()  # provoked on purpose: keep the autouse guard quiet
    assert card.process(h("00A4000C023F00")) == h("9000")  # the card goes on


def test_non_bytes_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        Card.blank(adm=ADM).process("00A4000C023F00")  # type: ignore[arg-type]
