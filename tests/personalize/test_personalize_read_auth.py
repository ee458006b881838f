"""`read_card` and the host side of AKA (`simtool.personalize.auth`) against flashed emulated cards."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import simtool
from simtool.crypto import aka
from simtool.errors import CardError
from simtool.personalize.auth import AuthFailure, authenticate, select_usim
from simtool.personalize.flash import flash
from simtool.personalize.read import read_card
from simtool.profile import load_profile
from simtool.profile.render import act_names
from tests.personalize.personalize_helpers import (
    ADM,
    FS,
    ICCID,
    IMSI,
    KI,
    OPC,
    PIN1,
    PROFILE_1G,
    identity,
    profile_copy,
    profile_yaml,
)

P1G = load_profile(PROFILE_1G)


@pytest.fixture
def flashed() -> simtool.Reader:
    with simtool.open_reader("emu:") as reader:
        flash(reader, P1G, identity(), verify_auth=False)
    reader.reset()
    return simtool.Reader(reader.transport)  # a new session with fresh counters


def test_read_without_rights_gives_back_the_profile(flashed: simtool.Reader) -> None:
    doc = read_card(flashed)
    files, s = doc["files"], doc["summary"]
    y = profile_yaml()
    assert s["imsi"] == IMSI and s["iccid"] == ICCID
    assert s["spn"] == y["spn"]["name"]
    assert s["apns"] == y["apn_control_list"]["apns"]
    assert s["oplmn"] == [f"{p['mcc']}/{p['mnc']}" for p in y["oplmn_wact"]]
    assert s["plan"]["data"] == "1 GB" and s["plan"]["validity_days"] == 15 and s["plan"]["price"] == "EUR 12.00"
    assert s["plan"]["names"] == y["plan"]["names"]
    acts = [(e["mcc"], e["mnc"], sorted(e["act"])) for e in files["MF/ADF.USIM/EF.OPLMNwACT"]["value"] if e]
    assert acts == [(p["mcc"], p["mnc"], sorted(act_names(p["act"]))) for p in y["oplmn_wact"]]
    assert files["MF/ADF.USIM/EF.ACC"]["value"] == [int(IMSI[-1])]
    assert all(item.get("readable", True) for item in files.values())  # PIN1 is disabled on this profile
    assert not any("AUTH_KEY" in p or "PINS" in p for p in files)
    assert "adm" not in flashed.counts()  # no ADM asked for, none used
    # Each file read once: a SELECT per DF, a SELECT per EF without SFI, a READ per chunk or record.
    efs = [e for e in FS.efs() if not e.ef.secret]
    expected = (len({e.df_path for e in efs}) + sum(e.ef.sfi is None for e in efs)
                + sum(e.ef.record_count if e.ef.is_record else math.ceil(e.ef.size / 256) for e in efs))
    assert flashed.phases["read"].apdus == expected


def test_read_with_pin1_enabled_needs_pin1(tmp_path: Path) -> None:
    prof = load_profile(profile_copy(tmp_path, edit={"pin1_enabled: false": "pin1_enabled: true"}))
    reader = simtool.open_reader("emu:")
    flash(reader, prof, identity())
    reader.reset()
    files = read_card(reader)["files"]
    assert files["MF/ADF.USIM/EF.IMSI"] == {"name": "EF.IMSI", "fid": "6F07", "readable": False,
                                            "needs": ["pin1", "adm1"]}
    assert files["MF/ADF.USIM/EF.AD"]["value"]["mnc_length"] == 2  # ALW files still read
    reader.reset()
    assert read_card(reader, pin1=PIN1)["files"]["MF/ADF.USIM/EF.IMSI"]["value"] == IMSI
    reader.reset()
    assert read_card(reader, adm=ADM)["files"]["MF/ADF.USIM/EF.IMSI"]["value"] == IMSI
    reader.reset()
    with pytest.raises(CardError, match="2 tries left"):
        read_card(reader, pin1="9999")


def test_authenticate_with_the_identity_keys(flashed: simtool.Reader) -> None:
    select_usim(flashed)
    result = authenticate(flashed, aka.Milenage(bytes.fromhex(KI), bytes.fromhex(OPC)), sqn=32)
    assert result.ok and not result.resynchronised and result.sqn == 32 and result.kc


def test_authenticate_resynchronises_once(flashed: simtool.Reader) -> None:
    alg = aka.Milenage(bytes.fromhex(KI), bytes.fromhex(OPC))
    select_usim(flashed)
    assert not authenticate(flashed, alg, sqn=32 * 5).resynchronised
    again = authenticate(flashed, alg, sqn=32)  # older than what the card has seen: AUTS
    assert again.ok and again.resynchronised
    assert again.sqn_ms == 32 * 5 and again.sqn == 32 * 6
    assert any("resynchronised" in n for n in again.notes)


def test_authenticate_with_another_k_is_refused_with_9862(flashed: simtool.Reader) -> None:
    select_usim(flashed)
    other = aka.Milenage(bytes.fromhex("ff" * 16), bytes.fromhex(OPC))
    with pytest.raises(AuthFailure) as exc:
        authenticate(flashed, other)
    assert exc.value.sw == 0x9862 and exc.value.exit_code == 1
