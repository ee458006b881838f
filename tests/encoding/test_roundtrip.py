"""Round-trip properties for every EF of every card model, and value-level properties for the key types."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from simtool.encoding import efs
from simtool.encoding.codec import DecodeError
from simtool.encoding.types import EncodeError, plmn_decode, plmn_encode
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


@pytest.mark.parametrize(("model_name", "path"), PATHS)
@settings(max_examples=60, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_decode_encode_is_stable_for_every_ef(model_name, path, data):
    """Whatever bytes a card holds: decode, encode, decode gives the same value (canonical form)."""
    ef = MODELS[model_name].fs[path].ef
    size = ef.record_length if ef.is_record else ef.size
    # Start from the vectors (real encodings) and mutate them, plus fully random bodies.
    seeds = [(v.data + b"\xff" * size)[:size] for v in ef.codec.vectors if len(v.data) <= size]
    raw = bytearray(data.draw(st.sampled_from(seeds)) if seeds and data.draw(st.booleans())
                    else data.draw(st.binary(min_size=size, max_size=size)))
    for _ in range(data.draw(st.integers(0, 3))):  # a few byte flips on a real encoding
        raw[data.draw(st.integers(0, size - 1))] = data.draw(st.integers(0, 255))
    raw = bytes(raw)
    try:
        value = ef.codec.decode(raw)
    except DecodeError:
        assume(False)
    try:
        again = ef.codec.encode(value, size)
    except EncodeError:
        assume(False)  # not every byte pattern a card may hold has a canonical encoding
    assert ef.codec.decode(again) == value


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
                          st.lists(st.sampled_from(list(efs.ACT_BITS)), unique=True)
                          .map(lambda acts: [n for n in efs.ACT_BITS if n in acts])), max_size=40))
def test_oplmn_roundtrip(entries):
    assert efs.OPLMNWACT.decode(efs.OPLMNWACT.encode(entries, 200)) == entries


@given(st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=7))
def test_spn_roundtrip_any_text_that_fits(name):
    v = {"show_in_hplmn": False, "hide_in_oplmn": True, "name": name}
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
        efs.SPN.encode({"name": "A" * 20}, 17)
    with pytest.raises(EncodeError, match="MNC"):
        plmn_encode({"mcc": "204", "mnc": "8"})
    with pytest.raises(EncodeError, match="unknown UST service"):
        efs.UST.encode(["volte_magic"], 17)
