"""The two operator profiles in profiles/ validate cleanly and say what DESIGN.md §1 says they sell."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from simtool.profile import load_profile, validate_profile

ROOT = Path(__file__).resolve().parents[2]
ONE_GB = ROOT / "profiles" / "kpn-wechat-1gb-15d.yaml"
FOUR_GB = ROOT / "profiles" / "kpn-wechat-4gb-28d.yaml"


@pytest.mark.parametrize("path", [ONE_GB, FOUR_GB], ids=lambda p: p.name)
def test_validates_without_errors_or_warnings(path: Path):
    profile, errors, warnings = validate_profile(path)
    assert errors == []
    assert warnings == []
    assert profile is not None
    assert profile.name == path.stem
    assert profile.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert profile.source_text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", [ONE_GB, FOUR_GB], ids=lambda p: p.name)
def test_common_travel_sim_settings(path: Path):
    p = load_profile(path)
    assert p.operator == "KPN"
    assert (p.home_plmn.mcc, p.home_plmn.mnc, p.mnc_length) == ("204", "08", 2)
    assert p.ue_operation_mode == "normal"
    assert p.languages == ["zh", "en"]
    assert p.pin1_enabled is False
    assert p.spn is not None and len(p.spn.name) <= 16 and not p.spn.hide_in_oplmn
    assert p.apn_control_list is not None and p.apn_control_list.enforce is False
    assert set(p.apns) <= set(p.apn_control_list.apns)
    assert "internet" in p.apns
    assert p.smsc == "+31653131313"
    assert "112" in [e.number for e in p.emergency_numbers]
    assert "911" in [e.number for e in p.emergency_numbers]
    assert [h.key for h in p.hplmn_wact] == ["204/08"]
    assert {"eutran", "utran", "gsm"} <= set(p.hplmn_wact[0].act)
    assert p.ehplmn[0].key == "204/08"
    assert {"204/04", "204/16", "204/20"} <= {f.key for f in p.fplmn}
    assert "204/08" not in {f.key for f in p.fplmn}
    assert len(p.oplmn_wact) >= 8
    assert {o.mcc for o in p.oplmn_wact} >= {"262", "208", "214", "222"}  # DE, FR, ES, IT at least
    assert not {o.key for o in p.oplmn_wact} & {"204/04", "204/16", "204/20", "204/08"}
    for name in (
        "gsm_access",
        "spn",
        "msisdn",
        "sms",
        "smsp",
        "user_plmn_wact",
        "operator_plmn_wact",
        "hplmn_wact",
        "ehplmn",
        "eps_mm_info",
        "acl",
        "est",
        "shall_be_set",
        "data_download_sms_pp",
    ):
        assert p.has_service(name), name
    assert set(p.plan.names) == {"zh", "en"}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in p.plan.names["zh"])  # really Chinese
    assert p.plan.price.currency == "EUR"


def test_one_gb_plan():
    p = load_profile(ONE_GB)
    assert p.plan.data_limit_bytes == 1_000_000_000
    assert p.plan.validity_days == 15
    assert p.plan.price.amount_minor == 1200
    assert p.apns == ["internet"]


def test_four_gb_plan():
    p = load_profile(FOUR_GB)
    assert p.plan.data_limit_bytes == 4_000_000_000
    assert p.plan.validity_days == 28
    assert p.plan.price.amount_minor == 3350
    assert p.apns == ["internet", "ims"]
    assert "ngran" in p.hplmn_wact[0].act
    assert len(p.oplmn_wact) > len(load_profile(ONE_GB).oplmn_wact)


def test_plans_differ_only_where_they_should():
    one, four = load_profile(ONE_GB), load_profile(FOUR_GB)
    assert one.plan.id != four.plan.id
    assert one.services == four.services
    assert one.fplmn == four.fplmn and one.ehplmn == four.ehplmn
    assert [o.key for o in one.oplmn_wact] == [o.key for o in four.oplmn_wact[: len(one.oplmn_wact)]]


@pytest.mark.parametrize("path", [ONE_GB, FOUR_GB], ids=lambda p: p.name)
def test_access_technologies_keep_their_meaning(path: Path):
    """TS 31.102 §4.2.5: `eutran` is E-UTRAN WB-S1 and NB-S1 (b7 alone, table 4.2.5.1); `gsm` is GSM without
    EC-GSM-IoT (table 4.2.5.2: b8 with b4 b3 = 01). What the card holds decodes to what the profile says."""
    from simtool.encoding import efs
    from simtool.profile.identity import Identity
    from simtool.profile.render import render

    profile = load_profile(path)
    image = render(profile, Identity.sample())
    raw = image.files["MF/ADF.USIM/EF.OPLMNwACT"]
    entries = efs.OPLMNWACT.decode(raw)
    for entry, p in zip(entries, profile.oplmn_wact, strict=False):
        want = {"eutran": {"eutran_wb", "eutran_nb"}, "gsm": {"gsm"}, "utran": {"utran"}, "ngran": {"ngran"}}
        assert set(entry["act"]) == set().union(*(want[a] for a in p.act))
        assert "ec_gsm_iot" not in entry["act"]
    assert raw[3:5] in (bytes.fromhex("4084"), bytes.fromhex("C084"))  # E-UTRAN (+UTRAN) + GSM only
