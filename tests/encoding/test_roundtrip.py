"""Round-trip properties for every EF of every card model, and value-level properties for the key types."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from simtool.encoding import efs
from simtool.encoding.codec import DecodeError
from simtool.encoding.types import CodecError, EncodeError, plmn_decode, plmn_encode
from simtool.fs import MODELS

# Every EF of every model; a file that has the same codec and size on several models is tested once.
_seen: set[tuple[int, int, int]] = set()
PATHS: list = []
for _m in MODELS.values():
    for _e in _m.fs.efs():
        _key = (id(_e.ef.codec), _e.ef.size, _e.ef.record_length)
        if _key not in _seen:
            _seen.add(_key)
            PATHS.append(pytest.param(_m.name, _e.path, id=f"{_m.name}:{_e.path}"))


def _encoded(codec, size):
    """The vectors' values encoded for a file of `size` bytes (those that fit)."""
    out = []
    for v in codec.vectors:
        with contextlib.suppress(EncodeError):
            out.append(codec.encode(v.value, size))
    return out


def _seeds(codec, size):
    """Real encodings of this file's size: the vectors as they are, and their values encoded for `size`."""
    out = [(v.data + b"\xff" * size)[:size] for v in codec.vectors if len(v.data) <= size]
    return out + _encoded(codec, size) or [b"\xff" * size]


@pytest.mark.parametrize(("model_name", "path"), PATHS)
@settings(max_examples=150, suppress_health_check=list(HealthCheck), deadline=None)
@given(data=st.data())
def test_bytes_round_trip_for_every_ef(model_name, path, data):
    """The law: whatever bytes of the file's size decode, encode back to exactly those bytes (RFU bits,
    padding and redundant codings included)."""
    ef = MODELS[model_name].fs[path].ef
    size = ef.record_length if ef.is_record else ef.size
    # Start from real encodings and mutate them, plus fully random bodies.
    seeds = _seeds(ef.codec, size)
    raw = bytearray(data.draw(st.sampled_from(seeds)) if data.draw(st.integers(0, 3))
                    else data.draw(st.binary(min_size=size, max_size=size)))
    for _ in range(data.draw(st.integers(0, 3))):  # a few byte flips on a real encoding
        raw[data.draw(st.integers(0, size - 1))] = data.draw(st.integers(0, 255))
    raw = bytes(raw)
    try:
        value = ef.codec.decode(raw)
    except DecodeError:
        assume(False)
    assert ef.codec.encode(value, size) == raw


@pytest.mark.parametrize(("model_name", "path"), PATHS)
def test_real_encodings_decode(model_name, path):
    """Each file's vectors, encoded for this model's size, decode (the law above is then not vacuous)."""
    ef = MODELS[model_name].fs[path].ef
    size = ef.record_length if ef.is_record else ef.size
    encoded = _encoded(ef.codec, size)
    assert encoded
    for raw in encoded:
        ef.codec.decode(raw)


def test_decode_raises_codec_error_only():
    """Invalid bytes give CodecError (DecodeError), never another exception."""
    import random

    rnd = random.Random(13)
    for m in MODELS.values():
        for e in m.fs.efs():
            size = e.ef.record_length if e.ef.is_record else e.ef.size
            for _ in range(200):
                with contextlib.suppress(CodecError):
                    e.ef.codec.decode(rnd.randbytes(size))


digits = st.text(alphabet="0123456789", min_size=1)
plmns = st.builds(lambda m, n: {"mcc": m, "mnc": n}, st.text("0123456789", min_size=3, max_size=3),
                  st.text("0123456789", min_size=2, max_size=3))


@given(plmns)
def test_plmn_roundtrip(p):
    assert plmn_decode(plmn_encode(p)) == p


@given(st.text("0123456789", min_size=6, max_size=15))
def test_imsi_roundtrip(imsi):
    assert efs.IMSI.decode(efs.IMSI.encode(imsi, 9)) == imsi


@given(st.text("0123456789", min_size=19, max_size=20))
def test_iccid_roundtrip(iccid):
    assert efs.ICCID.decode(efs.ICCID.encode(iccid, 10)) == iccid


@given(st.lists(st.builds(lambda p, a: {**p, "act": a}, plmns,
                          st.lists(st.sampled_from(list(efs.ACT_NAMES)), unique=True)
                          .map(lambda acts: [n for n in efs.ACT_NAMES if n in acts])), max_size=40))
def test_oplmn_roundtrip(entries):
    assert efs.OPLMNWACT.decode(efs.OPLMNWACT.encode(entries, 200)) == entries


@given(st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=7))
def test_spn_roundtrip_any_text_that_fits(name):
    v = {"show_in_hplmn": False, "hide_in_oplmn": True, "name": name}
    assume("\x1b" not in name)
    try:
        raw = efs.SPN.encode(v, 17)
    except EncodeError:
        assume(False)
    assert efs.SPN.decode(raw) == v


