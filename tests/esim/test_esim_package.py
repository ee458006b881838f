"""build -> inspect gives back every value and every file's bytes of the image `render` gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simtool.esim import PackageError, build, inspect, package_image, saip
from simtool.esim.inspect import collect_files, model_paths
from simtool.fs.cardmodel import SAIP_PACKAGE
from simtool.profile.identity import Identity
from simtool.profile.load import load_profile
from simtool.profile.luhn import luhn_digit
from simtool.profile.render import render

ROOT = Path(__file__).resolve().parents[2]
PROFILES = sorted((ROOT / "profiles").glob("*.yaml"))
KI, OPC = "000102030405060708090a0b0c0d0e0f", "0f0e0d0c0b0a09080706050403020100"


def ident(iccid="8931080000000000019", imsi="204080000000001", ki=KI, opc=OPC, pins=("0000", "12345678", "1234",
          "87654321")):
    return Identity.create(iccid=iccid, imsi=imsi, ki=ki, opc=opc, pin1=pins[0], puk1=pins[1], pin2=pins[2],
                           puk2=pins[3], adm1_hex="3838383838383838")


def files_of(der):
    paths = model_paths()
    return {paths[k]: bytes(f.body) for k, f in collect_files(saip.split(der)).items() if f.kind != "df"}


@pytest.mark.parametrize("profile_path", PROFILES, ids=[p.stem for p in PROFILES])
def test_every_rendered_file_comes_back_byte_for_byte(profile_path):
    profile = load_profile(profile_path)
    identity = ident()
    der = build(profile, identity)
    image = render(profile, identity, SAIP_PACKAGE)
    got = files_of(der)
    for path, content in image.files.items():
        assert got[path] == (b"".join(content) if isinstance(content, list) else content), path
    assert got == package_image(profile, identity)  # and nothing else but EF.DIR and the EF.ARRs
    assert not any(p.endswith(("EF.AUTH_KEY", "EF.PINS")) or "DF.SYSTEM" in p for p in got)
    doc = inspect(der)
    assert doc["problems"] == []
    assert doc["iccid"] == identity.iccid and doc["imsi"] == identity.imsi
    for path in image.files:
        assert doc["files"][path]["value"] == image.decoded()[path]["value"], path
    assert doc["services"] == ["milenage", "usim"]


def test_keys_and_pins_are_in_their_elements_and_masked_unless_asked():
    der = build(load_profile(PROFILES[0]), ident())
    masked = inspect(der)
    assert KI.upper() not in str(masked) and OPC.upper() not in str(masked)
    els = {e["kind"]: e for e in inspect(der, show_secrets=True)["elements"]}
    assert els["akaParameter"]["k"] == KI.upper() and els["akaParameter"]["opc"] == OPC.upper()
    assert els["akaParameter"]["algorithm"] == "milenage"
    assert {p["key_reference"]: (p["value"], p["max_tries"], p["tries_left"]) for p in els["pukCodes"]["puks"]} == {
        1: (b"12345678".hex().upper(), 10, 10), 129: (b"87654321".hex().upper(), 10, 10)}
    mf_pins = inspect(der, show_secrets=True)["elements"][3]["pins"]
    assert [(p["key_reference"], p["value"], p["unblocking"]) for p in mf_pins] == [
        (1, "30303030FFFFFFFF", 1), (10, "3838383838383838", None)]


_digits = st.text("0123456789", min_size=1, max_size=1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.text("0123456789", min_size=16, max_size=16), msin=st.text("0123456789", min_size=10, max_size=10),
       k=st.binary(min_size=16, max_size=16), opc=st.binary(min_size=16, max_size=16),
       pin1=st.text("0123456789", min_size=4, max_size=8), puk1=st.text("0123456789", min_size=8, max_size=8))
def test_any_identity_round_trips(body, msin, k, opc, pin1, puk1):
    iccid = "89" + body + luhn_digit("89" + body)
    identity = ident(iccid=iccid, imsi="20408" + msin, ki=k.hex(), opc=opc.hex(), pins=(pin1, puk1, "1234",
                                                                                       "87654321"))
    profile = load_profile(PROFILES[0])
    der = build(profile, identity)
    assert files_of(der) == package_image(profile, identity)
    doc = inspect(der, show_secrets=True)
    assert (doc["iccid"], doc["imsi"], doc["problems"]) == (iccid, identity.imsi, [])
    aka = next(e for e in doc["elements"] if e["kind"] == "akaParameter")
    assert (aka["k"], aka["opc"]) == (k.hex().upper(), opc.hex().upper())


@pytest.fixture(scope="module")
def der():
    return build(load_profile(PROFILES[0]), ident())


def test_truncated_package_names_element_and_offset(der):
    els = saip.split(der)
    cut = els[5].offset + 10
    with pytest.raises(PackageError, match=rf"element 5 \(usim\) at offset {els[5].offset}: truncated"):
        inspect(der[:cut])


def test_wrong_tag_names_element_and_offset(der):
    els = saip.split(der)
    bad = bytearray(der)
    bad[els[2].offset] = 0x30
    with pytest.raises(PackageError, match=rf"element 2 at offset {els[2].offset}: tag 30 is no profile element"):
        inspect(bytes(bad))


def test_wrong_length_names_element_and_offset(der):
    els = saip.split(der)
    bad = bytearray(der)
    bad[els[2].offset + 1] -= 1  # pukCodes one byte short: its content no longer decodes
    with pytest.raises(PackageError, match=rf"element 2 \(pukCodes\) at offset {els[2].offset}"):
        inspect(bytes(bad))


def test_missing_end_is_a_problem_naming_the_last_element(der):
    els = saip.split(der)
    doc = inspect(der[: els[-1].offset])
    assert any(f"element {len(els) - 2}" in p and "PE-End missing" in p for p in doc["problems"])
