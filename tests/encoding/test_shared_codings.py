"""The codings the card's side and the terminal's side share (issue 14), beyond their vectors (walked by
test_vectors.py): what each refuses, its agreement with outside implementations, and that both sides
speak through it."""

from __future__ import annotations

import pytest

from simtool.commands import cat as host
from simtool.emulator import cat as card
from simtool.emulator import ota
from simtool.encoding import apn, ctlv, gsm7
from simtool.encoding.sizes import FORMAT_BYTES_VECTORS, format_bytes
from simtool.encoding.types import DecodeError, EncodeError

# --- COMPREHENSION-TLV ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("hex_", "why"), [
    ("000100", "00 is not a tag"),
    ("800100", "80 is not a tag"),
    ("FF0100", "FF is not a tag"),
    ("7F0005 0100", "has a single-byte form"),
    ("7F0000 00", "has a single-byte form"),
    ("7F01", "truncated three-byte tag"),
    ("81", "without a length"),
    ("818105", "the one-byte form writes 5"),
    ("8182000100", "length form 82"),
    ("8103 0125", "overruns"),
])
def test_malformed_lists_are_refused(hex_: str, why: str) -> None:
    with pytest.raises(ctlv.CtlvError, match=why):
        ctlv.parse_ctlv(bytes.fromhex(hex_.replace(" ", "")))
    assert issubclass(ctlv.CtlvError, DecodeError)


def test_building_picks_the_form_the_value_needs() -> None:
    assert ctlv.ctlv(0x05, b"", cr=True).hex() == "8500"
    assert ctlv.ctlv(0x7E, b"\x01").hex() == "7e0101"
    assert ctlv.ctlv(0x7F, b"").hex() == "7f007f00"  # 7F itself only has the three-byte form
    assert ctlv.ctlv(0x1234, b"", cr=True).hex() == "7f923400"
    assert ctlv.ctlv(0x0D, bytes(200))[:3].hex() == "0d81c8"
    for bad in (0, 0x8000):
        with pytest.raises(EncodeError):
            ctlv.ctlv(bad, b"")
    with pytest.raises(EncodeError, match="at most 255"):
        ctlv.ctlv(0x0D, bytes(256))


def test_agrees_with_pysim_on_the_three_byte_form() -> None:
    # pySim utils.comprehensiontlv_parse_tag (TS 101 220 §7.1.1): 7F, then CR in bit 8 of byte 2 and
    # the 15-bit tag value; 00, 80 and FF raise. Seen: 7F 92 34 -> {'comprehension': True, 'tag': 0x1234}
    assert list(ctlv.iter_ctlv(bytes.fromhex("7F923400"))) == [(0x1234, True, b"")]


def test_both_sides_read_with_it() -> None:
    # a proactive command with a three-byte tag the terminal does not know: read past, not refused
    raw = bytes.fromhex("D010" "810301210082028102" "7F923400" "8D0100")
    cmd = host.parse_proactive(raw)
    assert (cmd.type, cmd.text) == (0x21, "")
    with pytest.raises(host.CatError, match="80 is not a tag"):
        host.parse_proactive(bytes.fromhex("D00C" "810301210082028102" "800100"))
    # the card's SMS-PP download: the same refusal, as its own error (the card answers 6A80)
    with pytest.raises(ota.SmsError, match="80 is not a tag"):
        ota.sms_user_data(bytes.fromhex("82028381800100"))
    assert card.parse_ctlv is ctlv.parse_ctlv and host.parse_ctlv is ctlv.parse_ctlv


# --- GSM 7-bit --------------------------------------------------------------------------------------------


def test_the_table_is_the_gsm0338_codecs() -> None:
    """The septets of every BMP character as the `gsm0338` codec (an outside implementation) writes them;
    ESC is the one difference: the codec passes it through as 1B, here it is no character."""
    assert len(gsm7.BASIC) == 128 and len(set(gsm7.BASIC)) == 128
    for i in range(0x10000):
        ch = chr(i)
        if 0xD800 <= i < 0xE000:
            continue
        try:
            want: bytes | None = ch.encode("gsm03.38")
        except UnicodeEncodeError:
            want = None
        if ch == "\x1b":
            want = None
        assert gsm7.to_septets(ch) == want, hex(i)
    assert all(gsm7.septet_count(ch) == 2 for ch in gsm7.EXTENSION.values())
    assert gsm7.septet_count("€uro") == 5 and gsm7.septet_count("KPN微信") is None


def test_unpacking_is_lenient() -> None:
    assert gsm7.from_septets(b"\x1b\x41") == " "  # an unknown extension code reads as a space
    assert gsm7.unpack(bytes.fromhex("31D98C56B3DD00")) == b"1234567"  # a sender that left the spare bits 0
    with pytest.raises(DecodeError):
        gsm7.CODEC.decode(bytes.fromhex("31D98C56B3DD00"))  # ... which simtool would not write back


@pytest.mark.parametrize("text", ["Hello", "1234567", "{curly} [square] ~ € ^ | \\", "Line\nbreak", "A" * 15,
                                  "B" * 16])
def test_card_text_strings_read_back_on_the_terminal(text: str) -> None:
    value = card.text_string(text)
    assert value[0] == 0x00 and value[1:] == gsm7.pack(gsm7.to_septets(text) or b"")
    assert host.decode_text_string(value) == text


def test_esc_is_not_sent_as_gsm() -> None:
    assert card.text_string("a\x1bb")[0] == 0x08  # UCS2: ESC is the escape code, not a character


# --- APN, byte sizes ------------------------------------------------------------------------------------


def test_apn_refuses_what_is_not_labels() -> None:
    for bad in ("a..b", ".a", "a" * 64, "ä"):
        with pytest.raises(EncodeError):
            apn.apn_encode(bad)
    for raw in ("00", "05616263", "03612E62"):
        with pytest.raises(DecodeError):
            apn.apn_decode(bytes.fromhex(raw))


@pytest.mark.parametrize(("n", "shown"), FORMAT_BYTES_VECTORS)
def test_format_bytes(n: int, shown: str) -> None:
    assert format_bytes(n) == shown


def test_every_place_shows_sizes_alike() -> None:
    from simtool.personalize import read

    files = {"MF/DF.PLAN/EF.PLAN_DEF": {"value": {
        "plan_id": "p", "data_limit_bytes": 1_999_999_999, "validity_days": 1,
        "price": {"amount_minor": 0, "currency": "EUR"}, "names": {}}}}
    assert read.summary(files)["plan"]["data"] == "1.99 GB"  # truncated, as on the card's screen