@given(st.lists(st.sampled_from(sorted(efs.UST_BY_NAME, key=efs.UST_BY_NAME.get)), unique=True))
def test_ust_roundtrip(names):
    canonical = sorted(names, key=efs.UST_BY_NAME.get)
    assert efs.UST.decode(efs.UST.encode(canonical, 17)) == canonical


labels = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)


@given(st.lists(st.lists(labels, min_size=1, max_size=3).map(".".join), max_size=4))
def test_acl_roundtrip(apns):
    try:
        raw = efs.ACL.encode(apns, 128)
    except EncodeError:
        assume(False)
    assert efs.ACL.decode(raw) == apns


@given(st.text("0123456789", min_size=1, max_size=20), st.booleans())
def test_msisdn_roundtrip(number, intl):
    v = {"alpha": "", "number": ("+" if intl else "") + number}
    assert efs.MSISDN_RECORD.decode(efs.MSISDN_RECORD.encode(v, 28)) == v


def test_encode_refuses_what_does_not_fit():
    with pytest.raises(EncodeError, match="holds 16"):
        efs.SPN.encode({"name": "A" * 20, "show_in_hplmn": False, "hide_in_oplmn": False}, 17)
    with pytest.raises(EncodeError, match="MNC"):
        plmn_encode({"mcc": "204", "mnc": "8"})
    with pytest.raises(EncodeError, match="unknown UST service"):
        efs.UST.encode(["volte_magic"], 17)


def test_encode_names_every_problem_in_one_codec_error():
    """A misspelled key is refused, not ignored; unknown keys come first, then missing ones."""
    import simtool

    with pytest.raises(simtool.CodecError) as e:
        simtool.efs.SPN.encode({"name": "X", "show_in_hplnm": True}, 17)
    msg = str(e.value)
    assert msg.startswith("EF.SPN: show_in_hplnm: unknown key (did you mean show_in_hplmn?)")
    assert "show_in_hplmn: missing" in msg and "hide_in_oplmn: missing" in msg
    with pytest.raises(CodecError, match=r"EF.AD: cipher_indicator: unknown key.*ue_operation_mode: missing"):
        efs.AD.encode({"mnc_length": 2, "cipher_indicator": True})
    pins = {n: "1234" for n in efs.PIN_NAMES}
    with pytest.raises(CodecError, match="pin1_enable: unknown key"):
        efs.PINS.encode({**pins, "pin1_enable": True, "pin2_enabled": True})
    with pytest.raises(CodecError, match=r"\[1\]\.act: unknown access technology"):
        efs.OPLMNWACT.encode([{"mcc": "001", "mnc": "01", "act": ["gsm"]},
                              {"mcc": "001", "mnc": "02", "act": ["lte"]}], 50)
    with pytest.raises(CodecError, match="price.currency: missing|price: needs exactly"):
        efs.PLAN_DEFINITION.encode({"plan_id": "p", "data_limit_bytes": 1, "validity_days": 1,
                                    "price": {"amount_minor": 1}, "names": {}})
    # RFU fields may be left out (and then take the spec's value): EF.LOCI's RFU byte FF.
    loci = {"tmsi": b"\xff" * 4, "plmn": None, "lac": b"\0\0", "status": "updated"}
    assert efs.LOCI.encode(loci, 11)[9] == 0xFF


def test_disagreements_fixed():
    """The cases an independent decoder found, each with the clause it follows."""
    # EF.LOCI RFU byte (TS 31.102 §4.2.17) kept.
    raw = bytes.fromhex("FFFFFFFF62F210FFFE1E01")
    assert efs.LOCI.encode(efs.LOCI.decode(raw), 11) == raw
    # DF.GSM EF.AD of 3 bytes (TS 51.011 §10.3.18) encodes.
    assert efs.AD.encode(efs.AD.decode(b"\x00\x00\x00"), 3) == b"\x00\x00\x00"
    # EF.LP: TS 23.038 §5 group 0010 (24 = Icelandic) kept.
    assert efs.LP.decode(bytes.fromhex("2401FFFF")) == ["is", "en"]
    # EF.ARR with a command-header access mode DO '84' (ISO/IEC 7816-4 table 20).
    arr = bytes.fromhex("80010190008001029700800118a40683010a9501088401d4a40683010a950108")
    assert efs.ARR_RECORD.decode(arr)["ins_d4"] == ["adm1"]
    # xPLMNwAcT per TS 31.102 tables 4.2.5.1 / 4.2.5.2.
    assert efs.OPLMNWACT.decode(bytes.fromhex("62F2104080"))[0]["act"] == ["eutran_wb", "eutran_nb", "gsm",
                                                                          "ec_gsm_iot"]
    assert efs.OPLMNWACT.decode(bytes.fromhex("62F2106084"))[0]["act"] == ["eutran_wb", "gsm"]
    assert efs.OPLMNWACT.encode([{"mcc": "262", "mnc": "01", "act": ["eutran_nb", "ec_gsm_iot"]}], 5) == \
        bytes.fromhex("62F2105088")
